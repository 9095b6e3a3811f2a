"""The quick start, as a user runs it: a subprocess, its own servers, twice."""

import os
import re
import subprocess
import sys


def run_demo(state_dir):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "ALPHA_REPLAY_", "DAGSTER_HOME"))}
    return subprocess.run(
        [sys.executable, "-c", "from jobs.cli import main; main()", "demo", "--days", "3", "--per-day", "80",
         "--state-dir", str(state_dir)],
        capture_output=True, text=True, env=env, timeout=300,
    )


def test_quick_start_runs_end_to_end_and_never_pays_twice(tmp_path):
    first = run_demo(tmp_path / "cache")
    assert first.returncode == 0, first.stderr[-3000:]
    assert "SIMULATED" in first.stdout
    assert "materialised weekly_job" in first.stdout and "SUCCESS" in first.stdout
    calls = int(first.stdout.split("model calls this run: ")[1].split()[0])
    assert calls > 0
    verdicts = first.stdout.split("agent verdicts, window ending")[1]
    for family in ("thinktank_thesis", "thinktank_theme", "mystery_agent"):  # judged, with their numbers
        assert re.search(rf"{family}: (keep|demote_candidate|insufficient_evidence): .*[0-9]", verdicts), family
    assert re.search(r"mystery_agent: .*scored by the structural scorer", verdicts)
    assert "executor: unsupported" in verdicts
    for heading in ("artifact_index: artifacts per day and family", "cheap-model concordance vs",
                    "counterfactual rule fits", "rule for ", "agent verdicts, window ending",
                    "unregistered family mystery_agent", "thinktank_thesis"):
        assert heading in first.stdout

    second = run_demo(tmp_path / "cache")
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"restored from {tmp_path / 'cache'}: {calls} replies" in second.stdout
    assert "model calls this run: 0 " in second.stdout
