"""`artifact_index`: each capture day read once, into one Parquet file that every window reads."""


import datetime as dt
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import dagster as dg
import pandas as pd

from alpha_replay_assets import artifacts
from alpha_replay_assets.keys import day_prefix
from alpha_replay_assets.partitions import DAILY, DAILY_DEADLINE, OWNERS, day_of, freshness_policy
from alpha_replay_assets.run_modes import stub_result
from resources.artifact_store import ArtifactStore
from resources.run_mode import RunMode

DAYS_IN_FLIGHT = 3
PREVIEW_COLUMNS = ["agent_id", "run_id", "status", "model_name", "is_placeholder", "is_truncated"]


def index_key(store: ArtifactStore, day: dt.date) -> str:
    return store.analytics_key("artifact_index", f"dt={day.isoformat()}", "index.parquet")


@dataclass
class IndexedDay:
    """What the metadata needs of a day once its index is written (not the rows themselves:
    a 56-day range must not hold 56 indexes in memory)."""

    day: dt.date
    rows: int
    bytes_read: int
    uri: str
    families: Counter
    bad_reasons: Counter
    preview: pd.DataFrame


def build_day_frame(store: ArtifactStore, day: dt.date) -> tuple[pd.DataFrame, int]:
    """List the day folder, fetch what is fetchable concurrently, parse everything into rows."""
    listed = [
        artifacts.ListedObject(o["Key"], o["ETag"].strip('"'), o["Size"], o["LastModified"])
        for o in store.list_prefix(day_prefix(store.capture_prefix, day))
    ]
    wanted = [o.key for o in listed if artifacts.needs_body(o, store.capture_prefix, store.max_object_bytes)]
    bodies = dict(store.fetch_many(wanted))
    rows = [
        artifacts.index_row(o, bodies.get(o.key), store.capture_prefix, store.max_object_bytes) for o in listed
    ]
    return artifacts.to_frame(rows), sum(map(len, bodies.values()))


def index_day(store: ArtifactStore, day: dt.date) -> IndexedDay:
    """Build one day's index and write it as one object."""
    frame, bytes_read = build_day_frame(store, day)
    store.write_parquet(index_key(store, day), frame)
    bad = frame.loc[frame["status"] != artifacts.OK, "status"]
    return IndexedDay(day, len(frame), bytes_read, store.uri(index_key(store, day)),
                      Counter(frame["agent_id_base"].fillna("<no agent>")), Counter(bad),
                      frame[PREVIEW_COLUMNS].head(10))


def read_day_index(store: ArtifactStore, day: dt.date, columns: list[str] | None = None) -> pd.DataFrame | None:
    """A day's index, or None when that partition was never materialised."""
    return store.read_parquet(index_key(store, day), columns=columns)


def _metadata(days: list[IndexedDay]) -> dict:
    rows = sum(d.rows for d in days)
    families = sum((d.families for d in days), Counter())
    bad = sum((d.bad_reasons for d in days), Counter())
    per_day = pd.DataFrame({"day": [d.day.isoformat() for d in days], "rows": [d.rows for d in days],
                            "bad_rows": [d.bad_reasons.total() for d in days]})
    metadata = {
        "dagster/row_count": rows,
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, dtype) for name, dtype in artifacts.INDEX_COLUMNS.items()]
        ),
        "uri": dg.MetadataValue.url(days[-1].uri) if len(days) == 1 else dg.MetadataValue.text(
            f"{days[0].uri} … {days[-1].uri}"
        ),
        "bytes_read": sum(d.bytes_read for d in days),
        "bad_rows": bad.total(),
        "bad_row_rate": round(bad.total() / rows, 4) if rows else 0.0,
        "rows_per_family": dg.MetadataValue.json(dict(sorted(families.items()))),
        "bad_rows_by_reason": dg.MetadataValue.json(dict(sorted(bad.items()))),
        "per_day": dg.MetadataValue.md(per_day.to_markdown(index=False)),
        "preview": dg.MetadataValue.md(days[-1].preview.to_markdown(index=False)),
    }
    for family, n in sorted(families.items()):
        if family != "<no agent>":
            metadata[f"rows/{family}"] = n
    return metadata


@dg.asset(
    partitions_def=DAILY,
    freshness_policy=freshness_policy(DAILY_DEADLINE),
    group_name="capture",
    owners=OWNERS,
    kinds={"s3", "parquet"},
    # One run indexes a whole range: a 56-day backfill is one run (one process start, one
    # client, one pool) instead of 56 serial run launches. Each day is still written to its
    # own object as soon as it is built, so a failure keeps the days already indexed and a
    # retry of the range is idempotent. The asset returns a MaterializeResult, as range runs need.
    backfill_policy=dg.BackfillPolicy.single_run(),
    description=(
        "One Parquet file per capture day: one row per object in the day folder (bad objects "
        "included, with a status and an error), prompts, original decisions and fit features."
    ),
)
def artifact_index(
    context: dg.AssetExecutionContext, store: ArtifactStore, run_mode: RunMode
) -> dg.MaterializeResult:
    if run_mode.dry_run:
        return stub_result(context)
    # Days overlap: while one day is parsed and written, the next ones are listed and fetched.
    with ThreadPoolExecutor(max_workers=DAYS_IN_FLIGHT, thread_name_prefix="index-day") as pool:
        days = []
        for indexed in pool.map(lambda key: index_day(store, day_of(key)), context.partition_keys):
            context.log.info(f"indexed {indexed.day}: {indexed.rows} rows -> {indexed.uri}")
            days.append(indexed)
    return dg.MaterializeResult(metadata=_metadata(days))
