"""The Dagster UI end to end: one `dagster dev` (webserver + daemon) against the moto server and the
loopback model server, driven over GraphQL the way the UI drives it: launches, backfills, a
schedule's requests, and what the UI then shows (per-partition check results, graph, sensors)."""

import datetime as dt
import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest
import requests
import yaml

from alpha_replay_assets.sample import corpus
from alpha_replay_assets.sample.model_server import ModelServer
from helpers import DAY, free_port, pinned, server_env, wait_for

ROOT = Path(__file__).resolve().parent.parent
LOCATION = {"repositoryLocationName": "alpha_replay", "repositoryName": "__repository__"}
DAYS = [DAY - dt.timedelta(days=2), DAY - dt.timedelta(days=1), DAY]
BAD_DAY = DAYS[1]  # 40% bad objects: `bad_row_rate_below_bound` (5%) fails there only

GRAPH = """
{
  assetNodes { assetKey { path } groupName isPartitioned kinds
    assetChecksOrError { ... on AssetChecks { checks { name } } } }
  repositoriesOrError { ... on RepositoryConnection { nodes { name location { name }
    schedules { name } sensors { name } jobs { name } } } }
}
"""
CHECK_EXECUTIONS = """
query ($key: AssetKeyInput!, $name: String!) {
  assetCheckExecutions(assetKey: $key, checkName: $name, limit: 50) { status partition runId evaluation { success } }
}
"""
LAUNCH_RUN = """
mutation ($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  }
}
"""
LAUNCH_BACKFILL = """
mutation ($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) { __typename ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message } }
}
"""
BACKFILL = """
query ($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status
  runs(limit: 100) { runId status } } } }
"""
RUN = "query ($id: ID!) { runOrError(runId: $id) { ... on Run { status tags { key value } } } }"
SCHEDULE_DRY_RUN = """
mutation ($selector: ScheduleSelector!, $timestamp: Float) {
  scheduleDryRun(selectorData: $selector, timestamp: $timestamp) { __typename
    ... on DryRunInstigationTick { evaluationResult { runRequests { runKey runConfigYaml tags { key value } }
      skipReason error { message } } } ... on PythonError { message } }
}
"""
SENSOR = "query ($s: SensorSelector!) { sensorOrError(sensorSelector: $s) { ... on Sensor { id } } }"
STOP_SENSOR = "mutation ($id: String) { stopSensor(id: $id) { __typename } }"
IN_FLIGHT = "{ runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED]}) { ... on Runs { count } } }"


class UI:
    """A running `dagster dev` and the GraphQL calls the UI makes."""

    def __init__(self, base: str, log: Path):
        self.base, self.log = base, log

    def gql(self, query: str, **variables) -> dict:
        reply = requests.post(f"{self.base}/graphql", json={"query": query, "variables": variables}, timeout=60).json()
        assert "errors" not in reply, reply["errors"]
        return reply["data"]

    def launch(self, job: str, tags: dict, run_config: dict | None = None) -> str:
        params = {"selector": LOCATION | {"jobName": job}, "runConfigData": run_config or {},
                  "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]}}
        launched = self.gql(LAUNCH_RUN, params=params)["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        return launched["run"]["runId"]

    def finished(self, run_id: str, timeout: float = 300) -> dict:
        def done():
            run = self.gql(RUN, id=run_id)["runOrError"]
            return run if run["status"] in ("SUCCESS", "FAILURE", "CANCELED") else None
        run = wait_for(done, timeout, f"run {run_id}")
        assert run["status"] == "SUCCESS", self.log.read_text()[-3000:]
        return run

    def backfill(self, params: dict, timeout: float = 300) -> list[dict]:
        launched = self.gql(LAUNCH_BACKFILL, params=params)["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched

        def done():
            backfill = self.gql(BACKFILL, id=launched["backfillId"])["partitionBackfillOrError"]
            return backfill if backfill["status"] in ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED",
                                                      "FAILED", "CANCELED") else None
        backfill = wait_for(done, timeout, "the backfill")
        return [self.finished(r["runId"]) for r in backfill["runs"]]

    def check_executions(self, asset: str, check: str) -> list[dict]:
        return self.gql(CHECK_EXECUTIONS, key={"path": [asset]}, name=check)["assetCheckExecutions"]


@pytest.fixture(scope="module")
def ui(s3_server, s3_client, tmp_path_factory):
    bucket = f"e2e-{uuid.uuid4().hex[:10]}"
    s3_client.create_bucket(Bucket=bucket)
    for day in DAYS:
        corpus.seed(s3_client, bucket, [day], pinned(per_day=40, bad_fraction=0.4 if day == BAD_DAY else 0))
    root = tmp_path_factory.mktemp("e2e")
    home = root / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    model_server, port = ModelServer(), free_port()
    env = server_env(s3_server.endpoint_url, bucket, model_server.base_url, home, root)
    log_path = root / "dagster-dev.log"
    log = open(log_path, "w")
    process = subprocess.Popen(["dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    ui = UI(f"http://127.0.0.1:{port}", log_path)
    ui.model_server, ui.s3_server, ui.bucket = model_server, s3_server, bucket
    try:
        def up():
            try:
                return requests.get(f"{ui.base}/server_info", timeout=2).json()
            except (requests.RequestException, ValueError):
                assert process.poll() is None, log_path.read_text()[-3000:]
        ui.server_info = wait_for(up, 180, "the webserver")
        yield ui
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # dagster dev ignores SIGTERM when backgrounded
        process.wait()
        log.close()
        model_server.stop()


@pytest.mark.e2e
def test_the_ui_shows_the_graph_checks_schedules_and_sensors(ui):
    info = ui.server_info
    assert info["dagster_webserver_version"] and info["dagster_version"] == info["dagster_graphql_version"]
    data = ui.gql(GRAPH)
    nodes = {"/".join(n["assetKey"]["path"]): n for n in data["assetNodes"]}
    assert {"artifact_index", "concordance", "noise_ceiling", "concordance_summary", "counterfactual_fits",
            "agent_verdicts"} <= set(nodes)
    assert all(n["isPartitioned"] for n in nodes.values())
    assert nodes["artifact_index"]["groupName"] == "capture" and "s3" in nodes["artifact_index"]["kinds"]
    checks = {c["name"] for c in nodes["concordance"]["assetChecksOrError"]["checks"]}
    assert {"replay_failure_rate", "replay_complete", "scorer_fields_readable"} <= checks
    [repo] = data["repositoriesOrError"]["nodes"]
    assert repo["location"]["name"] == "alpha_replay"
    assert {"weekly_schedule", "preflight_schedule", "freshness_schedule"} <= {s["name"] for s in repo["schedules"]}
    assert {"new_artifacts_sensor", "check_alert_sensor", "run_failure_alert_sensor"} <= {
        s["name"] for s in repo["sensors"]}


@pytest.mark.e2e
def test_a_ui_backfill_over_three_days_records_each_days_check_result(ui):
    """A backfill of these single-run assets is one range run: each day still gets its own check
    result, the bad day red, the others green, none left "Skipped"."""
    [run] = ui.backfill({"assetSelection": [{"path": ["artifact_index"]}],
                         "partitionNames": [d.isoformat() for d in DAYS]})
    by_partition = {}
    for execution in ui.check_executions("artifact_index", "bad_row_rate_below_bound"):
        by_partition.setdefault(execution["partition"], execution)  # newest first
    assert {p: by_partition[p]["status"] for p in map(str, DAYS)} == {
        str(DAYS[0]): "SUCCEEDED", str(BAD_DAY): "FAILED", str(DAYS[2]): "SUCCEEDED"}
    assert None not in by_partition  # no evaluation without a partition
    for check in ("index_matches_listing", "volume_vs_trailing_median", "family_input_freshness"):
        statuses = {e["partition"]: e["status"] for e in ui.check_executions("artifact_index", check)}
        assert set(statuses) >= set(map(str, DAYS)) and "SKIPPED" not in statuses.values(), (check, statuses)


@pytest.mark.e2e
def test_a_partitioned_run_submitted_over_graphql_replays_and_checks_its_day(ui):
    run_id = ui.launch("daily_job", {"dagster/partition": DAY.isoformat()})
    ui.finished(run_id)
    [latest] = [e for e in ui.check_executions("concordance", "replay_complete") if e["runId"] == run_id]
    assert latest["partition"] == DAY.isoformat() and latest["evaluation"]["success"] is True
    assert ui.model_server.counts()["messages"] > 0


@pytest.mark.e2e
def test_preflight_from_the_ui_a_backfill_and_a_schedule_makes_zero_requests(ui):
    """Dry run on the launch paths of the UI and the daemon: a launchpad run with the config
    removed, a partition backfill of the job, and the preflight schedule's own run requests."""
    for sensor in ("new_artifacts_sensor", "check_alert_sensor"):  # they list S3 on their own ticks
        found = ui.gql(SENSOR, s=LOCATION | {"sensorName": sensor})["sensorOrError"]
        assert ui.gql(STOP_SENSOR, id=found["id"])["stopSensor"]["__typename"] == "StopSensorMutationResult"
    wait_for(lambda: ui.gql(IN_FLIGHT)["runsOrError"]["count"] == 0, 300, "runs the sensors launched")
    ui.s3_server.reset_counts()
    calls = ui.model_server.counts()["messages"]

    runs = [ui.finished(ui.launch("preflight_job", {"dagster/partition": DAY.isoformat()}, run_config={}))]
    runs += ui.backfill({"selector": {"partitionSetName": "preflight_job_partition_set",
                                      "repositorySelector": LOCATION},
                         "partitionNames": [DAYS[0].isoformat(), DAYS[1].isoformat()]})
    saturday = dt.datetime.combine(DAY + dt.timedelta(days=(5 - DAY.weekday()) % 7 or 7), dt.time(1), dt.UTC)
    tick = ui.gql(SCHEDULE_DRY_RUN, selector=LOCATION | {"scheduleName": "preflight_schedule"},
                  timestamp=saturday.timestamp())["scheduleDryRun"]
    [request] = tick["evaluationResult"]["runRequests"]
    tags = {t["key"]: t["value"] for t in request["tags"]}
    run_config = yaml.safe_load(request["runConfigYaml"]) or {}
    runs.append(ui.finished(ui.launch("preflight_job", tags, run_config=run_config)))

    # the backfill is one range run (the assets' single-run backfill policy)
    assert len(runs) == 3 and all({"key": "alpha_replay/dry_run", "value": "true"} in r["tags"] for r in runs)
    assert ui.s3_server.request_counts().get("total", 0) == 0  # not one S3 or CloudWatch request
    assert ui.model_server.counts()["messages"] == calls
