"""`alpha-replay demo`: the whole graph end to end on an embedded default, in one command.

Starts the local S3-compatible server on loopback, seeds a synthetic window, materialises the
graph for it in a temporary DAGSTER_HOME and prints what a user comes for. `--ui` then leaves
`dagster dev` running against the same server and instance.
"""

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
import pandas as pd

from alpha_replay_assets.index import read_day_index
from alpha_replay_assets.sample import corpus, local_s3

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_BUCKET = "alpha-replay-demo"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _environment(s3_endpoint: str, dagster_home: str) -> dict[str, str]:
    return {
        "ALPHA_REPLAY_S3_ENDPOINT_URL": s3_endpoint,
        "ALPHA_REPLAY_BUCKET": DEMO_BUCKET,
        "AWS_ACCESS_KEY_ID": "demo",
        "AWS_SECRET_ACCESS_KEY": "demo",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "DAGSTER_HOME": dagster_home,
    }


def _print_summary(store, days: list[dt.date]) -> None:
    frames = [read_day_index(store, d, columns=["agent_id_base", "status"]).assign(day=d.isoformat()) for d in days]
    frame = pd.concat(frames)
    table = frame.pivot_table(index="day", columns="agent_id_base", values="status", aggfunc="size", fill_value=0)
    table["bad_rows"] = frame[frame["status"] != "ok"].groupby("day").size()
    print("\nartifact_index: artifacts per day and family (bad rows counted, never dropped)")
    print(table.fillna(0).astype(int).to_string())


def demo(args: argparse.Namespace) -> None:
    server = local_s3.start()
    dagster_home = tempfile.mkdtemp(prefix="alpha-replay-home-")
    Path(dagster_home, "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.environ.update(_environment(server.endpoint_url, dagster_home))
    try:
        end = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)  # the newest complete day
        days = corpus.window(end, args.days)
        print(f"S3: moto server on {server.endpoint_url} (bucket {DEMO_BUCKET}); DAGSTER_HOME={dagster_home}")
        client = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1")
        client.create_bucket(Bucket=DEMO_BUCKET)
        n = corpus.seed(client, DEMO_BUCKET, days, corpus.CorpusSpec(per_day=args.per_day))
        print(f"seeded {n} artifacts: {args.days} days x {args.per_day}/day, ending {end}")

        import dagster as dg

        from jobs.definitions import defs

        job = defs.resolve_job_def("demo_job")
        with dg.DagsterInstance.get() as instance:
            result = job.execute_in_process(instance=instance, run_config=QUIET, tags={
                "dagster/asset_partition_range_start": days[0].isoformat(),
                "dagster/asset_partition_range_end": days[-1].isoformat(),
            })
        print(f"materialised {job.name} for {days[0]}..{days[-1]}: {'SUCCESS' if result.success else 'FAILURE'}")
        with dg.build_resources({"store": defs.resources["store"]}) as resources:
            _print_summary(resources.store, days)
        if not result.success:
            sys.exit(1)
        if args.ui:
            print("\nstarting dagster dev on http://127.0.0.1:3000 (Ctrl-C to stop)")
            subprocess.run(["dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", "3000"],
                           cwd=REPO_ROOT, check=False)
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="alpha-replay", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="run the graph end to end on a local S3 server")
    demo_parser.add_argument("--days", type=int, default=14)
    demo_parser.add_argument("--per-day", type=int, default=corpus.CorpusSpec.per_day)
    demo_parser.add_argument("--ui", action="store_true", help="leave dagster dev running afterwards")
    args = parser.parse_args(argv)
    demo(args)
