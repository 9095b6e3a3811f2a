"""JSON parsers on real-shaped artifacts: which one the indexer uses, picked by measurement.

    python -m bench.json_parsers          # one day of the bench corpus (585 artifacts, production sizes)

Times `json.loads` (stdlib, on the decoded text, as the indexer did), `orjson.loads` and
`msgspec.json.decode` (on the bytes; msgspec is optional: `pip install msgspec` to include it)
over the same bodies, best of `--repeat` passes, each pass in this one process; and the whole
index row building of the same artifacts, for the parse's share. Writes
`bench/results/json_parsers.json`.
"""

import argparse
import datetime as dt
import json
import os
import platform
import time

from bench.run import RESULTS


def objects(per_day: int) -> list[tuple[str, bytes]]:
    from alpha_replay_assets.sample import corpus

    spec = corpus.CorpusSpec(per_day=per_day, mix="legacy", unregistered_per_day=0, large_fraction=0.02,
                             bad_fraction=0, sizes="production")
    return list(corpus.day_objects(dt.date(2026, 11, 27), "decision_artifacts", spec))


def row_seconds(found: list[tuple[str, bytes]], repeat: int) -> float:
    """A whole index row per artifact (parse with the indexer's reader, checks, features), best of `repeat`."""
    from alpha_replay_assets import artifacts

    now = dt.datetime.now(dt.UTC)
    listed = [(artifacts.ListedObject(key, "etag", len(body), now), body) for key, body in found]
    return best_of(lambda item: artifacts.index_row(*item, "decision_artifacts", 10 * 2**20), listed, repeat)


def parsers() -> dict:
    import orjson

    found = {"stdlib json": lambda body: json.loads(body.decode("utf-8")), "orjson": orjson.loads}
    try:
        import msgspec
    except ImportError:
        return found
    return found | {"msgspec": msgspec.json.decode}


def best_of(parse, docs: list[bytes], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        for body in docs:
            parse(body)
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-day", type=int, default=585)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    found = objects(args.per_day)
    docs = [body for _, body in found]
    total = sum(map(len, docs))
    readers = parsers()
    reference = [json.loads(body) for body in docs]
    load_start = os.getloadavg()[0]
    results = {}
    for name, parse in readers.items():
        seconds = best_of(parse, docs, args.repeat)
        results[name] = {"seconds": round(seconds, 4), "mb_per_s": round(total / seconds / 1e6, 1),
                         "same_objects": [parse(body) for body in docs] == reference}
    base = results["stdlib json"]["seconds"]
    for result in results.values():
        result["speedup_vs_stdlib"] = round(base / result["seconds"], 2)
    out = {"date": dt.date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
           f"Python {platform.python_version()}", "artifacts": len(docs), "bytes": total, "repeat": args.repeat,
           "load_avg_start": round(load_start, 2), "load_avg_end": round(os.getloadavg()[0], 2),
           "noisy": load_start >= 1.5, "parsers": results,
           # the parse's share of building the rows (the indexer's reader: orjson where it reads as json does)
           "index_row_seconds": round(row_seconds(found, args.repeat), 4)}
    print(json.dumps(out, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "json_parsers.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
