"""The replay model: the official `anthropic` SDK, configured once for every replay.

Transport failures (429, 5xx, timeouts, connection errors) are retried by the SDK with backoff
(`max_retries`, honouring `retry-after`); what is still failing afterwards raises
`anthropic.APIError` to the caller, which records it. Nothing here logs the API key.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import dagster as dg
from pydantic import Field, PrivateAttr


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


def _reply(message: Any, latency_ms: float, batch: bool) -> Reply:
    usage = message.usage
    return Reply(
        text="".join(block.text for block in message.content if getattr(block, "type", "") == "text"),
        model=message.model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_input_tokens or 0,
        cache_create_tokens=usage.cache_creation_input_tokens or 0,
        batch=batch,
        latency_ms=latency_ms,
        message_id=message.id,
    )


class ReplayModel(dg.ConfigurableResource):
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

    @property
    def client(self) -> anthropic.Anthropic:
        if self._client is None:
            self._client = anthropic.Anthropic(
                api_key=self.api_key, base_url=self.base_url, timeout=self.timeout_s, max_retries=self.max_retries
            )
        return self._client

    def create(self, model: str, system: str, user: str) -> Reply:
        """One replay: the captured system and user prompt, nothing else."""
        started = time.monotonic()
        message = self.client.messages.create(
            model=model, max_tokens=self.max_tokens, system=system, messages=[{"role": "user", "content": user}]
        )
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
            if result.type == "succeeded":
                yield entry.custom_id, _reply(result.message, 0.0, batch=True)
            else:
                yield entry.custom_id, f"batch result {result.type}"
