"""The Dagster UI end to end: `dagster dev` (webserver + daemon) against the moto server and the
loopback model server; a partitioned run submitted and inspected over GraphQL."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
from dagster_graphql import DagsterGraphQLClient

from alpha_replay_assets.sample import corpus
from conftest import DAY

ROOT = Path(__file__).resolve().parent.parent

QUERY = """
{
  assetNodes { assetKey { path } groupName isPartitioned kinds
    assetChecksOrError { ... on AssetChecks { checks { name } } } }
  repositoriesOrError { ... on RepositoryConnection { nodes { name location { name }
    schedules { name } sensors { name } jobs { name } } } }
}
"""
EXECUTIONS = """
query ($key: AssetKeyInput!, $name: String!) {
  assetCheckExecutions(assetKey: $key, checkName: $name, limit: 5) { status partition evaluation { success } }
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.e2e
def test_dagster_dev_runs_a_partition_and_shows_graph_checks_schedules_sensors(
        s3_server, s3_client, bucket, model_server, tmp_path):
    corpus.seed(s3_client, bucket, [DAY], corpus.CorpusSpec(per_day=60))
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = _free_port()
    env = os.environ | {
        "ALPHA_REPLAY_S3_ENDPOINT_URL": s3_server.endpoint_url,
        "ALPHA_REPLAY_CLOUDWATCH_ENDPOINT_URL": s3_server.endpoint_url,
        "ALPHA_REPLAY_BUCKET": bucket,
        "ALPHA_REPLAY_ANTHROPIC_BASE_URL": model_server.base_url,
        "ANTHROPIC_API_KEY": "test-key",
        "ANTHROPIC_CONFIG_DIR": str(tmp_path / "anthropic"),
        "DAGSTER_HOME": str(home),
    }
    log = open(tmp_path / "dagster-dev.log", "w")
    process = subprocess.Popen(["dagster", "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                               cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                info = requests.get(f"{base}/server_info", timeout=2).json()
                break
            except (requests.RequestException, ValueError):
                assert process.poll() is None, (tmp_path / "dagster-dev.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "webserver did not come up"
                time.sleep(1)
        assert info["dagster_webserver_version"] and info["dagster_version"] == info["dagster_graphql_version"]

        client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        run_id = client.submit_job_execution("daily_job", repository_location_name="alpha_replay",
                                             repository_name="__repository__",
                                             tags={"dagster/partition": DAY.isoformat()})
        deadline = time.monotonic() + 300
        while (status := client.get_run_status(run_id).value) not in ("SUCCESS", "FAILURE", "CANCELED"):
            assert time.monotonic() < deadline, f"run stuck in {status}"
            time.sleep(1)
        assert status == "SUCCESS", (tmp_path / "dagster-dev.log").read_text()[-3000:]

        data = requests.post(f"{base}/graphql", json={"query": QUERY}, timeout=30).json()["data"]
        nodes = {"/".join(n["assetKey"]["path"]): n for n in data["assetNodes"]}
        assert {"artifact_index", "concordance", "noise_ceiling", "concordance_summary", "counterfactual_fits",
                "agent_verdicts"} <= set(nodes)
        assert all(n["isPartitioned"] for n in nodes.values())
        assert nodes["artifact_index"]["groupName"] == "capture" and "s3" in nodes["artifact_index"]["kinds"]
        checks = {c["name"] for c in nodes["concordance"]["assetChecksOrError"]["checks"]}
        assert {"replay_failure_rate", "replay_complete", "scorer_fields_readable"} <= checks
        [repo] = data["repositoriesOrError"]["nodes"]
        assert repo["location"]["name"] == "alpha_replay"
        assert {"weekly_schedule", "freshness_schedule"} <= {s["name"] for s in repo["schedules"]}
        assert {"new_artifacts_sensor", "check_alert_sensor", "run_failure_alert_sensor"} <= {
            s["name"] for s in repo["sensors"]}

        executions = requests.post(f"{base}/graphql", timeout=30, json={"query": EXECUTIONS, "variables": {
            "key": {"path": ["concordance"]}, "name": "replay_complete"}}).json()["data"]["assetCheckExecutions"]
        assert executions[0]["partition"] == DAY.isoformat() and executions[0]["evaluation"]["success"] is True
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # dagster dev ignores SIGTERM when backgrounded
        process.wait()
        log.close()
