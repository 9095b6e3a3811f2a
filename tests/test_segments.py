"""Versions are series boundaries (docs/domain.md §3c): the pure segment logic, without Dagster."""

import pandas as pd
import pytest

from alpha_replay_assets import segments as seg


def _rows(*runs):
    """(prompt_version, model, first day number, n days): one artifact a day."""
    rows = [{"key": f"{v}-{m}-{d}", "day": f"2026-07-{d:02d}", "timestamp": f"2026-07-{d:02d}T10:00:00",
             "prompt_version": v, "model_name": m}
            for v, m, start, n in runs for d in range(start, start + n)]
    return pd.DataFrame(rows)


def test_split_gives_consecutive_segments_with_their_spans_and_judges_the_latest_with_enough_evidence():
    segments = seg.split(_rows(("a", "sonnet", 1, 12), ("b", "sonnet", 13, 12), ("b", "haiku", 25, 3)))
    assert [(s.prompt_version, s.original_model, s.start, s.end, s.n) for s in segments] == [
        ("a", "sonnet", "2026-07-01", "2026-07-12", 12), ("b", "sonnet", "2026-07-13", "2026-07-24", 12),
        ("b", "haiku", "2026-07-25", "2026-07-27", 3)]
    # the model change is a boundary too, but 3 artifacts are not enough: the latest with enough is judged
    assert seg.judged(segments, min_artifacts=10) is segments[1]
    assert seg.judged(segments, min_artifacts=50) is segments[2]  # none has enough: the latest, thin
    assert seg.judged([]) is None


def test_versions_in_use_at_the_same_time_are_one_segment_and_missing_versions_are_unknown():
    # the think tank's macro and sector theme templates run side by side; a version that comes back
    # overlaps the other: neither is a change. A version after the last of the others is one.
    rows = pd.concat([_rows(("macro", "m", 1, 6)), _rows(("sector", "m", 2, 6)), _rows(("a", "m", 10, 3)),
                      _rows(("b", "m", 13, 2)), _rows(("a", "m", 15, 1)), _rows(("x", "m", 16, 1))], ignore_index=True)
    rows.loc[rows.index[-1], "prompt_version"] = None
    segments = seg.split(rows)
    assert [(s.prompt_version, s.start, s.end, s.n) for s in segments] == [
        ("macro+sector", "2026-07-01", "2026-07-07", 12), ("a+b", "2026-07-10", "2026-07-15", 6),
        ("unknown", "2026-07-16", "2026-07-16", 1)]


def test_prompt_version_is_the_hash_else_the_declared_version_else_unknown():
    assert seg.prompt_version({"prompt_version": "0.0.0-standin"}, {"prompt_version_hash": "ab12"}, {}) == "ab12"
    assert seg.prompt_version({"prompt_version": "0.0.0-standin"}, {"prompt_version_hash": None}, {}) == "0.0.0-standin"
    assert seg.prompt_version({"prompt_version": None}, {}, {"prompt_version": "0.3.0"}) == "0.3.0"  # the think tank
    assert seg.prompt_version({"prompt_version": ""}, {"prompt_version_hash": 7}, {"prompt_version": ""}) == "unknown"
    assert seg.prompt_version(None, None, {}) == "unknown"


def test_agreement_shift_is_unpaired_across_different_inputs_and_significant_when_the_ci_excludes_0():
    before = pd.Series([0.9, 0.92, 0.88, 0.91, 0.9, 0.93], index=list("abcdef"))
    after = pd.Series([0.6, 0.62, 0.58, 0.61, 0.59, 0.63], index=list("uvwxyz"))
    shift = seg.agreement_shift(before, after)
    assert not shift["paired"] and shift["significant"] and shift["ci_high"] < 0
    assert shift["diff"] == pytest.approx(0.6050 - 0.9067, abs=1e-3)
    same = seg.agreement_shift(before, pd.Series(before.to_numpy()[::-1], index=list("uvwxyz")))
    assert not same["significant"] and same["ci_low"] <= 0 <= same["ci_high"]
    assert seg.agreement_shift(before, after.iloc[:1]) is None  # one score: no CI


def test_agreement_shift_pairs_the_same_inputs_when_there_are_enough():
    inputs = [f"i{n}" for n in range(12)]
    before = pd.Series([0.7 + 0.05 * (n % 5) for n in range(12)], index=inputs)
    after = before + 0.02  # a small, consistent change: only pairing sees it
    paired = seg.agreement_shift(before, after, min_pairs=10)
    assert paired["paired"] and paired["significant"] and paired["diff"] == pytest.approx(0.02)
    unpaired = seg.agreement_shift(before, after, min_pairs=13)
    assert not unpaired["paired"] and not unpaired["significant"]


def test_rule_and_concentration_shifts_use_their_thresholds_and_compare_names_versions_dates_numbers():
    fit = {"status": "fitted", "heldout_accuracy": 0.78, "tree_text": "old rule", "split_features": ["a", "b"]}
    new = {"status": "fitted", "heldout_accuracy": 0.99, "tree_text": "new rule", "split_features": ["c"]}
    rule = seg.rule_shift(fit, new)
    assert rule["significant"] and not rule["same_features"] and rule["rule_after"] == "new rule"
    assert not seg.rule_shift(fit, fit | {"heldout_accuracy": 0.8})["significant"]
    assert seg.rule_shift(fit, {"status": "thin_sample"}) is None
    templates = seg.concentration_shift({"concentration": 0.2}, {"concentration": 0.9})
    assert templates["significant"] and not seg.concentration_shift({"concentration": 0.2},
                                                                    {"concentration": 0.3})["significant"]
    assert seg.concentration_shift({"concentration": None}, {"concentration": 0.3}) is None
    a, b = seg.split(_rows(("aaaa", "m", 1, 10), ("bbbb", "m", 11, 10)))
    result = seg.compare("sector_qual", a, b, None, rule, templates)
    assert result["significant"] == ["rule", "templates"]
    assert result["description"].startswith("sector_qual: aaaa on m (2026-07-01..2026-07-10) -> "
                                            "bbbb on m (2026-07-11..2026-07-20): rule held-out 0.780 -> 0.990")
