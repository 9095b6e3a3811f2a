"""Killing the launcher stops the spending: when the `dg launch` process (the run worker) is
SIGKILLed mid-replay, its orphaned step process makes no further paid calls and marks the run
failed, instead of replaying on and leaving the run STARTED forever."""

import json
import os
import signal
import subprocess
import time

import dagster as dg
from dagster._core.instance.ref import InstanceRef

from helpers import DAY, ROOT, wait_for

REPLY_LATENCY_MS = 1500


def test_sigkill_of_dg_launch_stops_replaying_and_fails_the_run(launch_env, dagster_home, model_server, seeded):
    seeded()
    model_server.state.latency_ms = REPLY_LATENCY_MS
    config = {"resources": {"replay_model": {"config": {"max_concurrency": 2}}}}
    launcher = subprocess.Popen(
        ["dg", "launch", "--assets", "artifact_index,concordance", "--partition", DAY.isoformat(),
         "--config-json", json.dumps(config)],
        cwd=ROOT, env=launch_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: model_server.counts()["messages"] >= 2, 300, "the first replays")
        os.kill(launcher.pid, signal.SIGKILL)  # the launcher only: its step process is orphaned
        launcher.wait()

        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance:
            def failed_run():
                [run] = instance.get_runs()
                return run if run.status == dg.DagsterRunStatus.FAILURE else None
            run = wait_for(failed_run, 120, "the run to be marked failed")
            messages = [e.message for e in instance.all_logs(run.run_id) if e.is_dagster_event
                        and e.dagster_event.event_type_value == "PIPELINE_FAILURE"]
        assert any("run worker" in (m or "") and "died" in m for m in messages), messages

        calls = model_server.counts()["messages"]
        time.sleep(3 * REPLY_LATENCY_MS / 1000)  # calls in flight when the worker died may still land
        settled = model_server.counts()["messages"]
        time.sleep(3 * REPLY_LATENCY_MS / 1000)
        assert model_server.counts()["messages"] == settled  # nothing new is being asked
        assert settled <= calls + 2 < 42  # the day has 42 replays: most were never paid for
    finally:
        try:
            os.killpg(launcher.pid, signal.SIGKILL)  # whatever is left of the launch's session
        except ProcessLookupError:
            pass
