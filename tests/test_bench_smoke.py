"""The benchmark's --quick mode runs end to end and computes its ratios (no timing asserts)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_benchmark_runs_and_computes_ratios(tmp_path):
    done = subprocess.run([sys.executable, "-m", "bench.run", "--quick", "--days", "7", "--per-day", "40",
                           "--reply-latency-ms", "200", "--latency-ms", "2", "--sizes", "small",
                           "--out", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "quick.json").read_text())
    assert report["ratios"]["cold"] > 0 and report["ratios"]["weekly"] > 0
    assert report["ratios"]["cold_vs_rescan"] > 0 and report["ratios"]["weekly_vs_rescan"] > 0
    results = report["results"]
    assert results["baseline"]["artifacts_read"] == results["rescan"]["artifacts_read"] == 7 * 40
    assert results["rescan"]["threads"] == 32 and results["baseline"]["threads"] == 1
    assert results["rescan"]["match_rate"] == results["baseline"]["match_rate"]  # the same scan, in parallel
    for result in results.values():  # every scenario says how loaded the machine was
        assert 0 <= result["load_avg_start"] and 0 <= result["load_avg_end"]
    assert report["noisy"] == any(r["load_avg_start"] >= 1.5 for r in results.values())
    assert results["weekly"]["workers"] >= 1 and results["weekly"]["workers_cpu_s"] > 0
    assert results["concordance"]["rerun_model_calls"] == 0 and results["concordance"]["throughput_replays"] > 0
    assert results["weekly"]["fit_step_index_gets"] <= 2 * 7  # per window day: the tail, then the features' range
    assert 0 < results["weekly"]["fit_step_bytes"] < results["weekly"]["s3_bytes"]
    assert "baseline / this" in done.stdout
