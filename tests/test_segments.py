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
    # the think tank's macro and sector theme templates run side by side: one agent. A version after
    # the last of the others is a change, and so is one that comes back after days of only another.
    rows = pd.concat([_rows(("macro", "m", 1, 6)), _rows(("sector", "m", 2, 6)), _rows(("a", "m", 10, 3)),
                      _rows(("b", "m", 13, 2)), _rows(("a", "m", 15, 1)), _rows(("x", "m", 16, 1))], ignore_index=True)
    rows.loc[rows.index[-1], "prompt_version"] = None
    segments = seg.split(rows)
    assert [(s.prompt_version, s.start, s.end, s.n) for s in segments] == [
        ("macro+sector", "2026-07-01", "2026-07-07", 12), ("a", "2026-07-10", "2026-07-12", 3),
        ("b", "2026-07-13", "2026-07-14", 2), ("a", "2026-07-15", "2026-07-15", 1),
        ("unknown", "2026-07-16", "2026-07-16", 1)]


def test_a_rollback_is_three_segments_while_interleaved_templates_stay_one():
    # A days 1-10, B 11-18, A 19-28 (the spans of A and B overlap): A, B, A, not one pooled agent
    rollback = _rows(("A", "m", 1, 10), ("B", "m", 11, 8), ("A", "m", 19, 10))
    rollback.loc[rollback["day"] == "2026-07-11", "timestamp"] = "2026-07-11T09:00:00"  # B starts the day A left
    assert [(s.prompt_version, s.start, s.end) for s in seg.split(rollback)] == [
        ("A", "2026-07-01", "2026-07-10"), ("B", "2026-07-11", "2026-07-18"), ("A", "2026-07-19", "2026-07-28")]
    # two templates on the same days, one of them missing a day: side by side, one segment
    interleaved = _rows(("macro", "m", 1, 20), ("sector", "m", 1, 9), ("sector", "m", 11, 10))
    assert [(s.prompt_version, s.n) for s in seg.split(interleaved)] == [("macro+sector", 39)]


def test_long_versions_stay_distinct_and_segments_get_unique_tags_per_version_and_model():
    long_a, long_b = "p" * 250 + "a", "p" * 250 + "b"  # differ only after 200 characters
    a, b = (seg.prompt_version({"prompt_version": v}, {}, {}) for v in (long_a, long_b))
    assert a != b and a.startswith("p" * 48 + "#") and len(a) == 65
    assert seg.prompt_version({"prompt_version": "v2.1-short"}, {}, {}) == "v2.1-short"  # short: as it is
    # a model-only change: same version prefix, two segments, two ids (series keys, template ids)
    segments = seg.split(_rows(("v" * 20, "claude-sonnet-4-5", 1, 5), ("v" * 20, "qwen/qwen3-30b", 6, 5)))
    assert len({s.tag for s in segments}) == 2 and segments[1].tag == "s2-vvvvvvvvvvvv-qwen-qwen3-30b"
    assert "/" not in segments[1].tag


def test_a_dated_snapshot_id_is_the_same_model_as_its_undated_id():
    segments = seg.split(_rows(("v", "claude-haiku-4-5-20251001", 1, 5), ("v", "claude-haiku-4-5", 6, 5)))
    assert [(s.original_model, s.n) for s in segments] == [("claude-haiku-4-5", 10)]


def _segments(*sizes):
    day = "2026-07-{:02d}".format
    return [seg.Segment("v", f"m{i}", day(i), day(i), frozenset(f"{i}-{k}" for k in range(n)), i)
            for i, n in enumerate(sizes, 1)]


def test_a_thin_segment_between_two_with_evidence_does_not_hide_the_change_and_is_named():
    s1, s2, s3, s4 = _segments(12, 3, 15, 2)
    pairs, outside = seg.comparisons([s1, s2, s3, s4], min_artifacts=10)
    assert pairs == [(s1, s3, [s2])] and outside == [s4]
    agreement = seg.agreement_shift(pd.Series([0.9, 0.92, 0.88]), pd.Series([0.5, 0.52, 0.48], index=[5, 6, 7]))
    result = seg.compare("fam", s1, s3, agreement, None, None, [s2])
    assert result["compared"] and result["significant"] == ["agreement"]
    assert f"skipping thin {s2.label()} n=3" in result["description"]
    assert seg.not_compared("fam", s4, 10)["description"] == f"fam: {s4.label()}: 2 artifacts < 10"


def test_no_shared_signal_is_not_compared_with_why_and_never_a_same_agent_claim():
    s1, s2 = _segments(12, 12)
    result = seg.compare("fam", s1, s2, None, None, None)
    assert not result["compared"] and not result["significant"]
    assert "no shared signal: cheap agreement needs 2 scored inputs a side" in result["description"]


def test_the_reason_names_a_newer_thin_segment_when_an_older_one_is_judged():
    s1, s2, s3 = _segments(12, 15, 3)
    chosen = seg.judged([s1, s2, s3], 10)
    reason = seg.judged_reason([s1, s2, s3], chosen, ["keep", "demote", "insufficient"], 10)
    assert reason == (f"judged on its latest segment with enough evidence (>= 10 artifacts) {s2.label()}, "
                      f"newer thin {s3.label()} (n=3): insufficient, earlier {s1.label()}: keep")
    assert seg.judged_reason([s1, s2], s2, ["keep", "demote"]).startswith(f"judged on its latest version {s2.label()}")


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
    assert result["description"].startswith("sector_qual: #1 aaaa on m (2026-07-01..2026-07-10) -> "
                                            "#2 bbbb on m (2026-07-11..2026-07-20): rule held-out 0.780 -> 0.990")
