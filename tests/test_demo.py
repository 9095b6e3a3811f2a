"""The quick start, as a user runs it: a subprocess, its own servers, twice."""

import datetime as dt
import os
import re
import signal
import socket
import subprocess

import pytest

from alpha_replay_assets.sample import corpus, rules
from helpers import DAY
from jobs.cli import main

END = DAY.isoformat()  # fixed: a rerun sees the same days, and the same weekdays on any date
GRAPH_FAMILIES = sorted(family for family, rule in rules.RULES.items() if rule.graph is not None)


def run_demo(state_dir, *extra, env=None, stdin=None):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "ALPHA_REPLAY_", "DAGSTER_HOME"))}
    return subprocess.run(
        ["alpha-replay", "demo", "--days", "3", "--per-day", "80", "--end", END, "--state-dir", str(state_dir), *extra],
        capture_output=True, text=True, env=base | (env or {}), input=stdin, timeout=600,
    )


def test_quick_start_runs_end_to_end_and_the_second_run_makes_no_model_calls(tmp_path):
    # a key in the shell does not make the demo spend money: the loopback model is the default
    first = run_demo(tmp_path / "cache", env={"ANTHROPIC_API_KEY": "sk-ant-would-cost-money"})
    assert first.returncode == 0, first.stderr[-3000:]
    assert "SIMULATED" in first.stdout and "estimated model spend" in first.stdout
    assert "materialised weekly_job" in first.stdout and "SUCCESS" in first.stdout
    calls = int(first.stdout.split("model calls this run: ")[1].split()[0])
    assert calls > 0
    tail = first.stdout.split("agent verdicts, window ending")[1]
    verdicts = dict(re.findall(r"^(\w+) \([^)]+\): (.*)$", tail, re.MULTILINE))  # family -> status: why
    # the demo's corpus is the producers' reality: the think tank and the unregistered family are replayed
    # and judged on their paired replays; every graph artifact carries the producers' stub prompts, so
    # those families are not replayed and say so; the executors are deterministic
    for family in ("thinktank_thesis", "thinktank_theme", "mystery_agent"):
        status, why = verdicts[family].split(": ", 1)
        # judged on its paired replays, or earlier by the template rule on its rationales (rule 6)
        evidence = re.search(r"\(n=(\d+)\)|^(\d+) paired|hold [0-9.]+ of (\d+) rationales", why)
        assert status in ("keep", "demote_candidate", "insufficient_evidence") and evidence, verdicts[family]
        assert int(next(g for g in evidence.groups() if g)) > 0, verdicts[family]
    assert "scored by the structural scorer" in verdicts["mystery_agent"]
    for family in GRAPH_FAMILIES:
        stubs = r"(\d+) of \1 artifacts have stub prompts: not replayed"
        verdict = verdicts[family]  # never replayed: decided without pairs, and the reason says why
        assert re.search(rf"; {stubs}(; judged on its latest version .*)?$", verdict), verdict
        assert re.match(r"insufficient_evidence: 0 paired |no_cheaper_target: .*\(0 paired replays\)|"
                        r"demote_candidate: its rationales are one template", verdict), verdict
    assert verdicts["executor"].startswith("unsupported: deterministic executor")
    # the demo's mid-window prompt changes: sector_qual's changed its behaviour (flagged), sector_quant's is cosmetic
    shift = r"^VERSION SHIFT: sector_qual: #\d+ \S+ on claude-haiku\S+ \(\S+\) -> .*rule held-out"
    assert re.search(shift, first.stdout, re.M)
    assert "version change, same agent: sector_quant: " in first.stdout and "SHIFT: sector_quant" not in first.stdout
    for heading in ("artifact_index: artifacts per day and family", "cheap-model concordance vs",
                    "days nominal", "counterfactual rule fits", "rule for ", "agent verdicts, window ending",
                    "unregistered family mystery_agent", "thinktank_thesis"):
        assert heading in first.stdout

    home = re.search(r"DAGSTER_HOME=(\S+)", first.stdout).group(1)
    assert not os.path.exists(home)  # the temporary instance is removed (--keep keeps it)
    answer = re.search(r"the answer: (\S+) ", first.stdout).group(1)
    assert os.path.exists(answer) and "alpha-replay verdicts" in first.stdout

    second = run_demo(tmp_path / "cache")
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"restored from {tmp_path / 'cache'}: {calls} replies" in second.stdout
    assert "model calls this run: 0 " in second.stdout


FIRST = "2026-01-01"
TOMORROW = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()


@pytest.mark.parametrize("argv, message", [
    (["demo", "--days", "0"], "argument --days: must be 1 or more (at most 1,000,000), got 0"),
    (["demo", "--per-day", "-1"], "argument --per-day: must be 1 or more (at most 1,000,000), got -1"),
    (["demo", "--end", "2025-06-01"], "2025-06-01 has no partition: days run from 2026-01-01 to yesterday"),
    (["demo", "--end", TOMORROW], f"{TOMORROW} has no partition"),
    (["demo", "--end", "2026-01-05", "--days", "14"], "reaches before the first partition day 2026-01-01 (5 days"),
    (["demo", "--days", "1000000"], "reaches before the first partition day"),
    (["demo", "--days", "99999999999"], "argument --days: must be 1 or more (at most 1,000,000)"),
    (["demo", "--per-day", "10000000000000000000000"], "argument --per-day: must be 1 or more"),
    (["estimate", "--from", "0001-01-01", "--to", "9999-12-31"], "0001-01-01 has no partition"),
    (["replays", "forget", "--from", FIRST, "--to", TOMORROW, "--target", "claude-haiku-4-5", "--outcome",
      "schema_error"], f"{TOMORROW} has no partition"),
], ids=["no days", "negative per-day", "before the first partition", "in the future", "window before the first",
        "a million days", "days past any date", "per-day past any corpus",
        "estimate over all time", "forget into the future"])
def test_bad_arguments_are_refused_in_one_line_before_anything_starts(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize("argv", [["--days", "0"], ["--per-day", "-5"], ["--end", "2025-06-01"]])
def test_the_seed_command_refuses_what_would_write_nothing(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        corpus.main(["--bucket", "b", *argv])  # refused before any client is made
    assert exit_.value.code == 2 and "error: argument" in capsys.readouterr().err


def test_the_installed_command_refuses_in_one_line_without_a_traceback():
    done = subprocess.run(["alpha-replay", "demo", "--days", "0"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line.endswith("argument --days: must be 1 or more (at most 1,000,000), got 0")


def test_real_model_asks_before_spending_and_stops_when_declined(tmp_path):
    # the real API is unreachable here either way (closed loopback port), and the answer is no
    done = run_demo(tmp_path / "cache", "--real-model", stdin="n\n",
                    env={"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"})
    assert done.returncode == 1 and "not confirmed: nothing replayed" in done.stderr
    assert "replays go to the Anthropic API and cost money" in done.stdout
    estimate = done.stdout.split("estimated model spend at list prices:")[1]
    assert "claude-haiku-4-5" in estimate and "total: $" in estimate
    assert "materialised weekly_job" not in done.stdout

    missing_key = run_demo(tmp_path / "cache", "--real-model")
    assert missing_key.returncode == 1 and "--real-model needs ANTHROPIC_API_KEY" in missing_key.stderr


def test_a_busy_ui_port_is_refused_before_anything_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_demo(tmp_path / "cache", "--ui", "--port", str(port))
    assert result.returncode != 0
    assert result.stderr.strip() == f"port {port} is in use: choose another with --port (nothing was started)"
    assert "moto server" not in result.stdout


def _children(pid: int) -> set[int]:
    """Every descendant process of `pid`."""
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        kids = set()
        for task in os.listdir(f"/proc/{parent}/task"):
            with open(f"/proc/{parent}/task/{task}/children") as f:
                kids |= {int(k) for k in f.read().split()}
        found |= kids
        todo += kids
    return found


def test_sigterm_stops_the_demo_and_everything_it_started(tmp_path):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "ALPHA_REPLAY_", "DAGSTER_HOME"))}
    demo = subprocess.Popen(["alpha-replay", "demo", "--days", "3", "--per-day", "80", "--end", END, "--state-dir",
                             str(tmp_path / "cache")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=base | {"PYTHONUNBUFFERED": "1"})
    lines = []
    for line in demo.stdout:
        lines.append(line)
        if line.startswith("seeded "):
            break
    started = _children(demo.pid)
    assert started, "the demo runs its S3 server as a child process"
    home = re.search(r"DAGSTER_HOME=(\S+)", "".join(lines)).group(1)
    demo.send_signal(signal.SIGTERM)
    assert demo.wait(timeout=120) == 130
    assert "stopped (SIGTERM)" in demo.stderr.read()
    assert not [p for p in started if os.path.exists(f"/proc/{p}") and open(f"/proc/{p}/stat").read().split()[2] != "Z"]
    assert not os.path.exists(home)
