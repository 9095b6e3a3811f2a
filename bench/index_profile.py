"""Where the index step's CPU goes, per artifact: one production-sized day indexed in this process.

    python -m bench.index_profile                 # 1x (585 artifacts), cProfile top 25 -> stdout
    python -m bench.index_profile --no-profile    # CPU per artifact only (cProfile inflates small calls)

Starts moto (its own process: its CPU is not counted), seeds one day of the legacy mix at
production sizes, then indexes it with `index_day(force=True)` (workers = 1, as the asset's
default) `--passes` times, measuring this process's CPU (`time.process_time`, all threads) per
artifact; the same day is also re-scanned the rescan baseline's way (32 threads: GET, json.loads)
for the floor a GET + parse costs. No latency model: the subject is CPU, not wall time.
"""

import argparse
import cProfile
import datetime as dt
import io
import json
import pstats
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

DAY = dt.date(2026, 11, 27)
BUCKET = "alpha-replay-profile"


def cpu_per_artifact(fn, n: int, passes: int) -> float:
    """Best of `passes` of `fn()`, in ms of this process's CPU per artifact."""
    best = float("inf")
    for _ in range(passes):
        started = time.process_time()
        fn()
        best = min(best, time.process_time() - started)
    return best * 1000 / n


def profiled(fn, new_store, top: int) -> str:
    """cProfile (CPU: thread_time) of `fn(store)` over this thread and every thread it starts (the fetch pool's: a
    fresh store, so its threads start profiled), cumulative and self time."""
    profiles = [cProfile.Profile(time.thread_time)]

    def start(*_):  # the first profile event of each new thread: profile it with its own Profile
        sys.setprofile(None)
        profiles.append(cProfile.Profile(time.thread_time))
        profiles[-1].enable()

    threading.setprofile(start)
    try:
        profiles[0].runcall(fn, new_store())
    finally:
        threading.setprofile(None)
    stats, out = pstats.Stats(profiles[0]), io.StringIO()
    for profile in profiles[1:]:
        stats.add(profile)
    stats.stream = out
    for order in ("cumulative", "tottime"):
        stats.sort_stats(order).print_stats(top)
    return out.getvalue()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--factor", type=int, default=1)
    parser.add_argument("--passes", type=int, default=3)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args(argv)

    from alpha_replay_assets.index import index_day, list_day
    from alpha_replay_assets.index_groups import GroupBuilder
    from bench.run import _resources, seed_corpus, start_server

    server = start_server("moto")
    try:
        _, sizes = seed_corpus(server, BUCKET, [DAY], 585 * args.factor, "production")
        store = _resources(server.endpoint_url, BUCKET)["store"]
        keys = [o.key for o in list_day(store, DAY)]
        builder = GroupBuilder(store)
        index_day(store, DAY, force=True, builder=builder)  # warm: client, pools, imports, connections

        def rescan():
            with ThreadPoolExecutor(32) as pool:
                list(pool.map(lambda key: json.loads(store.get_bytes(key)), keys))

        result = {"artifacts": len(keys), "bytes": sum(sizes),
                  "index_cpu_ms_per_artifact": round(cpu_per_artifact(
                      lambda: index_day(store, DAY, force=True, builder=builder), len(keys), args.passes), 3),
                  "rescan_cpu_ms_per_artifact": round(cpu_per_artifact(rescan, len(keys), args.passes), 3)}
        print(json.dumps(result), flush=True)
        if not args.no_profile:
            print(profiled(lambda fresh: index_day(fresh, DAY, force=True, builder=GroupBuilder(fresh)),
                           lambda: _resources(server.endpoint_url, BUCKET)["store"], args.top))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
