"""Every failed run alerts, however it was launched: `dg launch` runs (which carry no code-location
origin) fail with the daemon running, and the run-failure sensor posts each once to the webhook,
naming what ran, the partition, the step and the error, and saying honestly whether it is retried."""

import datetime as dt
import json
import os
import signal
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from helpers import DAY, ROOT, wait_for

UNWATCHED = DAY - dt.timedelta(days=7)


class Webhook:
    """A loopback receiver that keeps every JSON body POSTed to it."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/alerts"

    def runs(self) -> list[dict]:
        return [a for a in self.received if a.get("status") == "RUN_FAILED"]


def _has_cursor(dagster_home, sensor: str) -> bool:
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        states = [s for s in instance.all_instigator_state() if s.name == sensor]
        return bool(states and states[0].instigator_data and states[0].instigator_data.cursor)


def _ticks(dagster_home, sensor: str) -> int:
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        state = next(s for s in instance.all_instigator_state() if s.name == sensor)
        return len(instance.get_ticks(state.instigator_origin_id, state.selector_id))


@pytest.mark.e2e
def test_failed_dg_launch_runs_alert_once_through_the_webhook(launch_env, dagster_home, tmp_path, dg_launch):
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nrun_retries:\n  enabled: true\n"
                                               "  max_retries: 1\n")
    hook = Webhook()
    env = launch_env | {"ALPHA_REPLAY_ALERT_WEBHOOK_URL": hook.url, "ALPHA_REPLAY_UI_URL": "http://ui.test"}
    log = tmp_path / "daemon.log"
    daemon = subprocess.Popen(["dagster-daemon", "run", "-w", os.path.join(ROOT, "workspace.yaml")], cwd=ROOT, env=env,
                              stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        # a run-status sensor's first tick sets its cursor to the newest event and skips everything before it:
        # launch only once the daemon has ticked it, or a fast failure would fall before the cursor
        wait_for(lambda: _has_cursor(dagster_home, "run_failure_alert_sensor"), 240,
                 "the run-failure sensor's first tick")
        # an index of a bucket that does not exist, and a replay of a day that was never indexed
        missing_bucket = dg_launch("--assets", "artifact_index", "--partition", DAY.isoformat(),
                                   env=env | {"ALPHA_REPLAY_BUCKET": "no-such-bucket-here"})
        # a day the daemon's new-artifact sensor never indexes (it watches the last 4 days only)
        no_index = dg_launch("--assets", "concordance", "--partition", UNWATCHED.isoformat(), env=env)
        assert missing_bucket.returncode != 0 and no_index.returncode != 0
        try:
            alerts = wait_for(lambda: len(hook.runs()) >= 2 and hook.runs(), 240, "two run-failure alerts")
        except pytest.fail.Exception:
            pytest.fail(f"alerts {hook.received}\n--- daemon\n{log.read_text()[-3000:]}")
        by_what = {a["what"]: a for a in alerts}
        index, replay = by_what["assets artifact_index"], by_what["assets concordance"]
        assert index["partition"] == DAY.isoformat() and replay["partition"] == UNWATCHED.isoformat()
        for alert in (index, replay):
            assert alert["link"].startswith("http://ui.test/runs/")
            assert alert["step"] and alert["error"]
            assert alert["retry"].startswith("not retried (launched in process")
        assert index["step"] == "artifact_index" and "no-such-bucket-here" in index["error"]
        assert replay["step"] == "concordance" and "artifact_index has no partition" in replay["error"]
        # no retry was promised that nobody keeps
        with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
            for alert in (index, replay):
                assert instance.get_run_by_id(alert["run_id"]).tags.get("dagster/will_retry") == "false"
        # once each: the sensor evaluates again (a second tick starts only after the first ended) and sends nothing new
        ticks = _ticks(dagster_home, "run_failure_alert_sensor")
        wait_for(lambda: _ticks(dagster_home, "run_failure_alert_sensor") >= ticks + 2, 240,
                 "two more run-failure sensor ticks")
        assert len(hook.runs()) == 2, hook.runs()
    finally:
        os.killpg(daemon.pid, signal.SIGKILL)
        daemon.wait()
        hook.httpd.shutdown()
