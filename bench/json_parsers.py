"""JSON parsers on real-shaped artifacts: which one the indexer uses, picked by measurement.

    python -m bench.json_parsers          # one day of the bench corpus (585 artifacts, production sizes)

Times `json.loads` (stdlib, on the decoded text, as the indexer did), `orjson.loads` and
`msgspec.json.decode` (on the bytes; msgspec is optional: `pip install msgspec` to include it)
over the same bodies, best of `--repeat` passes, each pass in this one process. Writes
`bench/results/json_parsers.json`.
"""

import argparse
import datetime as dt
import json
import os
import platform
import time

from bench.run import RESULTS


def bodies(per_day: int) -> list[bytes]:
    from alpha_replay_assets.sample import corpus

    spec = corpus.CorpusSpec(per_day=per_day, mix="legacy", unregistered_per_day=0, large_fraction=0.02,
                             bad_fraction=0, sizes="production")
    return [body for _, body in corpus.day_objects(dt.date(2026, 11, 27), "decision_artifacts", spec)]


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
    docs = bodies(args.per_day)
    total = sum(map(len, docs))
    found = parsers()
    reference = [json.loads(body) for body in docs]
    load_start = os.getloadavg()[0]
    results = {}
    for name, parse in found.items():
        seconds = best_of(parse, docs, args.repeat)
        results[name] = {"seconds": round(seconds, 4), "mb_per_s": round(total / seconds / 1e6, 1),
                         "same_objects": [parse(body) for body in docs] == reference}
    base = results["stdlib json"]["seconds"]
    for result in results.values():
        result["speedup_vs_stdlib"] = round(base / result["seconds"], 2)
    out = {"date": dt.date.today().isoformat(), "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
           f"Python {platform.python_version()}", "artifacts": len(docs), "bytes": total, "repeat": args.repeat,
           "load_avg_start": round(load_start, 2), "load_avg_end": round(os.getloadavg()[0], 2),
           "noisy": load_start >= 1.5, "parsers": results}
    print(json.dumps(out, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "json_parsers.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
