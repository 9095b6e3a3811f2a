"""`concordance_summary`: a window of concordance partitions -> groups, CloudWatch, summary JSON."""

import datetime as dt

import dagster as dg
import pandas as pd
import pytest

from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.concordance_summary import METRIC, METRIC_N, concordance_summary, summarise
from alpha_replay_assets.index import artifact_index
from alpha_replay_assets.paths import summary_key, summary_latest_key
from alpha_replay_assets.replay.rows import replay_frame
from alpha_replay_assets.unusable_replies import UnusableRepliesConfig
from alpha_replay_assets.windows import day_ranges
from helpers import DAY

MODEL = "claude-haiku-4-5"


def materialise(resources, assets, run_config=None, **partition):
    with dg.instance_for_test() as instance:
        result = dg.materialize(assets, resources=resources, instance=instance, run_config=run_config or {},
                                **partition)
        assert result.success
        return result


def range_tags(first, last):
    return {"tags": {"dagster/asset_partition_range_start": first.isoformat(),
                     "dagster/asset_partition_range_end": last.isoformat()}}


@pytest.fixture
def replayed(all_resources, seeded):
    days = seeded(days=[DAY - dt.timedelta(days=n) for n in (2, 1, 0)])
    materialise(all_resources, [artifact_index, concordance], **range_tags(days[0], days[-1]))
    return days


def test_summary_emits_metrics_and_writes_the_legacy_json(all_resources, store, metrics, replayed):
    result = materialise(all_resources, [concordance_summary], partition_key=DAY.isoformat(),
                         run_config={"ops": {"concordance_summary": {"config": {"window_days": 5}}}})
    doc = store.read_json(summary_key(store, DAY, MODEL))
    assert doc["window_end"] == DAY.isoformat() and doc["target_model"] == MODEL
    assert doc["days_present"] == 3 and len(doc["days_missing"]) == 2  # coverage, not a crash
    assert doc["complete"] is False  # days are missing from the window
    assert doc["n_artifacts_replayed"] == doc["n_artifacts_candidate"] > 0
    assert {r["reason"] for r in doc["replay_skips"]} >= {"skipped_deterministic", "skipped_invalid"}
    per_agent = {a["agent_id_base"]: a for a in doc["per_agent"]}
    assert "ic_cio" in per_agent and per_agent["ic_cio"]["n"] >= 3
    assert per_agent["ic_cio"]["ci_low"] <= per_agent["ic_cio"]["mean"] <= per_agent["ic_cio"]["ci_high"]
    assert store.read_json(summary_latest_key(store, MODEL))["key"] == summary_key(store, DAY, MODEL)

    now = dt.datetime.now(dt.UTC)
    dims = {"judged_agent_id": "ic_cio", "target_model": MODEL}
    stamp, value = metrics.newest(METRIC, dims, dt.timedelta(days=14), now)
    assert value == pytest.approx(per_agent["ic_cio"]["mean"])
    assert stamp.date() == DAY
    assert metrics.newest(METRIC_N, dims, dt.timedelta(days=14), now)[1] == per_agent["ic_cio"]["n"]
    for thin in doc["agents_skipped_thin_sample"]:  # thin groups: reported, never emitted
        dims = {"judged_agent_id": thin, "target_model": MODEL}
        assert metrics.newest(METRIC, dims, dt.timedelta(days=14), now) is None
    [mat] = result.asset_materializations_for_node("concordance_summary")
    assert mat.metadata["concordance/ic_cio/claude-haiku-4-5/mean"].value == pytest.approx(per_agent["ic_cio"]["mean"])
    assert mat.metadata["days_present"].value == 3


def test_no_emit_mode_stores_but_sends_nothing(all_resources, store, metrics, replayed):
    materialise(all_resources, [concordance_summary], partition_key=DAY.isoformat(),
                run_config={"resources": {"run_mode": {"config": {"emit_metrics": False}}}})
    assert store.read_json(summary_key(store, DAY, MODEL))["per_agent"]
    dims = {"judged_agent_id": "ic_cio", "target_model": MODEL}
    assert metrics.newest(METRIC, dims, dt.timedelta(days=14), dt.datetime.now(dt.UTC)) is None


def test_latest_pointer_only_moves_forward(all_resources, store, replayed):
    materialise(all_resources, [concordance_summary], partition_key=DAY.isoformat())
    materialise(all_resources, [concordance_summary], partition_key=replayed[0].isoformat())  # a backfill
    assert store.read_json(summary_latest_key(store, MODEL))["window_end"] == DAY.isoformat()


def test_summarise_counts_thin_groups_failures_and_skips():
    frame = pd.DataFrame({
        "agent_id_base": ["a"] * 4 + ["b"] * 3,
        "target_model": ["m"] * 7,
        "outcome": ["structured"] * 3 + ["transport_error", "structured", "schema_error", "skipped_placeholder"],
        "agreement_score": [1.0, 0.5, 0.0, None, 1.0, None, None],
    })
    groups = summarise(frame, ["a", "c"], ["m"]).set_index("agent_id_base")
    assert groups.loc["a", "n"] == 3 and groups.loc["a", "mean"] == pytest.approx(0.5)
    assert groups.loc["a", "failures"] == 1 and not groups.loc["a", "thin"] and groups.loc["a", "status"] == "ok"
    assert groups.loc["b", "thin"] and groups.loc["b", "skips"] == 1 and groups.loc["b", "failures"] == 1
    # a's transport error is the provider's, not a reply; b's one reply of two without its fields is b's own
    assert groups.loc["a", "unusable"] == 0 and groups.loc["b", "status"] == "replies_unusable"
    assert groups.loc["b", "reason"] == "1 of 2 replies did not fit the family's schema (50%) > 20%"
    lenient = summarise(frame, ["a"], ["m"], UnusableRepliesConfig(max_unusable_rate_by_family={"b": 0.5}))
    assert lenient.set_index("agent_id_base").loc["b", "status"] == "thin_sample"
    # an expected family with nothing in the window is a row that says so, not a gap
    assert groups.loc["c", "status"] == "no_input" and groups.loc["c", "n"] == 0


def test_an_empty_window_summarises_to_no_input_rows():
    empty = replay_frame([], "")
    groups = summarise(empty, ["a", "b"], ["m1", "m2"])
    assert len(groups) == 4 and set(groups["status"]) == {"no_input"} and not groups["mean"].notna().any()


def test_missing_days_fold_into_ranges_for_the_ui():
    days = [DAY - dt.timedelta(days=n) for n in (9, 8, 7, 3, 0)]
    assert day_ranges(days) == (f"{DAY - dt.timedelta(days=9)}..{DAY - dt.timedelta(days=7)} (3 days), "
                                f"{DAY - dt.timedelta(days=3)}, {DAY}")
    assert day_ranges([]) == "none"


def test_one_label_per_situation_never_replayed_is_unsupported_as_in_the_verdicts():
    frame = pd.DataFrame({
        "agent_id_base": ["executor"] * 2 + ["sector_quant"] * 2,
        "target_model": ["m"] * 4,
        "outcome": ["skipped_deterministic"] * 2 + ["skipped_placeholder"] * 2,
        "agreement_score": [None] * 4,
    })
    groups = summarise(frame, ["executor", "sector_quant", "ic_cio"], ["m"]).set_index("agent_id_base")
    assert groups.loc["executor", "status"] == "unsupported"  # the verdict table says unsupported too
    assert groups.loc["sector_quant", "status"] == "no_input"
    assert groups.loc["sector_quant", "reason"] == "nothing eligible: 2 skipped_placeholder"
    assert groups.loc["ic_cio", "reason"] == "no artifact in the window"
