"""Indexing in worker processes writes the same bytes as one process, in many groups and under `dg launch`."""

import io
import json

import pyarrow.parquet as pq

from alpha_replay_assets.index import index_day
from alpha_replay_assets.index_groups import GroupBuilder
from alpha_replay_assets.paths import index_key
from helpers import DAY, SMALL


def test_workers_write_the_same_index_bytes_as_one_process(store, seeded):
    seeded(spec=SMALL)  # bad objects included: every status goes through both paths
    key = index_key(store, DAY)
    with GroupBuilder(store, workers=1, group_bytes=40_000) as one:
        alone = index_day(store, DAY, force=True, builder=one)
    one_process = store.get_bytes(key)
    with GroupBuilder(store, workers=2, group_bytes=40_000) as two:
        shared = index_day(store, DAY, force=True, builder=two)
    assert store.get_bytes(key) == one_process
    # several groups, built out of order by two processes, land in key order
    assert pq.ParquetFile(io.BytesIO(one_process)).num_row_groups >= 4
    assert (shared.rows, shared.bytes_read, shared.bad_reasons, shared.families) == \
        (alone.rows, alone.bytes_read, alone.bad_reasons, alone.families)
    assert shared.bad_reasons.total() > 0


def test_dg_launch_indexes_with_worker_processes(dg_launch, store, seeded):
    """The multiprocess executor's step process starts the workers ('spawn'): the run succeeds and
    writes what one process writes."""
    seeded(spec=SMALL)
    launched = dg_launch("--assets", "artifact_index", "--partition", DAY.isoformat(), "--config-json",
                         json.dumps({"ops": {"artifact_index": {"config": {"workers": 2, "force": True}}},
                                     "resources": {"store": {"config": {"max_object_bytes": store.max_object_bytes}}}}))
    assert launched.returncode == 0, launched.stderr[-3000:]
    by_workers = store.get_bytes(index_key(store, DAY))
    index_day(store, DAY, force=True)  # in this process
    assert store.get_bytes(index_key(store, DAY)) == by_workers
