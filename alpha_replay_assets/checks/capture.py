"""Checks on `artifact_index`: is the capture healthy, and is every producer still alive?"""

import datetime as dt
import statistics

import dagster as dg
import pandas as pd
from pydantic import Field

from alpha_replay_assets.artifacts import OK
from alpha_replay_assets.checks.common import not_evaluated, result
from alpha_replay_assets.families import CANONICAL_FAMILIES
from alpha_replay_assets.index import artifact_index, read_day_index
from alpha_replay_assets.partitions import DAILY, day_of, trailing_days
from resources.artifact_store import ArtifactStore
from resources.run_mode import RunMode

COLUMNS = ["agent_id_base", "status"]


class CaptureCheckConfig(dg.Config):
    max_bad_row_rate: float = Field(default=0.05, description="Share of rows that are not `ok`.")
    min_volume_ratio: float = Field(default=0.5, description="Day volume / trailing median below this = outage.")
    volume_lookback_days: int = Field(default=14, ge=1)
    family_freshness_days: int = Field(default=3, ge=1, description="A canonical family silent this long is dead.")


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


def silent_families(frames: list[pd.DataFrame]) -> list[str]:
    """Canonical families with no valid artifact in any of `frames` (the dead-producer case)."""
    seen = set().union(*(set(f.loc[f["status"] == OK, "agent_id_base"].dropna()) for f in frames))
    return [f for f in CANONICAL_FAMILIES if f not in seen]


def _frame(store: ArtifactStore, day: dt.date) -> pd.DataFrame | None:
    return read_day_index(store, day, columns=COLUMNS)


@dg.asset_check(asset=artifact_index, partitions_def=DAILY, description="Bad rows (any non-ok status) stay rare.")
def bad_row_rate_below_bound(context: dg.AssetCheckExecutionContext, config: CaptureCheckConfig,
                             store: ArtifactStore, run_mode: RunMode) -> dg.AssetCheckResult:
    if run_mode.dry:
        return not_evaluated("bad_row_rate_below_bound")
    failures, rates = {}, {}
    for key in context.partition_keys:
        frame = _frame(store, day_of(key))
        if frame is None:
            failures[key] = "no index for this day"
            continue
        rates[key] = bad_row_rate(frame)
        if rates[key] > config.max_bad_row_rate:
            failures[key] = f"{rates[key]:.1%} bad rows > {config.max_bad_row_rate:.0%}"
    return result(failures, {"max_bad_row_rate": max(rates.values(), default=0.0)},
                  severity=dg.AssetCheckSeverity.WARN)


@dg.asset_check(asset=artifact_index, partitions_def=DAILY,
                description="Day volume vs the trailing median: a sudden drop is a capture outage.")
def volume_vs_trailing_median(context: dg.AssetCheckExecutionContext, config: CaptureCheckConfig,
                              store: ArtifactStore, run_mode: RunMode) -> dg.AssetCheckResult:
    if run_mode.dry:
        return not_evaluated("volume_vs_trailing_median")
    failures, counts = {}, {}
    for key in context.partition_keys:
        day = day_of(key)
        history_days = trailing_days(day - dt.timedelta(days=1), config.volume_lookback_days)
        history = [len(f) for d in history_days if (f := _frame(store, d)) is not None]
        today = _frame(store, day)
        counts[key] = 0 if today is None else len(today)
        if today is None:
            failures[key] = "no index for this day"
        elif reason := volume_drop(counts[key], history, config.min_volume_ratio):
            failures[key] = reason
    # WARN, not blocking: quiet days (holidays) happen; the alert sensor still reports it.
    return result(failures, {"artifacts": dg.MetadataValue.json(counts)}, severity=dg.AssetCheckSeverity.WARN)


@dg.asset_check(asset=artifact_index, partitions_def=DAILY,
                description="Every canonical family produced a valid artifact in the last N days.")
def family_input_freshness(context: dg.AssetCheckExecutionContext, config: CaptureCheckConfig,
                           store: ArtifactStore, run_mode: RunMode) -> dg.AssetCheckResult:
    if run_mode.dry:
        return not_evaluated("family_input_freshness")
    failures = {}
    for key in context.partition_keys:
        days = trailing_days(day_of(key), config.family_freshness_days)
        frames = [f for d in days if (f := _frame(store, d)) is not None]
        for family in silent_families(frames):
            failures[f"{key}/{family}"] = f"no valid {family} artifact in the {config.family_freshness_days} days to {key}"
    return result(failures, {"families_checked": len(CANONICAL_FAMILIES)})


CAPTURE_CHECKS = [bad_row_rate_below_bound, volume_vs_trailing_median, family_input_freshness]
