"""Checks on `concordance`: did the day's replays fail, stop short, or score nonsense?"""

import dagster as dg
import pandas as pd
from pydantic import Field

from alpha_replay_assets.checks.common import not_evaluated, result
from alpha_replay_assets.concordance import concordance, concordance_key, day_summary
from alpha_replay_assets.partitions import DAILY, day_of
from resources.artifact_store import ArtifactStore
from resources.replay_model import ReplayModel
from resources.run_mode import RunMode


class ReplayCheckConfig(dg.Config):
    max_failure_rate: float = Field(default=0.1, description="Schema errors, transport errors and bad responses / eligible.")
    min_observations_for_zero: int = Field(default=5, description="A family mean of exactly 0 over this many "
                                           "observations means a scorer reads a field the reply never has.")


# What these checks read of a day's concordance: outcomes, scores, spend.
COLUMNS = ["agent_id_base", "outcome", "agreement_score", "cache_hit", "cost_usd"]


def _frames(context, store: ArtifactStore, replay_model: ReplayModel):
    """(partition/target, frame) for every day and target of the run; a missing file is a failure."""
    for key in context.partition_keys:
        for model in replay_model.target_models:
            yield f"{key}/{model}", store.read_parquet(concordance_key(store, day_of(key), model), columns=COLUMNS)


def zero_scoring_families(frame: pd.DataFrame, min_n: int) -> list[str]:
    scored = frame[frame["outcome"] == "structured"].groupby("agent_id_base")["agreement_score"].agg(["mean", "size"])
    return sorted(scored[(scored["mean"] == 0) & (scored["size"] >= min_n)].index)


@dg.asset_check(asset=concordance, partitions_def=DAILY, blocking=True,
                description="Replay failures (schema, transport, bad responses) stay below the bound; blocks the summary.")
def replay_failure_rate(context: dg.AssetCheckExecutionContext, config: ReplayCheckConfig, store: ArtifactStore,
                        replay_model: ReplayModel, run_mode: RunMode) -> dg.AssetCheckResult:
    if run_mode.dry:
        return not_evaluated("replay_failure_rate")
    failures, rates = {}, {}
    for name, frame in _frames(context, store, replay_model):
        if frame is None:
            failures[name] = "no concordance file"
            continue
        rates[name] = day_summary(frame)["failure_rate"]
        if rates[name] > config.max_failure_rate:
            failures[name] = f"failure rate {rates[name]:.1%} > {config.max_failure_rate:.0%}"
    return result(failures, {"failure_rates": dg.MetadataValue.json(rates)})


@dg.asset_check(asset=concordance, partitions_def=DAILY,
                description="Every eligible artifact was replayed (a budget stop fails this).")
def replay_complete(context: dg.AssetCheckExecutionContext, store: ArtifactStore, replay_model: ReplayModel,
                    run_mode: RunMode) -> dg.AssetCheckResult:
    if run_mode.dry:
        return not_evaluated("replay_complete")
    failures, done = {}, {}
    for name, frame in _frames(context, store, replay_model):
        if frame is None:
            failures[name] = "no concordance file"
            continue
        summary = day_summary(frame)
        done[name] = f"{summary['replayed']}/{summary['eligible']}"
        if not summary["complete"]:
            failures[name] = (f"replayed {done[name]} ({summary['budget_skipped']} stopped by budget, "
                              f"{summary['transport_errors']} transport errors)")
    return result(failures, {"replayed/eligible": dg.MetadataValue.json(done)})


@dg.asset_check(asset=concordance, partitions_def=DAILY, blocking=True,
                description="No family scores exactly 0 over many observations (a scorer reading a field "
                            "the reply schema never has, as the old ic_cio/peer-review scorers did).")
def scorer_fields_readable(context: dg.AssetCheckExecutionContext, config: ReplayCheckConfig,
                           store: ArtifactStore, replay_model: ReplayModel, run_mode: RunMode) -> dg.AssetCheckResult:
    if run_mode.dry:
        return not_evaluated("scorer_fields_readable")
    failures = {}
    for name, frame in _frames(context, store, replay_model):
        for family in zero_scoring_families(frame, config.min_observations_for_zero) if frame is not None else []:
            failures[f"{name}/{family}"] = "mean agreement exactly 0"
    return result(failures, {})


REPLAY_CHECKS = [replay_failure_rate, replay_complete, scorer_fields_readable]
