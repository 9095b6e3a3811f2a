"""`artifact_index`: each capture day read once, into one Parquet file that every window reads."""


import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import dagster as dg
import pandas as pd
from pydantic import Field

from alpha_replay_assets import artifacts
from alpha_replay_assets.families import REGISTRY
from alpha_replay_assets.family_spec.fitting import EXTRACTOR_VERSION
from alpha_replay_assets.index_groups import GroupBuilder
from alpha_replay_assets.partitions import DAILY, DAILY_DEADLINE, OWNERS, day_of, freshness_policy
from alpha_replay_assets.paths import day_prefix, index_key
from alpha_replay_assets.stubs import stub_result
from resources.artifact_store import ArtifactStore, WriteConflict, is_permanent, naming
from resources.run_mode import RunMode

DAYS_IN_FLIGHT = 3
PREVIEW_COLUMNS = ["agent_id", "run_id", "status", "model_name", "is_placeholder", "is_truncated"]
# What an index was built from, stored as S3 user metadata on the index object (HEAD reads it).
FINGERPRINT_META, OBJECTS_META, VERSION_META = "listing-fingerprint", "listed-objects", "index-version"
# Rows change when the parser or the fit extractors change, or a family is registered (its
# artifacts gain features): an index of another version is rebuilt.
INDEX_VERSION = (f"{artifacts.PARSER_VERSION}.{EXTRACTOR_VERSION}."
                 f"{hashlib.sha256(','.join(sorted(REGISTRY)).encode()).hexdigest()[:8]}")
WRITE_ATTEMPTS = 3


class IndexConfig(dg.Config):
    force: bool = Field(default=False, description="Rebuild days whose folder listing has not changed "
                        "since their index was written (normally skipped: nothing new to read).")
    # 1 by default: on a 2-core machine two workers were slower than one process and doubled peak RSS
    # (bench/results/noisy/scaling-1x-workers{1,2}.json); raise it where cores are free (bench --index-workers).
    workers: int = Field(default=1, ge=1, le=64, description="Processes that fetch and parse artifacts; "
                         "1 = all in the step's own process (the default, see bench/results).")


def list_day(store: ArtifactStore, day: dt.date) -> list[artifacts.ListedObject]:
    return [artifacts.ListedObject(o["Key"], o["ETag"].strip('"'), o["Size"], o["LastModified"])
            for o in store.list_prefix(day_prefix(store.capture_prefix, day))]


def listing_fingerprint(listed: list[artifacts.ListedObject]) -> str:
    """Keys + ETags of a day folder: equal fingerprints, equal folders."""
    digest = hashlib.sha256()
    for obj in sorted(listed, key=lambda o: o.key):
        digest.update(f"{obj.key}\0{obj.etag}\n".encode())
    return digest.hexdigest()


def index_version(store: ArtifactStore) -> str:
    """`INDEX_VERSION` under this store's size bound (a run with another bound builds other rows)."""
    return f"{INDEX_VERSION}.max{store.max_object_bytes}"


def indexed_fingerprint(store: ArtifactStore, day: dt.date) -> str | None:
    """The listing fingerprint the day's current index was built from (None: no usable index)."""
    head = store.head(index_key(store, day))
    if head is None or head[1].get(VERSION_META) != index_version(store):
        return None
    return head[1].get(FINGERPRINT_META)


@dataclass
class IndexedDay:
    """What the metadata needs of a day once its index is written, counted as its rows are
    written (not the rows themselves: a 56-day range, or one day of production-sized
    artifacts, must not be held in memory)."""

    day: dt.date
    uri: str
    fingerprint: str
    rebuilt: bool  # False: the folder had not changed since its index, nothing was read
    conflicts: int  # writes lost to a concurrent indexer of the same day (then listed again)
    rows: int = 0
    bytes_read: int = 0
    read_retries: int = 0  # in worker processes (the step's own store counts its own)
    families: Counter = field(default_factory=Counter)
    bad_reasons: Counter = field(default_factory=Counter)
    stub_prompts: Counter = field(default_factory=Counter)  # per family: never replayed
    preview: pd.DataFrame | None = None

    def count(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Count a frame of the day's rows (in key order) and return it."""
        self.rows += len(frame)
        self.families.update(frame["agent_id_base"].fillna("<no agent>"))
        self.bad_reasons.update(frame.loc[frame["status"] != artifacts.OK, "status"])
        self.stub_prompts.update(frame.loc[frame["is_placeholder"].fillna(False).astype(bool), "agent_id_base"])
        if self.preview is None:
            self.preview = frame[PREVIEW_COLUMNS].head(10)
        return frame


def row_groups(builder: GroupBuilder, listed: list[artifacts.ListedObject], indexed: IndexedDay
               ) -> Iterator[pd.DataFrame]:
    """The day's index rows in key order, a frame per group built by `builder`, counted into `indexed`."""
    for group in builder.groups(listed):
        indexed.bytes_read += group.bytes_read
        indexed.read_retries += group.read_retries
        yield indexed.count(group.frame)


def index_day(store: ArtifactStore, day: dt.date, force: bool = False,
              builder: GroupBuilder | None = None) -> IndexedDay:
    """Build one day's index and write it as one object, never over a newer one.

    The write is a compare-and-swap on the index version read *before* listing: if another run
    wrote the index in between (its listing may be newer than ours), our PUT fails with a
    conflict and we list again. So a landed index was always built from a listing at least as
    new as the one it replaced. A folder whose listing equals the one the index was built from
    is not read again. `builder` (default: in this process) builds the row groups.
    """
    builder = builder or GroupBuilder(store)
    key = index_key(store, day)
    for conflicts in range(WRITE_ATTEMPTS):
        current = store.head(key)
        listed = list_day(store, day)
        fingerprint = listing_fingerprint(listed)
        if not force and current and current[1].get(FINGERPRINT_META) == fingerprint \
                and current[1].get(VERSION_META) == index_version(store):
            indexed = IndexedDay(day, store.uri(key), fingerprint, rebuilt=False, conflicts=conflicts)
            indexed.count(read_day_index(store, day, columns=list(dict.fromkeys(["agent_id_base", *PREVIEW_COLUMNS]))))
            return indexed
        indexed = IndexedDay(day, store.uri(key), fingerprint, rebuilt=True, conflicts=conflicts)
        metadata = {FINGERPRINT_META: fingerprint, OBJECTS_META: str(len(listed)), VERSION_META: index_version(store)}
        try:
            store.write_parquet_groups(key, row_groups(builder, listed, indexed),
                                       if_match=current[0] if current else None,
                                       if_absent=current is None, metadata=metadata)
        except WriteConflict:
            continue
        return indexed
    raise RuntimeError(f"{day}: another run rewrote the index {WRITE_ATTEMPTS} times while this one indexed it")


def read_day_index(store: ArtifactStore, day: dt.date, columns: list[str] | None = None) -> pd.DataFrame | None:
    """A day's index, or None when that partition was never materialised."""
    return store.read_parquet(index_key(store, day), columns=columns)


def _day_metadata(day: IndexedDay) -> dict:
    """One day's index: rows per family and bad rows per reason (plotted by the UI), and what was read."""
    bad = day.bad_reasons.total()
    metadata = {
        "dagster/row_count": day.rows,
        "uri": dg.MetadataValue.url(day.uri),
        "rebuilt": day.rebuilt,
        "bytes_read": day.bytes_read,
        "listing_fingerprint": day.fingerprint,
        "bad_rows": bad,
        "bad_row_rate": round(bad / day.rows, 4) if day.rows else 0.0,
        "rows_per_family": dg.MetadataValue.json(dict(sorted(day.families.items()))),
        "bad_rows_by_reason": dg.MetadataValue.json(dict(sorted(day.bad_reasons.items()))),
        "stub_prompts": day.stub_prompts.total(),
        "stub_prompts_per_family": dg.MetadataValue.json(dict(sorted(day.stub_prompts.items()))),
        "preview": dg.MetadataValue.md(day.preview.to_markdown(index=False)),
    }
    return metadata | {f"rows/{family}": n for family, n in sorted(day.families.items()) if family != "<no agent>"}


def _run_metadata(days: list[IndexedDay], read_retries: int) -> dict:
    """What the whole run did (on every partition it materialised)."""
    return {
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, dtype) for name, dtype in artifacts.INDEX_COLUMNS.items()]),
        "days_rebuilt": sum(d.rebuilt for d in days),
        "days_unchanged": sum(not d.rebuilt for d in days),
        "write_conflicts": sum(d.conflicts for d in days),
        "read_retries": read_retries + sum(d.read_retries for d in days),
    }


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
    # A reset connection or a throttled listing is retried per request (botocore) and per object
    # (the store); what still fails the step is retried here, cheaply: unchanged days are skipped.
    retry_policy=dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS),
    description=(
        "One Parquet file per capture day: one row per object in the day folder (bad objects "
        "included, with a status and an error), prompts, original decisions and fit features."
    ),
)
def artifact_index(
    context: dg.AssetExecutionContext, config: IndexConfig, store: ArtifactStore, run_mode: RunMode
) -> dg.MaterializeResult:
    if run_mode.dry:
        return stub_result(context)
    # Days overlap: while one day is parsed and written, the next ones are listed and fetched.
    # Every day is submitted up front, so a day that fails leaves the others to finish and land.
    def index(key: str) -> IndexedDay:
        try:
            with naming(f"indexing day {key}"):
                return index_day(store, day_of(key), config.force, builder)
        except Exception as exc:
            if is_permanent(exc):  # no retry will make a missing bucket appear
                raise dg.Failure(f"S3 refused indexing day {key} of s3://{store.bucket}/{store.capture_prefix}/ "
                                 f"({exc}): check ALPHA_REPLAY_BUCKET, the endpoint and the credentials' access",
                                 allow_retries=False) from exc
            raise

    with GroupBuilder(store, config.workers) as builder, \
            ThreadPoolExecutor(max_workers=DAYS_IN_FLIGHT, thread_name_prefix="index-day") as pool:
        days = []
        for indexed in pool.map(index, context.partition_keys):
            state = "rebuilt" if indexed.rebuilt else "unchanged since its index, not read again"
            context.log.info(f"indexed {indexed.day}: {indexed.rows} rows ({state}) -> {indexed.uri}")
            context.add_asset_metadata(_day_metadata(indexed), partition_key=indexed.day.isoformat())
            days.append(indexed)
    return dg.MaterializeResult(metadata=_run_metadata(days, store.read_retries))
