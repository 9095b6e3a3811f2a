"""A day's index row groups, each built whole by one worker process: every core fetches and parses.

Measured on a day of production-sized artifacts (bench/results/json_parsers.json): a GET costs
the client ~2 ms of CPU in botocore (signing, endpoint rules, headers), parsing an artifact ~0.5 ms;
so a worker fetches its group's bodies itself (its own client and fetch threads) and parses them,
and sends back only the group's frame. The main process lists, counts and writes. A group's rows
do not depend on where it was built: the index has the same bytes with 1 worker (in-process) or N.
Workers are forked by a 'forkserver': the step process runs threads (fetches, Dagster's own under
`dg launch` and the multiprocess executor) that a plain fork would copy mid-request, and a 'spawn'
worker imports this package afresh (measured 2.5 s of CPU, 200 MB, 7-9 s under load, per worker);
the forkserver imports it once, preloaded, and forks every worker of the process's runs from it.
"""

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass

import pandas as pd
from dagster_aws.s3 import S3Resource

from alpha_replay_assets import artifacts
from resources.artifact_store import ArtifactStore
from resources.bounded import ordered_map

# A group is about this many artifact bytes (by the listing's sizes): a worker holds at most one
# group's rows, whatever the day's size. Larger groups mean fewer ranges per window read (one per
# group: ~20 a day at 16x) but more memory: three days in flight at 4x peaked at 880 MiB with
# 64 MB groups, 670 MiB with 32 MB (one process).
ROW_GROUP_BYTES = 32 * 1024 * 1024


@dataclass(frozen=True)
class Group:
    frame: pd.DataFrame  # the group's rows, in key order, with the index schema
    bytes_read: int
    read_retries: int  # body re-reads in a worker's own store (0 in-process: the caller's store counts them)


def build_group(store: ArtifactStore, listed: list[artifacts.ListedObject]) -> Group:
    """The index rows of `listed` (in key order), each body parsed by the thread that fetched it."""
    by_key = {o.key: o for o in listed}

    def row(obj: artifacts.ListedObject, body: bytes | None) -> tuple[int, dict]:
        return len(body or b""), artifacts.index_row(obj, body, store.capture_prefix, store.max_object_bytes)

    wanted = [artifacts.needs_body(o, store.capture_prefix, store.max_object_bytes) for o in listed]
    fetched = store.fetch_many((o.key for o, fetch in zip(listed, wanted) if fetch),
                               then=lambda key, body: row(by_key[key], body))
    sized = [next(fetched)[1] if fetch else row(obj, None) for obj, fetch in zip(listed, wanted)]
    return Group(artifacts.to_frame([r for _, r in sized]), sum(size for size, _ in sized), 0)


def split(store: ArtifactStore, listed: list[artifacts.ListedObject], group_bytes: int = ROW_GROUP_BYTES
          ) -> Iterator[list[artifacts.ListedObject]]:
    """The day's objects in key order, cut into groups of about `group_bytes` to download; always
    at least one group (an empty day's index still gets the schema)."""
    group, held = [], 0
    for obj in sorted(listed, key=lambda o: o.key):
        group.append(obj)
        held += obj.size if artifacts.needs_body(obj, store.capture_prefix, store.max_object_bytes) else 0
        if held >= group_bytes:
            yield group
            group, held = [], 0
    if group or not listed:
        yield group


_WORKER_STORE: ArtifactStore | None = None  # a worker process's own store (client, fetch threads)


def _start_worker(fields: dict, s3_fields: dict) -> None:
    global _WORKER_STORE
    _WORKER_STORE = ArtifactStore(s3=S3Resource(**s3_fields), **fields)


def _build_in_worker(listed: list[artifacts.ListedObject]) -> Group:
    before = _WORKER_STORE.read_retries
    group = build_group(_WORKER_STORE, listed)
    return Group(group.frame, group.bytes_read, _WORKER_STORE.read_retries - before)


class _InProcess(Executor):
    """Runs each task in the caller's thread when submitted (workers = 1)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


class GroupBuilder:
    """Builds the row groups of any number of days on `workers` processes (1: in this process)."""

    def __init__(self, store: ArtifactStore, workers: int = 1, group_bytes: int = ROW_GROUP_BYTES):
        self.store, self.workers, self.group_bytes = store, workers, group_bytes
        if workers > 1:
            fields = {name: getattr(store, name) for name in type(store).model_fields if name != "s3"}
            s3_fields = {name: getattr(store.s3, name) for name in type(store.s3).model_fields}
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([__name__])  # no effect once the forkserver runs: it has it
            self.pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                                            initargs=(fields, s3_fields))
            self.build = _build_in_worker
        else:
            self.pool, self.build = _InProcess(), lambda listed: build_group(store, listed)

    def groups(self, listed: list[artifacts.ListedObject]) -> Iterator[Group]:
        """The day's groups in key order, at most `workers` + 1 of them being built ahead of the caller."""
        yield from ordered_map(self.build, split(self.store, listed, self.group_bytes), self.pool, self.workers + 1)

    def __enter__(self) -> "GroupBuilder":
        return self

    def __exit__(self, *exc) -> None:
        self.pool.shutdown(cancel_futures=True)
