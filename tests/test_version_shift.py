"""Versions are series boundaries on the synthetic corpus with a mid-window prompt change
(`CorpusSpec.version_shift_from`): sector_qual's new prompt changes its behaviour, sector_quant's
is cosmetic. The verdict judges the latest segment only, the shift is flagged for the first and
not the second, and pooling across the change would have given another verdict."""

import datetime as dt
import json
from functools import partial

import dagster as dg
import pandas as pd
import pytest
from dagster._core.instance.ref import InstanceRef

from alpha_replay_assets.artifacts import ListedObject, index_row
from alpha_replay_assets.rationale_templates import TemplatesConfig, day_rows, templates_window
from alpha_replay_assets.rationale_templates import _datapoints as templates_datapoints
from alpha_replay_assets.sample import corpus
from alpha_replay_assets.segment_verdicts import segment_scores, segment_verdict, segmented_verdicts
from alpha_replay_assets.verdict_rules import VerdictConfig, build_verdicts
from alpha_replay_assets.verdicts import REPLAY_WINDOW_COLUMNS
from helpers import DAY, pinned
from jobs.sensors import check_alerts

WINDOW = 21
SHIFT = DAY - dt.timedelta(days=9)  # the new prompts' first day: 10 days of the new version
# legacy graph families at 3 sector teams a day; no truncated snapshots (their decisions were made on
# inputs the index no longer has: noise the rule-stability comparison would read as a changed rule)
SPEC = pinned(mix="legacy", per_day=20, unregistered_per_day=0, bad_fraction=0, truncated_fraction=0,
              placeholder_fraction=0, graph_prompts="stub", version_shift_from=SHIFT)


def window_index(spec=SPEC) -> pd.DataFrame:
    """The window's index rows, as the index asset parses them (no S3: the parser on the bytes)."""
    rows = []
    for day in corpus.window(DAY, WINDOW):
        for key, body in corpus.day_objects(day, "decision_artifacts", spec):
            listed = ListedObject(key, "etag", len(body), dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
            rows.append(index_row(listed, body, "decision_artifacts", 10**7) | {"day": day.isoformat()})
    return pd.DataFrame(rows)


def test_the_verdict_judges_the_latest_segment_the_shift_is_flagged_and_pooling_would_differ():
    index, no_replays = window_index(), pd.DataFrame(columns=[*REPLAY_WINDOW_COLUMNS, "day"])
    config, model = VerdictConfig(), "claude-haiku-4-5-20251001"
    judge = partial(build_verdicts, model=model, config=config, prices=config.prices)
    whole = build_verdicts(index, no_replays, no_replays, None, DAY, model, config, config.prices)
    table, shifts = segmented_verdicts(whole, index, no_replays, no_replays, DAY, model, judge)
    table = table.set_index("agent_id_base")

    qual = table.loc["sector_qual"]
    assert (qual["segment_start"], qual["segment_end"], qual["n_segments"]) == (SHIFT.isoformat(), DAY.isoformat(), 2)
    assert qual["n_artifacts"] == 30  # 3 teams x 10 days: the latest segment only
    assert qual["status"] == "demote_candidate" and qual["reason"].startswith("a stable depth-3 rule")
    assert qual["rule_heldout"] > 0.95
    [older] = json.loads(qual["older_segments"])
    assert older["end"] == (SHIFT - dt.timedelta(days=1)).isoformat() and older["status"] != "demote_candidate"
    assert older["prompt_version"] != qual["prompt_version"]
    # one version: the family keeps its whole-window verdict and its row names its segment
    assert table.loc["ic_cio", "n_segments"] == 1 and table.loc["ic_cio", "segment_start"] == corpus.window(
        DAY, WINDOW)[0].isoformat()

    by_family = {s["agent_id_base"]: s for s in shifts}
    assert set(by_family) == {"sector_qual", "sector_quant"}
    assert by_family["sector_qual"]["significant"] and "rule held-out" in by_family["sector_qual"]["description"]
    assert SHIFT.isoformat() in by_family["sector_qual"]["description"]
    assert not by_family["sector_quant"]["significant"]  # the cosmetic change: a new hash, the same agent

    # pooling across the change, with the same code on all the family's artifacts: another verdict
    family_rows = index[(index["agent_id_base"] == "sector_qual") & (index["status"] == "ok")]
    pooled, evidence = segment_verdict("sector_qual", family_rows, no_replays, no_replays, DAY, judge)
    assert pooled["n_artifacts"] == 63 and pooled["status"] != qual["status"]
    assert evidence["fit"]["heldout_accuracy"] < 0.85  # two rules averaged: neither is found


def test_the_default_corpus_has_one_version_per_family():
    index = window_index(pinned(mix="legacy", per_day=20, unregistered_per_day=0, bad_fraction=0,
                                graph_prompts="stub"))
    ok = index[(index["status"] == "ok") & index["is_llm"]]
    assert ok.groupby("agent_id_base")["prompt_version"].nunique().eq(1).all()


def test_dg_launch_records_the_shift_as_a_warn_check_that_the_alert_names(dg_launch, seeded, dagster_home):
    days = seeded(corpus.window(DAY, WINDOW), spec=SPEC)
    index = dg_launch("--assets", "artifact_index", "--partition-range", f"{days[0]}...{days[-1]}")
    assert index.returncode == 0, index.stderr[-3000:]
    verdicts = dg_launch("--assets", "agent_verdicts", "--partition", DAY.isoformat())
    assert verdicts.returncode == 0, verdicts.stderr[-3000:]  # a WARN check does not fail the run
    key = dg.AssetCheckKey(dg.AssetKey("agent_verdicts"), "no_unflagged_version_shift")
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance:
        [record] = instance.event_log_storage.get_asset_check_execution_history(key, limit=1)
        evaluation = record.event.dagster_event.event_specific_data
        alerts, _ = check_alerts(instance, [key], {}, "http://ui.test")
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
    assert record.partition == DAY.isoformat()
    assert "sector_qual/" in evaluation.description and "sector_quant" not in evaluation.description
    assert SHIFT.isoformat() in evaluation.description and "rule held-out" in evaluation.description
    [alert] = alerts
    assert alert["status"] == "FAILED" and alert["check"] == "no_unflagged_version_shift"
    assert alert["description"] == evaluation.description  # the alert names the family, versions, dates, numbers


def test_the_concordance_summary_numbers_are_per_segment_for_a_family_with_several():
    index = window_index()
    ok = index[(index["status"] == "ok") & index["is_llm"]]
    quant = ok[ok["agent_id_base"] == "sector_quant"]
    after = quant["day"] >= SHIFT.isoformat()
    replays = pd.DataFrame({"key": quant["key"], "agent_id_base": "sector_quant", "target_model": "haiku",
                            "outcome": "structured", "agreement_score": after * 0.4 + 0.5})
    replays = pd.concat([replays, replays.assign(agent_id_base="ic_cio")])  # one version: no per-segment rows
    table = segment_scores(replays, index)
    assert list(table["agent_id_base"]) == ["sector_quant", "sector_quant"]
    assert list(table["segment_start"]) == [corpus.window(DAY, WINDOW)[0].isoformat(), SHIFT.isoformat()]
    assert list(table["mean"]) == pytest.approx([0.5, 0.9]) and list(table["n"]) == [33, 30]


def test_rationale_templates_judge_each_segment_of_a_family_with_several_and_publish_only_the_family():
    index = window_index()
    frame = day_rows(index).assign(day=index.loc[(index["status"] == "ok") & index["agent_id_base"].notna(),
                                                 "day"].to_numpy())
    results = [row for row, _ in templates_window(frame, DAY, TemplatesConfig())]
    segments = [r for r in results if r["scope"] == "segment"]
    assert {r["agent_id_base"] for r in segments} == {"sector_qual", "sector_quant"}
    quant = [r for r in segments if r["agent_id_base"] == "sector_quant"]
    assert [(r["segment_start"], r["status"]) for r in quant] == [(corpus.window(DAY, WINDOW)[0].isoformat(), "ok"),
                                                                  (SHIFT.isoformat(), "ok")]
    assert [r["agent_id"] for r in quant] == [f"sector_quant@s{n}-{r['prompt_version'][:12]}-{r['original_model']}"
                                              for n, r in enumerate(quant, 1)]  # unique per version and model
    assert sum(r["n_artifacts"] for r in quant) == next(
        r["n_artifacts"] for r in results if r["agent_id"] == "sector_quant" and r["scope"] == "family")
    assert not [dp for dp in templates_datapoints(results, DAY) if "@" in dp.dimensions["judged_agent_id"]]
