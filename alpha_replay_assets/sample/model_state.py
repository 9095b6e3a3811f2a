"""The loopback model server's state: the replies it derives from the corpus's hidden rules, the
faults it is scripted to inject, its prompt cache and its rate limits (token buckets as the API
keeps them). `model_server` is the HTTP side that speaks the two APIs over it."""

import datetime as dt
import hashlib
import itertools
import json
import math
import random
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

from alpha_replay_assets.sample import rules
from resources.prompt_cache import estimate_tokens, min_cacheable_tokens

FAULTS = ("429", "500", "529", "malformed", "schema", "slow", "huge_tokens", "nan_cost", "negative_cost", "other_model")
# What a `huge_tokens` fault reports (an attacker's numbers) and who an `other_model` reply says answered.
HUGE_OUTPUT_TOKENS, HUGE_INPUT_TOKENS = 10**30, 2**62
OTHER_MODEL = {"messages": "claude-3-haiku-20240307", "chat_completions": "openai/gpt-4o-mini"}
ERROR_KINDS = {"429": "rate_limit_error", "500": "api_error", "529": "overloaded_error"}
CACHE_TTL_S = 300.0
CHAT_PATHS = ("/api/v1/chat/completions", "/v1/chat/completions")
# What the loopback router bills per million (prompt, completion) tokens, reported as `usage.cost`.
ROUTER_USD_PER_MTOK = (0.25, 1.0)


@dataclass
class TokenBucket:
    """A limit as the API enforces it: `limit` units, refilled continuously at `limit` per `period_s`."""

    limit: float
    period_s: float
    level: float = field(init=False)
    stamp: float = field(default_factory=time.monotonic)

    def __post_init__(self):
        self.level = self.limit

    def refill(self, now: float) -> None:
        self.level = min(self.limit, self.level + (now - self.stamp) * self.limit / self.period_s)
        self.stamp = now

    def wait_for(self, units: float) -> float:
        """Seconds until `units` are in the bucket (0: now)."""
        return max(0.0, (min(units, self.limit) - self.level) * self.period_s / self.limit)

    def headers(self, dimension: str, now: dt.datetime, router: bool = False) -> dict[str, str]:
        """As the API sends them; `reset` = when the bucket is full again (in ms here, where a
        test's scripted window is seconds long; the API sends whole seconds). `router`: as the
        router spells them (requests: OpenRouter's, reset an epoch time in ms; tokens: the OpenAI
        convention, reset a duration)."""
        until_full = (self.limit - self.level) * self.period_s / self.limit
        values = {"limit": str(int(self.limit)), "remaining": str(max(0, math.floor(self.level)))}
        if router and dimension == "requests":
            reset = str(math.ceil((now.timestamp() + until_full) * 1000))
            return {f"x-ratelimit-{part}": value for part, value in (values | {"reset": reset}).items()}
        if router:
            reset = f"{math.ceil(until_full * 1000)}ms"
            return {f"x-ratelimit-{part}-tokens": value for part, value in (values | {"reset": reset}).items()}
        full = now + dt.timedelta(seconds=until_full)
        values["reset"] = full.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {f"anthropic-ratelimit-{dimension}-{part}": value for part, value in values.items()}


def _split_system(system) -> tuple[str, str]:
    """(prefix marked for the cache, the rest) of a `system` parameter: the text up to and
    including the last block carrying `cache_control` (none for a plain string)."""
    if not isinstance(system, list):
        return "", system or ""
    marked = [i for i, block in enumerate(system) if block.get("cache_control")]
    cut = marked[-1] + 1 if marked else 0
    return "".join(b.get("text", "") for b in system[:cut]), "".join(b.get("text", "") for b in system[cut:])


def _user_text(body: dict) -> str:
    content = body["messages"][0]["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


def _text(content) -> str:
    return content if isinstance(content, str) else "".join(part.get("text", "") for part in content or [])


def chat_as_messages(body: dict) -> dict:
    """A chat-completions request seen as a Messages request (system apart, the user turn), so the
    rate limit and the reply rules treat both endpoints alike."""
    messages = body.get("messages") or []
    return {"model": body["model"],
            "system": "".join(_text(m.get("content")) for m in messages if m.get("role") == "system"),
            "messages": [{"role": "user", "content": "".join(_text(m.get("content")) for m in messages
                                                             if m.get("role") == "user")}]}


class ModelServerState:
    def __init__(self, noise: float, latency_ms: float):
        self.noise, self.latency_ms = noise, latency_ms
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.faults: deque[str] = deque()
        self.seen: Counter[str] = Counter()
        self.batches: dict[str, dict] = {}
        self.ids = itertools.count(1)
        self.prompt_cache: dict[str, float] = {}  # (model, prefix) digest -> expiry (monotonic)
        self.cache_ttl_s = CACHE_TTL_S
        self.limits: dict[str, TokenBucket] = {}  # dimension -> bucket, when a rate limit is scripted
        self.admitted: list[float] = []  # when each request under a rate limit was let through
        self.retry_after_s: int | None = None  # what an injected 429/529 asks for (None: 20 ms, the SDK's pace)

    def _cache_entry(self, model: str, prefix: str) -> str | None:
        """The cache key of a marked prefix long enough for `model`; None when nothing is cached."""
        if not prefix or estimate_tokens(prefix) < min_cacheable_tokens(model):
            return None
        return hashlib.sha256(json.dumps([model, prefix]).encode()).hexdigest()

    def cache_usage(self, model: str, prefix: str) -> tuple[int, int]:
        """(read, created) tokens of the prefix; a write or a read both restart its TTL."""
        entry = self._cache_entry(model, prefix)
        if entry is None:
            return 0, 0
        tokens, now = estimate_tokens(prefix), time.monotonic()
        with self.lock:
            warm = self.prompt_cache.get(entry, 0.0) > now
            self.prompt_cache[entry] = now + self.cache_ttl_s
            self.counts["cache_reads" if warm else "cache_writes"] += 1
            self.counts["cache_read_input_tokens" if warm else "cache_creation_input_tokens"] += tokens
        return (tokens, 0) if warm else (0, tokens)

    def set_rate_limit(self, requests: float | None = None, input_tokens: float | None = None,
                       period_s: float = 60.0) -> None:
        """Enforce `requests` and/or `input_tokens` per `period_s` from now on (None: no limit)."""
        with self.lock:
            self.limits = {d: TokenBucket(n, period_s) for d, n in (("requests", requests),
                                                                    ("input-tokens", input_tokens)) if n}
            self.admitted.clear()

    def admit(self, body: dict, router: bool = False) -> tuple[dict[str, str], float]:
        """Take a request's cost from every scripted bucket, or from none: (the rate-limit
        headers, spelled as the router does when `router`, seconds until it would fit; 0 =
        admitted). Input tokens count without a warm cached prefix (cache reads do not count
        towards the limit, as on current models)."""
        if not self.limits:
            return {}, 0.0
        prefix, rest = _split_system(body.get("system"))
        entry = self._cache_entry(body["model"], prefix)
        with self.lock:
            now = time.monotonic()
            warm = entry is not None and self.prompt_cache.get(entry, 0.0) > now
            costs = {"requests": 1, "input-tokens": estimate_tokens(rest + _user_text(body))
                     + (0 if warm else estimate_tokens(prefix))}
            for bucket in self.limits.values():
                bucket.refill(now)
            wait = max(bucket.wait_for(costs[d]) for d, bucket in self.limits.items())
            if wait == 0:
                for d, bucket in self.limits.items():
                    bucket.level -= costs[d]
                self.admitted.append(now)
            else:
                self.counts["rate_limited"] += 1
            wall = dt.datetime.now(dt.UTC)
            headers = {k: v for d, bucket in self.limits.items() for k, v in bucket.headers(d, wall, router).items()}
        return headers, wait

    def next_fault(self) -> str | None:
        with self.lock:
            return self.faults.popleft() if self.faults else None

    def reply_text(self, model: str, system: str, user: str) -> str:
        """The family's raw reply (its producer's response model) to the prompt; repeats of one
        request draw fresh noise. A rendered prompt is answered by the family's hidden rule on
        the data it carries. A prompt without data (the graph's unrendered templates) is answered
        the way a model would: a reply in the asked-for shape about data it had to make up
        (schema-valid, uninformed). Anything else gets `{}`."""
        request = hashlib.sha256(json.dumps([model, system, user]).encode()).hexdigest()
        with self.lock:
            repeat = self.seen[request]
            self.seen[request] += 1
        parsed = rules.parse_prompt(user)
        if parsed is None:
            return "{}"
        family, data = parsed
        rule, rng = rules.RULES[family], random.Random(f"{request}:{repeat}")
        if not data:
            data = rule.snapshot(rng, dt.date(2026, 7, 1), None)
        return json.dumps(rule.decide(data, rng, self.noise_for(model)))

    def noise_for(self, model: str) -> float:
        """Cheaper models decide less consistently: haiku-class replies carry twice the noise."""
        return self.noise * (2 if "haiku" in model else 1)

    def answer(self, model: str, system: str, user: str, fault: str | None) -> str:
        """The reply text, spoiled as a scripted `malformed` or `schema` fault asks."""
        text = self.reply_text(model, system, user)
        if fault == "malformed":
            return text[: len(text) // 2]
        if fault == "schema":
            return json.dumps({"answer": "I would rather not say"})
        return text

    def message(self, body: dict, fault: str | None = None) -> dict:
        prefix, rest = _split_system(body.get("system"))
        system, user = prefix + rest, _user_text(body)
        cache_read, cache_created = self.cache_usage(body["model"], prefix)
        text = self.answer(body["model"], system, user, fault)
        huge = fault == "huge_tokens"
        return {
            "id": f"msg_{next(self.ids):08d}",
            "type": "message",
            "role": "assistant",
            "model": OTHER_MODEL["messages"] if fault == "other_model" else body["model"],
            "content": [{"type": "text", "text": f"Here is my decision:\n```json\n{text}\n```"}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": HUGE_INPUT_TOKENS if huge else max(1, estimate_tokens(system + user)
                                                                          - cache_read - cache_created),
                      "output_tokens": HUGE_OUTPUT_TOKENS if huge else max(1, len(text) // 4),
                      "cache_creation_input_tokens": cache_created, "cache_read_input_tokens": cache_read},
        }


    def completion(self, body: dict, fault: str | None = None) -> dict:
        """A chat completion as OpenRouter returns it: the JSON decision as the content, `usage`
        with prompt/completion tokens and the billed `cost` (no prefix cache on the loopback)."""
        view = chat_as_messages(body)
        system, user = view["system"], _user_text(view)
        text = self.answer(body["model"], system, user, fault)
        prompt, completion = max(1, estimate_tokens(system + user)), max(1, len(text) // 4)
        usd_in, usd_out = ROUTER_USD_PER_MTOK
        cost = {"nan_cost": math.nan, "negative_cost": -0.5}.get(fault, round((prompt * usd_in + completion * usd_out)
                                                                             / 1e6, 9))
        completion = HUGE_OUTPUT_TOKENS if fault == "huge_tokens" else completion
        return {
            "id": f"gen-{next(self.ids):08d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": OTHER_MODEL["chat_completions"] if fault == "other_model" else body["model"],
            "provider": "Loopback",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop",
                         "logprobs": None}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                      "cost": cost,
                      "prompt_tokens_details": {"cached_tokens": 0}},
        }
