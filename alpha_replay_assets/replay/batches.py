"""Backfills at batch price: a range's uncached replays of one model as Message Batches.

The Batches API answers at half price, asynchronously (most batches end within an hour, all
within 24 h). A backfill sends every admitted, uncached replay of its whole range up front, in
as few batches as the API accepts (100,000 requests or 256 MB each), waits for them together and
stores each result in the replay cache; the days are then replayed as usual and find their
answers there. One batch per day instead would wait for 56 batches one after the other.

A retried step must not submit (and pay for) the same requests again. Each day's record
(`replay_batches/<target>/dt=<day>.json`) names the batches holding its requests, written as
soon as a batch is accepted; before looking for what is uncached on a day, the batches its
record names and nobody collected are collected first.
"""

import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import anthropic

from alpha_replay_assets.paths import batch_record_key
from alpha_replay_assets.replay.cache import ReplyCache
from alpha_replay_assets.replay.engine import ReplayConfig
from alpha_replay_assets.replay.planning import admit_within, shared_prefixes
from alpha_replay_assets.replay.rate_card import price_for
from resources.artifact_store import ArtifactStore
from resources.replay_model import BatchRequest, ReplayModel
from resources.replies import Reply

MAX_REQUESTS = 100_000
# The API takes 256 MB per batch; prompts grow by their JSON escaping and the request around them.
MAX_PROMPT_BYTES = 200 * 2**20
DIGEST = re.compile(r"[0-9a-f]{64}")  # custom_id = the request's content address


@dataclass
class Pending:
    requests: list[BatchRequest]
    days: set[dt.date]
    prompt_bytes: int = 0


class RangeBatch:
    """The batches of one model for one run: `add` each day's admitted tasks, then `finish`."""

    def __init__(self, log, store: ArtifactStore, model_res: ReplayModel, model: str):
        self.log, self.store, self.model_res, self.model = log, store, model_res, model
        self.cache = ReplyCache(store, model)
        self.pending = Pending([], set())
        self.submitted: list[str] = []
        self.requests = 0  # submitted by this run
        self.collected: set[str] = set()
        self.days: set[dt.date] = set()  # days whose records name a batch of this run

    def add(self, day: dt.date, tasks, shared_prefixes: set[str]) -> None:
        """Queue `day`'s tasks (with `digest`, `system`, `user`) that the replay cache cannot
        answer; system prompts in `shared_prefixes` go to the prompt cache (hits in a batch are
        best effort)."""
        self._resume(day)
        with ThreadPoolExecutor(self.store.max_workers, thread_name_prefix="batch-check") as pool:
            cached = list(pool.map(lambda task: self.cache.has(task.digest), tasks))
        for task, hit in zip(tasks, cached):
            if not hit:
                self._queue(day, BatchRequest(task.digest, self.model, task.system, task.user,
                                              cache_system=task.system in shared_prefixes))

    def finish(self) -> None:
        """Submit what is queued, wait for every batch of this run and collect the results."""
        if self.pending.requests:
            self._submit()
        self._collect(self.submitted)
        for day in sorted(self.days):
            key = batch_record_key(self.store, day, self.model)
            self.store.write_json(key, self.store.read_json(key) | {"collected": True})

    def _resume(self, day: dt.date) -> None:
        key = batch_record_key(self.store, day, self.model)
        record = self.store.read_json(key)
        if record is None or record.get("collected"):
            return
        ids = record.get("batch_ids") or [record["batch_id"]]  # records before range batches held one id
        self._collect([b for b in ids if b not in self.collected])
        self.store.write_json(key, record | {"collected": True})

    def _queue(self, day: dt.date, request: BatchRequest) -> None:
        size = len(request.system) + len(request.user)
        if self.pending.requests and (len(self.pending.requests) >= MAX_REQUESTS
                                      or self.pending.prompt_bytes + size > MAX_PROMPT_BYTES):
            self._submit()
        self.pending.requests.append(request)
        self.pending.days.add(day)
        self.pending.prompt_bytes += size

    def _submit(self) -> None:
        batch_id = self.model_res.submit_batch(self.pending.requests)
        for day in sorted(self.pending.days):  # recorded before any wait: a retried step resumes, never resubmits
            key = batch_record_key(self.store, day, self.model)
            record = self.store.read_json(key)
            earlier = record.get("batch_ids", []) if record and not record.get("collected") else []
            self.store.write_json(key, {"batch_ids": earlier + [batch_id], "collected": False})
        self.days |= self.pending.days
        self.submitted.append(batch_id)
        self.requests += len(self.pending.requests)
        self.log.info(f"{self.model}: submitted batch {batch_id} ({len(self.pending.requests)} requests, "
                      f"{len(self.pending.days)} days)")
        self.pending = Pending([], set())

    def _collect(self, batch_ids: list[str]) -> None:
        for batch_id in batch_ids:
            try:
                self.model_res.wait_for_batch(batch_id)
                results = self.model_res.batch_results(batch_id, self.model)
                replies = [(custom_id, result) for custom_id, result in results
                           if isinstance(result, Reply) and DIGEST.fullmatch(custom_id)]
            except anthropic.NotFoundError:  # gone (results expire after 29 days): asked again
                self.log.warning(f"{self.model}: batch {batch_id} not found; its requests are asked again")
                continue
            with ThreadPoolExecutor(self.store.max_workers, thread_name_prefix="batch-collect") as pool:
                list(pool.map(lambda reply: self.cache.put(*reply), replies))
            self.collected.add(batch_id)


def prefill_with_batches(context, store: ArtifactStore, model_res: ReplayModel, config: ReplayConfig,
                         plans) -> tuple[int, list[str]]:
    """Batch mode: the admitted, uncached tasks of every (day, model, tasks) in `plans` go to
    Message Batches first, one set per model for the whole range (`batches.RangeBatch`), so the
    day replays that follow find them cached. A model whose route has no batch API (a router
    slug) stays interactive, logged. Returns how many requests were batched and those models."""
    ranges: dict[str, RangeBatch] = {}
    interactive: list[str] = []
    for day, model, tasks in plans:
        if not model_res.has_batches(model):
            if model not in interactive:
                interactive.append(model)
                context.log.info(f"{model}: the router has no batch API; this backfill replays it interactively "
                                 "at standard price")
            continue
        admitted, _ = admit_within(tasks, price_for(model, config.prices), config.budget_usd, batch=True)
        shared = shared_prefixes(admitted, model) if model_res.caches_prompts(model) else set()
        if model not in ranges:
            ranges[model] = RangeBatch(context.log, store, model_res, model)
        ranges[model].add(day, admitted, shared)
    for batch in ranges.values():
        batch.finish()
    return sum(batch.requests for batch in ranges.values()), interactive
