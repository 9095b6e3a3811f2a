"""`concordance`: replay each eligible artifact of a day under each cheap target model and score
how often it agrees with the original decision (domain §2).

Never pay twice: every reply is cached in S3 under a content address (target model, prompts,
max tokens, request schema version; `replay_cache`) *as soon as it arrives*, and identical
requests in flight are made once (`InFlight`). The cache is the journal: a re-materialisation, a
backfill over replayed days, or a retry after a killed run replays only what is not cached yet.

Pay less for the rest: a system prompt several replays share is sent for the provider's prompt
cache, and each such prefix's first call runs before the others so they read a warm cache; a
backfill (a run over more than `replay_model.batch_threshold_days` days) sends its uncached
replays as Message Batches first (`batches`), at half price. Router models (`vendor/model`
slugs, `replay_model.provider`) have no batch API: their backfills stay interactive, and the
run's log and metadata (`interactive_backfill_models`) say so.
"""

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import dagster as dg
import pandas as pd
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field

from alpha_replay_assets import families
from alpha_replay_assets.artifacts import OK
from alpha_replay_assets.batches import RangeBatch
from alpha_replay_assets.costs import PRICES_HELP, Price, UnpricedModel, card_id, expected_tokens, price_for, today
from alpha_replay_assets.family_spec.family import SCORER_VERSION
from alpha_replay_assets.family_spec.fields import SchemaError, extract_json
from alpha_replay_assets.index import artifact_index, read_day_index
from alpha_replay_assets.partitions import DAILY, OWNERS, WEEKLY_DEADLINE, day_of, freshness_policy
from alpha_replay_assets.replay_cache import CorruptCacheEntry, ReplyCache, request_hash, target_slug
from alpha_replay_assets.replay_claims import Claims
from alpha_replay_assets.replay_stops import FailureStreak, stopping
from alpha_replay_assets.run_modes import stub_result
from alpha_replay_assets.targets import rows_for_target
from resources.artifact_store import ArtifactStore, WriteConflict, naming
from resources.prompt_cache import reaches_minimum
from resources.replay_model import ReplayModel
from resources.replies import BadResponse, ProviderFailure, Reply
from resources.run_mode import RunMode

INDEX_COLUMNS = ["key", "agent_id", "agent_id_base", "status", "is_llm", "is_placeholder", "is_truncated",
                 "system_prompt", "user_prompt", "agent_output", "input_tokens", "output_tokens"]
# Actual spend may exceed the planned budget by this factor (cheap replies longer than expected)
# before the remaining calls of the day are stopped.
HARD_STOP_FACTOR = 1.5
REPLAYED = ("structured", "schema_error")  # outcomes with a model reply (paid for)
# The provider failed us: nothing usable came back (never cached, so a re-run asks again).
PROVIDER_FAILED = ("transport_error", "request_error", "bad_response")
FAILED = ("schema_error", *PROVIDER_FAILED)


class ConcordanceConfig(dg.Config):
    budget_usd: float = Field(default=25.0, ge=0, description="Expected spend per day and target: artifacts "
                              "are admitted in key order while their expected cost fits (cached ones count too, "
                              "so which artifacts are replayed depends only on the data and this number).")
    max_failure_rate: float = Field(default=0.2, ge=0, le=1, description="Above this share of provider "
                                    "failures (transport errors, bad responses) among attempted replays, "
                                    "the step fails loudly.")
    progress_every: int = Field(default=50, ge=1, description="Log progress every N replays.")
    prices: dict[str, list[float]] = Field(default={}, description=PRICES_HELP)


def concordance_key(store: ArtifactStore, day, model: str) -> str:
    return store.analytics_key("concordance", f"target={target_slug(model)}", f"dt={day}", "concordance.parquet")


def skip_reason(row: dict) -> str | None:
    """Why an index row is not replayed (recorded, no spend), or None when it is."""
    if row["status"] != OK:
        return "skipped_invalid"
    if not row["is_llm"]:
        return "skipped_deterministic"
    if row["is_placeholder"]:
        return "skipped_placeholder"
    if row["is_truncated"]:
        return "skipped_truncated"
    family = families.REGISTRY.get(row["agent_id_base"])
    if family is not None and not family.judged:  # registered without a decision; unregistered = structural
        return "skipped_unsupported_family"
    return None


def eligible_rows(index: pd.DataFrame) -> pd.DataFrame:
    """The index rows that are replayed (an empty index gives an empty frame with its columns)."""
    return index[pd.Series([skip_reason(r) is None for r in index.to_dict("records")], index=index.index, dtype=bool)]


def outcome_for_reply(family: str, original: dict, text: str) -> dict:
    """Validate and score one reply with the family's judge (its declared scorer, or the
    structural scorer for an unregistered family): `structured` with a score, or `schema_error`
    (no retry). `scorer` names the judge on both."""
    judge = families.judge_for(family, original)
    try:
        reply = judge.validate(extract_json(text), original)
    except SchemaError as exc:
        return {"outcome": "schema_error", "error": str(exc)[:200], "scorer": judge.name}
    agreement = judge.score(original, reply)
    return {"outcome": "structured", "agreement_score": agreement.score, "scorer": agreement.scorer,
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


class Ledger:
    """Spend and progress shared by the replay workers of one day, and the hard stop."""

    def __init__(self, hard_limit_usd: float, total: int):
        self.hard_limit_usd, self.total = hard_limit_usd, total
        self.spent = 0.0
        self.done = self.calls = self.cache_hits = 0
        self.started = time.monotonic()
        self.lock = threading.Lock()

    def may_call(self) -> bool:
        with self.lock:
            return self.spent < self.hard_limit_usd

    def settle(self, actual: float) -> None:
        with self.lock:
            self.spent += actual
            self.calls += 1

    def tick(self, cache_hit: bool) -> int:
        with self.lock:
            self.done += 1
            self.cache_hits += cache_hit
            return self.done

    def progress(self) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed else 0.0
        eta = (self.total - self.done) / rate if rate else float("nan")
        return (f"{self.done}/{self.total} replays, {rate:.1f}/s, ETA {eta:.0f} s, "
                f"{self.calls} model calls, ${self.spent:.4f} spent")


@dataclass
class Task:
    key: str
    agent_id: str
    family: str
    system: str
    user: str
    original: dict
    digest: str
    sample: int
    expected_tokens: tuple[int, int]  # (input, output): what the budget plans with


def plan(index: pd.DataFrame, model: str, max_tokens: int, *, route: str,
         samples: int = 1) -> tuple[list[dict], list[Task]]:
    """Rows for what is not replayed (with the reason) and a task per replay of the rest, each
    addressed by its request and `route` (`ReplayModel.address`: the route, marked when simulated)."""
    skipped, tasks = [], []
    for row in index.to_dict("records"):
        if reason := skip_reason(row):
            skipped.append({"key": row["key"], "agent_id": row["agent_id"], "agent_id_base": row["agent_id_base"],
                            "target_model": model, "outcome": reason})
            continue
        tokens = expected_tokens(row["system_prompt"], row["user_prompt"], row["input_tokens"], row["output_tokens"])
        for sample in range(samples):
            tasks.append(Task(row["key"], row["agent_id"], row["agent_id_base"], row["system_prompt"],
                              row["user_prompt"], json.loads(row["agent_output"]),
                              request_hash(model, row["system_prompt"], row["user_prompt"], max_tokens, sample, route),
                              sample, tokens))
    return skipped, sorted(tasks, key=lambda t: (t.key, t.sample))


class ReplayHalted(RuntimeError):
    """The step made its last paid call: a paid reply could not be stored."""


class InFlight:
    """Identical requests in one step are made once: the first caller asks the provider, every
    concurrent caller with the same content address waits for that answer (the S3 cache covers
    callers that come later, and other steps). `halt` stops every further paid call of the step."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls: dict[str, Future] = {}
        self.halted: str | None = None

    def halt(self, reason: str) -> None:
        with self.lock:
            self.halted = self.halted or reason

    def call(self, digest: str, ask):
        with self.lock:
            future, mine = self.calls.get(digest), False
            if future is None:
                future, mine = Future(), True
                self.calls[digest] = future
        if not mine:
            return future.result(), False
        try:
            future.set_result(ask())
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            with self.lock:
                del self.calls[digest]
        return future.result(), True


def admit_within(tasks: list[Task], price: Price, budget_usd: float, batch: bool) -> tuple[list[Task], list[Task]]:
    """The budget as a plan: tasks in key order while their expected cost (at standard or batch
    price, never discounted for caches) fits, cached or not. Which artifacts are replayed is
    then a function of the data and the configuration alone, never of timing or of what an
    earlier run happened to cache. Returns (admitted, over budget)."""
    admitted, over, planned = [], [], 0.0
    for task in tasks:
        cost = price.usd(*task.expected_tokens, batch=batch)
        if planned + cost > budget_usd:
            over.append(task)
        else:
            planned += cost
            admitted.append(task)
    return admitted, over


def shared_prefixes(tasks: list[Task], model: str) -> set[str]:
    """System prompts worth the provider's prompt cache: used by more than one distinct request (a
    prefix asked once only pays the 1.25x write; twins of one request make one call) and long enough
    for the model's minimum."""
    uses = Counter(system for system, _ in {(t.system, t.digest) for t in tasks})
    return {system for system, n in uses.items() if n > 1 and reaches_minimum(model, system)}


class DayReplay:
    """Replays one day under one model; `batch` plans at batch price (a backfill whose uncached
    requests went to Message Batches first, see `prefill_with_batches`), for routes that have them.
    Replies are priced at the rate in force on the day of the replay run (`priced_on` on every row)."""

    def __init__(self, context, store: ArtifactStore, model_res: ReplayModel, config: ConcordanceConfig,
                 day, model: str, in_flight: InFlight, batch: bool = False, purpose: str = "concordance"):
        self.context, self.store, self.model_res, self.config = context, store, model_res, config
        self.day, self.model, self.in_flight, self.purpose = day, model, in_flight, purpose
        self.claims = Claims(store, model, context.run_id, model_res.claim_stale_s)
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
                "target_model": self.model, "sample": task.sample, "request_digest": task.digest}

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
        while not self.claims.take(task.digest):  # another run is paying for it: its reply, or its stale claim
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


def prefill_with_batches(context, store: ArtifactStore, model_res: ReplayModel, config: ConcordanceConfig,
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


CONCORDANCE_COLUMNS = {
    "day": "str", "key": "str", "agent_id": "str", "agent_id_base": "str", "target_model": "str",
    "outcome": "str", "agreement_score": "float64", "diagnostics": "str", "scorer_version": "int64",
    "input_tokens": "Int64", "output_tokens": "Int64", "cache_read_tokens": "Int64",
    "cache_create_tokens": "Int64", "cost_usd": "float64", "latency_ms": "float64", "cache_hit": "boolean",
    "batch": "boolean", "error": "str", "label_pairs": "str", "sample": "int64", "scorer": "str",
    "request_digest": "str", "priced_on": "str", "reply_model": "str", "model_mismatch": "boolean",
    "paid_twice": "boolean",
}


def concordance_frame(rows: list[dict], day) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(CONCORDANCE_COLUMNS))
    frame = frame.assign(day=str(day), scorer_version=SCORER_VERSION, sample=frame["sample"].fillna(0))
    return frame.sort_values(["key", "target_model", "sample"], ignore_index=True).astype(CONCORDANCE_COLUMNS)


def day_summary(frame: pd.DataFrame) -> dict:
    """Counts that decide completeness and failure: shared by the asset metadata and its checks.
    `failure_rate` is the provider's share of the eligible replays (transport and request errors,
    bad responses): it blocks the day. Schema errors are counted but are the family's own trouble
    (`unusable_replies`), never the day's."""
    outcomes = frame["outcome"].value_counts()
    eligible = int(len(frame) - outcomes.filter(like="skipped_").sum() + outcomes.get("skipped_budget", 0))
    replayed = int(sum(outcomes.get(o, 0) for o in REPLAYED))
    transport = int(outcomes.get("transport_error", 0) + outcomes.get("request_error", 0))
    bad = int(outcomes.get("bad_response", 0))
    called = frame["cache_hit"].eq(False).fillna(False)
    return {
        "eligible": eligible,
        "replayed": replayed,
        "structured": int(outcomes.get("structured", 0)),
        "schema_errors": int(outcomes.get("schema_error", 0)),
        "transport_errors": transport,
        "bad_responses": bad,
        "budget_skipped": int(outcomes.get("skipped_budget", 0)),
        "complete": replayed == eligible,
        # files written before the column existed have none
        "model_mismatches": int(frame.reindex(columns=["model_mismatch"])["model_mismatch"].eq(True).sum()),
        "failure_rate": round((transport + bad) / eligible, 4) if eligible else 0.0,
        "model_calls": int(called.sum()),
        "usd_new": round(float(frame.loc[called, "cost_usd"].sum()), 6),
    }


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


@dg.asset(
    **REPLAY_ASSET,
    description="Per day and cheap target model: one row per artifact of the families replayed under it "
                "with the replay outcome, agreement score, tokens, cost, latency and cache hit.",
)
def concordance(
    context: dg.AssetExecutionContext,
    config: ConcordanceConfig,
    store: ArtifactStore,
    replay_model: ReplayModel,
    run_mode: RunMode,
) -> dg.MaterializeResult:
    if run_mode.dry:
        return stub_result(context)
    targets = replay_model.all_targets
    for model in targets:
        require_target(model, config.prices, replay_model)

    def day_plans(key):  # (model, skipped rows, tasks) of one day; read again after a batch prefill
        index = require_day_index(store, key, INDEX_COLUMNS)
        for model in targets:  # each artifact under its family's targets only; a file per target, maybe empty
            yield model, *plan(rows_for_target(index, model, replay_model.targets_for), model,
                               replay_model.max_tokens, route=replay_model.address(model))

    batch = replay_model.batch_for(len(context.partition_keys))
    batched, interactive = prefill_with_batches(context, store, replay_model, config, (
        (day_of(key), model, tasks) for key in context.partition_keys
        for model, _, tasks in day_plans(key))) if batch else (0, [])
    in_flight = InFlight()
    for key in context.partition_keys:
        day = day_of(key)
        summaries, frames = [], []
        for model, skipped, tasks in day_plans(key):
            with replaying(key, model):
                rows = skipped + DayReplay(context, store, replay_model, config, day, model, in_flight,
                                           batch).run(tasks)
            frame = concordance_frame(rows, day)
            summary = day_summary(frame) | {"day": key, "target_model": model}
            provider_failed = summary["transport_errors"] + summary["bad_responses"]
            attempted = summary["replayed"] + provider_failed
            if attempted and provider_failed / attempted > config.max_failure_rate:
                raise dg.Failure(
                    f"{key} {model}: {provider_failed} of {attempted} replays failed at the provider "
                    f"({summary['transport_errors']} transport errors, {summary['bad_responses']} bad responses; "
                    f"> {config.max_failure_rate:.0%}); replies received so far are cached",
                    metadata={k: v for k, v in summary.items() if isinstance(v, (int, float, str))},
                    allow_retries=False,  # a provider outage needs a person, not three more bursts
                )
            store.write_parquet(concordance_key(store, day, model), frame)
            summaries.append(summary)
            frames.append(frame)
        context.add_asset_metadata(_metadata(summaries, pd.concat(frames), store, day), partition_key=key)
    return dg.MaterializeResult(metadata={
        "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(n, t) for n, t in CONCORDANCE_COLUMNS.items()]),
        "batch_requests": batched, "rate_limited_429s": replay_model.rate_limited,  # this run's, every partition
        "interactive_backfill_models": dg.MetadataValue.json(interactive),
    })


def mismatched_models(frame: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Asked model -> {model the replies named instead: how many}."""
    mismatched = frame[frame["model_mismatch"].eq(True).fillna(False)]
    counts = mismatched.groupby(["target_model", mismatched["reply_model"].fillna("").replace("", "(none)")]).size()
    result: dict[str, dict[str, int]] = {}
    for (asked, reported), n in counts.items():
        result.setdefault(asked, {})[reported] = int(n)
    return result


def _metadata(summaries: list[dict], frame: pd.DataFrame, store: ArtifactStore, day) -> dict:
    """One day's replays, every target: counts, spend, and per family and target the mean
    agreement as a numeric series the UI plots over partitions."""
    table = pd.DataFrame(summaries)
    scored = frame[frame["outcome"] == "structured"]
    stubs = frame[frame["outcome"] == "skipped_placeholder"].drop_duplicates("key")["agent_id_base"].value_counts()
    means = scored.groupby(["target_model", "agent_id_base"])["agreement_score"].mean().round(4)
    metadata = {
        "dagster/row_count": len(frame),
        "complete": bool(table["complete"].all()),
        "eligible": int(table["eligible"].sum()),
        "replayed": int(table["replayed"].sum()),
        "model_calls": int(table["model_calls"].sum()),
        "cache_hits": int(frame["cache_hit"].eq(True).fillna(False).sum()),
        "schema_errors": int(table["schema_errors"].sum()),
        "transport_errors": int(table["transport_errors"].sum()),
        "bad_responses": int(table["bad_responses"].sum()),
        "model_mismatches": int(table["model_mismatches"].sum()),
        "paid_twice": int(frame["paid_twice"].eq(True).fillna(False).sum()),
        "mismatched_models": dg.MetadataValue.json(mismatched_models(frame)),
        "budget_skipped": int(table["budget_skipped"].sum()),
        "usd_new": round(float(table["usd_new"].sum()), 6),
        "prompt_cache_read_tokens": int(frame["cache_read_tokens"].sum()),
        "prompt_cache_write_tokens": int(frame["cache_create_tokens"].sum()),
        "mean_agreement": float(scored["agreement_score"].mean()) if len(scored) else 0.0,
        "per_day": dg.MetadataValue.md(table.to_markdown(index=False)),
        "outcomes": dg.MetadataValue.json({k: int(v) for k, v in frame["outcome"].value_counts().items()}),
        "skipped_placeholder_per_family": dg.MetadataValue.json({k: int(v) for k, v in sorted(stubs.items())}),
        "uri": dg.MetadataValue.text(store.uri(store.analytics_key("concordance", "target=*", f"dt={day}"))),
    }
    for (model, family), mean in means.items():
        metadata[f"concordance/{family}/{target_slug(model)}/mean"] = float(mean)
    return metadata
