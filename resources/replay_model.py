"""The replay model: one resource that routes each model id to the client that can carry it.

Claude ids (`claude-*`) go through the official `anthropic` SDK (Messages API, Message Batches,
prompt caching); router slugs (`vendor/model`) through the `openai` SDK to an OpenAI-compatible
router (`resources.router_client`, OpenRouter by default). Routing is by the model id, never by
an artifact's `provider` field: the think tank calls OpenRouter and records `anthropic`.

One resource rather than one per provider: a replay asset plans, budgets, caches and journals
replays the same way whatever the route, and a noise ceiling replays whichever original model
an artifact names; the route is a detail of `create`. Each route has its own client and rate
governor (a 429 from one provider never slows the other), built on first use.

Transport failures (429, 5xx, timeouts, connection errors) are retried here, not by the SDK
(`max_retries`, with backoff; a 429's `retry-after` is the rate governor's pause): every wait goes
through `resources.waits.Waits`, so it is logged, bounded by `max_wait_s` and stops within a second
of a SIGINT or `dagster run terminate`. What still fails raises `ProviderFailure`. A 200 whose
body is not a reply (not JSON, or JSON of another shape) raises `BadResponse`: a row for the
caller, never a crash. Nothing here logs an API key.
"""

import dataclasses
import datetime as dt
import functools
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anthropic
import dagster as dg
import openai
from pydantic import Field, PrivateAttr, field_validator

from resources import router_client
from resources.fieldwise import FieldwiseResource
from resources.prompt_cache import system_param
from resources.rate_governor import MAX_RETRY_AFTER_S, PAUSING, Governor, GovernorMiddleware
from resources.replies import BadResponse, ProviderFailure, Reply, count, provider_failures
from resources.run_mode import DryRunGuard
from resources.run_worker import RunWorkerWatch
from resources.waits import Waits

ANTHROPIC = "anthropic"
ROUTER = "openai_compat"
ANTHROPIC_DEFAULT_URL = "https://api.anthropic.com"
LOOPBACK_NAMES = ("localhost", "ip6-localhost", "ip6-loopback")
REAL_HOSTS = ("api.anthropic.com", urlsplit(router_client.DEFAULT_BASE_URL).hostname)
# Run tags while rate-limited: when the route's pause ends, and the run's waiting so far (read by later steps).
TAG_RATE_LIMITED_UNTIL, TAG_WAITED_S = "alpha_replay/rate_limited_until", "alpha_replay/rate_limited_s"
RETRY_DELAY_S = (0.5, 8.0)  # the SDKs' backoff before a retry: first, longest (doubling)
SIMULATED = "~simulated"  # appended to a simulated endpoint's route in the replay cache address


@functools.lru_cache(maxsize=64)
def is_loopback(host: str | None) -> bool:
    """Whether `host` is this machine (a model server here is never the provider): every address it
    resolves to is loopback or unspecified (127.1, 2130706433, 0.0.0.0, ::ffff:127.0.0.1, localhost.,
    ip6-localhost). A name that does not resolve is not this machine; the real APIs' hosts are not
    looked up (a dry run makes no external call)."""
    name = (host or "").strip("[]").rstrip(".").lower()
    if not name or name in REAL_HOSTS:
        return False
    if name in LOOPBACK_NAMES or name.endswith(".localhost"):  # RFC 6761, Debian's hosts: even where unresolved
        return True
    try:
        found = {info[4][0].split("%")[0] for info in socket.getaddrinfo(name, None)}
    except (OSError, UnicodeError, ValueError):
        return False
    return bool(found) and all(_this_machine(ipaddress.ip_address(address)) for address in found)


def _this_machine(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    return _this_machine(mapped) if mapped else address.is_loopback or address.is_unspecified


def retry_at(until_s: float) -> dt.datetime:
    """When a pause of `until_s` ends, bounded so that an absurd pause cannot overflow the date."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=min(max(until_s, 0.0), MAX_RETRY_AFTER_S))


# The cheap targets (docs/domain.md §1.4: cheaper than the family's original, from either provider). The
# default list serves every family without an entry of its own; a family whose original is cheaper
# declares its own (`Family.cheap_target`), passed in as `target_models_by_family` by the definitions.
DEFAULT_TARGET_MODELS = ("claude-haiku-4-5",)


class Unroutable(RuntimeError):
    """No configured client can carry this model id."""


@dataclass(frozen=True)
class BatchRequest:
    custom_id: str  # ^[a-zA-Z0-9_-]{1,64}$
    model: str
    system: str
    user: str
    cache_system: bool = False


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
        input_tokens=count(getattr(usage, "input_tokens", None), "input_tokens"),
        output_tokens=count(getattr(usage, "output_tokens", None), "output_tokens"),
        cache_read_tokens=count(getattr(usage, "cache_read_input_tokens", None), "cache_read_input_tokens"),
        cache_create_tokens=count(getattr(usage, "cache_creation_input_tokens", None), "cache_creation_input_tokens"),
        batch=batch,
        latency_ms=latency_ms,
        message_id=message.id,
    )


class ReplayModel(FieldwiseResource, DryRunGuard):
    api_key: str | None = Field(default=None, description="EnvVar ANTHROPIC_API_KEY; None = the SDK's own chain.")
    base_url: str | None = Field(default=None, description="None = api.anthropic.com.")
    openai_compat_base_url: str = Field(default=router_client.DEFAULT_BASE_URL, description="The OpenAI-compatible "
                                        "router that carries `vendor/model` slugs.")
    openai_compat_api_key: str | None = Field(default=None, description="EnvVar ALPHA_REPLAY_OPENAI_COMPAT_API_KEY; "
                                              "required to replay a router slug (never the SDK's OPENAI_API_KEY).")
    target_models: list[str] = Field(default=list(DEFAULT_TARGET_MODELS), description="Cheap models every "
                                     "family without an entry in `target_models_by_family` is replayed under.")
    target_models_by_family: dict[str, list[str]] = Field(
        default_factory=dict, description="agent_id_base -> its cheap models, instead of `target_models` (a "
        "family whose original is a low-cost model needs a cheaper one: the families' `cheap_target` declarations, "
        "or EnvVar ALPHA_REPLAY_TARGET_MODELS_BY_FAMILY, which replaces them).")
    max_tokens: int = Field(default=4096, ge=1)
    timeout_s: float = Field(default=300.0, gt=0, description="Per request.")
    max_retries: int = Field(default=4, ge=0, description="Retries for 429/5xx/timeouts.")
    max_wait_s: float = Field(default=600.0, ge=0, le=MAX_RETRY_AFTER_S, description="Most seconds a run may "
                              "wait on the provider's rate limits (429/529 pauses) in all; beyond it the replay step "
                              "fails with its counts.")
    max_concurrency: int = Field(default=8, ge=1, le=256, description="Replays in flight per step (the most "
                                 "the rate governor allows; it halves on a 429 and grows back).")
    use_batches: bool = Field(default=False, description="Always use the Message Batches API (half price, async; "
                              "Claude models only: the router has no batch API).")
    batch_threshold_days: int = Field(default=7, ge=0, description="A run over more days than this (a backfill) "
                                      "sends its uncached replays as Message Batches; the weekly tick (7 days) "
                                      "and single days stay interactive.")
    batch_poll_interval_s: float = Field(default=30.0, gt=0, description="Longest wait between batch polls "
                                         "(polls start at 1 s and double).")
    prompt_caching: bool = Field(default=True, description="Send a system prompt reused by several replays, "
                                 "long enough for the model's minimum, with cache_control (5-minute cache).")
    simulated: bool | None = Field(default=None, description="Whether the endpoints answer with a stand-in model "
                                   "(the demo's loopback). None = decided by the endpoint: a loopback host is "
                                   "simulated. Simulated and real replies never answer for each other.")

    _clients: dict[str, Any] = PrivateAttr(default_factory=dict)
    _governors: dict[str, Governor] = PrivateAttr(default_factory=dict)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)  # one client and governor per route and step
    _watch: RunWorkerWatch | None = PrivateAttr(default=None)
    _waits: Waits | None = PrivateAttr(default=None)
    _interactive: dict[str, Any] = PrivateAttr(default_factory=dict)  # per route: one attempt a call, retried here

    @field_validator("target_models", "target_models_by_family")
    @classmethod
    def _named_targets(cls, value):
        """Every family replays under at least one named model: an empty list or id is a mistake, not "none"."""
        for models in value.values() if isinstance(value, dict) else [value]:
            if not models or not all(isinstance(m, str) and m.strip() for m in models):
                raise ValueError(f"a target list must name at least one model id: {models!r}")
        return value

    def targets_for(self, family: str) -> list[str]:
        """The cheap models `family` (an agent_id_base) is replayed and judged under."""
        return self.target_models_by_family.get(family) or self.target_models

    @property
    def all_targets(self) -> list[str]:
        """Every model some family replays under, each once: the default list, then the families' own."""
        by_family = self.target_models_by_family
        return list(dict.fromkeys([*self.target_models, *(m for f in sorted(by_family) for m in by_family[f])]))

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        super().setup_for_execution(context)
        self._watch = RunWorkerWatch(context.instance, context.run)
        waited = float((context.run.tags if context.run else {}).get(TAG_WAITED_S, 0.0))

        def announce(until_s: float, total_s: float) -> None:
            until = retry_at(until_s)
            context.log.warning(f"rate-limited by the provider: retrying in {until_s:.0f} s (at {until:%H:%M:%S} UTC); "
                                f"{total_s:.0f} s of waiting in this run so far, at most {self.max_wait_s:g} s "
                                "(replay_model.max_wait_s)")
            if context.instance is not None and context.run is not None:
                context.instance.add_run_tags(context.run.run_id, {
                    TAG_RATE_LIMITED_UNTIL: until.isoformat(timespec="seconds"), TAG_WAITED_S: f"{total_s:.1f}"})

        self._waits = Waits(self.max_wait_s, waited, self._watch.cancelled, announce)

    @property
    def waits(self) -> Waits:
        """This step's waits (`stop` them to stop every replay worker within a second)."""
        if self._waits is None:
            self._waits = Waits(self.max_wait_s)
        return self._waits

    def provider(self, model: str) -> str:
        """Which client carries `model`, decided by its id."""
        if model.startswith("claude-"):
            return ANTHROPIC
        if router_client.is_router_slug(model):
            return ROUTER
        raise Unroutable(f"no route for model {model!r}: neither an Anthropic id (claude-*) nor a router slug "
                         "(vendor/model)")

    def route_problem(self, model: str) -> str | None:
        """Why `model` cannot be replayed with this configuration, or None."""
        try:
            provider = self.provider(model)
        except Unroutable as exc:
            return str(exc)
        if provider == ROUTER and not self.openai_compat_api_key:
            return (f"no API key for the OpenAI-compatible router that carries {model!r}: set "
                    "ALPHA_REPLAY_OPENAI_COMPAT_API_KEY")
        return None

    def route(self, model: str) -> str:
        """The route part of a replay's content address: `anthropic` (the real API, or a stand-in on
        this machine), `anthropic@host[:port]` for any other Anthropic endpoint (a proxy or a mock never
        writes into the real API's address), or the router with its host (another router serving the
        same slug may answer from another upstream)."""
        if self.provider(model) == ROUTER:
            return f"{ROUTER}@{urlsplit(self.openai_compat_base_url).hostname}"
        url = urlsplit(self.base_url or ANTHROPIC_DEFAULT_URL)
        if (url.hostname or "").rstrip(".") == REAL_HOSTS[0] or self.is_simulated(model):
            return ANTHROPIC
        return f"{ANTHROPIC}@{url.hostname}" + (f":{url.port}" if url.port else "")

    def endpoint(self, model: str) -> str:
        """host[:port] of the endpoint that answers `model`."""
        url = (self.base_url or ANTHROPIC_DEFAULT_URL) if self.provider(model) == ANTHROPIC \
            else self.openai_compat_base_url
        return urlsplit(url).netloc

    def is_simulated(self, model: str) -> bool:
        if self.simulated is not None:
            return self.simulated
        return is_loopback(urlsplit(f"//{self.endpoint(model)}").hostname)

    def address(self, model: str) -> str:
        """The route as the replay cache addresses it: a simulated endpoint's replies live apart
        (`~simulated`, without the port: the demo's loopback changes port every run), so a real run
        never reads a stand-in's reply nor the reverse."""
        return self.route(model) + (SIMULATED if self.is_simulated(model) else "")

    def provenance(self, model: str, reply: Reply) -> Reply:
        """`reply` stamped with who answered it (recorded in the replay cache)."""
        return dataclasses.replace(reply, route=self.route(model), endpoint=self.endpoint(model),
                                   simulated=self.is_simulated(model))

    @property
    def claim_stale_s(self) -> float:
        """How old another run's claim on a request may be before this run takes it over: longer
        than any call can take with its retries (then its owner is gone)."""
        return self.timeout_s * (self.max_retries + 1) + 60.0

    def has_batches(self, model: str) -> bool:
        """Whether `model`'s route has a batch API (the router has none: its backfills stay interactive)."""
        return self.provider(model) == ANTHROPIC

    def caches_prompts(self, model: str) -> bool:
        """Whether a reused system prompt is marked for `model`'s prompt cache (routers cache
        prefixes implicitly; there is nothing to mark)."""
        return self.prompt_caching and self.provider(model) == ANTHROPIC

    def _client_for(self, provider: str) -> Any:
        """The route's SDK client; refused in a dry run, and once the run worker died (no more spending)."""
        self.refuse_in_dry_run("build a model provider client")
        if self._watch is not None:
            self._watch.check()
        with self._lock:  # the replay workers ask at once: they must share one governor per route
            if provider not in self._clients:
                governor = self._governors[provider] = Governor(self.max_concurrency, waits=self.waits)
                self._clients[provider] = anthropic.Anthropic(
                    api_key=self.api_key, base_url=self.base_url, timeout=self.timeout_s,
                    max_retries=self.max_retries, middleware=[GovernorMiddleware(governor)],
                ) if provider == ANTHROPIC else router_client.build_client(
                    self.openai_compat_api_key, self.openai_compat_base_url, self.timeout_s, self.max_retries, governor)
                self._interactive[provider] = self._clients[provider].with_options(max_retries=0)
        return self._clients[provider]

    @property
    def client(self) -> anthropic.Anthropic:
        """The Anthropic client (Message Batches)."""
        return self._client_for(ANTHROPIC)

    @property
    def rate_limited(self) -> int:
        """429s the providers answered this step (SDK retries included), every route."""
        return sum(governor.rate_limited for governor in self._governors.values())

    def batch_for(self, n_days: int) -> bool:
        """Whether a run over `n_days` partitions replays through Message Batches (where the route has them)."""
        return self.use_batches or n_days > self.batch_threshold_days

    def _params(self, model: str, system: str, user: str, cache_system: bool) -> dict:
        """The captured system and user prompt, nothing else; the system prompt marked for the
        prompt cache when the caller reuses it (the reply does not depend on the mark)."""
        return {"model": model, "max_tokens": self.max_tokens,
                "system": system_param(system, cache_system and self.prompt_caching),
                "messages": [{"role": "user", "content": user}]}

    def create(self, model: str, system: str, user: str, cache_system: bool = False) -> Reply:
        """One replay, through the route `model` takes, retried on transient failures (after a backoff
        waited in slices; a 429's pause is the governor's, waited before the next attempt starts)."""
        if problem := self.route_problem(model):
            raise Unroutable(problem)
        attempt, (first, longest) = 0, RETRY_DELAY_S
        while True:
            try:
                return self._attempt(model, system, user, cache_system)
            except ProviderFailure as exc:
                if not exc.transient or attempt == self.max_retries:
                    raise
                self.waits.sleep(0.0 if exc.status in PAUSING else min(first * 2 ** attempt, longest))
                attempt += 1

    def _attempt(self, model: str, system: str, user: str, cache_system: bool) -> Reply:
        provider = self.provider(model)
        started = time.monotonic()
        self._client_for(provider)
        client = self._interactive[provider]
        if provider == ANTHROPIC:
            with provider_failures(anthropic, "Message"):
                message = client.messages.create(**self._params(model, system, user, cache_system))
            reply = _reply(message, (time.monotonic() - started) * 1000, batch=False)
        else:
            with provider_failures(openai, "chat completion"):
                completion = client.chat.completions.create(
                    **router_client.chat_params(model, self.max_tokens, system, user))
            reply = router_client.completion_reply(completion, (time.monotonic() - started) * 1000)
        self._governors[provider].record_usage(reply.input_tokens + reply.cache_create_tokens, reply.output_tokens)
        return self.provenance(model, reply)

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

    def batch_results(self, batch_id: str, model: str) -> Iterator[tuple[str, Reply | str]]:
        """(custom_id, reply) for successes, (custom_id, error text) for the rest; `model` is the
        batch's (one model per batch), for the replies' provenance."""
        for entry in self.client.messages.batches.results(batch_id):
            result = entry.result
            if result.type != "succeeded":
                yield entry.custom_id, f"batch result {result.type}"
                continue
            try:
                yield entry.custom_id, self.provenance(model, _reply(result.message, 0.0, batch=True))
            except BadResponse as exc:
                yield entry.custom_id, str(exc)
