"""What a replay call returns, whichever provider answered it, and how it fails.

Both provider SDKs (`anthropic` for Claude ids, `openai` for router slugs) are generated from the
same template: the same exception hierarchy and the same retries. `provider_failures` turns what
either still raises after its retries into two provider-neutral errors, so the replay assets
record one vocabulary of outcomes whatever route a model takes.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

# Transient: retried by the SDK and worth asking again next run (a 429, a 5xx, a timeout).
TRANSIENT_STATUS = (408, 409, 429)
# What one call can really report, validated like an artifact's numbers (`artifacts.MAX_COUNT`): no
# model's context window or output limit comes near 10M tokens, and no single call costs $1,000. A
# number beyond them is a broken or hostile provider, never a price to pay or a row to sum.
MAX_CALL_TOKENS = 10_000_000
MAX_CALL_USD = 1000.0


class BadResponse(RuntimeError):
    """The provider answered 200 with something that is not a reply (not JSON, or another shape)."""


class ProviderFailure(RuntimeError):
    """The provider failed the call after the retries: `transient` (429/5xx/timeout/connection)
    or not (a request the provider refuses, e.g. 400/401/404)."""

    def __init__(self, message: str, transient: bool, status: int | None = None):
        super().__init__(message)
        self.transient, self.status = transient, status  # status: the HTTP status, None when no response came


@dataclass(frozen=True)
class Reply:
    text: str
    model: str
    input_tokens: int  # uncached input only (cache reads and writes are counted apart)
    output_tokens: int
    cache_read_tokens: int
    cache_create_tokens: int
    batch: bool
    latency_ms: float
    message_id: str
    # What the provider billed, when it says so (OpenRouter's `usage.cost`); None = price it from the tokens.
    cost_usd: float | None = None
    # Who answered (`ReplayModel.provenance`): the route, the endpoint's host[:port], and whether it is a
    # stand-in model (the demo's loopback). Empty / None on replies cached before they were recorded.
    route: str = ""
    endpoint: str = ""
    simulated: bool | None = None


def count(value: Any, name: str) -> int:
    """A token count from a response's usage: absent is 0, anything but an int in [0, MAX_CALL_TOKENS]
    is a bad response."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_CALL_TOKENS:
        raise BadResponse(f"usage.{name} is {value!r:.40}, not a token count in [0, {MAX_CALL_TOKENS:,}]")
    return value


def amount(value: Any, name: str) -> float | None:
    """A billed amount in USD: absent is None (price the tokens), anything but a finite number in
    [0, MAX_CALL_USD] (NaN, infinities, negatives, strings) is a bad response."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_CALL_USD:
        raise BadResponse(f"{name} is {value!r:.40}, not an amount in [0, {MAX_CALL_USD:g}] USD")
    return float(value)


def checked(reply: "Reply") -> "Reply":
    """`reply` if every number it carries is one a call can report (a reply read back from the
    replay cache is checked again: an entry written before these bounds, or by hand, is no proof)."""
    for name in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_create_tokens"):
        count(getattr(reply, name), name)
    amount(reply.cost_usd, "cost_usd")
    return reply


@contextmanager
def provider_failures(sdk: ModuleType, shape: str) -> Iterator[None]:
    """Map what `sdk` (the `anthropic` or `openai` module) raises into `ProviderFailure` or
    `BadResponse` (named after the `shape` a reply should have). A 200 body that is not JSON
    surfaces as a ValueError from the SDK's parser."""
    try:
        yield
    except sdk.APIStatusError as exc:
        transient = exc.status_code in TRANSIENT_STATUS or exc.status_code >= 500
        raise ProviderFailure(f"{type(exc).__name__} {exc.status_code}: {exc.message}"[:200], transient,
                              exc.status_code) from exc
    except sdk.APIConnectionError as exc:  # includes timeouts
        raise ProviderFailure(f"{type(exc).__name__}: {exc}"[:200], transient=True) from exc
    except (ValueError, sdk.APIResponseValidationError) as exc:
        raise BadResponse(f"the 200 reply is not a {shape}: {type(exc).__name__}: {exc}"[:200]) from exc
