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
   against the loopback model server with a fixed reply latency, on two days before the window
   seeded with rendered graph prompts (stub prompts are never replayed).

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
RESCAN_THREADS = 32
QUIET_LOAD = 1.5  # a scenario started at a 1-minute load average at or above this is noisy (2 cores)
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


LATENCY_ENV = "ALPHA_REPLAY_BENCH_CLIENT_LATENCY_MS"
# holds a sitecustomize.py: every Python process a scenario starts (its indexing workers too) adds the latency
LATENCY_SITE = Path(__file__).resolve().parent / "latency_site"


def latency_model(server, kind: str, latency_ms: float) -> list[str]:
    """`latency_ms` on every S3 request of every client: in moto's server, or (SeaweedFS has no
    latency model) in every process of a scenario; returns the scenario arguments that carry it."""
    if kind == "moto":
        server.set_latency(latency_ms)
        return []
    return ["--client-latency-ms", str(latency_ms)]


def scenario_env(args: list[str]) -> dict[str, str]:
    """A scenario process's environment: with client latency, set for it and every process it starts."""
    if "--client-latency-ms" not in args:
        return dict(os.environ)
    path = os.pathsep.join(filter(None, [str(LATENCY_SITE), str(RESULTS.parent.parent), os.environ.get("PYTHONPATH")]))
    return os.environ | {LATENCY_ENV: args[args.index("--client-latency-ms") + 1], "PYTHONPATH": path}


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


class TreeSampler:
    """Samples this process's descendants (the indexing workers and their forkserver, which are not
    all this process's children, so `RUSAGE_CHILDREN` misses them) every `interval` s: the peak of
    the whole tree's proportional set size (shared pages counted once) and each descendant's CPU."""

    def __init__(self, interval: float = 0.5):
        import threading

        self.interval, self.peak_kib, self.cpu = interval, 0, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "TreeSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        tree, frontier = [], [os.getpid()]
        while frontier:
            frontier = [child for pid in frontier for child in _children(pid)]
            tree += frontier
        total = _pss_kib(os.getpid())
        for pid in tree:
            try:
                total += _pss_kib(pid)
                self.cpu[pid] = process_cpu_s(pid)
            except OSError:  # it ended between the listing and the read
                continue
        self.peak_kib = max(self.peak_kib, total)


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
                for child in (task / "children").read_text().split()]
    except OSError:
        return []


def _stat(pid: str) -> list[str]:
    """/proc/PID/stat after the command name: state, ppid, ..."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _pss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def _measure(fn) -> dict:
    """Wall, CPU (this process; its descendants: the indexing workers) and peak memory: this
    process's own peak RSS, and the peak of the whole tree's PSS (sampled; the larger one is `peak_rss_mib`)."""
    wall, cpu = time.perf_counter(), time.process_time()
    with TreeSampler() as tree:
        extra = fn() or {}
    own, whole = peak_rss_mib(), round(tree.peak_kib / 1024, 1)
    return {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2),
            "workers_cpu_s": round(sum(tree.cpu.values()), 2), "peak_rss_mib": max(own, whole),
            "own_peak_rss_mib": own, "tree_peak_pss_mib": whole, **extra}


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


def scenario_baseline(args, threads: int = 1) -> dict:
    """The system we replace (threads = 1): one serial GET per artifact of the window (every
    `sample_every`-th of each day folder's listing), then the same fits; listing, scan and fit
    timed apart. threads = RESCAN_THREADS: the same team's later fix, the window re-scanned by a
    thread pool (list, fetch, parse, fit), with the same code."""
    import boto3
    from botocore.config import Config

    from alpha_replay_assets.families import REGISTRY
    from alpha_replay_assets.paths import agent_id_base, day_prefix
    from alpha_replay_assets.rule_fit import fit_rule

    client = boto3.client("s3", endpoint_url=args.endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench",
                          config=Config(max_pool_connections=max(10, threads)))

    def listing(day: str) -> list[str]:
        return [obj["Key"] for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=args.bucket, Prefix=day_prefix("decision_artifacts", dt.date.fromisoformat(day)))
                for obj in page.get("Contents", [])]

    def feature_rows(key: str) -> tuple[str | None, list]:
        body = client.get_object(Bucket=args.bucket, Key=key)["Body"].read()
        try:
            doc = json.loads(body)
            family = agent_id_base(doc["agent_id"])
            if family in FITTED:
                return family, [r for r in REGISTRY[family].fit.rows(doc["input_data_snapshot"], doc["agent_output"])
                                if "error" not in r]
        except (ValueError, KeyError, TypeError):
            pass
        return None, []

    def run():
        from concurrent.futures import ThreadPoolExecutor

        rows = {family: [] for family in FITTED}
        with ThreadPoolExecutor(threads) as pool:
            started = time.perf_counter()
            listed = [key for keys in pool.map(listing, args.days) for key in keys]
            list_s, scanned = time.perf_counter() - started, listed[::args.sample_every]
            for family, found in pool.map(feature_rows, scanned):
                if family:
                    rows[family] += found
        scan_s = time.perf_counter() - started - list_s
        fits = {f: fit_rule([r["label"] for r in rs], [r["features"] for r in rs]).get("match_rate")
                for f, rs in rows.items()}
        return {"threads": threads, "artifacts_listed": len(listed), "artifacts_read": len(scanned),
                "list_s": round(list_s, 3), "scan_s": round(scan_s, 3),
                "fit_s": round(time.perf_counter() - started - list_s - scan_s, 3), "match_rate": fits}
    return _measure(run)


def scenario_index_and_fit(args, days: list[str]) -> dict:
    from alpha_replay_assets.counterfactual import counterfactual_fits
    from alpha_replay_assets.index import artifact_index
    from alpha_replay_assets.paths import fits_key

    resources = _resources(args.endpoint, args.bucket)
    server = attach(args)
    workers = args.index_workers or os.cpu_count() or 1

    def run():
        # force: the days are new to this scenario (an earlier one may have indexed the same folders)
        _materialise([artifact_index], resources, days[0], days[-1],
                     {"ops": {"artifact_index": {"config": {"force": True, "workers": workers}}}})
        before, bytes_before = server.request_counts(), server.bytes_served()
        _materialise([counterfactual_fits], resources, args.days[-1], args.days[-1],
                     {"ops": {"counterfactual_fits": {"config": {"window_days": len(args.days)}}}})
        after, bytes_after = server.request_counts(), server.bytes_served()
        fits = resources["store"].read_parquet(fits_key(resources["store"], dt.date.fromisoformat(args.days[-1])))
        fits = fits[fits["scope"] == "family"]  # the roll-ups: what the baseline computed
        step = {name: after.get(name, 0) - before.get(name, 0) for name in ("GET", "GET artifact_index")}
        return {"workers": workers, "fit_step_gets": step["GET"],
                "fit_step_bytes": bytes_after["total"] - bytes_before.get("total", 0),
                **({"fit_step_index_gets": step["GET artifact_index"]} if args.server == "moto" else {}),
                "match_rate": dict(zip(fits["agent_id_base"], fits["match_rate"].round(4)))}
    return _measure(run)


def replayable_days(args) -> tuple[str, str]:
    """Two days before the window, seeded for this scenario at the window's volume with rendered
    graph prompts: the legacy mix's stub prompts are never replayed (docs/domain.md), and the live
    think tank writes ~12 a day, too few to measure throughput."""
    import boto3

    from alpha_replay_assets.sample import corpus

    first = dt.date.fromisoformat(args.days[0])
    days = [first - dt.timedelta(days=2), first - dt.timedelta(days=1)]
    client = boto3.client("s3", endpoint_url=args.endpoint, region_name="us-east-1",
                          aws_access_key_id="bench", aws_secret_access_key="bench")
    spec = corpus.CorpusSpec(per_day=args.per_day, mix="legacy", graph_prompts="rendered", unregistered_per_day=0,
                             bad_fraction=0)
    corpus.seed(client, args.bucket, days, spec, workers=16)
    return days[0].isoformat(), days[1].isoformat()


def scenario_concordance(args) -> dict:
    from alpha_replay_assets.concordance import concordance
    from alpha_replay_assets.index import artifact_index
    from alpha_replay_assets.paths import concordance_key
    from alpha_replay_assets.replay.rows import day_summary
    from alpha_replay_assets.sample.model_server import ModelServer

    server = ModelServer()
    fresh_day, day = replayable_days(args)
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
    if not replayed or not calls:  # a replay scenario that replayed nothing measures nothing: say so loudly
        raise SystemExit(f"concordance scenario replayed nothing ({calls} calls, {replayed} replays on {fresh_day})")
    return {"rerun_wall_s": rerun["wall_s"], "rerun_model_calls": rerun_calls,
            "throughput_replays": replayed, "throughput_wall_s": throughput["wall_s"],
            "replays_per_s": round(replayed / throughput["wall_s"], 2), "reply_latency_ms": args.reply_latency_ms,
            "concurrency": args.replay_concurrency, "peak_rss_mib": throughput["peak_rss_mib"]}


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc)."""
    fields = _stat(str(pid))
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_quiet(minutes: float) -> float:
    """Wait up to `minutes` for the machine's 1-minute load average to fall below QUIET_LOAD; returns
    the reading it stopped on (the scenario's start load: a second reading could cross the line)."""
    deadline = time.monotonic() + minutes * 60
    while (load := os.getloadavg()[0]) >= QUIET_LOAD and time.monotonic() < deadline:
        time.sleep(5)
    return load


def run_scenario(name: str, common: list[str], server, quiet_minutes: float = 0) -> dict:
    load_start = wait_quiet(quiet_minutes)
    server.reset_counts()
    server_cpu = process_cpu_s(server.process.pid)
    done = subprocess.run([sys.executable, "-m", "bench.run", "--scenario", name, *common], env=scenario_env(common),
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    if done.returncode != 0:
        raise RuntimeError(f"scenario {name} failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    counts = server.request_counts()
    return result | {"s3_requests": counts.get("total", 0), "s3_gets": counts.get("GET", 0),
                     "s3_bytes": server.bytes_served().get("total", 0),
                     "server_cpu_s": round(process_cpu_s(server.process.pid) - server_cpu, 2),
                     # the machine may be shared: a scenario started at load >= QUIET_LOAD is not quoted
                     "load_avg_start": round(load_start, 2), "load_avg_end": round(os.getloadavg()[0], 2)}


def scenario_args(server, kind: str, bucket: str, days: list[dt.date], latency_ms: float,
                  index_workers: int = 0) -> list[str]:
    """What every scenario process is told: where the corpus is, the latency model, the indexing workers."""
    return ["--server", kind, "--endpoint", server.endpoint_url, "--metrics-url", getattr(server, "metrics_url", ""),
            "--bucket", bucket, "--day-list", ",".join(d.isoformat() for d in days), "--index-workers",
            str(index_workers), *latency_model(server, kind, latency_ms)]


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
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="MINUTES",
                        help=f"before each scenario, wait up to MINUTES for a load average < {QUIET_LOAD}")
    parser.add_argument("--index-workers", type=int, default=0,
                        help="artifact_index's `workers` in the cold and weekly runs (default: its own, the cores)")
    parser.add_argument("--scenario", help=argparse.SUPPRESS)
    parser.add_argument("--endpoint", help=argparse.SUPPRESS)
    parser.add_argument("--metrics-url", help=argparse.SUPPRESS)
    parser.add_argument("--bucket", help=argparse.SUPPRESS)
    parser.add_argument("--day-list", help=argparse.SUPPRESS)
    # carried to every process of the scenario by `scenario_env` (the latency_site sitecustomize)
    parser.add_argument("--client-latency-ms", type=float, default=0.0, help=argparse.SUPPRESS)
    parser.add_argument("--sample-every", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    if args.scenario:  # a child process: run one scenario, print its JSON
        args.days = args.day_list.split(",")
        scenario = {
            "baseline": lambda: scenario_baseline(args),
            "rescan": lambda: scenario_baseline(args, RESCAN_THREADS),
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
        common = scenario_args(server, args.server, bucket, days, args.latency_ms, args.index_workers) + [
            "--reply-latency-ms", str(args.reply_latency_ms), "--replay-concurrency", str(args.replay_concurrency),
            "--per-day", str(per_day)]
        results = {}
        for name in ("baseline", "rescan", "cold", "weekly", "concordance"):
            print(f"running {name} ...", flush=True)
            results[name] = run_scenario(name, common, server, args.wait_quiet)
            print(f"  {json.dumps(results[name])}", flush=True)
    finally:
        server.stop()
    report(results, args, n_days, per_day, len(sizes), sum(sizes))


def report(results: dict, args, n_days: int, per_day: int, n: int, n_bytes: int) -> None:
    base, rescan = results["baseline"]["wall_s"], results["rescan"]["wall_s"]
    rows = [
        ("baseline: serial scan + fit", results["baseline"], None, base / rescan),
        (f"rescan: {RESCAN_THREADS} threads + fit", results["rescan"], base / rescan, None),
        (f"cold: index {n_days} days + fit", results["cold"], base / results["cold"]["wall_s"],
         rescan / results["cold"]["wall_s"]),
        ("weekly: index 7 days + fit", results["weekly"], base / results["weekly"]["wall_s"],
         rescan / results["weekly"]["wall_s"]),
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
        "| scenario | wall s | CPU s (+ workers) | S3 requests | GETs | MiB read | peak RSS MiB | baseline / this "
        "| rescan / this | load start → end |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r, ratio, vs_rescan in rows:
        lines.append(f"| {name} | {r['wall_s']} | {r['cpu_s']} + {r['workers_cpu_s']} | {r['s3_requests']} | "
                     f"{r['s3_gets']} | {r['s3_bytes'] / 2**20:.1f} | {r['peak_rss_mib']} | {_ratio(ratio)} | "
                     f"{_ratio(vs_rescan)} | {r['load_avg_start']} → {r['load_avg_end']} |")
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
    ratios = {"cold": rows[2][2], "weekly": rows[3][2], "cold_vs_rescan": rows[2][3], "weekly_vs_rescan": rows[3][3]}
    noisy = any(r["load_avg_start"] >= QUIET_LOAD for r in results.values())
    (args.out / f"{name}.json").write_text(json.dumps({"results": results, "ratios": ratios, "noisy": noisy},
                                                      indent=2) + "\n")


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}x"


if __name__ == "__main__":
    main()
