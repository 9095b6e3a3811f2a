"""Waits are visible and bounded, through `dg launch` as a user runs it: a rate-limited run says how
long it waits (a log line, a run tag), fails with its counts once the provider asks for more than
`replay_model.max_wait_s`, stops within seconds of a SIGINT, and a dead endpoint fails the day in
time proportional to the timeout, not to the number of replays."""

import json
import os
import signal
import subprocess
import time

import dagster as dg
from dagster._core.instance.ref import InstanceRef

from helpers import DAY, ROOT, wait_for
from resources.replay_model import TAG_RATE_LIMITED_UNTIL
from resources.waits import SLICE_S, Stopped, Waits

ASSETS = ("--assets", "artifact_index,concordance", "--partition", DAY.isoformat())


def _config(**replay_model) -> tuple[str, str]:
    return "--config-json", json.dumps({"resources": {"replay_model": {"config": replay_model}}})


def _run_and_failure(dagster_home) -> tuple[dg.DagsterRun, list[str]]:
    """The one run of the instance and its step failures' messages."""
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance:
        [run] = instance.get_runs()
        failures = [e.dagster_event.step_failure_data.error.message for e in instance.all_logs(run.run_id)
                    if e.is_dagster_event and e.dagster_event.event_type_value == "STEP_FAILURE"]
        return run, failures


def test_waits_sleep_in_slices_and_stop_within_one():
    waits, started = Waits(max_wait_s=10), time.monotonic()
    waits.stop(Stopped("stop"))
    try:
        waits.sleep(30)
    except Stopped:
        pass
    assert time.monotonic() - started < SLICE_S
    announced = []
    waits = Waits(max_wait_s=5, waited_s=2, announce=lambda until, total: announced.append((until, total)))
    waits.paused(2.0, 2.0)
    waits.check()  # 4 s of 5: still waiting
    waits.paused(1.5, 3.5)
    assert [total for _, total in announced] == [4.0, 5.5]
    try:
        waits.check()
        raise AssertionError("a wait beyond max_wait_s must stop the replays")
    except Stopped as exc:
        assert "max_wait_s = 5" in str(exc)


def test_a_retry_after_beyond_the_max_wait_fails_at_once_naming_the_counts(dg_launch, dagster_home, model_server,
                                                                          seeded):
    seeded()
    model_server.state.retry_after_s = 3600
    model_server.inject(*["429"] * 2000)
    started = time.monotonic()
    done = dg_launch(*ASSETS, timeout=300)  # on a hanging run: TimeoutExpired, the test fails
    elapsed = time.monotonic() - started
    assert done.returncode != 0
    run, failures = _run_and_failure(dagster_home)
    assert run.status == dg.DagsterRunStatus.FAILURE and elapsed < 240
    assert run.tags.get(TAG_RATE_LIMITED_UNTIL), run.tags  # the run says until when it is rate-limited
    [failure] = failures
    assert "beyond replay_model.max_wait_s = 600 s" in failure and "0 replayed" in failure, failure
    assert "still waiting" in failure and "skipped" in failure
    assert "retrying in 3600 s" in done.stdout + done.stderr  # the log line with the time until retry
    assert model_server.counts()["messages"] <= 2 * 8  # the first attempts in flight, no more


def _launch_rate_limited(launch_env, model_server) -> subprocess.Popen:
    """`dg launch` of a replay against a model that answers 429 with retry-after 300 s (a 1 h wait budget)."""
    model_server.state.retry_after_s = 300
    model_server.inject(*["429"] * 2000)
    return subprocess.Popen(["dg", "launch", *ASSETS, *_config(max_wait_s=3600)], cwd=ROOT, env=launch_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def test_sigint_to_dg_launch_stops_a_rate_limited_run_within_seconds(launch_env, dagster_home, model_server, seeded):
    seeded()
    launcher = _launch_rate_limited(launch_env, model_server)
    try:
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance:
            def rate_limited():
                runs = instance.get_runs()
                return runs and runs[0].tags.get(TAG_RATE_LIMITED_UNTIL)
            wait_for(rate_limited, 300, "the run to say it is rate-limited")
        calls = model_server.counts()["messages"]
        os.kill(launcher.pid, signal.SIGINT)  # Ctrl-C in the user's terminal reaches the launcher
        started = time.monotonic()
        launcher.wait(timeout=120)
        assert time.monotonic() - started < 30
        assert model_server.counts()["messages"] == calls  # nothing asked after the interrupt
        run, _ = _run_and_failure(dagster_home)
        assert run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
    finally:
        try:
            os.killpg(launcher.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_hanging_endpoint_fails_the_day_without_sending_every_replay(dg_launch, dagster_home, model_server, seeded):
    seeded()
    model_server.state.latency_ms = 3000  # every reply comes after the 1 s timeout
    done = dg_launch(*ASSETS, *_config(timeout_s=1.0, max_retries=1), timeout=600)
    assert done.returncode != 0
    run, [failure] = _run_and_failure(dagster_home)
    assert "failed at the provider" in failure, failure
    # the day has 40+ replays (2 attempts each before): the warm-ups and one round of workers were
    # sent, the rest not (each a row saying so), whatever the size of the shared-prompt families
    assert model_server.counts()["messages"] <= 2 * (2 * 8 + 8)


def test_terminating_a_rate_limited_run_stops_it_within_seconds(launch_env, dagster_home, model_server, seeded):
    """The UI's Terminate (GraphQL `terminateRun`: the run launcher marks the run CANCELING; a `dg launch`
    run has no gRPC server to interrupt) stops the replays: the waits poll the run's status."""
    seeded()
    launcher = _launch_rate_limited(launch_env, model_server)
    try:
        with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance:
            def rate_limited():
                runs = instance.get_runs()
                return runs and runs[0].tags.get(TAG_RATE_LIMITED_UNTIL) and runs[0]
            run = wait_for(rate_limited, 300, "the run to say it is rate-limited")
            instance.run_launcher.terminate(run.run_id)
            started = time.monotonic()
            launcher.wait(timeout=120)
            assert time.monotonic() - started < 30
            finished = instance.get_run_by_id(run.run_id)
        assert finished.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
        _, failures = _run_and_failure(dagster_home)
        assert any("the run is canceling" in f for f in failures), failures
    finally:
        try:
            os.killpg(launcher.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_an_absurd_retry_after_stops_at_once_instead_of_overflowing():
    """`retry-after: 1e30` / `inf` / `nan` (or in ms) used to overflow the announcement's timedelta
    before the max_wait_s stop ran: the step hung. Now it counts as longer than any max_wait_s."""
    import datetime as dt

    from resources.rate_governor import Governor
    from resources.replay_model import retry_at

    for header in ({"retry-after": "1e30"}, {"retry-after": "inf"}, {"retry-after": "nan"},
                   {"retry-after-ms": "1e30"}, {"retry-after": "Fri, 31 Dec 9999 23:59:59 GMT"}):
        announced = []
        waits = Waits(max_wait_s=600, announce=lambda until, total: announced.append(retry_at(until)))
        governor = Governor(8, waits=waits)
        governor.acquire()
        governor.release(429, header)
        assert len(announced) == 1 and announced[0] > dt.datetime.now(dt.UTC) + dt.timedelta(seconds=600), header
        try:
            waits.check()
            raise AssertionError(f"{header}: a retry-after beyond max_wait_s must stop the replays at once")
        except Stopped as exc:
            assert "max_wait_s = 600" in str(exc), header
