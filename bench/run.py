"""Benchmark: alpha-replay vs the old serial per-artifact scan, in one run on one machine.

    python -m bench.run                      # 56 days x 585/day at production sizes, 20 ms per S3 request
    python -m bench.run --server seaweedfs   # the same against SeaweedFS (`pip install -e '.[bench]'`)
    python -m bench.run --quick              # 7 days x 100/day (the CI smoke test runs a smaller variant)

Starts the local S3 server, seeds the corpus, then runs each scenario in its own process (so
peak RSS is the scenario's own) under the same latency for every S3 request:

1. baseline: the old design: list the day folders, `get_object` every artifact serially, fit
   the trees with the same fitting code;
2. cold: backfill `artifact_index` for the whole window + `counterfactual_fits` for its last day;
3. weekly: the steady state: the last 7 days indexed + the fits for the window end;
4. concordance: re-materialising a replayed day (model calls must be 0), and replay throughput
   against the loopback model server with a fixed reply latency.

The latency model: moto adds it in the server, to every request of every client; SeaweedFS has
none, so each scenario process adds the same delay to every request it sends. Requests and bytes
are counted by the server. `python -m bench.scaling` runs the scenarios at 1x, 4x and 16x volume.

Writes `bench/results/{full,quick}.{md,json}` (`-seaweedfs` appended on that server) and prints the table.
"""

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
FITTED = ("ic_cio", "macro_economist")
SERVERS = ("moto", "seaweedfs")


def start_server(kind: str):
    from alpha_replay_assets.sample import local_s3, seaweedfs

    return local_s3.start() if kind == "moto" else seaweedfs.start()


def attach(args):
    """The running server's counters, seen from a scenario process."""
    from alpha_replay_assets.sample.local_s3 import LocalS3
    from alpha_replay_assets.sample.seaweedfs import SeaweedS3

    if args.server == "moto":
        return LocalS3(args.endpoint, None)
    return SeaweedS3(args.endpoint, args.metrics_url, None, "")


def latency_model(server, kind: str, latency_ms: float) -> list[str]:
    """`latency_ms` on every S3 request of every client: in moto's server, or (SeaweedFS has no
    latency model) in every scenario process; returns the scenario arguments that carry it."""
    if kind == "moto":
        server.set_latency(latency_ms)
        return []
    return ["--client-latency-ms", str(latency_ms)]


def add_client_latency(latency_ms: float) -> None:
    """Delay every request this process sends, before it takes a connection (as moto's
    server-side delay does for every client)."""
    from botocore.endpoint import Endpoint

    send = Endpoint._send

    def delayed(self, request):
        time.sleep(latency_ms / 1000)
        return send(self, request)
    Endpoint._send = delayed


def seed_corpus(server, bucket: str, days: list[dt.date], per_day: int, sizes: str):
    """The legacy mix at `per_day` on `days` (no bad objects: they are a correctness matter, tested
    elsewhere, and SeaweedFS refuses their `..` keys); returns the client and the objects' sizes."""
    import boto3
    from botocore.config import Config

    from alpha_replay_assets.sample import corpus

    client = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench",
                          config=Config(max_pool_connections=32))
    client.create_bucket(Bucket=bucket)
    spec = corpus.CorpusSpec(per_day=per_day, mix="legacy", unregistered_per_day=0, large_fraction=0.02,
                             bad_fraction=0, sizes=sizes)
    started = time.perf_counter()
    n = corpus.seed(client, bucket, days, spec, workers=16)
    sizes_seen = sorted(o["Size"] for p in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
                        for o in p.get("Contents", []))
    print(f"seeded {n} artifacts ({len(days)} days x {per_day}, {spec.sizes} sizes) in "
          f"{time.perf_counter() - started:.0f} s: {sum(sizes_seen) / 2**20:.0f} MiB, median "
          f"{sizes_seen[len(sizes_seen) // 2] / 1024:.1f} KiB, "
          f"p99 {sizes_seen[int(len(sizes_seen) * 0.99)] / 1024:.0f} KiB, "
          f"max {sizes_seen[-1] / 1024:.0f} KiB", flush=True)
    return client, sizes_seen


def peak_rss_mib() -> float:
    """This process's peak resident set since it started (Linux VmHWM). Not `ru_maxrss`: Linux
    carries that over from the forking parent across exec, so a scenario started by a parent that
    had held a large corpus reported the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError("no VmHWM in /proc/self/status")


def _measure(fn) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    extra = fn() or {}
    return {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2),
            "peak_rss_mib": peak_rss_mib(), **extra}


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
        # both routes on the loopback server: the think tank's targets and originals are router models
        "replay_model": ReplayModel(api_key="bench", base_url=model_url or "http://127.0.0.1:9", timeout_s=60,
                                    openai_compat_base_url=f"{model_url or 'http://127.0.0.1:9'}/api/v1",
                                    openai_compat_api_key="bench", max_concurrency=concurrency),
        "run_mode": RunMode(emit_metrics=False),  # CloudWatch is not the subject (and SeaweedFS has none)
    }


def _materialise(assets, resources, first: str, last: str, run_config=None) -> None:
    import dagster as dg

    with dg.instance_for_test() as instance:
        result = dg.materialize(assets, resources=resources, instance=instance, run_config=run_config or {}, tags={
            "dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last})
    assert result.success


def scenario_baseline(args) -> dict:
    """The system we replace: one serial GET per artifact of the window (every `sample_every`-th
    of each day folder's listing), then the same fits; listing, scan and fit timed apart."""
    import boto3

    from alpha_replay_assets.families import REGISTRY
    from alpha_replay_assets.paths import agent_id_base, day_prefix
    from alpha_replay_assets.rule_fit import fit_rule

    client = boto3.client("s3", endpoint_url=args.endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
    rows = {family: [] for family in FITTED}

    def run():
        started, listed = time.perf_counter(), []
        for day in args.days:
            listed += [obj["Key"] for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=args.bucket, Prefix=day_prefix("decision_artifacts", dt.date.fromisoformat(day)))
                for obj in page.get("Contents", [])]
        list_s, scanned = time.perf_counter() - started, listed[::args.sample_every]
        for key in scanned:
            body = client.get_object(Bucket=args.bucket, Key=key)["Body"].read()
            try:
                doc = json.loads(body)
                family = agent_id_base(doc["agent_id"])
                if family in rows:
                    rows[family] += [r for r in REGISTRY[family].fit.rows(doc["input_data_snapshot"],
                                                                          doc["agent_output"]) if "error" not in r]
            except (ValueError, KeyError, TypeError):
                continue
        scan_s = time.perf_counter() - started - list_s
        fits = {f: fit_rule([r["label"] for r in rs], [r["features"] for r in rs]).get("match_rate")
                for f, rs in rows.items()}
        return {"artifacts_listed": len(listed), "artifacts_read": len(scanned), "list_s": round(list_s, 3),
                "scan_s": round(scan_s, 3), "fit_s": round(time.perf_counter() - started - list_s - scan_s, 3),
                "match_rate": fits}
    return _measure(run)


def scenario_index_and_fit(args, days: list[str]) -> dict:
    from alpha_replay_assets.counterfactual import counterfactual_fits
    from alpha_replay_assets.index import artifact_index
    from alpha_replay_assets.paths import fits_key

    resources = _resources(args.endpoint, args.bucket)
    server = attach(args)

    def run():
        # force: the days are new to this scenario (an earlier one may have indexed the same folders)
        _materialise([artifact_index], resources, days[0], days[-1],
                     {"ops": {"artifact_index": {"config": {"force": True}}}})
        before, bytes_before = server.request_counts(), server.bytes_served()
        _materialise([counterfactual_fits], resources, args.days[-1], args.days[-1],
                     {"ops": {"counterfactual_fits": {"config": {"window_days": len(args.days)}}}})
        after, bytes_after = server.request_counts(), server.bytes_served()
        fits = resources["store"].read_parquet(fits_key(resources["store"], dt.date.fromisoformat(args.days[-1])))
        fits = fits[fits["scope"] == "family"]  # the roll-ups: what the baseline computed
        step = {name: after.get(name, 0) - before.get(name, 0) for name in ("GET", "GET artifact_index")}
        return {"fit_step_gets": step["GET"], "fit_step_bytes": bytes_after["total"] - bytes_before.get("total", 0),
                **({"fit_step_index_gets": step["GET artifact_index"]} if args.server == "moto" else {}),
                "match_rate": dict(zip(fits["agent_id_base"], fits["match_rate"].round(4)))}
    return _measure(run)


def scenario_concordance(args) -> dict:
    from alpha_replay_assets.concordance import concordance
    from alpha_replay_assets.index import artifact_index
    from alpha_replay_assets.paths import concordance_key
    from alpha_replay_assets.replay.rows import day_summary
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


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_scenario(name: str, common: list[str], server) -> dict:
    server.reset_counts()
    server_cpu = process_cpu_s(server.process.pid)
    done = subprocess.run([sys.executable, "-m", "bench.run", "--scenario", name, *common],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        raise RuntimeError(f"scenario {name} failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    counts = server.request_counts()
    return result | {"s3_requests": counts.get("total", 0), "s3_gets": counts.get("GET", 0),
                     "s3_bytes": server.bytes_served().get("total", 0),
                     "server_cpu_s": round(process_cpu_s(server.process.pid) - server_cpu, 2),
                     "load_avg_5m": round(os.getloadavg()[1], 2)}  # the machine may be shared: CPU-bound numbers say so


def scenario_args(server, kind: str, bucket: str, days: list[dt.date], latency_ms: float) -> list[str]:
    """What every scenario process is told: where the corpus is and the latency model."""
    return ["--server", kind, "--endpoint", server.endpoint_url, "--metrics-url", getattr(server, "metrics_url", ""),
            "--bucket", bucket, "--day-list", ",".join(d.isoformat() for d in days),
            *latency_model(server, kind, latency_ms)]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="7 days x 100/day: the CI smoke test")
    parser.add_argument("--days", type=int)
    parser.add_argument("--per-day", type=int)
    parser.add_argument("--server", choices=SERVERS, default="moto", help="the S3-compatible server (default moto)")
    parser.add_argument("--sizes", choices=("small", "production"), default="production",
                        help="artifact sizes of the corpus (default production)")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="per S3 request, for every client")
    parser.add_argument("--reply-latency-ms", type=float, default=2000.0)
    parser.add_argument("--replay-concurrency", type=int, default=32)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the .md and .json go")
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--metrics-url", help=argparse.SUPPRESS)
    parser.add_argument("--bucket", help=argparse.SUPPRESS)
    parser.add_argument("--day-list", help=argparse.SUPPRESS)
    parser.add_argument("--client-latency-ms", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--sample-every", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    if args.scenario:  # a child process: run one scenario, print its JSON
        args.days = args.day_list.split(",")
        if args.client_latency_ms:
            add_client_latency(args.client_latency_ms)
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
    from alpha_replay_assets.sample import corpus

    n_days = args.days or (7 if args.quick else 56)
    per_day = args.per_day or (100 if args.quick else 585)
    server = start_server(args.server)
    try:
        bucket = "alpha-replay-bench"
        days = corpus.window(dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1), n_days)
        _, sizes = seed_corpus(server, bucket, days, per_day, args.sizes)
        common = scenario_args(server, args.server, bucket, days, args.latency_ms) + [
            "--reply-latency-ms", str(args.reply_latency_ms), "--replay-concurrency", str(args.replay_concurrency)]
        results = {}
        for name in ("baseline", "cold", "weekly", "concordance"):
            print(f"running {name} ...", flush=True)
            results[name] = run_scenario(name, common, server)
            print(f"  {json.dumps(results[name])}", flush=True)
    finally:
        server.stop()
    report(results, args, n_days, per_day, len(sizes), sum(sizes))


def report(results: dict, args, n_days: int, per_day: int, n: int, n_bytes: int) -> None:
    base = results["baseline"]["wall_s"]
    rows = [
        ("baseline: serial scan + fit", results["baseline"], None),
        (f"cold: index {n_days} days + fit", results["cold"], base / results["cold"]["wall_s"]),
        ("weekly: index 7 days + fit", results["weekly"], base / results["weekly"]["wall_s"]),
    ]
    where = "in the server" if args.server == "moto" else "in each client process"
    flags = (" --quick" if args.quick else "") + (f" --server {args.server}" if args.server != "moto" else "") + (
        f" --sizes {args.sizes}" if args.sizes != "production" else "")
    weekly = results["weekly"]
    lines = [
        f"alpha-replay benchmark, {dt.date.today()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}",
        f"corpus: {n} artifacts, {n_bytes / 2**20:.0f} MiB ({n_days} days x {per_day}/day, {args.sizes} sizes); "
        f"server {args.server}; {args.latency_ms:g} ms per S3 request for every client ({where})",
        f"command: python -m bench.run{flags}",
        "",
        "| scenario | wall s | CPU s | S3 requests | GETs | MiB read | peak RSS MiB | baseline / this |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r, ratio in rows:
        lines.append(f"| {name} | {r['wall_s']} | {r['cpu_s']} | {r['s3_requests']} | {r['s3_gets']} | "
                     f"{r['s3_bytes'] / 2**20:.1f} | {r['peak_rss_mib']} | "
                     f"{'—' if ratio is None else f'{ratio:.1f}x'} |")
    c = results["concordance"]
    index_gets = f"{weekly['fit_step_index_gets']} index GETs, " if "fit_step_index_gets" in weekly else ""
    lines += [
        "",
        f"fit step: a {n_days}-day window read in {index_gets}{weekly['fit_step_gets']} GETs in all (incl. per-agent "
        f"latest pointers), {weekly['fit_step_bytes'] / 2**20:.2f} MiB",
        f"concordance re-materialisation of a replayed day: {c['rerun_model_calls']} model calls, "
        f"{c['rerun_wall_s']} s",
        f"replay throughput: {c['throughput_replays']} replays in {c['throughput_wall_s']} s = {c['replays_per_s']}/s "
        f"at concurrency {c['concurrency']} with {c['reply_latency_ms']:g} ms per reply",
    ]
    table = "\n".join(lines)
    print("\n" + table)
    args.out.mkdir(parents=True, exist_ok=True)
    name = ("quick" if args.quick else "full") + ("" if args.server == "moto" else f"-{args.server}")
    (args.out / f"{name}.md").write_text(table + "\n")
    ratios = {"cold": rows[1][2], "weekly": rows[2][2]}
    (args.out / f"{name}.json").write_text(json.dumps({"results": results, "ratios": ratios}, indent=2) + "\n")


if __name__ == "__main__":
    main()
