"""A bad afternoon is not cached forever: `alpha-replay replays forget` removes the cached replies
of a period and outcome (dry by default, an audit object when it deletes), and the next run of
those days asks the provider again for exactly those."""

import json
import subprocess

import dagster as dg

from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.forget import ForgetPlan, relaunch_commands
from alpha_replay_assets.index import artifact_index
from alpha_replay_assets.paths import concordance_key
from alpha_replay_assets.replay.rows import day_summary
from helpers import DAY, ROOT

MODEL = "claude-haiku-4-5"


def _replay(replay_resources):
    with dg.instance_for_test() as instance:
        return dg.materialize([artifact_index, concordance], resources=replay_resources, instance=instance,
                              partition_key=DAY.isoformat())


def _forget(launch_env, *extra):
    return subprocess.run(["alpha-replay", "replays", "forget", "--from", DAY.isoformat(), "--to", DAY.isoformat(),
                           "--target", MODEL, "--outcome", "schema_error", *extra],
                          cwd=ROOT, env=launch_env, capture_output=True, text=True, timeout=300)


def test_forget_schema_errors_of_a_bad_afternoon_then_replay_only_those(replay_resources, store, model_server, seeded,
                                                                        launch_env):
    seeded()
    model_server.inject(*["schema"] * 8)  # the provider's bad afternoon: replies that break the schema
    _replay(replay_resources)
    bad = day_summary(store.read_parquet(concordance_key(store, DAY, MODEL)))["schema_errors"]
    assert bad == 8
    cache_prefix = store.analytics_key("replay_cache") + "/"
    cached = len(list(store.list_prefix(cache_prefix)))

    dry = _forget(launch_env)
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert f"{bad} cached concordance replies" in dry.stdout and "nothing deleted" in dry.stdout
    assert len(list(store.list_prefix(cache_prefix))) == cached

    done = _forget(launch_env, "--yes")
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(list(store.list_prefix(cache_prefix))) == cached - bad
    [audit_key] = [o["Key"] for o in store.list_prefix(store.analytics_key("audit", "forgotten_replies"))]
    audit = json.loads(store.get_bytes(audit_key))
    assert len(audit["removed"]) == bad and audit["outcomes"] == ["schema_error"] and "forget" in audit["reason"]
    [command] = [line.strip() for line in done.stdout.splitlines() if line.strip().startswith("dg launch")]
    assert command == f"dg launch --assets concordance --partition {DAY}"

    calls = model_server.counts()["messages"]
    relaunch = subprocess.run(command.split(), cwd=ROOT, env=launch_env, capture_output=True, text=True, timeout=600)
    assert relaunch.returncode == 0, relaunch.stderr[-2000:]  # the printed remedy runs, the provider is healthy
    assert model_server.counts()["messages"] == calls + bad  # exactly the forgotten ones, nothing else
    assert day_summary(store.read_parquet(concordance_key(store, DAY, MODEL)))["schema_errors"] == 0


def test_forget_refuses_outcomes_without_a_cached_reply(launch_env):
    done = subprocess.run(["alpha-replay", "replays", "forget", "--from", DAY.isoformat(), "--to", DAY.isoformat(),
                           "--target", MODEL, "--outcome", "transport_error"],
                          cwd=ROOT, env=launch_env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "invalid choice: 'transport_error'" in done.stderr


def test_the_printed_remedy_names_only_days_with_results():
    plan = ForgetPlan(MODEL, ["schema_error"], [], per_day={"2026-03-01": 2, "2026-03-02": 1, "2026-03-04": 5,
                                                                "2026-03-05": 0})
    assert relaunch_commands(plan, "concordance") == [
        "dg launch --assets concordance --partition-range 2026-03-01...2026-03-02",
        "dg launch --assets concordance --partition 2026-03-04",
    ]
