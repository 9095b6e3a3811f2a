"""Trailing windows of daily partitions: read one object per day, record which days are missing."""

import datetime as dt
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from alpha_replay_assets.partitions import trailing_days
from alpha_replay_assets.replay.rows import replay_frame
from resources.artifact_store import ArtifactStore
from resources.bounded import ordered_map
from resources.metrics import CloudWatchMetrics, Datapoint
from resources.run_mode import RunMode

# The partition mapping is static, the window length a run setting: assets depend on the longest
# window they accept and read the configured trailing part of it.
MAX_WINDOW_DAYS = 56
READERS = 8
# CloudWatch accepts datapoints up to two weeks old: older windows (backfills) are stored, not emitted.
MAX_EMIT_AGE = dt.timedelta(days=14)


class WindowConfig(dg.Config):
    """What every trailing-window asset is configured with."""

    window_days: int = Field(default=56, ge=1, le=MAX_WINDOW_DAYS, description="Trailing days per window.")


def window_dependency(asset) -> dg.AssetDep:
    return dg.AssetDep(asset, partition_mapping=dg.TimeWindowPartitionMapping(start_offset=-(MAX_WINDOW_DAYS - 1)))


@dataclass
class Window:
    end: dt.date
    days: list[dt.date]
    data: Any  # what `load_windows`'s `combine` made of the present days (a frame, decision tables)
    present: list[dt.date]

    @property
    def missing(self) -> list[dt.date]:
        return [d for d in self.days if d not in self.present]

    def coverage_metadata(self) -> dict:
        """The nominal window and the days actually present in it (never one without the other)."""
        return {
            "window_start": self.days[0].isoformat() if self.days else None,
            "window_end": self.end.isoformat(),
            "window_days": len(self.days),
            "first_day_present": self.present[0].isoformat() if self.present else None,
            "last_day_present": self.present[-1].isoformat() if self.present else None,
            "days_present": len(self.present),
            "days_missing": [d.isoformat() for d in self.missing],
            "coverage": round(len(self.present) / len(self.days), 4) if self.days else 0.0,
        }

    def ui_metadata(self) -> dict:
        """`coverage_metadata` for the Dagster UI: the missing days as a line of date ranges
        ("2026-10-03..2026-11-21 (50 days)"), not a 50-entry list that buries the verdicts; the full
        list is in the stored documents."""
        return self.coverage_metadata() | {"days_missing": day_ranges(self.missing)}


def day_ranges(days: list[dt.date]) -> str:
    """Consecutive days folded into ranges: "2026-10-03..2026-10-05 (3 days), 2026-10-09"."""
    runs: list[list[dt.date]] = []
    for day in sorted(days):
        if runs and day - runs[-1][-1] == dt.timedelta(days=1):
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(f"{r[0]}..{r[-1]} ({len(r)} days)" if len(r) > 1 else str(r[0]) for r in runs) or "none"


def load_windows(ends: list[dt.date], n_days: int, read_day: Callable[[dt.date], Any | None],
                 combine: Callable[[dict[dt.date, Any]], Any],
                 prepare: Callable[[Any], Any] = lambda read: read) -> Iterator[Window]:
    """The trailing windows ending on each of `ends` (ascending), one after the other, each the
    `combine` of the present days (in order), a day being `prepare(read_day(d))`; a None day is
    missing, not an error.

    Each day is read once however many windows hold it, and dropped once no later window does: a
    range run's windows overlap (the weekly run's 7 window ends of 56 days are 62 days, not 392
    reads), and memory stays one window's worth. Days are read concurrently (S3 latency, not
    bandwidth, dominates a window read) a bounded distance ahead; `prepare` (parsing: CPU) runs
    one day at a time, so only one day's transient objects exist at once."""
    held: dict[dt.date, Any | None] = {}
    with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="window") as pool:
        for end in ends:
            days = trailing_days(end, n_days)
            new = [d for d in days if d not in held]
            for day, read in zip(new, ordered_map(read_day, new, pool, READERS)):
                held[day] = None if read is None else prepare(read)
            for day in [d for d in held if d not in days and d < end]:  # behind this window: never again
                del held[day]
            present = {d: held[d] for d in days if held[d] is not None}
            yield Window(end, days, combine(present), list(present))


def concat_days(empty: pd.DataFrame) -> Callable[[dict[dt.date, pd.DataFrame]], pd.DataFrame]:
    """`combine` for frames: one frame, each row with its `day`; `empty` gives the columns of a
    window with no day present."""
    def combine(frames: dict[dt.date, pd.DataFrame]) -> pd.DataFrame:
        if not frames:
            return empty.assign(day=pd.Series(dtype="str"))
        return pd.concat([frame.assign(day=day.isoformat()) for day, frame in frames.items()], ignore_index=True)
    return combine


def replay_windows(store: ArtifactStore, ends: list[dt.date], n_days: int, key_for: Callable[[dt.date], str],
                   columns: list[str] | None = None) -> Iterator[Window]:
    """`load_windows` of replay rows (concordance or noise-ceiling partitions, `key_for(day)`)."""
    empty = replay_frame([], "")
    return load_windows(ends, n_days, lambda d: store.read_parquet(key_for(d), columns=columns),
                        concat_days(empty if columns is None else empty[columns]))


def window_end_timestamp(end: dt.date) -> dt.datetime:
    """Datapoints are stamped with the end of the window's last day (docs/domain.md §2.2)."""
    return dt.datetime.combine(end, dt.time(23, 59), tzinfo=dt.UTC)


def metric_pair(names: tuple[str, str], value: float, n: int, end: dt.date,
                dimensions: dict[str, str]) -> list[Datapoint]:
    """A window metric and its sample size (`names` = metric, count metric), stamped with the
    window end (docs/domain.md §2.2, §3)."""
    stamp = window_end_timestamp(end)
    return [Datapoint(names[0], float(value), "None", stamp, dimensions),
            Datapoint(names[1], float(n), "Count", stamp, dimensions)]


def emit_window_metrics(metrics: CloudWatchMetrics, run_mode: RunMode, datapoints: list[Datapoint],
                        end: dt.date, now: dt.datetime) -> int:
    """Send a window's datapoints unless in no-emit mode or the window is older than CloudWatch
    accepts; returns how many were sent."""
    if not run_mode.emit_metrics or now - window_end_timestamp(end) > MAX_EMIT_AGE:
        return 0
    return metrics.put(datapoints)


def write_latest_pointer(store: ArtifactStore, pointer_key: str, target_key: str, end: dt.date) -> None:
    """Move `latest` forward only: backfilling an old window never hides a newer result."""
    current = store.read_json(pointer_key)
    if current is None or current.get("window_end", "") <= end.isoformat():
        store.write_json(pointer_key, {"key": target_key, "window_end": end.isoformat()})


def publish_per_agent(store: ArtifactStore, documents: dict[str, dict], end: dt.date,
                      key_for: Callable[[ArtifactStore, str, dt.date], str],
                      latest_for: Callable[[ArtifactStore, str], str]) -> None:
    """Each agent's document of the window ending `end` and its forward-only `latest` pointer. Every
    agent's pair is its own, so they are written concurrently (3 requests each, ~30 agents)."""
    def publish(agent: str) -> None:
        key = key_for(store, agent, end)
        store.write_json(key, documents[agent])
        write_latest_pointer(store, latest_for(store, agent), key, end)

    with ThreadPoolExecutor(store.max_workers, thread_name_prefix="publish") as pool:
        list(pool.map(publish, documents))
