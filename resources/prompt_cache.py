"""Prompt caching: which stable prefix of a replay is worth marking with `cache_control`.

A family's system prompt repeats across all its replays. Marked with
`cache_control: {"type": "ephemeral"}`, the provider writes it to a 5-minute cache on the first
request (billed at 1.25x input) and every later request within the TTL reads it at 0.1x;
`usage.input_tokens` is then only the uncached remainder. A prefix shorter than the model's
minimum is silently not cached (no error, both cache counters 0), and a prefix asked once only
pays the 1.25x write: so a prefix is marked when it reaches the minimum *and* is reused.

Minimums (Anthropic's prompt-caching docs, as quoted in 2026; checked against several copies):
Haiku 4.5, Opus 4.5/4.6: 4,096 tokens; Sonnet 4.6: 2,048; Sonnet 4.5, Opus 4.1: 1,024. Tokens are
estimated as characters / 4 (the same estimate `rate_card.expected_tokens` uses): a wrong guess only
costs a write that does not happen or a mark that is ignored, never a wrong answer.
"""

MIN_CACHEABLE_TOKENS = {
    "claude-haiku-4-5": 4096,
    "claude-opus-4-5": 4096,
    "claude-opus-4-6": 4096,
    "claude-sonnet-4-6": 2048,
    "claude-sonnet-4-5": 1024,
    "claude-opus-4-1": 1024,
}
# An unlisted model: assume the largest minimum (a prefix long enough for every model).
DEFAULT_MIN_TOKENS = max(MIN_CACHEABLE_TOKENS.values())
EPHEMERAL = {"type": "ephemeral"}  # the 5-minute TTL, priced by `rate_card.Price.CACHE_WRITE`


def estimate_tokens(text: str) -> int:
    return len(text) // 4


def min_cacheable_tokens(model: str) -> int:
    """The minimum for `model`, matched on the family name (dated ids like `...-20251001` too)."""
    return next((n for name, n in MIN_CACHEABLE_TOKENS.items() if model.startswith(name)), DEFAULT_MIN_TOKENS)


def reaches_minimum(model: str, prefix: str) -> bool:
    return estimate_tokens(prefix) >= min_cacheable_tokens(model)


def system_param(system: str, cache: bool) -> str | list[dict]:
    """The `system` parameter: the plain prompt, or one text block marked for the cache."""
    return [{"type": "text", "text": system, "cache_control": EPHEMERAL}] if cache else system
