"""The replay model: the official `anthropic` SDK, configured once for every replay.

Transport failures (429, 5xx, timeouts, connection errors) are retried by the SDK with backoff
(`max_retries`, honouring `retry-after`); what is still failing afterwards raises
`anthropic.APIError` to the caller, which records it. A 200 whose body is not a Message (not
JSON, or JSON of another shape) raises `BadResponse`: a row for the caller, never a crash.
Every Messages API attempt passes the step's rate governor (`resources.rate_governor`), and a
system prompt the caller marks as a reused prefix is sent for the prompt cache
(`resources.prompt_cache`). Nothing here logs the API key.
"""

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import dagster as dg
from pydantic import Field, PrivateAttr

from resources.fieldwise import FieldwiseResource
from resources.prompt_cache import system_param
from resources.rate_governor import Governor, GovernorMiddleware
from resources.run_mode import DryRunGuard
from resources.run_worker import RunWorkerWatch


class BadResponse(RuntimeError):
    """The provider answered 200 with something that is not a Message."""


@dataclass(frozen=True)
class Reply:
    text: str
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_create_tokens: int
    batch: bool
    latency_ms: float
    message_id: str


@dataclass(frozen=True)
class BatchRequest:
    custom_id: str  # ^[a-zA-Z0-9_-]{1,64}$
    model: str
    system: str
    user: str
    cache_system: bool = False


def _count(value: Any, name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadResponse(f"usage.{name} is {value!r:.40}, not a token count")
    return value


def _reply(message: Any, latency_ms: float, batch: bool) -> Reply:
    """A Reply from an SDK Message, checked: the SDK builds models from any JSON without validating."""
    content, usage = getattr(message, "content", None), getattr(message, "usage", None)
    if not isinstance(content, list) or usage is None or not isinstance(getattr(message, "id", None), str):
        raise BadResponse(f"the 200 reply is not a Message: {type(message).__name__} without content/usage/id")
    texts = [getattr(block, "text", None) for block in content if getattr(block, "type", None) == "text"]
    if not all(isinstance(t, str) for t in texts):
        raise BadResponse("a text block of the reply has no text")
    return Reply(
        text="".join(texts),
        model=str(getattr(message, "model", "")),
        input_tokens=_count(getattr(usage, "input_tokens", None), "input_tokens"),
        output_tokens=_count(getattr(usage, "output_tokens", None), "output_tokens"),
        cache_read_tokens=_count(getattr(usage, "cache_read_input_tokens", None), "cache_read_input_tokens"),
        cache_create_tokens=_count(getattr(usage, "cache_creation_input_tokens", None), "cache_creation_input_tokens"),
        batch=batch,
        latency_ms=latency_ms,
        message_id=message.id,
    )


class ReplayModel(FieldwiseResource, DryRunGuard):
    api_key: str | None = Field(default=None, description="EnvVar ANTHROPIC_API_KEY; None = the SDK's own chain.")
    base_url: str | None = Field(default=None, description="None = api.anthropic.com.")
    target_models: list[str] = Field(default=["claude-haiku-4-5"], description="Cheap models to replay under.")
    max_tokens: int = Field(default=4096, ge=1)
    timeout_s: float = Field(default=300.0, gt=0, description="Per request.")
    max_retries: int = Field(default=4, ge=0, description="SDK retries for 429/5xx/timeouts.")
    max_concurrency: int = Field(default=8, ge=1, le=256, description="Replays in flight per step (the most "
                                 "the rate governor allows; it halves on a 429 and grows back).")
    use_batches: bool = Field(default=False, description="Always use the Message Batches API (half price, async).")
    batch_threshold_days: int = Field(default=7, ge=0, description="A run over more days than this (a backfill) "
                                      "sends its uncached replays as Message Batches; the weekly tick (7 days) "
                                      "and single days stay interactive.")
    batch_poll_interval_s: float = Field(default=30.0, gt=0, description="Longest wait between batch polls "
                                         "(polls start at 1 s and double).")
    prompt_caching: bool = Field(default=True, description="Send a system prompt reused by several replays, "
                                 "long enough for the model's minimum, with cache_control (5-minute cache).")

    _client: Any = PrivateAttr(default=None)
    _governor: Governor | None = PrivateAttr(default=None)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)  # one client and governor per step
    _watch: RunWorkerWatch | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        super().setup_for_execution(context)
        self._watch = RunWorkerWatch(context.instance, context.run)

    @property
    def client(self) -> anthropic.Anthropic:
        """The SDK client; refused in a dry run, and once the run worker died (no more spending)."""
        self.refuse_in_dry_run("build a model provider client")
        if self._watch is not None:
            self._watch.check()
        with self._lock:  # the replay workers ask at once: they must share one governor
            if self._client is None:
                self._governor = Governor(self.max_concurrency)
                self._client = anthropic.Anthropic(
                    api_key=self.api_key, base_url=self.base_url, timeout=self.timeout_s,
                    max_retries=self.max_retries, middleware=[GovernorMiddleware(self._governor)],
                )
        return self._client

    @property
    def rate_limited(self) -> int:
        """429s the provider answered this step (SDK retries included)."""
        return self._governor.rate_limited if self._governor is not None else 0

    def batch_for(self, n_days: int) -> bool:
        """Whether a run over `n_days` partitions replays through Message Batches."""
        return self.use_batches or n_days > self.batch_threshold_days

    def _params(self, model: str, system: str, user: str, cache_system: bool) -> dict:
        """The captured system and user prompt, nothing else; the system prompt marked for the
        prompt cache when the caller reuses it (the reply does not depend on the mark)."""
        return {"model": model, "max_tokens": self.max_tokens,
                "system": system_param(system, cache_system and self.prompt_caching),
                "messages": [{"role": "user", "content": user}]}

    def create(self, model: str, system: str, user: str, cache_system: bool = False) -> Reply:
        """One replay."""
        started = time.monotonic()
        client = self.client
        try:
            message = client.messages.create(**self._params(model, system, user, cache_system))
        except (ValueError, anthropic.APIResponseValidationError) as exc:  # a 200 body that is not JSON
            raise BadResponse(f"the 200 reply is not a Message: {type(exc).__name__}: {exc}"[:200]) from exc
        reply = _reply(message, (time.monotonic() - started) * 1000, batch=False)
        self._governor.record_usage(reply.input_tokens + reply.cache_create_tokens, reply.output_tokens)
        return reply

    def submit_batch(self, requests: list[BatchRequest]) -> str:
        batch = self.client.messages.batches.create(requests=[
            {"custom_id": r.custom_id, "params": self._params(r.model, r.system, r.user, r.cache_system)}
            for r in requests
        ])
        return batch.id

    def wait_for_batch(self, batch_id: str, timeout_s: float = 24 * 3600) -> None:
        """Poll until the batch ended: after 1 s, then twice as long each time, at most
        `batch_poll_interval_s` (a batch that ends quickly is noticed quickly)."""
        deadline, interval = time.monotonic() + timeout_s, 1.0
        while self.client.messages.batches.retrieve(batch_id).processing_status != "ended":
            if time.monotonic() > deadline:
                raise TimeoutError(f"batch {batch_id} did not end within {timeout_s} s")
            time.sleep(min(interval, self.batch_poll_interval_s))
            interval *= 2

    def batch_results(self, batch_id: str) -> Iterator[tuple[str, Reply | str]]:
        """(custom_id, reply) for successes, (custom_id, error text) for the rest."""
        for entry in self.client.messages.batches.results(batch_id):
            result = entry.result
            if result.type != "succeeded":
                yield entry.custom_id, f"batch result {result.type}"
                continue
            try:
                yield entry.custom_id, _reply(result.message, 0.0, batch=True)
            except BadResponse as exc:
                yield entry.custom_id, str(exc)
