"""`alpha-replay demo`: the whole graph end to end on an embedded default, in one command.

Starts the local S3-compatible server on loopback, seeds a synthetic window, materialises the
graph for it in a temporary DAGSTER_HOME and prints what a user comes for. The cheap target
model is *simulated* by the loopback Messages API server unless `--real-model` is given (then it
prints the estimated spend and asks before replaying).
The replay cache is kept in a local state directory between runs (moto keeps objects in memory
only), so a second run makes no model calls. `--ui` then leaves `dagster dev` running (on `--port`).
"""

import argparse
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import boto3
import dagster as dg
import pandas as pd

from alpha_replay_assets.cli_args import check_window, partition_day, positive_int
from alpha_replay_assets.index import read_day_index
from alpha_replay_assets.paths import (
    ceiling_key,
    concordance_key,
    fits_key,
    ledger_key,
    replay_cache_prefix,
    summary_key,
    verdicts_key,
    version_shifts_key,
)
from alpha_replay_assets.sample import corpus, local_s3
from alpha_replay_assets.sample.model_server import ModelServer
from alpha_replay_assets.verdict_rules import RULE_THRESHOLD
from jobs.cli_errors import AWS_ERRORS, explain
from jobs.maintenance import add_commands, estimate_frame, print_estimate, verdict_text
from jobs.schedules import range_tags
from resources.environment import (
    ENV_ANTHROPIC_BASE_URL,
    ENV_BUCKET,
    ENV_CLOUDWATCH_ENDPOINT,
    ENV_OPENAI_COMPAT_API_KEY,
    ENV_OPENAI_COMPAT_BASE_URL,
    ENV_S3_ENDPOINT,
    resources_from_env,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_BUCKET = "alpha-replay-demo"
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _environment(s3_endpoint: str, dagster_home: str) -> dict[str, str]:
    return {
        ENV_S3_ENDPOINT: s3_endpoint,
        ENV_CLOUDWATCH_ENDPOINT: s3_endpoint,
        ENV_BUCKET: DEMO_BUCKET,
        "AWS_ACCESS_KEY_ID": "demo",
        "AWS_SECRET_ACCESS_KEY": "demo",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "DAGSTER_HOME": dagster_home,
    }


def _restore_cache(client, state_dir: Path, prefix: str) -> int:
    files = [p for p in state_dir.rglob("*.json")]
    for path in files:
        client.put_object(Bucket=DEMO_BUCKET, Key=prefix + path.relative_to(state_dir).as_posix(),
                          Body=path.read_bytes())
    return len(files)


def _save_cache(client, state_dir: Path, prefix: str) -> None:
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=DEMO_BUCKET, Prefix=prefix):
        for obj in page.get("Contents", []):
            target = state_dir / obj["Key"][len(prefix):]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(client.get_object(Bucket=DEMO_BUCKET, Key=obj["Key"])["Body"].read())


def _print_index(store, days: list[dt.date]) -> None:
    columns = ["agent_id_base", "status", "family_registered"]
    frame = pd.concat(read_day_index(store, d, columns=columns).assign(day=d.isoformat()) for d in days)
    table = frame.pivot_table(index="day", columns="agent_id_base", values="status", aggfunc="size", fill_value=0)
    table["bad_rows"] = frame[frame["status"] != "ok"].groupby("day").size()
    print("\nartifact_index: artifacts per day and family (bad rows counted, never dropped)")
    print(table.fillna(0).astype(int).to_string())
    unregistered = frame[(frame["status"] == "ok") & ~frame["family_registered"].fillna(True).astype(bool)]
    for family, n in unregistered["agent_id_base"].value_counts().sort_index().items():
        print(f"unregistered family {family}: {n} valid artifacts, indexed ok and judged by the structural scorer")


def window_header(doc: dict) -> str:
    """The nominal window and the days actually present in it (never one without the other)."""
    present = (f"{doc['days_present']} present: {doc['first_day_present']}..{doc['last_day_present']}"
               if doc["days_present"] else "none present")
    nominal = doc["days_present"] + len(doc["days_missing"])
    return f"window {doc['window_start']}..{doc['window_end']} ({nominal} days nominal, {present})"


def _print_concordance(store, end: dt.date, replay_model) -> None:
    for model in replay_model.all_targets:
        doc = store.read_json(summary_key(store, end, model))
        judges = sorted(f for f in replay_model.target_models_by_family if model in replay_model.targets_for(f))
        judges += ["every other family"] if model in replay_model.target_models else []
        print(f"\ncheap-model concordance vs {model} (target of {', '.join(judges)}), {window_header(doc)}; "
              f"{doc['n_artifacts_replayed']}/{doc['n_artifacts_candidate']} replayed, ${doc['cost']['usd']:.4f}")
        columns = ["agent_id_base", "n", "mean", "ci_low", "ci_high", "min", "max"]
        table = pd.DataFrame(doc["per_agent"], columns=columns)
        print(table.round(3).to_string(index=False) if len(table) else "(no family has 3 or more observations)")
        if doc["agents_skipped_thin_sample"]:
            print(f"thin (< 3 observations, no metric): {', '.join(doc['agents_skipped_thin_sample'])}")
        if doc["agents_not_replayed"]:
            print(f"no input (nothing eligible in the window): {', '.join(doc['agents_not_replayed'])}")
        if doc.get("agents_unsupported"):
            print(f"unsupported (no LLM decision: never replayed): {', '.join(doc['agents_unsupported'])}")


def _print_fits(store, end: dt.date, rule_threshold: float = RULE_THRESHOLD) -> None:
    fits = store.read_parquet(fits_key(store, end))
    families = fits[fits["scope"] == "family"]
    print(f"\ncounterfactual rule fits, window ending {end} ({int(fits['window_days'].iloc[0])} days nominal, "
          f"{int(fits['days_present'].iloc[0])} present)")
    columns = ["agent_id", "status", "n_samples", "match_rate", "heldout_accuracy", "baseline", "lift", "target"]
    print(families[columns].round(3).to_string(index=False))
    for row in families[families["reason"].notna()].itertuples():
        print(f"  {row.agent_id}: {row.status}: {row.reason}")
    for family, agents in fits[(fits["scope"] == "agent") & (fits["status"] == "fitted")].groupby("agent_id_base"):
        print(f"  {family}: also fitted per agent id ({len(agents)}), held-out "
              f"{agents['heldout_accuracy'].min():.3f}..{agents['heldout_accuracy'].max():.3f}")
    reducible = families[(families["status"] == "fitted") & (families["heldout_accuracy"] >= rule_threshold)]
    if len(reducible):
        print(f"\nrules with held-out accuracy >= {rule_threshold} (a stable one demotes; all rules: tree_text)")
    for row in reducible.itertuples():
        print(f"\nrule for {row.agent_id} ({row.target}; held-out {row.heldout_accuracy:.3f} vs baseline "
              f"{row.baseline:.3f}):")
        print(row.tree_text.rstrip())


def _print_verdicts(store, end: dt.date) -> None:
    print(f"\nagent verdicts, window ending {end} (report: {store.uri(verdicts_key(store, end, 'report.md'))})")
    print(verdict_text(store.read_parquet(verdicts_key(store, end))))
    shifts = store.read_parquet(version_shifts_key(store, end))
    for row in shifts.itertuples() if shifts is not None else ():
        kind = ("VERSION SHIFT" if row.significant else "version change, same agent"
                if getattr(row, "compared", True) else "version change, not compared")
        print(f"{kind}: {row.description}")


def _paid_this_run(store, days: list[dt.date], models: list[str]) -> tuple[int, float]:
    """(calls, USD) of the replies this run asked for: rows of the days' replay files that were not
    cache hits (each file is rewritten by the run that materialises it, here this one)."""
    keys = [concordance_key(store, d, m) for d in days for m in models] + [ceiling_key(store, d) for d in days]
    frames = [f for f in (store.read_parquet(k, columns=["cache_hit", "cost_usd"]) for k in keys) if f is not None]
    called = pd.concat(frames)["cache_hit"].eq(False).fillna(False) if frames else pd.Series(dtype=bool)
    return int(called.sum()), float(pd.concat(frames).loc[called, "cost_usd"].sum()) if frames else 0.0


def _print_spend(store, end: dt.date, days: list[dt.date], models: list[str]) -> None:
    table = store.read_parquet(ledger_key(store, end))
    print(f"\nreplay spend, week ending {end}: what the week's replays cost, whichever run paid for them "
          "(prompt-cache reads 0.1x, writes 1.25x, batches 0.5x), and the same calls at list price without the cache")
    columns = ["purpose", "target_model", "agent_id_base", "calls", "cache_read_tokens", "cache_create_tokens",
               "usd_standard", "usd_batch", "usd_cached_input", "usd_paid", "usd_list", "usd_saving"]
    print(table[columns].round(4).to_string(index=False))
    print(f"the week: paid ${table['usd_paid'].sum():.4f} (batch ${table['usd_batch'].sum():.4f}, cached input "
          f"${table['usd_cached_input'].sum():.4f}); at list price ${table['usd_list'].sum():.4f}; "
          f"saved ${table['usd_saving'].sum():.4f}")
    calls, usd = _paid_this_run(store, days, models)
    print(f"this run: {calls} new model calls, ${usd:.4f}; the rest of the week's replies came from the replay cache"
          " (paid by earlier runs)")


DEMO_DAGSTER_YAML = """telemetry:
  enabled: false
# With --ui the daemon watches runs: one that never starts or outlives its max runtime is failed.
run_monitoring:
  enabled: true
  start_timeout_seconds: 180
  poll_interval_seconds: 30
"""


def _model_endpoint(args: argparse.Namespace) -> ModelServer | None:
    """The loopback model unless --real-model: a key in the shell never spends money by itself."""
    if args.real_model:
        print("--real-model: replays go to the Anthropic API and cost money")
        return None
    model_server = ModelServer()
    os.environ.update({ENV_ANTHROPIC_BASE_URL: model_server.base_url, "ANTHROPIC_API_KEY": "simulated-loopback-key",
                       ENV_OPENAI_COMPAT_BASE_URL: model_server.router_url,  # router slugs: its chat endpoint
                       ENV_OPENAI_COMPAT_API_KEY: "simulated-loopback-key"})
    print(f"the target model is SIMULATED by the loopback Messages API on {model_server.base_url} (replies follow "
          "the corpus's hidden rules with their own noise; --real-model calls the real API)")
    return model_server


def _run(defs, job_name: str, days: list[dt.date]):
    job = defs.resolve_job_def(job_name)
    with dg.DagsterInstance.get() as instance:
        return job.execute_in_process(instance=instance, run_config=QUIET,
                                      tags=range_tags(days[0].isoformat(), days[-1].isoformat()))


def _confirm_spend(defs, days: list[dt.date], real_model: bool, yes: bool) -> None:
    """Print what the replays will cost (from the index); with a real model, ask first."""
    with dg.build_resources({k: defs.resources[k] for k in ("store", "replay_model")}) as resources:
        table, _ = estimate_frame(resources.store, resources.replay_model, days)
    print(f"\nestimated model spend at list prices{'' if real_model else ' (simulated: nothing is paid)'}:")
    print_estimate(table, [])
    if real_model and not yes and input("replay against the real API? [y/N] ").strip().lower() != "y":
        sys.exit("not confirmed: nothing replayed")


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _stop_on_signals() -> None:
    """SIGTERM stops the demo like Ctrl-C: the `finally` blocks stop every server it started."""
    def stop(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)
    signal.signal(signal.SIGTERM, stop)


def _keep_answer(store, end: dt.date, state_dir: Path) -> Path:
    """The verdict report outlives the in-memory bucket: a copy beside the replay cache."""
    path = state_dir.parent / f"verdicts-{end}.md"
    path.write_bytes(store.get_bytes(verdicts_key(store, end, "report.md")))
    return path


def demo(args: argparse.Namespace) -> None:
    if args.real_model and not os.environ.get("ANTHROPIC_API_KEY"):
        sys.exit("--real-model needs ANTHROPIC_API_KEY in the environment")
    if args.ui and not _port_free(args.port):
        sys.exit(f"port {args.port} is in use: choose another with --port (nothing was started)")
    _stop_on_signals()
    dagster_home = tempfile.mkdtemp(prefix="alpha-replay-home-")
    Path(dagster_home, "dagster.yaml").write_text(DEMO_DAGSTER_YAML)
    server = model_server = ui = None
    try:
        server = local_s3.start()
        os.environ.update(_environment(server.endpoint_url, dagster_home))
        model_server = _model_endpoint(args)
        end = args.end
        days = corpus.window(end, args.days)
        print(f"S3: moto server on {server.endpoint_url} (bucket {DEMO_BUCKET}); DAGSTER_HOME={dagster_home}")
        client = boto3.client("s3", endpoint_url=server.endpoint_url, region_name="us-east-1")
        client.create_bucket(Bucket=DEMO_BUCKET)
        shift = days[len(days) // 2] if args.version_shift else None
        n = corpus.seed(client, DEMO_BUCKET, days, corpus.CorpusSpec(per_day=args.per_day, mix=args.mix,
                                                                     sizes=args.sizes, version_shift_from=shift))
        print(f"seeded {n} artifacts ({args.mix} mix, {args.sizes} sizes): {args.days} days, ending {end}")
        state_dir = Path(args.state_dir).expanduser()
        cache_prefix = replay_cache_prefix(resources_from_env()["store"])  # the store the runs below use
        print(f"replay cache restored from {state_dir}: {_restore_cache(client, state_dir, cache_prefix)} replies")

        from jobs.definitions import defs  # after the environment above: resources read it

        indexed = _run(defs, "index_job", days)
        if indexed.success:
            _confirm_spend(defs, days, args.real_model, args.yes)
        result = _run(defs, "weekly_job", days) if indexed.success else indexed
        print(f"materialised weekly_job for {days[0]}..{days[-1]}: {'SUCCESS' if result.success else 'FAILURE'}")
        _save_cache(client, state_dir, cache_prefix)
        if model_server is not None:
            counts = model_server.counts()
            print(f"model calls this run: {counts['messages'] + counts['chat_completions']} interactive "
                  f"({counts['chat_completions']} through the router) + {counts['batch_requests']} in "
                  f"{counts['batch_create']} Message Batches (simulated target model)")
        if not result.success:
            sys.exit(1)
        with dg.build_resources({k: defs.resources[k] for k in ("store", "replay_model")}) as resources:
            _print_index(resources.store, days)
            _print_concordance(resources.store, end, resources.replay_model)
            _print_fits(resources.store, end)
            _print_verdicts(resources.store, end)
            _print_spend(resources.store, end, days, resources.replay_model.all_targets)
            kept = _keep_answer(resources.store, end, state_dir)
        print(f"\nthe answer: {kept} (a copy of the verdict report; the demo's bucket lives in memory)")
        if args.ui:
            print(f"read it again while the UI runs: {ENV_S3_ENDPOINT}={server.endpoint_url} "
                  f"{ENV_BUCKET}={DEMO_BUCKET} AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo "
                  "alpha-replay verdicts")
            print(f"starting dagster dev on http://127.0.0.1:{args.port} (Ctrl-C to stop)")
            ui = subprocess.Popen(["dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(args.port)],
                                  cwd=REPO_ROOT, start_new_session=True)
            ui.wait()
        else:
            print("on your own bucket: alpha-replay verdicts (see README, Run it on your bucket)")
    except KeyboardInterrupt as stop:
        print(f"\nstopped ({stop or 'SIGINT'}): stopping everything the demo started", file=sys.stderr)
        sys.exit(130)
    finally:
        if ui is not None and ui.poll() is None:
            os.killpg(ui.pid, signal.SIGTERM)
            try:
                ui.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(ui.pid, signal.SIGKILL)
        for started in (model_server, server):
            if started is not None:
                started.stop()
        if args.keep:
            print(f"kept DAGSTER_HOME={dagster_home}", file=sys.stderr)
        else:
            shutil.rmtree(dagster_home, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="alpha-replay", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser("demo", help="run the graph end to end on a local S3 server")
    demo_parser.add_argument("--days", type=positive_int, default=14)
    demo_parser.add_argument("--per-day", type=positive_int, default=corpus.CorpusSpec.per_day,
                             help="legacy (six graph families) artifacts a day")
    demo_parser.add_argument("--mix", choices=corpus.MIXES, default="both",
                             help="legacy: the six graph families; today: the think tank at its real weekly "
                                  "volume + executors; both (default). Every mix has an unregistered family.")
    demo_parser.add_argument("--sizes", choices=corpus.SIZES, default=corpus.CorpusSpec.sizes,
                             help="small (default): a few KB an artifact; production: each family's production "
                                  "sizes (sector_qual 300-400 KB, ...): ~50 MB a legacy day, slower")
    demo_parser.add_argument("--version-shift", action=argparse.BooleanOptionalAction, default=True,
                             help="mid-window, sector_qual gets a new prompt that changes its behaviour and "
                                  "sector_quant a cosmetic one: the verdicts judge the new versions and the "
                                  "first is flagged as a version shift (default: on)")
    demo_parser.add_argument("--end", type=partition_day,
                             default=dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1),
                             help="the newest capture day (default: yesterday, UTC)")
    demo_parser.add_argument("--state-dir", default="~/.cache/alpha-replay-demo/replay_cache",
                             help="where the replay cache is kept between runs")
    demo_parser.add_argument("--real-model", action="store_true",
                             help="replay against the Anthropic API (ANTHROPIC_API_KEY); asks before spending")
    demo_parser.add_argument("--yes", action="store_true", help="with --real-model: do not ask")
    demo_parser.add_argument("--ui", action="store_true", help="leave dagster dev running afterwards")
    demo_parser.add_argument("--port", type=positive_int, default=3000, help="with --ui: the UI's port")
    demo_parser.add_argument("--keep", action="store_true", help="keep the temporary DAGSTER_HOME (its run history)")
    demo_parser.set_defaults(handler=demo)
    add_commands(commands)
    args = parser.parse_args(argv)
    if args.command == "demo":
        check_window(demo_parser, args.end, args.days)
    try:
        args.handler(args)
    except AWS_ERRORS as exc:
        sys.exit(f"alpha-replay {args.command}: {explain(exc)}")
