"""Scaling curve: alpha-replay vs the old serial scan at 1x, 4x and 16x the daily volume, at
production artifact sizes, on the same server and latency model.

    python -m bench.scaling                             # SeaweedFS at 1x, 4x, 16x and moto at 1x, 4x
    python -m bench.scaling --servers moto --factors 1  # one point

Per server and factor F, on a fresh server, 585·F artifacts a day and 20 ms per S3 request:

1. the week (7 days) is seeded: the only artifacts stored (16x x 56 days would be ~40 GB);
2. serial: the old scan (list, then serial GET + parse + feature rows, then the fits) over every
   `sample_every`-th artifact of the week (all of it at 1x). Its per-artifact time x a window's
   artifacts (+ its listing and fit time) is the serial baseline of that window: measured for
   the 7 days at 1x, extrapolated from the sample otherwise, and for 56 days at every factor;
   rescan: the same with a 32-thread pool (the same team's later fix), over every artifact of the
   week: measured for the 7 days at every factor, extrapolated (per artifact) to the 56 days;
3. cold: the week's 7 indexes backfilled from scratch + the fit over those 7 days;
4. the 7 indexes are copied (server-side) to the 49 days before the week, so the 56-day window
   has its older days' indexes, then the week's own are deleted;
5. weekly: the week's 7 new days indexed + the fit over the 56-day window ending on its last day.
   Bytes needed: the week's artifacts + for each window day the footer and the chunks of the
   columns the fit reads (from the index's Parquet metadata); bytes read: counted by the server.

Every scenario records the 1-minute load average when it started and ended; a scale with a scenario
started at load >= 1.5 is `"noisy": true` (`--wait-quiet MINUTES` waits for a quiet machine first).
Writes `bench/results/scaling.{json,md}` and `docs/scaling.png`.
"""

import argparse
import datetime as dt
import json
import os
import platform
from pathlib import Path

from bench.run import (
    QUIET_LOAD,
    RESCAN_THREADS,
    RESULTS,
    SERVERS,
    run_scenario,
    scenario_args,
    seed_corpus,
    start_server,
)

BASE_PER_DAY = 585
WEEK, WINDOW = 7, 56
PLOT = Path(__file__).resolve().parent.parent / "docs" / "scaling.png"
BUCKET = "alpha-replay-scaling"
# concurrent GETs of an indexing run: the store's max_workers in each of its worker processes (the
# window readers use 8)
FETCHES_PER_WORKER = 16


def serial_seconds(serial: dict, days: int, artifacts: int, listed_days: int) -> float:
    """The old scan over `days` holding `artifacts`, from its measured listing, per-artifact and
    fit times (the fit timed on the sampled rows only: this flatters the baseline)."""
    return (serial["list_s"] / listed_days * days + serial["scan_s"] / serial["artifacts_read"] * artifacts
            + serial["fit_s"])


def limit(scenario: dict, latency_ms: float, concurrency: int) -> str:
    """Which resource bounds a scenario's wall time: the client's CPU (its process and its workers:
    100% = one core busy all the time), the server's CPU, or the latency of its S3 requests at its
    concurrency; with each one's share."""
    wall = scenario["wall_s"]
    client = scenario["cpu_s"] + scenario.get("workers_cpu_s", 0)
    shares = {"client CPU": client / wall, "server CPU": scenario["server_cpu_s"] / wall,
              "latency": scenario["s3_requests"] * latency_ms / 1000 / concurrency / wall}
    name = max(shares, key=shares.get)
    return f"{name} ({', '.join(f'{k} {v:.0%}' for k, v in shares.items())})"


def week_indexes_to_older_days(client, store, week: list[dt.date], older: list[dt.date]) -> None:
    """Give the window its older days' indexes: server-side copies of the week's (older day i gets
    week day i mod 7), then delete the week's own, which the weekly scenario builds again."""
    from alpha_replay_assets.paths import index_key

    for i, day in enumerate(older):
        client.copy_object(Bucket=store.bucket, Key=index_key(store, day),
                           CopySource={"Bucket": store.bucket, "Key": index_key(store, week[i % len(week)])})
    store.delete([index_key(store, day) for day in week])


def bytes_needed(store, window: list[dt.date], artifact_bytes: int) -> int:
    """The week's artifacts + per window day what the fit's read cannot do without."""
    from alpha_replay_assets.counterfactual import WINDOW_COLUMNS
    from alpha_replay_assets.paths import index_key
    from resources.parquet_ranges import least_bytes, open_remote

    def needed(day: dt.date) -> int:
        _, metadata = open_remote(lambda http_range, etag: store.get_range(index_key(store, day), http_range, etag))
        return least_bytes(metadata, WINDOW_COLUMNS)
    return artifact_bytes + sum(map(needed, window))


def measure(kind: str, factor: int, args) -> dict:
    from bench.run import _resources

    per_day = BASE_PER_DAY * factor
    end = dt.date(2026, 11, 27)
    window = [end - dt.timedelta(days=n) for n in reversed(range(WINDOW))]
    week, older = window[-WEEK:], window[:-WEEK]
    server = start_server(kind)
    try:
        client, sizes = seed_corpus(server, BUCKET, week, per_day, "production")
        store = _resources(server.endpoint_url, BUCKET)["store"]
        sample_every = max(1, len(sizes) // args.serial_sample)
        results = {}
        for name, days, extra in (("serial", week, ["--sample-every", str(sample_every)]), ("rescan", week, []),
                                  ("cold", week, []), ("weekly", window, [])):
            if name == "weekly":
                week_indexes_to_older_days(client, store, week, older)
            print(f"{kind} {factor}x: {name} ...", flush=True)
            results[name] = run_scenario(name if name != "serial" else "baseline",
                                         scenario_args(server, kind, BUCKET, days, args.latency_ms,
                                                       args.index_workers) + extra, server, args.wait_quiet)
            print(f"  {json.dumps(results[name])}", flush=True)
        needed = bytes_needed(store, window, sum(sizes))
    finally:
        server.stop()
    serial, rescan, weekly, cold = results["serial"], results["rescan"], results["weekly"]["wall_s"], \
        results["cold"]["wall_s"]
    serial_cold = serial_seconds(serial, WEEK, len(sizes), WEEK)
    serial_weekly = serial_seconds(serial, WINDOW, len(sizes) * WINDOW // WEEK, WEEK)
    rescan_cold = rescan["wall_s"]
    rescan_weekly = serial_seconds(rescan, WINDOW, len(sizes) * WINDOW // WEEK, WEEK)
    return {
        "factor": factor, "server": kind, "per_day": per_day, "index_workers": results["weekly"]["workers"],
        "week_artifacts": len(sizes), "week_bytes": sum(sizes),
        "noisy": any(r["load_avg_start"] >= QUIET_LOAD for r in results.values()),
        "load_avg_start": max(r["load_avg_start"] for r in results.values()),
        "weekly_ratio": round(serial_weekly / weekly, 1),
        "cold_ratio": round(serial_cold / cold, 1),
        "weekly_ratio_vs_rescan": round(rescan_weekly / weekly, 2),
        "cold_ratio_vs_rescan": round(rescan_cold / cold, 2),
        "weekly_bytes_read": results["weekly"]["s3_bytes"], "weekly_bytes_needed": needed,
        "peak_rss_mib": max(results["cold"]["peak_rss_mib"], results["weekly"]["peak_rss_mib"]),
        "weekly_s": weekly, "cold_s": cold,
        "serial_weekly_s": round(serial_weekly), "serial_cold_s": round(serial_cold),
        "rescan_weekly_s": round(rescan_weekly, 1), "rescan_cold_s": rescan_cold,
        "serial_measured": f"{serial['artifacts_read']} of {len(sizes) * WINDOW // WEEK} window artifacts "
                           f"({serial['artifacts_read'] / (len(sizes) * WINDOW // WEEK):.1%}); the rest extrapolated",
        "rescan_measured": f"the week's {rescan['artifacts_read']} artifacts ({WEEK} days, = rescan_cold_s); the "
                           f"{WINDOW}-day window extrapolated: listing x {WINDOW // WEEK}, per-artifact scan time x "
                           f"{len(sizes) * WINDOW // WEEK} artifacts, + the fit",
        "limits": {"serial": limit(serial, args.latency_ms, 1),
                   "rescan": limit(rescan, args.latency_ms, RESCAN_THREADS),
                   "cold": limit(results["cold"], args.latency_ms, FETCHES_PER_WORKER * results["cold"]["workers"]),
                   "weekly": limit(results["weekly"], args.latency_ms,
                                   FETCHES_PER_WORKER * results["weekly"]["workers"])},
        "scenarios": results,
    }


def report(points: list[dict], args) -> str:
    lines = [
        f"alpha-replay scaling benchmark, {dt.date.today()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}",
        f"command: python -m bench.scaling --servers {','.join(args.servers)} --factors "
        f"{','.join(map(str, args.factors))}; production sizes, {args.latency_ms:g} ms per S3 request "
        "(moto: in the server; SeaweedFS: in each client process)",
        "",
        "| server | factor | artifacts/day | weekly s | serial 56 d s | rescan 56 d s | weekly vs serial | vs rescan "
        "| cold s | serial 7 d s | rescan 7 d s | cold vs serial | vs rescan | weekly MiB read | needed | read/needed "
        "| peak RSS MiB | load at start | weekly limited by | cold limited by |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in points:
        lines.append(
            f"| {p['server']} | {p['factor']}x | {p['per_day']} | {p['weekly_s']} | {p['serial_weekly_s']} | "
            f"{p['rescan_weekly_s']} | {p['weekly_ratio']}x | {p['weekly_ratio_vs_rescan']}x | {p['cold_s']} | "
            f"{p['serial_cold_s']} | {p['rescan_cold_s']} | {p['cold_ratio']}x | {p['cold_ratio_vs_rescan']}x | "
            f"{p['weekly_bytes_read'] / 2**20:.0f} | {p['weekly_bytes_needed'] / 2**20:.0f} | "
            f"{p['weekly_bytes_read'] / p['weekly_bytes_needed']:.3f} | {p['peak_rss_mib']} | "
            f"{p['load_avg_start']}{' (noisy)' if p['noisy'] else ''} | {p['limits']['weekly']} | "
            f"{p['limits']['cold']} |")
    return "\n".join(lines)


def plot(points: list[dict], path: Path) -> None:
    """Weekly and cold wall time vs volume: alpha-replay and both baselines (log-log), per server."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (weekly, cold) = plt.subplots(1, 2, figsize=(12, 4.5))
    for kind in dict.fromkeys(p["server"] for p in points):
        mine = [p for p in points if p["server"] == kind]
        factors = [p["factor"] for p in mine]
        for axis, run in ((weekly, "weekly"), (cold, "cold")):
            for who, style in (("", "o-"), ("serial_", "s--"), ("rescan_", "^:")):
                axis.plot(factors, [p[f"{who}{run}_s"] for p in mine], style,
                          label=f"{who.rstrip('_') or 'alpha-replay'}, {kind}")
            for p in mine:
                if p["noisy"]:
                    axis.annotate("noisy", (p["factor"], p[f"{run}_s"]), fontsize=7, color="red")
    for axis, title in ((weekly, "weekly: 7 new days indexed + a 56-day window fitted"),
                        (cold, "cold: 7 days indexed from scratch + fitted")):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xticks([p["factor"] for p in points], [f"{p['factor']}x" for p in points])
        axis.set_xlabel("daily volume (x 585 artifacts, production sizes)")
        axis.set_ylabel("wall time, s")
        axis.set_title(title, fontsize=10)
        axis.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=lambda text: text.split(","), default=["seaweedfs", "moto"],
                        help=f"comma-separated, of {SERVERS}; the first one's points are `scales` in the JSON")
    parser.add_argument("--factors", type=lambda text: [int(f) for f in text.split(",")], default=[1, 4, 16])
    parser.add_argument("--moto-max-factor", type=int, default=4,
                        help="moto holds every object in memory: larger factors run on the other servers only")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--serial-sample", type=int, default=4095, help="artifacts the serial scan reads at most")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="MINUTES",
                        help=f"before each scenario, wait up to MINUTES for a load average < {QUIET_LOAD}")
    parser.add_argument("--index-workers", type=int, default=0,
                        help="artifact_index's `workers` in the cold and weekly runs (default: its own, the cores)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--plot", type=Path, default=PLOT)
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    points = [measure(kind, factor, args) for kind in args.servers for factor in args.factors
              if kind != "moto" or factor <= args.moto_max_factor]
    table = report(points, args)
    print("\n" + table)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scaling.md").write_text(table + "\n")
    primary = [p for p in points if p["server"] == args.servers[0]]
    (args.out / "scaling.json").write_text(json.dumps(
        {"server": args.servers[0], "scales": primary, "other_servers": [p for p in points if p not in primary]},
        indent=2) + "\n")
    plot(points, args.plot)


if __name__ == "__main__":
    main()
