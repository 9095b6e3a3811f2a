"""Benchmark: alpha-replay vs the old serial per-artifact scan, in one run on one machine.

    python -m bench.run            # 56 days x 585/day, 20 ms per S3 request
    python -m bench.run --quick    # 7 days x 100/day (the CI smoke test)

Starts the local S3 server, seeds the corpus, then runs each scenario in its own process (so
peak RSS is the scenario's own) under the same server-side latency for every S3 request:

1. baseline: the old design: list the day folders, `get_object` every artifact serially, fit
   the trees with the same fitting code;
2. cold: backfill `artifact_index` for the whole window + `counterfactual_fits` for its last day;
3. weekly: the steady state: the last 7 days indexed + the fits for the window end;
4. concordance: re-materialising a replayed day (model calls must be 0), and replay throughput
   against the loopback model server with a fixed reply latency.

Writes `bench/results/{full,quick}.{md,json}` and prints the table.
"""

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
FITTED = ("ic_cio", "macro_economist")


def _measure(fn) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    extra = fn() or {}
    return {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2),
            "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1), **extra}


def _resources(endpoint: str, bucket: str, model_url: str | None = None, concurrency: int = 8):
    from dagster_aws.s3 import S3Resource

    from resources.artifact_store import ArtifactStore
    from resources.metrics import CloudWatchMetrics
    from resources.replay_model import ReplayModel
    from resources.run_mode import RunMode

    creds = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}
    return {
        "store": ArtifactStore(s3=S3Resource(endpoint_url=endpoint, region_name="us-east-1", **creds), bucket=bucket),
        "metrics": CloudWatchMetrics(endpoint_url=endpoint, **creds),
        "replay_model": ReplayModel(api_key="bench", base_url=model_url or "http://127.0.0.1:9", timeout_s=60,
                                    max_concurrency=concurrency),
        "run_mode": RunMode(),
    }


def _materialise(assets, resources, first: str, last: str, run_config=None) -> None:
    import dagster as dg

    with dg.instance_for_test() as instance:
        result = dg.materialize(assets, resources=resources, instance=instance, run_config=run_config or {}, tags={
            "dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last})
    assert result.success


def scenario_baseline(args) -> dict:
    """The system we replace: one serial GET per artifact of the window, then the same fits."""
    import boto3

    from alpha_replay_assets.families import REGISTRY
    from alpha_replay_assets.keys import agent_id_base, day_prefix
    from alpha_replay_assets.rule_fit import fit_rule

    client = boto3.client("s3", endpoint_url=args.endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
    rows = {family: [] for family in FITTED}

    def run():
        n = 0
        for day in args.days:
            for page in client.get_paginator("list_objects_v2").paginate(
                    Bucket=args.bucket, Prefix=day_prefix("decision_artifacts", dt.date.fromisoformat(day))):
                for obj in page.get("Contents", []):
                    body = client.get_object(Bucket=args.bucket, Key=obj["Key"])["Body"].read()
                    n += 1
                    try:
                        doc = json.loads(body)
                        family = agent_id_base(doc["agent_id"])
                        if family in rows:
                            rows[family] += [r for r in REGISTRY[family].fit.rows(doc["input_data_snapshot"],
                                                                                  doc["agent_output"]) if "error" not in r]
                    except (ValueError, KeyError, TypeError):
                        continue
        fits = {f: fit_rule([r["label"] for r in rs], [r["features"] for r in rs]).get("match_rate")
                for f, rs in rows.items()}
        return {"artifacts_read": n, "match_rate": fits}
    return _measure(run)


def scenario_index_and_fit(args, days: list[str]) -> dict:
    from alpha_replay_assets.counterfactual import counterfactual_fits, fits_key
    from alpha_replay_assets.index import artifact_index
    from alpha_replay_assets.sample.local_s3 import LocalS3

    resources = _resources(args.endpoint, args.bucket)
    server = LocalS3(args.endpoint, None)

    def run():
        _materialise([artifact_index], resources, days[0], days[-1])
        before = server.request_counts()
        _materialise([counterfactual_fits], resources, args.days[-1], args.days[-1],
                     {"ops": {"counterfactual_fits": {"config": {"window_days": len(args.days)}}}})
        after = server.request_counts()
        fits = resources["store"].read_parquet(fits_key(resources["store"], dt.date.fromisoformat(args.days[-1])))
        fits = fits[fits["scope"] == "family"]  # the roll-ups: what the baseline computed
        return {"fit_step_index_gets": after.get("GET artifact_index", 0) - before.get("GET artifact_index", 0),
                "fit_step_gets": after.get("GET", 0) - before.get("GET", 0),
                "match_rate": dict(zip(fits["agent_id_base"], fits["match_rate"].round(4)))}
    return _measure(run)


def scenario_concordance(args) -> dict:
    from alpha_replay_assets.concordance import concordance, concordance_key, day_summary
    from alpha_replay_assets.index import artifact_index
    from alpha_replay_assets.sample.model_server import ModelServer

    server = ModelServer()
    day, fresh_day = args.days[-1], args.days[-2]
    resources = _resources(args.endpoint, args.bucket, server.base_url, concurrency=args.replay_concurrency)
    _materialise([artifact_index], resources, fresh_day, day)
    _materialise([concordance], resources, day, day)  # replay once (untimed), fast replies
    server.state.latency_ms = args.reply_latency_ms
    calls = server.counts()["messages"]
    rerun = _measure(lambda: _materialise([concordance], resources, day, day))
    rerun_calls = server.counts()["messages"] - calls
    throughput = _measure(lambda: _materialise([concordance], resources, fresh_day, fresh_day))
    frame = resources["store"].read_parquet(concordance_key(resources["store"], dt.date.fromisoformat(fresh_day),
                                                            "claude-haiku-4-5"))
    replayed = day_summary(frame)["replayed"]
    return {"rerun_wall_s": rerun["wall_s"], "rerun_model_calls": rerun_calls,
            "throughput_replays": replayed, "throughput_wall_s": throughput["wall_s"],
            "replays_per_s": round(replayed / throughput["wall_s"], 2), "reply_latency_ms": args.reply_latency_ms,
            "concurrency": args.replay_concurrency, "peak_rss_mib": throughput["peak_rss_mib"]}


def run_scenario(name: str, common: list[str], server) -> dict:
    server.reset_counts()
    done = subprocess.run([sys.executable, "-m", "bench.run", "--scenario", name, *common],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        raise RuntimeError(f"scenario {name} failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    counts = server.request_counts()
    return result | {"s3_requests": counts.get("total", 0), "s3_gets": counts.get("GET", 0)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="7 days x 100/day: the CI smoke test")
    parser.add_argument("--days", type=int)
    parser.add_argument("--per-day", type=int)
    parser.add_argument("--latency-ms", type=float, default=20.0, help="per S3 request, for every client")
    parser.add_argument("--reply-latency-ms", type=float, default=2000.0)
    parser.add_argument("--replay-concurrency", type=int, default=32)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the .md and .json go")
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--bucket", help=argparse.SUPPRESS)
    parser.add_argument("--day-list", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    if args.scenario:  # a child process: run one scenario, print its JSON
        args.days = args.day_list.split(",")
        scenario = {
            "baseline": lambda: scenario_baseline(args),
            "cold": lambda: scenario_index_and_fit(args, args.days),
            "weekly": lambda: scenario_index_and_fit(args, args.days[-7:]),
            "concordance": lambda: scenario_concordance(args),
        }[args.scenario]
        print(json.dumps(scenario()), flush=True)
        # Measured and reported: skip interpreter teardown, where native thread pools (pyarrow,
        # grpc) occasionally abort ("terminate called without an active exception").
        os._exit(0)
    run_all(args)


def run_all(args) -> None:
    import boto3
    from botocore.config import Config

    from alpha_replay_assets.sample import corpus, local_s3

    n_days = args.days or (7 if args.quick else 56)
    per_day = args.per_day or (100 if args.quick else 585)
    server = local_s3.start()
    try:
        bucket = "alpha-replay-bench"
        client = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1",
                              aws_access_key_id="bench", aws_secret_access_key="bench",
                              config=Config(max_pool_connections=32))
        client.create_bucket(Bucket=bucket)
        end = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
        days = corpus.window(end, n_days)
        started = time.perf_counter()
        n = corpus.seed(client, bucket, days, corpus.CorpusSpec(per_day=per_day, mix="legacy", unregistered_per_day=0,
                                                                    large_fraction=0.02), workers=16)
        sizes = sorted(o["Size"] for p in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                       for o in p.get("Contents", []))
        print(f"seeded {n} artifacts ({n_days} days x {per_day}) in {time.perf_counter() - started:.0f} s; "
              f"median {sizes[len(sizes) // 2] / 1024:.1f} KiB, p99 {sizes[int(len(sizes) * 0.99)] / 1024:.0f} KiB, "
              f"max {sizes[-1] / 1024:.0f} KiB", flush=True)
        server.set_latency(args.latency_ms)
        common = ["--endpoint", server.endpoint_url, "--bucket", bucket, "--day-list",
                  ",".join(d.isoformat() for d in days), "--reply-latency-ms", str(args.reply_latency_ms),
                  "--replay-concurrency", str(args.replay_concurrency)]
        results = {}
        for name in ("baseline", "cold", "weekly", "concordance"):
            print(f"running {name} ...", flush=True)
            results[name] = run_scenario(name, common, server)
            print(f"  {json.dumps(results[name])}", flush=True)
    finally:
        server.stop()
    report(results, args, n_days, per_day, n)


def report(results: dict, args, n_days: int, per_day: int, n: int) -> None:
    base = results["baseline"]["wall_s"]
    rows = [
        ("baseline: serial scan + fit", results["baseline"], None),
        (f"cold: index {n_days} days + fit", results["cold"], base / results["cold"]["wall_s"]),
        ("weekly: index 7 days + fit", results["weekly"], base / results["weekly"]["wall_s"]),
    ]
    lines = [
        f"alpha-replay benchmark, {dt.date.today()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}",
        f"corpus: {n} artifacts ({n_days} days x {per_day}/day); {args.latency_ms:g} ms per S3 request "
        "for every client (server-side)",
        f"command: python -m bench.run{' --quick' if args.quick else ''}",
        "",
        "| scenario | wall s | CPU s | S3 requests | GETs | peak RSS MiB | baseline / this |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r, ratio in rows:
        lines.append(f"| {name} | {r['wall_s']} | {r['cpu_s']} | {r['s3_requests']} | {r['s3_gets']} | "
                     f"{r['peak_rss_mib']} | {'—' if ratio is None else f'{ratio:.1f}x'} |")
    c = results["concordance"]
    lines += [
        "",
        f"fit step: {results['weekly']['fit_step_index_gets']} index objects read for a {n_days}-day window "
        f"({results['weekly']['fit_step_gets']} GETs in all, incl. per-agent latest pointers)",
        f"concordance re-materialisation of a replayed day: {c['rerun_model_calls']} model calls, {c['rerun_wall_s']} s",
        f"replay throughput: {c['throughput_replays']} replays in {c['throughput_wall_s']} s = {c['replays_per_s']}/s "
        f"at concurrency {c['concurrency']} with {c['reply_latency_ms']:g} ms per reply",
    ]
    table = "\n".join(lines)
    print("\n" + table)
    args.out.mkdir(parents=True, exist_ok=True)
    name = "quick" if args.quick else "full"
    (args.out / f"{name}.md").write_text(table + "\n")
    ratios = {"cold": rows[1][2], "weekly": rows[2][2]}
    (args.out / f"{name}.json").write_text(json.dumps({"results": results, "ratios": ratios}, indent=2) + "\n")


if __name__ == "__main__":
    main()
