"""The replay model: the official `anthropic` SDK, configured once for every replay.

Transport failures (429, 5xx, timeouts, connection errors) are retried by the SDK with backoff
(`max_retries`, honouring `retry-after`); what is still failing afterwards raises
`anthropic.APIError` to the caller, which records it. A 200 whose body is not a Message (not
JSON, or JSON of another shape) raises `BadResponse`: a row for the caller, never a crash.
Nothing here logs the API key.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import dagster as dg
from pydantic import Field, PrivateAttr

from resources.fieldwise import FieldwiseResource
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
    max_concurrency: int = Field(default=8, ge=1, le=256, description="Replays in flight per step.")
    use_batches: bool = Field(default=False, description="Message Batches API (half price, async): for backfills.")
    batch_poll_interval_s: float = Field(default=30.0, gt=0)

    _client: Any = PrivateAttr(default=None)
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
        if self._client is None:
            self._client = anthropic.Anthropic(
                api_key=self.api_key, base_url=self.base_url, timeout=self.timeout_s, max_retries=self.max_retries
            )
        return self._client

    def create(self, model: str, system: str, user: str) -> Reply:
        """One replay: the captured system and user prompt, nothing else."""
        started = time.monotonic()
        client = self.client
        try:
            message = client.messages.create(
                model=model, max_tokens=self.max_tokens, system=system, messages=[{"role": "user", "content": user}]
            )
        except (ValueError, anthropic.APIResponseValidationError) as exc:  # a 200 body that is not JSON
            raise BadResponse(f"the 200 reply is not a Message: {type(exc).__name__}: {exc}"[:200]) from exc
        return _reply(message, (time.monotonic() - started) * 1000, batch=False)

    def submit_batch(self, requests: list[BatchRequest]) -> str:
        batch = self.client.messages.batches.create(
            requests=[
                {"custom_id": r.custom_id, "params": {"model": r.model, "max_tokens": self.max_tokens,
                                                      "system": r.system,
                                                      "messages": [{"role": "user", "content": r.user}]}}
                for r in requests
            ]
        )
        return batch.id

    def wait_for_batch(self, batch_id: str, timeout_s: float = 24 * 3600) -> None:
        deadline = time.monotonic() + timeout_s
        while self.client.messages.batches.retrieve(batch_id).processing_status != "ended":
            if time.monotonic() > deadline:
                raise TimeoutError(f"batch {batch_id} did not end within {timeout_s} s")
            time.sleep(self.batch_poll_interval_s)

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
