"""Checks on `concordance`: did the provider fail the day's replays, did they stop short, score
nonsense, or did a family's replies not fit its schema (that family's own trouble: WARN only)?"""

import dagster as dg
import pandas as pd
from pydantic import Field

from alpha_replay_assets.checks.common import Judgement, evaluate_partitions
from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.partitions import DAILY, day_of
from alpha_replay_assets.paths import concordance_key
from alpha_replay_assets.replay.rows import STRUCTURED, day_summary, mismatched_models
from alpha_replay_assets.replay_currency import currency_on, current_rows
from alpha_replay_assets.unusable_replies import REPLIES_UNUSABLE, UnusableRepliesConfig, unusable_families
from resources.artifact_store import ArtifactStore
from resources.replay_model import ReplayModel
from resources.run_mode import RunMode


class ReplayCheckConfig(dg.Config):
    max_failure_rate: float = Field(default=0.1, description="Provider failures (transport and request errors, bad "
                                    "responses) / eligible. Schema errors are the family's own trouble "
                                    "(`replies_fit_family_schema`), never the day's.")
    min_observations_for_zero: int = Field(default=5, description="A family mean of exactly 0 over this many "
                                           "observations means a scorer reads a field the reply never has.")


# What these checks read of a day's concordance: outcomes, scores, spend.
COLUMNS = ["key", "etag", "agent_id_base", "target_model", "outcome", "agreement_score", "cache_hit", "cost_usd",
           "error", "reply_model", "model_mismatch"]


def _frames(store: ArtifactStore, replay_model: ReplayModel, key: str):
    """(target, frame or None) for every target model of one day (each holds the families replayed under it)."""
    for model in replay_model.all_targets:
        yield model, store.read_parquet(concordance_key(store, day_of(key), model), columns=COLUMNS)


def _summaries(store: ArtifactStore, replay_model: ReplayModel, key: str, problems: dict):
    """(target, `day_summary`) for every target of one day with a concordance file; a target
    without one is recorded in `problems`."""
    for model, frame in _frames(store, replay_model, key):
        if frame is None:
            problems[model] = "no concordance file"
        else:
            yield model, day_summary(frame)


def zero_scoring_families(frame: pd.DataFrame, min_n: int) -> list[str]:
    scored = frame[frame["outcome"] == STRUCTURED].groupby("agent_id_base")["agreement_score"].agg(["mean", "size"])
    return sorted(scored[(scored["mean"] == 0) & (scored["size"] >= min_n)].index)


@dg.asset_check(asset=concordance, partitions_def=DAILY, blocking=True,
                description="Provider failures (transport and request errors, bad responses) stay below the bound; "
                            "blocks the summary. A family's replies that do not fit its schema never block.")
def replay_failure_rate(context: dg.AssetCheckExecutionContext, config: ReplayCheckConfig, store: ArtifactStore,
                        replay_model: ReplayModel, run_mode: RunMode) -> None:
    def judge(key: str) -> Judgement:
        problems, rates = {}, {}
        for model, summary in _summaries(store, replay_model, key, problems):
            rates[model] = summary["failure_rate"]
            if rates[model] > config.max_failure_rate:
                problems[model] = (f"provider failure rate {rates[model]:.1%} > {config.max_failure_rate:.0%} "
                                   f"({summary['transport_errors']} transport/request errors, "
                                   f"{summary['bad_responses']} bad responses of {summary['eligible']} eligible)")
        return problems, {f"failure_rate/{m}": r for m, r in rates.items()}
    evaluate_partitions(context, run_mode, judge)


@dg.asset_check(asset=concordance, partitions_def=DAILY,
                description="Every eligible artifact of the day's current index was replayed (a budget stop, or "
                            "artifacts indexed after the replays ran, fail this).")
def replay_complete(context: dg.AssetCheckExecutionContext, store: ArtifactStore, replay_model: ReplayModel,
                    run_mode: RunMode) -> None:
    def judge(key: str) -> Judgement:
        problems, done = {}, {}
        currencies = currency_on(store, day_of(key), replay_model.all_targets, replay_model.targets_for)
        for model, frame in _frames(store, replay_model, key):
            if frame is None:
                problems[model] = "no concordance file"
                continue
            current = currencies.get(model)
            summary = day_summary(current_rows(frame, current))  # never more replayed than the index holds
            rewritten, gone = (sorted(current.rewritten), sorted(current.gone)) if current else ([], [])
            late = [k for k in (current.late["key"] if current else []) if k not in current.rewritten]
            done[model] = f"{summary['replayed']}/{summary['eligible']}"
            if not summary["complete"] or gone:
                problems[model] = (f"replayed {done[model]} ({summary['budget_skipped']} stopped by budget, "
                                   f"{summary['transport_errors']} transport errors, "
                                   f"{summary['bad_responses']} bad responses, "
                                   + ", ".join(f"{len(keys)} {what}" + (f" (e.g. {keys[0]})" if keys else "")
                                               for keys, what in ((late, "indexed after the replays ran"),
                                                                  (rewritten, "rewritten since their replay"),
                                                                  (gone, "replayed but gone from the index since")))
                                   + ")")
        return problems, {"replayed/eligible": dg.MetadataValue.json(done),
                          "not_replayed_yet": dg.MetadataValue.json({m: len(c.late) for m, c in currencies.items()}),
                          "not_current": dg.MetadataValue.json({m: {"rewritten": len(c.rewritten), "gone": len(c.gone)}
                                                                for m, c in currencies.items() if c.outdated})}
    evaluate_partitions(context, run_mode, judge)


@dg.asset_check(asset=concordance, partitions_def=DAILY, blocking=True,
                description="No family scores exactly 0 over many observations (a scorer reading a field "
                            "the reply schema never has, as the old ic_cio/peer-review scorers did).")
def scorer_fields_readable(context: dg.AssetCheckExecutionContext, config: ReplayCheckConfig,
                           store: ArtifactStore, replay_model: ReplayModel, run_mode: RunMode) -> None:
    def judge(key: str) -> Judgement:
        problems = {}
        for model, frame in _frames(store, replay_model, key):
            for family in zero_scoring_families(frame, config.min_observations_for_zero) if frame is not None else []:
                problems[f"{model}/{family}"] = "mean agreement exactly 0"
        return problems, {}
    evaluate_partitions(context, run_mode, judge)


@dg.asset_check(asset=concordance, partitions_def=DAILY,
                description="Per family and target: the share of its replies that did not fit its schema stays "
                            "below the family's bound. WARN: above it the family's summary and verdict rows say "
                            f"{REPLIES_UNUSABLE}; every other family goes on.")
def replies_fit_family_schema(context: dg.AssetCheckExecutionContext, config: UnusableRepliesConfig,
                              store: ArtifactStore, replay_model: ReplayModel, run_mode: RunMode) -> None:
    def judge(key: str) -> Judgement:
        problems, rates = {}, {}
        for model, frame in _frames(store, replay_model, key):
            if frame is None:
                problems[model] = "no concordance file"
                continue
            for family, (fit, example) in unusable_families(frame, config).items():
                rates[f"{model}/{family}"] = round(fit.rate, 4)
                problems[f"{family} under {model}"] = (f"{fit.phrase()} > {config.bound(family):.0%}; "
                                                       f"e.g. {example[:120]}")
        return problems, {"unusable_rate": dg.MetadataValue.json(rates)}
    evaluate_partitions(context, run_mode, judge, severity=dg.AssetCheckSeverity.WARN)


@dg.asset_check(asset=concordance, partitions_def=DAILY,
                description="Every reply names the model it was asked for (or a dated snapshot of it). WARN: a "
                            "reply from another model is kept and flagged on its row (`model_mismatch`), named here "
                            "with its count; `alpha-replay replays forget --outcome model_mismatch` clears them.")
def replies_from_asked_model(context: dg.AssetCheckExecutionContext, store: ArtifactStore,
                             replay_model: ReplayModel, run_mode: RunMode) -> None:
    def judge(key: str) -> Judgement:
        problems, counts = {}, {}
        for model, frame in _frames(store, replay_model, key):
            if frame is None:
                problems[model] = "no concordance file"
            elif "model_mismatch" in frame:
                for asked, named in mismatched_models(frame).items():
                    counts[asked] = named
                    problems[asked] = "replies named " + ", ".join(f"{m} ({n})" for m, n in sorted(named.items()))
        return problems, {"mismatched_models": dg.MetadataValue.json(counts)}
    evaluate_partitions(context, run_mode, judge, severity=dg.AssetCheckSeverity.WARN)


REPLAY_CHECKS = [replay_failure_rate, replay_complete, scorer_fields_readable, replies_fit_family_schema,
                 replies_from_asked_model]
