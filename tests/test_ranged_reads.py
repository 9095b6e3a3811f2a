"""Window reads fetch the footer and the column chunks they use, counted on the real server."""

import datetime as dt
import io
import os

import dagster as dg
import pandas as pd
import pyarrow.parquet as pq
import pytest

from alpha_replay_assets.counterfactual import WINDOW_COLUMNS, counterfactual_fits
from alpha_replay_assets.index import artifact_index, index_day, read_day_index
from alpha_replay_assets.partitions import trailing_days
from alpha_replay_assets.paths import index_key
from alpha_replay_assets.sample import corpus
from helpers import DAY, pinned
from resources import parquet_ranges
from resources.artifact_store import ArtifactStore, ObjectChanged
from resources.run_mode import RunMode

# production-sized artifacts (sector_qual 300-400 KB, ...) at a small volume
PRODUCTION = pinned(per_day=20, mix="legacy", unregistered_per_day=0, bad_fraction=0, sizes="production")


@pytest.fixture
def store(store):
    """The test store with the production object bound (4 MiB): sector_qual artifacts are 300-400 KB."""
    return ArtifactStore(s3=store.s3, bucket=store.bucket, max_workers=8)


@pytest.fixture
def resources(store, metrics):
    return {"store": store, "run_mode": RunMode(), "metrics": metrics}


def metadata(store, key) -> pq.FileMetaData:
    return pq.read_metadata(io.BytesIO(store.get_bytes(key)))


def chunk_bytes(meta: pq.FileMetaData, column: str) -> int:
    return sum(end - start for start, end in parquet_ranges.chunk_ranges(meta, [column]))


def test_coalesce_merges_close_ranges_and_uncovered_skips_what_is_held():
    assert parquet_ranges.coalesce([(50, 60), (0, 10), (12, 20)], gap=2) == [(0, 20), (50, 60)]
    assert parquet_ranges.coalesce([(0, 10), (5, 8), (13, 20)], gap=2) == [(0, 10), (13, 20)]
    assert parquet_ranges.uncovered([(0, 10), (20, 40), (90, 120)], have=(30, 100)) == [(0, 10), (20, 30), (100, 120)]


def test_chunk_ranges_are_the_columns_chunks_in_every_row_group():
    frame = pd.DataFrame({"a": range(1000), "b": [f"text {i}" for i in range(1000)], "c": [i / 3 for i in range(1000)]})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, row_group_size=400)
    meta = pq.read_metadata(io.BytesIO(buffer.getvalue()))
    ranges = parquet_ranges.chunk_ranges(meta, ["b", "c"])
    assert len(ranges) == 2 * meta.num_row_groups == 6
    assert sum(e - s for s, e in ranges) == sum(meta.row_group(g).column(c).total_compressed_size
                                                for g in range(3) for c in (1, 2))
    data = buffer.getvalue()
    for start, end in ranges:  # every range starts a column chunk: a page header, not the middle of a value
        assert 0 < start < end <= len(data) - meta.serialized_size


def test_a_window_read_of_features_downloads_no_prompt(store, s3_client, bucket, s3_server):
    corpus.seed(s3_client, bucket, [DAY], PRODUCTION)
    index_day(store, DAY)
    key = index_key(store, DAY)
    meta = metadata(store, key)
    s3_server.reset_counts()
    features = read_day_index(store, DAY, columns=["decision_features"])
    served, gets = s3_server.bytes_served()["GET artifact_index"], s3_server.request_counts()["GET artifact_index"]
    assert gets <= 2  # the tail, then the features' range (counted before this test's own whole read below)
    assert served < chunk_bytes(meta, "user_prompt") < len(store.get_bytes(key))  # the prompts: most of it, not read
    assert served <= parquet_ranges.least_bytes(meta, ["decision_features"]) + parquet_ranges.TAIL_BYTES
    whole = pd.read_parquet(io.BytesIO(store.get_bytes(key)))
    pd.testing.assert_frame_equal(features, whole[["decision_features"]])


def test_columns_an_older_object_lacks_are_absent_like_in_a_whole_read(store):
    key = store.analytics_key("old", "table.parquet")
    store.write_parquet(key, pd.DataFrame({"agent_id_base": ["ic_cio"], "tree_json": ["{}"]}))
    assert list(store.read_parquet(key, columns=["agent_id_base", "agent_id", "tree_json"]).columns) == [
        "agent_id_base", "tree_json"]
    assert store.read_parquet(store.analytics_key("old", "none.parquet"), columns=["x"]) is None


def test_an_object_replaced_during_a_read_is_read_again_whole_from_its_new_version(store, monkeypatch):
    key = store.analytics_key("moving", "table.parquet")
    # `b` first, then a large incompressible `a`: reading `b` takes the tail GET and a range GET
    old = pd.DataFrame({"b": range(40), "a": [os.urandom(2000).hex() for _ in range(40)]})
    new = old.assign(b=old["b"] + 1000)
    store.write_parquet(key, old)
    calls, get_range = [], ArtifactStore.get_range

    def replace_after_the_tail(self, key, http_range, if_match=None):
        calls.append(if_match)
        if len(calls) == 2:  # between the tail and the column range: a writer replaces the object
            store.write_parquet(key, new)
        return get_range(self, key, http_range, if_match)

    monkeypatch.setattr(ArtifactStore, "get_range", replace_after_the_tail)
    read = store.read_parquet(key, columns=["b"])
    assert read["b"].tolist() == new["b"].tolist()  # never old bytes mixed with new ones
    assert calls[0] is None and calls[1] is not None  # the second GET was pinned to the first one's version
    with pytest.raises(ObjectChanged):
        store.get_range(key, "bytes=0-9", if_match="0" * 32)


def test_a_weekly_run_reads_the_new_artifacts_and_the_windows_features_only(store, resources, s3_client, bucket,
                                                                            s3_server):
    """The weekly shape at production sizes: the week's 7 days indexed and the fits' 7 window ends
    (14 days each) computed in one range run, over 7 older days already indexed. Everything the
    server sends is at most 1.2 x (the new artifacts + what the windows' reads cannot do without:
    each window day's footer and the chunks of the columns the fit uses)."""
    older = [DAY - dt.timedelta(days=n) for n in range(13, 6, -1)]
    week = [DAY - dt.timedelta(days=n) for n in range(6, -1, -1)]
    corpus.seed(s3_client, bucket, older + week, PRODUCTION)
    for day in older:
        index_day(store, day)
    new_artifact_bytes = sum(o["Size"] for day in week for page in s3_client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=f"decision_artifacts/{day:%Y/%m/%d}/") for o in page.get("Contents", []))
    s3_server.reset_counts()
    with dg.instance_for_test() as instance:
        result = dg.materialize([artifact_index, counterfactual_fits], resources=resources,
                                instance=instance, run_config={"ops": {"counterfactual_fits": {"config": {
                                    "window_days": 14}}}}, tags={
                                    "dagster/asset_partition_range_start": week[0].isoformat(),
                                    "dagster/asset_partition_range_end": week[-1].isoformat()})
    assert result.success
    served, requests = s3_server.bytes_served(), s3_server.request_counts()
    window_needs = sum(parquet_ranges.least_bytes(metadata(store, index_key(store, day)), WINDOW_COLUMNS)
                       for day in older + week)
    assert served["GET capture"] == new_artifact_bytes  # every new artifact read once, nothing else of the corpus
    assert served["GET artifact_index"] <= 1.2 * window_needs  # each window day read once, its features only
    assert served["total"] <= 1.2 * (new_artifact_bytes + window_needs)
    # each window day once: an indexed day its tail and one range, a day never indexed one GET (not found)
    window = {d for end in week for d in trailing_days(end, 14)}
    assert requests["GET artifact_index"] <= 2 * len(older + week) + len(window - set(older + week))
