"""The production topology, for real: PostgreSQL storage from deploy/dagster.yaml, a gRPC code
server, the webserver and the daemon (queued run coordinator), each its own process on loopback.
The weekly schedule ticks (its cron set to every minute for the test), the daemon launches
`weekly_job` through the code server, the run succeeds, and its per-partition check results and
the alert sensor's cursor are in Postgres."""

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path

import dagster as dg
import pytest
import requests

from alpha_replay_assets.sample import corpus
from alpha_replay_assets.sample.model_server import ModelServer
from helpers import ROOT, free_port, pinned, server_env, wait_for
from jobs.schedules import weekly_range

DEPLOY = Path(ROOT) / "deploy"
PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:{port}/dagster"
TODAY = dt.datetime.now(dt.UTC).date()
WEEK = [TODAY - dt.timedelta(days=n) for n in range(7, 0, -1)]  # what the tick's range covers
SEEDED = WEEK + [TODAY]  # a tick after midnight UTC covers one day later: both ranges are seeded
SENSOR = "query ($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { ... on Sensor { id } } }"
STOP_SENSOR = "mutation ($id: String) { stopSensor(id: $id) { __typename } }"
SCHEDULE = "query ($s: ScheduleSelector!) { scheduleOrError(scheduleSelector: $s) { ... on Schedule { id } } }"
STOP_SCHEDULE = "mutation ($id: String) { stopRunningSchedule(id: $id) { __typename } }"
LOCATION = {"repositoryLocationName": "alpha_replay", "repositoryName": "__repository__"}


def _wait(predicate, timeout: float, what: str, logs: list[Path]):
    """`wait_for`, failing with the tail of every process's log."""
    try:
        return wait_for(predicate, timeout, what, interval=2)
    except pytest.fail.Exception as exc:
        tails = "\n".join(f"--- {p.name}\n{p.read_text()[-2000:]}" for p in logs if p.exists())
        pytest.fail(f"{exc}\n{tails}")


@pytest.mark.e2e
def test_weekly_tick_through_daemon_code_server_and_postgres(postgres, s3_server, s3_client, bucket, tmp_path,
                                                            monkeypatch):
    corpus.seed(s3_client, bucket, SEEDED, pinned(per_day=15, bad_fraction=0))
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    grpc_port, web_port = free_port(), free_port()
    (tmp_path / "workspace.yaml").write_text(
        f"load_from:\n  - grpc_server:\n      host: 127.0.0.1\n      port: {grpc_port}\n"
        "      location_name: alpha_replay\n")
    model_server = ModelServer()
    env = server_env(s3_server.endpoint_url, bucket, model_server.base_url, home, tmp_path) | {
        "DAGSTER_PG_URL": PG_URL.format(port=postgres),  # the instance in this process reads it too
        "ALPHA_REPLAY_WEEKLY_CRON": "* * * * *",  # the weekly tick, every minute: the first one counts
        "ALPHA_REPLAY_PREFLIGHT_CRON": "0 0 1 1 *",
    }
    commands = {
        "code-server": ["dagster", "code-server", "start", "-m", "jobs.definitions", "-h", "127.0.0.1",
                        "-p", str(grpc_port), "--location-name", "alpha_replay"],
        "webserver": ["dagster-webserver", "-w", str(tmp_path / "workspace.yaml"), "-h", "127.0.0.1",
                      "-p", str(web_port)],
        "daemon": ["dagster-daemon", "run", "-w", str(tmp_path / "workspace.yaml")],
    }
    logs = {name: tmp_path / f"{name}.log" for name in commands}
    monkeypatch.setenv("DAGSTER_PG_URL", env["DAGSTER_PG_URL"])
    processes = {}
    try:
        subprocess.run(["dagster", "instance", "migrate"], env=env, check=True, capture_output=True, timeout=300)
        for name, command in commands.items():
            processes[name] = subprocess.Popen(command, cwd=ROOT, env=env, stdout=open(logs[name], "w"),
                                               stderr=subprocess.STDOUT, start_new_session=True)
            if name == "code-server":
                health = ["dagster", "api", "grpc-health-check", "-p", str(grpc_port)]
                _wait(lambda: subprocess.run(health, capture_output=True).returncode == 0, 180, "the code server",
                      list(logs.values()))

        def web_up():
            try:
                return requests.get(f"http://127.0.0.1:{web_port}/server_info", timeout=2).ok
            except requests.RequestException:
                return False
        _wait(web_up, 180, "the webserver", list(logs.values()))
        # this test is about the weekly tick: stop the sensor that re-indexes recent days on its own
        graphql = f"http://127.0.0.1:{web_port}/graphql"
        sensor = requests.post(graphql, timeout=60, json={"query": SENSOR, "variables": {"s": LOCATION | {
            "sensorName": "new_artifacts_sensor"}}}).json()["data"]["sensorOrError"]
        requests.post(graphql, timeout=60, json={"query": STOP_SENSOR, "variables": {"id": sensor["id"]}})

        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"

            # a schedule's run key dedupes within a tick only: stop the every-minute cron after its first run
            first = _wait(lambda: instance.get_runs(dg.RunsFilter(job_name="weekly_job"), ascending=True, limit=1),
                          300, "the weekly tick to launch its run", list(logs.values()))[0]
            schedule = requests.post(graphql, timeout=60, json={"query": SCHEDULE, "variables": {"s": LOCATION | {
                "scheduleName": "weekly_schedule"}}}).json()["data"]["scheduleOrError"]
            requests.post(graphql, timeout=60, json={"query": STOP_SCHEDULE, "variables": {"id": schedule["id"]}})

            def weekly_run():
                run = instance.get_run_by_id(first.run_id)
                return run if run.is_finished else None
            run = _wait(weekly_run, 1200, "the weekly tick's run to finish", list(logs.values()))
            assert run.status == dg.DagsterRunStatus.SUCCESS, run.status
            assert run.tags["dagster/schedule_name"] == "weekly_schedule"
            # the 7 days before the tick: yesterday's week, or today's when the test crosses midnight UTC
            start, end = run.tags["dagster/asset_partition_range_start"], run.tags["dagster/asset_partition_range_end"]
            assert (start, end) in (weekly_range(dt.datetime.combine(d, dt.time(2), dt.UTC))
                                    for d in (TODAY, TODAY + dt.timedelta(days=1)))
            days = [dt.date.fromisoformat(start) + dt.timedelta(days=n) for n in range(7)]

            # one evaluation per day of the range, from this run, in Postgres
            key = dg.AssetCheckKey(dg.AssetKey("concordance"), "replay_complete")
            records = instance.event_log_storage.get_asset_check_execution_history(key, limit=50)
            mine = {r.partition: r.status.value for r in records if r.run_id == run.run_id}
            assert mine == {d.isoformat(): "SUCCEEDED" for d in days}

            newest = max(r.id for r in records if r.run_id == run.run_id)

            def alert_cursor_past_the_run():
                states = [s for s in instance.all_instigator_state() if s.name == "check_alert_sensor"]
                cursor = states[0].instigator_data.cursor if states and states[0].instigator_data else None
                entry = json.loads(cursor).get(key.to_user_string(), {}) if cursor else {}
                return entry.get("id", 0) >= newest
            _wait(alert_cursor_past_the_run, 300, "the alert sensor to read the run's check results",
                  list(logs.values()))
    finally:
        for process in processes.values():
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        model_server.stop()
