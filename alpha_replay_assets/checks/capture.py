"""Checks on `artifact_index`: is the capture healthy, and is every producer still alive?"""

import datetime as dt
import statistics

import dagster as dg
import pandas as pd
from pydantic import Field

from alpha_replay_assets.artifacts import OK
from alpha_replay_assets.checks.common import Judgement, evaluate_partitions
from alpha_replay_assets.families import lookup
from alpha_replay_assets.index import artifact_index, read_day_index
from alpha_replay_assets.partitions import DAILY, day_of, trailing_days
from resources.artifact_store import ArtifactStore
from resources.run_mode import RunMode

COLUMNS = ["agent_id", "agent_id_base", "status"]


class CaptureCheckConfig(dg.Config):
    max_bad_row_rate: float = Field(default=0.05, description="Share of rows that are not `ok`.")
    min_volume_ratio: float = Field(default=0.5, description="Day volume / trailing median below this = outage.")
    volume_lookback_days: int = Field(default=14, ge=1)
    family_freshness_days: int = Field(default=3, ge=1, description="A watched family silent this long is dead.")
    family_watch_days: int = Field(default=28, ge=1, description="Families seen in this many days before the "
                                   "freshness window are watched.")


def bad_row_rate(frame: pd.DataFrame) -> float:
    return float((frame["status"] != OK).mean()) if len(frame) else 0.0


def volume_drop(count: int, history: list[int], min_ratio: float) -> str | None:
    """A reason when `count` is below `min_ratio` x the median of the days before it."""
    if not history:
        return None
    median = statistics.median(history)
    if median and count < min_ratio * median:
        return f"{count} artifacts vs trailing median {median:g} (< {min_ratio:.0%})"
    return None


def _families(frames: list[pd.DataFrame]) -> set[str]:
    return set().union(*(set(f.loc[f["status"] == OK, "agent_id_base"].dropna()) for f in frames))


def silent_families(recent: list[pd.DataFrame], earlier: list[pd.DataFrame]) -> list[str]:
    """Families that produced valid artifacts in `earlier` (the watch lookback) and none in
    `recent` (the freshness window): the dead-producer case. The watched set is explicit: a
    family is watched while it was alive within the lookback, so its death is loud for that long
    and a corpus that is intentionally gone (the six graph families since mid-2026) does not fail
    the check forever."""
    return sorted(_families(earlier) - _families(recent))


def unregistered_volume(frame: pd.DataFrame) -> dict[str, int]:
    """family -> valid artifacts whose agent id no family module declares."""
    ok = frame[frame["status"] == OK]
    unknown = ok[ok["agent_id"].map(lambda agent_id: lookup(agent_id) is None).astype(bool)]
    return {family: int(n) for family, n in unknown["agent_id_base"].value_counts().sort_index().items()}


def _frame(store: ArtifactStore, day: dt.date) -> pd.DataFrame | None:
    return read_day_index(store, day, columns=COLUMNS)


@dg.asset_check(asset=artifact_index, partitions_def=DAILY, description="Bad rows (any non-ok status) stay rare.")
def bad_row_rate_below_bound(context: dg.AssetCheckExecutionContext, config: CaptureCheckConfig,
                             store: ArtifactStore, run_mode: RunMode) -> None:
    def judge(key: str) -> Judgement:
        frame = _frame(store, day_of(key))
        if frame is None:
            return {key: "no index for this day"}, {}
        rate = bad_row_rate(frame)
        too_many = rate > config.max_bad_row_rate
        problems = {key: f"{rate:.1%} bad rows > {config.max_bad_row_rate:.0%}"} if too_many else {}
        return problems, {"bad_row_rate": rate, "rows": len(frame)}
    evaluate_partitions(context, run_mode, judge, severity=dg.AssetCheckSeverity.WARN)


@dg.asset_check(asset=artifact_index, partitions_def=DAILY,
                description="Day volume vs the trailing median: a sudden drop is a capture outage.")
def volume_vs_trailing_median(context: dg.AssetCheckExecutionContext, config: CaptureCheckConfig,
                              store: ArtifactStore, run_mode: RunMode) -> None:
    def judge(key: str) -> Judgement:
        day = day_of(key)
        today = _frame(store, day)
        if today is None:
            return {key: "no index for this day"}, {}
        history_days = trailing_days(day - dt.timedelta(days=1), config.volume_lookback_days)
        history = [len(f) for d in history_days if (f := _frame(store, d)) is not None]
        reason = volume_drop(len(today), history, config.min_volume_ratio)
        return ({key: reason} if reason else {}), {"artifacts": len(today)}
    # WARN, not blocking: quiet days (holidays) happen; the alert sensor still reports it.
    evaluate_partitions(context, run_mode, judge, severity=dg.AssetCheckSeverity.WARN)


@dg.asset_check(asset=artifact_index, partitions_def=DAILY,
                description="Every family seen in the trailing watch window (default 28 days) produced a "
                            "valid artifact in the last N days (default 3): a producer that stops is named.")
def family_input_freshness(context: dg.AssetCheckExecutionContext, config: CaptureCheckConfig,
                           store: ArtifactStore, run_mode: RunMode) -> None:
    frames = {}

    def read(days):
        for d in days:
            if d not in frames:
                frames[d] = _frame(store, d)
        return [frames[d] for d in days if frames[d] is not None]

    def judge(key: str) -> Judgement:
        recent = trailing_days(day_of(key), config.family_freshness_days)
        earlier = trailing_days(recent[0] - dt.timedelta(days=1), config.family_watch_days)
        problems = {family: (f"no valid {family} artifact in the {config.family_freshness_days} days to {key} "
                             f"(seen in the {config.family_watch_days} days before)")
                    for family in silent_families(read(recent), read(earlier))}
        return problems, {"families_watched": dg.MetadataValue.json(sorted(_families(read(earlier))))}
    evaluate_partitions(context, run_mode, judge)


@dg.asset_check(asset=artifact_index, partitions_def=DAILY,
                description="Valid artifacts of a family no module in alpha_replay_assets/families/ declares: "
                            "indexed ok, replayed and scored by the structural scorer, and named here.")
def unregistered_family_seen(context: dg.AssetCheckExecutionContext, store: ArtifactStore,
                             run_mode: RunMode) -> None:
    def judge(key: str) -> Judgement:
        frame = _frame(store, day_of(key))
        volume = unregistered_volume(frame) if frame is not None else {}
        problems = {family: (f"{n} valid artifacts of unregistered family {family!r}: judged by the structural "
                             "scorer until a family module declares it") for family, n in volume.items()}
        return problems, {"unregistered_artifacts": dg.MetadataValue.json(volume)}
    evaluate_partitions(context, run_mode, judge, severity=dg.AssetCheckSeverity.WARN)


CAPTURE_CHECKS = [bad_row_rate_below_bound, volume_vs_trailing_median, family_input_freshness,
                  unregistered_family_seen]
