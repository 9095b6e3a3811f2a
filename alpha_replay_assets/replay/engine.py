"""The call loop: a day's replays under one model (`DayReplay`), and what the replay assets share.

Never pay twice: every reply is cached in S3 under a content address (target model, prompts,
max tokens, request schema version; `cache`) *as soon as it arrives*, identical requests in flight
are made once (`step.InFlight`), and a request is claimed across concurrent runs (`claims`). The
cache is the journal: a re-materialisation, a backfill over replayed days, or a retry after a
killed run replays only what is not cached yet.

Pay less for the rest: a system prompt several replays share is sent for the provider's prompt
cache, and each such prefix's first call runs before the others so they read a warm cache; a
backfill (a run over more than `replay_model.batch_threshold_days` days) sends its uncached
replays as Message Batches first (`batches`), at half price. Router models (`vendor/model`
slugs, `replay_model.provider`) have no batch API: their backfills stay interactive, and the
run's log and metadata (`interactive_backfill_models`) say so.
"""

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import dagster as dg
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field

from alpha_replay_assets import families
from alpha_replay_assets.family_spec.fields import SchemaError, extract_json
from alpha_replay_assets.index import artifact_index, read_day_index
from alpha_replay_assets.partitions import DAILY, OWNERS, WEEKLY_DEADLINE, day_of, freshness_policy
from alpha_replay_assets.replay.cache import CorruptCacheEntry, ReplyCache
from alpha_replay_assets.replay.claims import Claims
from alpha_replay_assets.replay.planning import Task, admit_within, shared_prefixes
from alpha_replay_assets.replay.rate_card import PRICES_HELP, UnpricedModel, card_id, price_for, today
from alpha_replay_assets.replay.rows import SCHEMA_ERROR, STRUCTURED
from alpha_replay_assets.replay.step import InFlight, Ledger, ReplayHalted
from alpha_replay_assets.replay.stops import FailureStreak, stopping
from resources.artifact_store import ArtifactStore, WriteConflict, naming
from resources.replay_model import ReplayModel
from resources.replies import BadResponse, ProviderFailure, Reply

# Actual spend may exceed the planned budget by this factor (cheap replies longer than expected)
# before the remaining calls of the day are stopped.
HARD_STOP_FACTOR = 1.5


class ReplayConfig(dg.Config):
    """What every replay asset is configured with (the noise ceiling adds its sample)."""

    budget_usd: float = Field(default=25.0, ge=0, description="Expected spend per day and target: artifacts "
                              "are admitted in key order while their expected cost fits (cached ones count too, "
                              "so which artifacts are replayed depends only on the data and this number).")
    max_failure_rate: float = Field(default=0.2, ge=0, le=1, description="Above this share of provider "
                                    "failures (transport errors, bad responses) among attempted replays, "
                                    "the step fails loudly.")
    progress_every: int = Field(default=50, ge=1, description="Log progress every N replays.")
    prices: dict[str, list[float]] = Field(default={}, description=PRICES_HELP)


def outcome_for_reply(family: str, original: dict, text: str) -> dict:
    """Validate and score one reply with the family's judge (its declared scorer, or the
    structural scorer for an unregistered family): `structured` with a score, or `schema_error`
    (no retry). `scorer` names the judge on both."""
    judge = families.judge_for(family, original)
    try:
        reply = judge.validate(extract_json(text), original)
    except SchemaError as exc:
        return {"outcome": SCHEMA_ERROR, "error": str(exc)[:200], "scorer": judge.name}
    agreement = judge.score(original, reply)
    return {"outcome": STRUCTURED, "agreement_score": agreement.score, "scorer": agreement.scorer,
            "diagnostics": json.dumps(agreement.diagnostics, sort_keys=True),
            "label_pairs": json.dumps(judge.label_pairs(original, reply))}


def same_model(asked: str, reported: str) -> bool:
    """Whether a reply's reported model is the one asked for (a dated snapshot of it counts: the API
    answers `claude-haiku-4-5` as `claude-haiku-4-5-20251001`). A reply naming another model, or
    none, is a mismatch: its answer is still recorded, flagged, never silently mixed into the series."""
    return bool(reported) and card_id(reported) == card_id(asked)


def require_target(model: str, prices: dict, model_res: ReplayModel) -> None:
    """A target that cannot be priced (a budget needs a price; the error names the nearest priced
    ids) or routed fails the step before any call."""
    try:
        price_for(model, prices)
    except (UnpricedModel, ValueError) as exc:  # no card; a malformed override
        raise dg.Failure(str(exc), allow_retries=False) from exc
    if problem := model_res.route_problem(model):
        raise dg.Failure(problem, allow_retries=False)


class DayReplay:
    """Replays one day under one model; `batch` plans at batch price (a backfill whose uncached
    requests went to Message Batches first, see `prefill_with_batches`), for routes that have them.
    Replies are priced at the rate in force on the day of the replay run (`priced_on` on every row)."""

    def __init__(self, context, store: ArtifactStore, model_res: ReplayModel, config: ReplayConfig,
                 day, model: str, in_flight: InFlight, batch: bool = False, purpose: str = "concordance"):
        self.context, self.store, self.model_res, self.config = context, store, model_res, config
        self.day, self.model, self.in_flight, self.purpose = day, model, in_flight, purpose
        self.claims = Claims(store, model, context.run_id, model_res.claim_stale_s, step=purpose)
        self.batch = batch and model_res.has_batches(model)
        self.priced_on = today()
        self.price = price_for(model, config.prices, self.priced_on)
        self.cache = ReplyCache(store, model, model_res.is_simulated(model))
        self.shared: set[str] = set()
        self.streak = FailureStreak(model_res.max_concurrency)

    def _cost(self, reply: Reply) -> float:
        """What the provider billed when it says (a router's `usage.cost`), else the price of its tokens."""
        if reply.cost_usd is not None:
            return reply.cost_usd
        return self.price.usd(reply.input_tokens, reply.output_tokens, reply.cache_read_tokens,
                              reply.cache_create_tokens, batch=reply.batch)

    def admit(self, tasks: list[Task]) -> tuple[list[Task], list[dict]]:
        """`admit_within` the day's budget; the rest as `skipped_budget` rows."""
        admitted, over = admit_within(tasks, self.price, self.config.budget_usd, self.batch)
        planned = sum(self.price.usd(*t.expected_tokens, batch=self.batch) for t in admitted)
        reason = (f"beyond the day's budget of ${self.config.budget_usd:g} ({len(admitted)} replays "
                  f"planned at ${planned:.4f})")
        return admitted, [self._row(t) | {"outcome": "skipped_budget", "error": reason} for t in over]

    def _row(self, task: Task) -> dict:
        return {"key": task.key, "agent_id": task.agent_id, "agent_id_base": task.family,
                "target_model": self.model, "sample": task.sample, "request_digest": task.digest, "etag": task.etag}

    def _ask(self, task: Task, ledger: "Ledger") -> tuple[Reply, str] | dict:
        """One paid call under this run's claim, journalled the moment it returns: (reply, how it was
        paid: `paid`, `paid_twice`, or `another_run` when a concurrent run's claim paid for it); or a
        failure row."""
        if self.in_flight.halted:
            raise ReplayHalted(self.in_flight.halted)
        if unsent := self.streak.broken():
            return unsent
        if not ledger.may_call():
            return {"outcome": "skipped_budget", "error": f"hard stop: actual spend ${ledger.spent:.4f} passed "
                    f"{HARD_STOP_FACTOR:g}x the day's budget (replies far longer than expected)"}
        while not self.claims.take(task.digest):  # another step (of any run) is paying: its reply, or its stale claim
            reply = self.claims.wait(task.digest, lambda: self.cache.get(task.digest), self.claims.stale_after_s)
            if reply is not None:
                return reply, "another_run"
        try:
            if (reply := self.cache.get(task.digest)) is not None:  # paid and released since our first look
                return reply, "another_run"
            try:
                reply = self.model_res.create(self.model, task.system, task.user,
                                              cache_system=task.system in self.shared)
            except ProviderFailure as exc:  # after the retries, whichever provider
                self.streak.record(failed=True)
                return {"outcome": "transport_error" if exc.transient else "request_error", "error": str(exc)[:200]}
            except BadResponse as exc:
                return {"outcome": "bad_response", "error": str(exc)[:200]}
            self.streak.record(failed=False)
            cost = self._cost(reply)
            ledger.settle(cost)
            try:
                self.cache.put(task.digest, reply, if_absent=True)  # journal first: a kill loses nothing paid
            except WriteConflict:  # a run whose stale claim we took over paid too: counted, named
                where = self.claims.journal_second_payment(self.day, self._row(task) | {"purpose": self.purpose},
                                                           reply, cost)
                self.context.log.warning(f"{self.day} {self.model}: {task.key} was paid twice (another run's "
                                         f"claim went stale, then both answered): {self.store.uri(where)}")
                return reply, "paid_twice"
            except (ClientError, BotoCoreError) as exc:  # paid, not kept: no further paid call in this step
                self.in_flight.halt(f"{self.day} {self.model}: the paid reply of {task.key} could not be stored "
                                    f"in the replay cache ({exc})")
                raise ReplayHalted(self.in_flight.halted) from exc
            return reply, "paid"
        finally:
            self.claims.release(task.digest)

    def replay(self, task: Task, ledger: "Ledger") -> dict:
        row = self._row(task)
        try:
            reply, called = self.cache.get(task.digest), False
        except CorruptCacheEntry as exc:  # a stuck bad reply: a row that `replays forget --outcome bad_response` clears
            return row | {"outcome": "bad_response", "cache_hit": True,
                          "error": f"cached reply unusable (replays forget --outcome bad_response): {exc}"[:200]}
        paid = None
        if reply is None:
            answer, mine = self.in_flight.call(task.digest, lambda: self._ask(task, ledger))
            if isinstance(answer, dict):  # not answered: the row says why (an in-flight twin shares it)
                return row | answer
            (reply, paid), called = answer, mine and answer[1] != "another_run"
        done = ledger.tick(not called)
        if done % self.config.progress_every == 0:
            self.context.log.info(f"{self.day} {self.model}: {ledger.progress()}")
        return row | outcome_for_reply(task.family, task.original, reply.text) | {
            "input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens,
            "cache_read_tokens": reply.cache_read_tokens, "cache_create_tokens": reply.cache_create_tokens,
            "cost_usd": self._cost(reply), "priced_on": self.priced_on.isoformat(), "latency_ms": reply.latency_ms,
            "cache_hit": not called, "batch": reply.batch,
            "reply_model": reply.model, "model_mismatch": not same_model(self.model, reply.model),
            "paid_twice": called and paid == "paid_twice",
        }

    def warm(self, group: list[Task], ledger: "Ledger") -> list[dict]:
        """Replay a shared prefix's tasks in order until one is a call: a paid one writes the
        provider's prompt cache, and the prefix's other calls, started after it, read it; a failed
        one ends the warm-up too (the rest run in parallel, never one failing call after another)."""
        rows = []
        for task in group:
            rows.append(self.replay(task, ledger))
            if rows[-1].get("cache_hit") is not True:
                break
        return rows

    def run(self, tasks: list[Task]) -> list[dict]:
        """Replay every task the budget admits; one row per task. Execution order (never which
        tasks): each shared prefix's first call, then the rest grouped by prefix."""
        admitted, over_budget = self.admit(tasks)
        self.shared = shared_prefixes(admitted, self.model) if self.model_res.caches_prompts(self.model) else set()
        groups: dict[str, list[Task]] = {}
        for task in admitted:
            groups.setdefault(task.system, []).append(task)
        ledger = Ledger(self.config.budget_usd * HARD_STOP_FACTOR, len(admitted))
        with (ThreadPoolExecutor(self.model_res.max_concurrency, thread_name_prefix="replay") as pool,
              stopping(pool, self.model_res, f"{self.day} {self.model}",
                       lambda: (ledger.done, len(admitted), len(over_budget)))):
            leaders = [system for system in groups if system in self.shared]
            warmed = dict(zip(leaders, pool.map(lambda system: self.warm(groups[system], ledger), leaders)))
            rest = [t for system, group in groups.items() for t in group[len(warmed.get(system, [])):]]
            rows = [row for group in warmed.values() for row in group]
            rows += pool.map(lambda t: self.replay(t, ledger), rest)
        self.context.log.info(f"{self.day} {self.model}: {ledger.progress()}"
                              + (f"; {len(over_budget)} beyond the budget" if over_budget else ""))
        return rows + over_budget


# Shared by every asset that calls the model provider.
REPLAY_ASSET = dict(
    partitions_def=DAILY,
    freshness_policy=freshness_policy(WEEKLY_DEADLINE),
    deps=[artifact_index],
    group_name="concordance",
    owners=OWNERS,
    kinds={"anthropic", "s3", "parquet"},
    pool="anthropic",  # several runs together respect one provider limit (`dagster instance concurrency set`)
    # A range (a backfill) is one run: with the cache as journal a failed range loses nothing
    # paid, and `dg launch --partition-range` works.
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL),
)


@contextmanager
def replaying(key: str, model: str) -> Iterator[None]:
    """A day's replays under `model`: an S3 error names the day and model (and its own object); a
    halted step fails loudly without a retry, which would pay again for the replies it could not keep."""
    try:
        with naming(f"{key} {model}"):
            yield
    except ReplayHalted as exc:
        raise dg.Failure(f"{exc}; the step made no further paid call", allow_retries=False) from exc


def require_day_index(store: ArtifactStore, key: str, columns: list[str]) -> pd.DataFrame:
    index = read_day_index(store, day_of(key), columns=columns)
    if index is None:
        raise dg.Failure(f"artifact_index has no partition {key}: materialise it first", allow_retries=False)
    return index
