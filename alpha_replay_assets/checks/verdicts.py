"""Checks on `agent_verdicts`: no family is ever missing, and a flipped verdict or a shift
between a family's prompt versions is flagged."""

import datetime as dt
import json

import dagster as dg
import pandas as pd

from alpha_replay_assets.checks.common import Judgement, evaluate_partitions
from alpha_replay_assets.families import judged_families
from alpha_replay_assets.partitions import DAILY, day_of
from alpha_replay_assets.paths import verdicts_key, version_shifts_key
from alpha_replay_assets.verdicts import agent_verdicts
from resources.artifact_store import ArtifactStore
from resources.replay_model import ReplayModel
from resources.run_mode import RunMode

FLIP_LAG = dt.timedelta(days=7)  # the previous weekly window
FLIP_COLUMNS = ["agent_id_base", "target_model", "status", "reason"]


def flips(current: pd.DataFrame, previous: pd.DataFrame) -> dict[str, str]:
    """family/target -> both verdicts and reasons, where keep and demote_candidate swapped."""
    decisive = {"keep", "demote_candidate"}
    merged = current.merge(previous, on=["agent_id_base", "target_model"], suffixes=("", "_previous"))
    return {
        f"{r.agent_id_base}/{r.target_model}":
            f"{r.status_previous} -> {r.status}; was: {r.reason_previous}; now: {r.reason}"
        for r in merged.itertuples()
        if {r.status, r.status_previous} == decisive
    }


@dg.asset_check(asset=agent_verdicts, partitions_def=DAILY, blocking=True,
                description="Every registered LLM family has a verdict row for each of its target models.")
def every_family_has_a_row(context: dg.AssetCheckExecutionContext, store: ArtifactStore,
                           replay_model: ReplayModel, run_mode: RunMode) -> None:
    def judge(key: str) -> Judgement:
        table = store.read_parquet(verdicts_key(store, day_of(key)), columns=["agent_id_base", "target_model"])
        have = set() if table is None else set(zip(table["agent_id_base"], table["target_model"]))
        return {f"{family}/{model}": "no verdict row" for family in judged_families()
                for model in replay_model.targets_for(family) if (family, model) not in have}, {"rows": len(have)}
    evaluate_partitions(context, run_mode, judge)


@dg.asset_check(asset=agent_verdicts, partitions_def=DAILY,
                description="A verdict that flips between keep and demote across consecutive weekly windows.")
def verdict_flips(context: dg.AssetCheckExecutionContext, store: ArtifactStore, run_mode: RunMode) -> None:
    def judge(key: str) -> Judgement:
        end = day_of(key)
        current, previous = (store.read_parquet(verdicts_key(store, day), columns=FLIP_COLUMNS)
                             for day in (end, end - FLIP_LAG))
        if current is None or previous is None:
            return {}, {"compared_with": None}
        return flips(current, previous), {"compared_with": (end - FLIP_LAG).isoformat()}
    evaluate_partitions(context, run_mode, judge, severity=dg.AssetCheckSeverity.WARN)


@dg.asset_check(asset=agent_verdicts, partitions_def=DAILY,
                description="A family's consecutive prompt-version / model segments that differ significantly "
                            "(cheap agreement CI excludes 0, rule held-out accuracy or template concentration moved "
                            "past its threshold): named with both versions, their dates and the numbers; a change "
                            "no signal could compare stays green and is named in `not_compared`.")
def no_unflagged_version_shift(context: dg.AssetCheckExecutionContext, store: ArtifactStore,
                               run_mode: RunMode) -> None:
    def judge(key: str) -> Judgement:
        table = store.read_parquet(version_shifts_key(store, day_of(key)))
        if table is None:
            return {key: "no version shift table written"}, {}
        shifted = table[table["significant"]]
        uncompared = table[~table["compared"]] if "compared" in table else table.iloc[:0]
        return ({f"{r.agent_id_base}/{r.target_model}": r.description for r in shifted.itertuples()},
                {"compared": len(table) - len(uncompared),
                 "shifts": dg.MetadataValue.json([json.loads(d) for d in shifted["details"]]),
                 "not_compared": dg.MetadataValue.md("\n".join(f"- version change, not compared: {d}"
                                                               for d in uncompared["description"]) or "(none)")})
    evaluate_partitions(context, run_mode, judge, severity=dg.AssetCheckSeverity.WARN)


VERDICT_CHECKS = [every_family_has_a_row, verdict_flips, no_unflagged_version_shift]
