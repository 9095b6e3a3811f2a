"""Rate-limit-aware concurrency for the replay workers of one step.

The SDK retries a 429 after `retry-after`, but every worker on its own: eight workers keep
hitting a spent limit and nothing slows down *before* the 429s. The provider says where each
limit stands on its responses and how long to wait after a 429 (`retry-after`, seconds). Three
spellings are read (`read_limits`):

- Anthropic: `anthropic-ratelimit-<dimension>-limit|remaining|reset` for requests, input-tokens,
  output-tokens and tokens; `reset` is when that bucket is full again (RFC 3339);
- OpenAI-compatible servers: `x-ratelimit-limit|remaining|reset-<requests|tokens>`, `reset` a
  duration (`20ms`, `1s`, `6m0s`);
- OpenRouter: `x-ratelimit-limit|remaining|reset` for requests, `reset` an epoch time in ms.

One `Governor` per provider route, shared by a step's workers, reads them:

- a dimension running low (no more calls left in it than could be in flight) spaces the starts
  of calls at the bucket's refill rate (one call's cost / refill rate), so the limit sets the
  pace instead of 429s; once the bucket has refilled the spacing is 0 again (speeds back up);
- a 429 (or a 529: overloaded) pauses every worker for `retry-after` and halves the allowed
  concurrency; the pause is waited out in slices (`resources.waits.Waits`: announced, bounded,
  cancellable), and the SDK itself never sleeps on it (`ReplayModel.create` retries);
- each success grows it back additively (+1 per `allowed` successes) up to `max_concurrency`.

`GovernorMiddleware` puts it in the `anthropic` SDK's middleware chain and `GovernedTransport`
under the `openai` SDK's HTTP client (it has no middleware); both run once per HTTP attempt inside
the SDK's retry loop: the SDK's own retries wait for a slot and are paced too. The state
transitions (`delay`, `started`, `finished`) are pure and take the time; `acquire`/`release` block.
"""

import datetime as dt
import email.utils
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypeVar

import anthropic
import httpx2

from resources.waits import SLICE_S, Waits

DIMENSIONS = ("requests", "input-tokens", "output-tokens", "tokens")
DEFAULT_PAUSE_S = 0.5  # a 429 without retry-after: the SDK's own first backoff
MAX_RETRY_AFTER_S = 366 * 86400.0  # a longer, non-finite or unreadable-as-time retry-after: beyond any max_wait_s
PAUSING = (429, 529)  # rate-limited, overloaded: every worker of the route waits
COST_SMOOTHING = 0.2  # weight of the newest call in the per-call token cost
Response = TypeVar("Response")  # an SDK's response wrapper or an HTTP response: status_code and headers


@dataclass(frozen=True)
class Limit:
    """One dimension's bucket as a response reported it."""

    remaining: float
    refill_per_s: float  # units the bucket regains per second; inf when it is full (nothing to pace)


def _seconds_until(text: str, now: dt.datetime) -> float:
    return (dt.datetime.fromisoformat(text) - now).total_seconds()


DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
DURATION_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _duration_s(text: str, now: dt.datetime) -> float:
    """An OpenAI-style reset duration (`20ms`, `1.5s`, `6m0s`, `1h2m`) in seconds."""
    parts = DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(f"not a duration: {text!r:.40}")
    return sum(float(n) * DURATION_UNIT_S[u] for n, u in parts)


def _epoch_ms_until(text: str, now: dt.datetime) -> float:
    """OpenRouter's reset: an epoch time in milliseconds."""
    return float(text) / 1000 - now.timestamp()


def _spellings(values: Mapping[str, str]) -> Iterator[tuple[str, str | None, str | None, str | None, Callable]]:
    """(dimension, limit, remaining, reset, reset parser) in every spelling a provider uses."""
    for dimension in DIMENSIONS:
        prefix = f"anthropic-ratelimit-{dimension}-"
        yield (dimension, values.get(prefix + "limit"), values.get(prefix + "remaining"), values.get(prefix + "reset"),
               _seconds_until)
    for dimension in ("requests", "tokens"):
        yield (dimension, *(values.get(f"x-ratelimit-{part}-{dimension}") for part in ("limit", "remaining", "reset")),
               _duration_s)
    yield ("requests", values.get("x-ratelimit-limit"), values.get("x-ratelimit-remaining"),
           values.get("x-ratelimit-reset"), _epoch_ms_until)


def read_limits(headers: Mapping[str, str], now: dt.datetime) -> dict[str, Limit]:
    """The rate-limit dimensions present in `headers` (case-insensitive, any spelling above). A
    bucket refills at (limit - remaining) / seconds until full: the rate, whatever the window."""
    values = {k.lower(): v for k, v in headers.items()}
    limits = {}
    for dimension, limit_text, remaining_text, reset_text, until in _spellings(values):
        if limit_text is None or remaining_text is None or reset_text is None:
            continue
        try:
            limit, remaining, until_full = float(limit_text), float(remaining_text), until(reset_text, now)
        except ValueError:
            continue
        refill = (limit - remaining) / until_full if until_full > 0 and remaining < limit else math.inf
        limits[dimension] = Limit(remaining, refill)
    return limits


def retry_after_s(headers: Mapping[str, str], now: dt.datetime) -> float | None:
    """`retry-after-ms`, else `retry-after` (seconds or an HTTP date), as the SDK reads them; an absurd
    or non-finite value (`1e30`, `inf`, `nan`, year 9999) is `MAX_RETRY_AFTER_S`: longer than any run
    may wait (so the step stops at once), and still a time that can be added to a date."""
    values = {k.lower(): v for k, v in headers.items()}
    try:
        if "retry-after-ms" in values:
            seconds = float(values["retry-after-ms"]) / 1000
        elif "retry-after" in values:
            text = values["retry-after"]
            try:
                seconds = float(text)
            except ValueError:
                seconds = (email.utils.parsedate_to_datetime(text) - now).total_seconds()
        else:
            return None
    except (ValueError, TypeError, OverflowError):
        return None
    return seconds if math.isfinite(seconds) and seconds <= MAX_RETRY_AFTER_S else MAX_RETRY_AFTER_S


class Governor:
    def __init__(self, max_concurrency: int, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC), waits: Waits | None = None):
        self.max_concurrency, self.clock, self.wall, self.waits = max_concurrency, clock, wall, waits
        self.allowed = float(max_concurrency)
        self.in_flight = 0
        self.spacing = 0.0  # seconds between starts; 0 = as fast as the slots allow
        self.next_start = self.paused_until = 0.0
        self.costs = {"requests": 1.0}  # one call's cost per dimension; tokens learned from usage
        self.rate_limited = 0  # 429s seen
        self.cond = threading.Condition()

    # -- pure state transitions ---------------------------------------------------------------

    def delay(self, now: float) -> float | None:
        """Seconds until a call may start; None while every allowed slot is busy."""
        if self.in_flight >= int(self.allowed):
            return None
        return max(0.0, self.next_start - now, self.paused_until - now)

    def started(self, now: float) -> None:
        self.in_flight += 1
        self.next_start = max(now, self.next_start) + self.spacing

    def finished(self, now: float, status: int | None, limits: dict[str, Limit], retry_after: float | None) -> None:
        """An attempt ended: `status` None when no response came (a connection failure)."""
        self.in_flight -= 1
        if status in PAUSING:
            self.rate_limited += status == 429
            self.paused_until = max(self.paused_until, now + (retry_after if retry_after is not None
                                                              else DEFAULT_PAUSE_S))
            self.allowed = max(1.0, self.allowed / 2)
        elif status is not None and status < 400:
            self.allowed = min(float(self.max_concurrency), self.allowed + 1 / self.allowed)
        if limits:
            self.spacing = self.spacing_for(limits)

    def spacing_for(self, limits: dict[str, Limit]) -> float:
        """For each dimension with no more calls left than could be in flight (+1 in reserve), one
        call's cost at the bucket's refill rate; the largest of them, or 0 when all have room."""
        reserve = math.ceil(self.allowed) + 1
        spacing = 0.0
        for dimension, limit in limits.items():
            cost = self.costs.get(dimension)
            if cost and limit.remaining < reserve * cost:
                spacing = max(spacing, cost / limit.refill_per_s)
        return spacing

    def record_usage(self, input_tokens: int, output_tokens: int) -> None:
        """A call's token cost (cache reads excluded: they do not count towards input-token
        limits on current models), smoothed, for the token dimensions' spacing."""
        observed = {"input-tokens": input_tokens, "output-tokens": output_tokens,
                    "tokens": input_tokens + output_tokens}
        with self.cond:
            for dimension, value in observed.items():
                old = self.costs.get(dimension)
                self.costs[dimension] = value if old is None else old + COST_SMOOTHING * (value - old)

    # -- blocking ---------------------------------------------------------------------------

    def acquire(self) -> None:
        """Wait for a slot, never more than `SLICE_S` between checks whether to stop (`Waits.check`)."""
        with self.cond:
            while (wait := self.delay(self.clock())) is None or wait > 0:
                if self.waits is not None:
                    self.waits.check()
                self.cond.wait(SLICE_S if wait is None else min(wait, SLICE_S))
            self.started(self.clock())

    def release(self, status: int | None, headers: Mapping[str, str] | None) -> None:
        """An attempt ended; a pause it started or extended is reported to `waits` (announced, counted)."""
        headers, now = headers or {}, self.wall()
        limits, retry_after = read_limits(headers, now), retry_after_s(headers, now)
        with self.cond:
            before, clock = self.paused_until, self.clock()
            self.finished(clock, status, limits, retry_after)
            added, until = max(0.0, self.paused_until - max(before, clock)), self.paused_until - clock
            self.cond.notify_all()
        if added > 0 and self.waits is not None:
            self.waits.paused(added, until)

    def attempt(self, send: Callable[[], Response]) -> Response:
        """One HTTP attempt: wait for a slot, send, report its status and headers (none when no
        response came: a connection failure)."""
        self.acquire()
        status, headers = None, None
        try:
            response = send()
            status, headers = response.status_code, response.headers
            return response
        finally:
            self.release(status, headers)


class GovernorMiddleware(anthropic.Middleware):
    """Every Messages API attempt waits for the governor and reports back to it. Batch endpoints
    have limits of their own and pass straight through."""

    def __init__(self, governor: Governor):
        self.governor = governor

    def handle(self, request, call_next):
        if not request.url.rstrip("/").endswith("/messages"):
            return call_next(request)
        return self.governor.attempt(lambda: call_next(request))


class GovernedTransport(httpx2.BaseTransport):
    """The same for the `openai` SDK, one layer lower: every chat-completions attempt through this
    transport waits for the governor and reports back to it."""

    def __init__(self, governor: Governor, inner: httpx2.BaseTransport):
        self.governor, self.inner = governor, inner

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if not request.url.path.rstrip("/").endswith("/chat/completions"):
            return self.inner.handle_request(request)
        return self.governor.attempt(lambda: self.inner.handle_request(request))

    def close(self) -> None:
        self.inner.close()
