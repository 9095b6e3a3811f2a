"""Verdicts: crafted windows must yield each status; kappa and rule stability are checked."""

import datetime as dt
import random

import dagster as dg
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from alpha_replay_assets.checks.verdicts import flips
from alpha_replay_assets.paths import verdicts_key
from alpha_replay_assets.rule_fit import fit_rule, rule_stability
from alpha_replay_assets.stats import cohen_kappa
from alpha_replay_assets.verdict_rules import VerdictConfig, build_verdicts, decide
from helpers import DAY as END_DAY
from jobs.catalog import ALL_ASSETS

END = dt.date(2026, 11, 27)
CONFIG = VerdictConfig()
MODEL = "claude-haiku-4-5"


def test_kappa_matches_scikit_learn():
    rng = random.Random(4)
    a = [rng.choice(["ADVANCE", "REJECT"]) for _ in range(200)]
    b = [x if rng.random() < 0.8 else rng.choice(["ADVANCE", "REJECT"]) for x in a]
    kappa, confusion = cohen_kappa(list(zip(a, b)))
    assert kappa == pytest.approx(cohen_kappa_score(a, b))
    assert sum(sum(row.values()) for row in confusion.values()) == 200
    regimes = ["bull", "bear", "neutral", "caution"]
    a = [rng.choice(regimes) for _ in range(100)]
    b = [x if rng.random() < 0.6 else rng.choice(regimes) for x in a]
    assert cohen_kappa(list(zip(a, b)))[0] == pytest.approx(cohen_kappa_score(a, b))
    assert cohen_kappa([("bull", "bull")] * 5)[0] is None  # undefined, not 1.0 or a crash


def _evidence(**kw):
    base = {"n_artifacts": 50, "last_seen": END.isoformat(), "n_paired": 40, "cheap_agreement": 0.8,
            "ceiling_agreement": 0.8, "diff": 0.0, "diff_ci_low": -0.02, "diff_ci_high": 0.02,
            "ratio_ci_low": 0.95, "ratio_ci_high": 1.05}
    return base | kw


@pytest.mark.parametrize("family, evidence, status", [
    ("executor", _evidence(), "unsupported"),  # deterministic: no LLM decision to judge
    ("mystery_agent", _evidence(n_llm=0), "unsupported"),  # unregistered and deterministic
    ("mystery_agent", _evidence(n_llm=50), "demote_candidate"),  # unregistered LLM family: judged structurally
    ("thinktank_thesis", _evidence(cheap_agreement=0.5, diff=-0.3, diff_ci_low=-0.35, diff_ci_high=-0.25,
                                   ratio_ci_low=0.55, ratio_ci_high=0.7), "keep"),
    ("ic_cio", _evidence(n_artifacts=0, last_seen=None), "no_input"),
    ("ic_cio", _evidence(last_seen=(END - dt.timedelta(days=5)).isoformat()), "stale_input"),
    ("ic_cio", _evidence(), "demote_candidate"),  # as good as the original's own noise
    ("ic_cio", _evidence(cheap_agreement=0.5, diff=-0.3, diff_ci_low=-0.35, diff_ci_high=-0.25,
                         ratio_ci_low=0.55, ratio_ci_high=0.7), "keep"),
    ("ic_cio", _evidence(n_paired=4), "insufficient_evidence"),
    ("ic_cio", _evidence(ratio_ci_low=0.8, ratio_ci_high=1.0, diff=-0.1, diff_ci_low=-0.15), "insufficient_evidence"),
    ("macro_economist", _evidence(n_paired=0, ratio_ci_low=None, rule_heldout=0.93, rule_baseline=0.4,
                                  rule_stable=True), "demote_candidate"),
    ("macro_economist", _evidence(n_paired=0, ratio_ci_low=None, rule_heldout=0.93, rule_baseline=0.4,
                                  rule_stable=False), "insufficient_evidence"),
])
def test_decide_yields_each_status_with_its_numbers(family, evidence, status):
    got, reason = decide(family, evidence, END, CONFIG)
    assert got == status
    assert reason and (status in ("unsupported", "no_input", "stale_input") or any(c.isdigit() for c in reason))


def _replays(family, scores, model, prefix="k"):
    return pd.DataFrame({"key": [f"{prefix}{i}" for i in range(len(scores))], "agent_id_base": family,
                         "target_model": model, "outcome": "structured", "agreement_score": scores,
                         "label_pairs": None, "input_tokens": 200, "output_tokens": 200, "cache_read_tokens": 800,
                         "cache_create_tokens": 0, "day": END.isoformat()})


def _index(families_days):
    rows = [{"key": f"k{i}", "agent_id_base": f, "status": "ok", "is_llm": True, "cost_usd": 0.05,
             "is_placeholder": False, "day": d}
            for f, days in families_days.items() for i, d in enumerate(days)]
    return pd.DataFrame(rows)


def test_crafted_window_yields_demote_keep_insufficient_stale_and_no_input():
    rng = random.Random(0)
    noise = [min(1.0, max(0.0, rng.gauss(0.8, 0.1))) for _ in range(40)]
    index = _index({"sector_quant": [END.isoformat()] * 40, "sector_qual": [END.isoformat()] * 40,
                    "thesis_update": [END.isoformat()] * 3,
                    "sector_peer_review": [(END - dt.timedelta(days=6)).isoformat()] * 20,
                    "thinktank_theme": [END.isoformat()] * 5})
    cheap = pd.concat([
        _replays("sector_quant", noise, MODEL),  # equal to the original's own noise ...
        _replays("sector_quant", [0.0] * 10, MODEL, prefix="unpaired"),  # ... on the artifacts both replayed
        _replays("sector_qual", [s - 0.3 for s in noise], MODEL),  # clearly below
        _replays("thesis_update", noise[:3], MODEL),  # thin
    ])
    ceiling = pd.concat([_replays(f, noise, "claude-opus-4-1")
                         for f in ("sector_quant", "sector_qual", "thesis_update")])
    table = build_verdicts(index, cheap, ceiling, None, END, MODEL, CONFIG, {}).set_index("agent_id_base")
    assert table.loc["sector_quant", "status"] == "demote_candidate"
    assert table.loc["sector_qual", "status"] == "keep"
    assert table.loc["thesis_update", "status"] == "insufficient_evidence"
    assert table.loc["sector_peer_review", "status"] == "stale_input"  # stopped producing 6 days ago
    assert table.loc["ic_cio", "status"] == "no_input" and table.loc["macro_economist", "status"] == "no_input"
    assert table.loc["thinktank_theme", "status"] == "insufficient_evidence"  # judged now, but nothing replayed
    assert table.loc["thinktank_theme", "scorer"] == "thinktank_theme"
    assert table.loc["thinktank_thesis", "status"] == "no_input"  # a judged family always has a row
    mean = f"{sum(noise) / len(noise):.3f}"
    assert f"cheap {mean} vs ceiling {mean} (n=40)" in table.loc["sector_quant", "reason"]
    assert "CI [1.000, 1.000]" in table.loc["sector_quant", "reason"]
    quant = table.loc["sector_quant"]
    assert quant["usd_per_week_now"] == pytest.approx(40 * 0.05)
    assert quant["usd_per_week_cheap"] == pytest.approx(40 * (1000 * 1.0 + 200 * 5.0) / 1e6)
    assert quant["usd_per_week_cheap_batch"] == pytest.approx(quant["usd_per_week_cheap"] / 2)
    # 800 of the 1000 input tokens read from the prompt cache at 0.1x
    assert quant["usd_per_week_cheap_cached"] == pytest.approx(40 * (200 * 1.0 + 800 * 0.1 + 200 * 5.0) / 1e6)
    assert quant["usd_saving_per_week"] == pytest.approx(quant["usd_per_week_now"] - quant["usd_per_week_cheap"])


def test_a_fit_that_is_not_evidence_never_reaches_the_verdict_and_stubs_are_counted():
    index = _index({"macro_economist": [END.isoformat()] * 12, "ic_cio": [END.isoformat()] * 12})
    index["is_placeholder"] = [True] * 12 + [True] * 3 + [False] * 9
    fits = pd.DataFrame([
        # a confident, stable rule on defaults: it would demote on its own if it were evidence
        {"agent_id_base": "macro_economist", "scope": "family", "status": "no_features", "heldout_accuracy": None,
         "reason": "7 of 8 declared features absent (present in < 50% of 12 decisions): cpi_yoy 0%, ...",
         "baseline": None, "rule_stable": None},
        {"agent_id_base": "ic_cio", "scope": "family", "status": "fitted", "heldout_accuracy": 0.95, "reason": None,
         "baseline": 0.5, "rule_stable": True},
    ])
    empty = _replays("ic_cio", [], MODEL)
    table = build_verdicts(index, empty, empty, fits, END, MODEL, CONFIG, {}).set_index("agent_id_base")
    macro, ic = table.loc["macro_economist"], table.loc["ic_cio"]
    assert macro["status"] == "insufficient_evidence" and pd.isna(macro["rule_heldout"])
    assert macro["rule_status"] == "no_features" and macro["n_stub_prompts"] == 12
    assert macro["reason"].endswith("; rule fit not evidence: no_features (7 of 8 declared features absent (present "
                                    "in < 50% of 12 decisions): cpi_yoy 0%, ...); 12 of 12 artifacts have stub "
                                    "prompts: not replayed")
    assert ic["status"] == "demote_candidate" and ic["rule_heldout"] == 0.95  # a real fit is evidence
    assert ic["reason"].endswith("; 3 of 12 artifacts have stub prompts: not replayed")


def test_rule_stability_detects_a_changed_split_feature():
    rng = random.Random(2)
    rows = [{"a": rng.uniform(0, 100), "b": rng.uniform(0, 100)} for _ in range(300)]
    by_a = fit_rule(["X" if r["a"] > 50 else "Y" for r in rows], rows)
    by_a_again = fit_rule(["X" if r["a"] > 51 else "Y" for r in rows], rows)
    by_b = fit_rule(["X" if r["b"] > 50 else "Y" for r in rows], rows)
    shared = pd.DataFrame(rows)
    same = rule_stability(by_a_again["tree_json"], by_a["tree_json"], shared)
    assert same["rule_same_features"] and same["rule_stable"] and same["rule_prediction_agreement"] > 0.95
    changed = rule_stability(by_b["tree_json"], by_a["tree_json"], shared)
    assert not changed["rule_same_features"] and not changed["rule_stable"]


def test_flips_are_flagged_with_both_reasons():
    previous = pd.DataFrame({"agent_id_base": ["a", "b"], "target_model": "m", "status": ["keep", "keep"],
                             "reason": ["low agreement", "low"]})
    current = pd.DataFrame({"agent_id_base": ["a", "b"], "target_model": "m",
                            "status": ["demote_candidate", "insufficient_evidence"], "reason": ["high agreement", "?"]})
    assert flips(current, previous) == {"a/m": "keep -> demote_candidate; was: low agreement; now: high agreement"}


def test_asset_gives_every_family_a_verdict_and_writes_the_report(all_resources, store, seeded):
    from jobs.catalog import ALL_ASSETS, ALL_CHECKS, PARTITION_CHECKS

    days = seeded(days=[END_DAY - dt.timedelta(days=n) for n in (2, 1, 0)])
    with dg.instance_for_test() as instance:
        result = dg.materialize(ALL_ASSETS + ALL_CHECKS, resources=all_resources, instance=instance,
                                selection=dg.AssetSelection.assets(*ALL_ASSETS).without_checks()
                                | dg.AssetSelection.checks(*PARTITION_CHECKS),
                                tags={"dagster/asset_partition_range_start": days[0].isoformat(),
                                      "dagster/asset_partition_range_end": days[-1].isoformat()})
    assert result.success
    table = store.read_parquet(verdicts_key(store, END_DAY)).set_index("agent_id_base")
    assert {"sector_quant", "sector_qual", "sector_peer_review", "macro_economist", "ic_cio", "thesis_update",
            "thinktank_thesis", "thinktank_theme", "executor", "mystery_agent"} <= set(table.index)
    assert set(table["status"]) <= {"keep", "demote_candidate", "insufficient_evidence", "no_input",
                                    "stale_input", "unsupported", "no_cheaper_target"}
    # every family under Haiku here (the fixture's one target): the think tank's router original costs less;
    # only an earlier rule (its templated rationales, rule 6) may decide before no_cheaper_target (rule 7)
    thesis = table.loc["thinktank_thesis"]
    assert thesis["status"] == "no_cheaper_target" or thesis["reason"].startswith("its rationales are one template")
    assert table.loc["thinktank_thesis", "target_cost_ratio"] > 1 and table.loc["ic_cio", "target_cost_ratio"] < 1
    assert table.loc["executor", "status"] == "unsupported" and "deterministic" in table.loc["executor", "reason"]
    mystery = table.loc["mystery_agent"]
    assert mystery["scorer"] == "structural" and "structural scorer" in mystery["reason"]
    assert table.loc["mystery_agent", "status"] in ("keep", "demote_candidate", "insufficient_evidence")
    assert table.loc["ic_cio", "scorer"] == "ic_cio"
    assert table["reason"].str.len().gt(10).all()
    assert table.loc["ic_cio", "kappa"] == table.loc["ic_cio", "kappa"]  # computed (not NaN)
    report = store.get_bytes(verdicts_key(store, END_DAY, "report.md")).decode()
    assert report.startswith(f"# Agent verdicts, window ending {END_DAY}") and "**ic_cio**" in report
    checks = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
    assert checks["agent_verdicts", "every_family_has_a_row"].passed
    [mat] = [m for m in result.asset_materializations_for_node("agent_verdicts") if m.partition == END_DAY.isoformat()]
    assert sum(mat.metadata[f"verdicts/{s}"].value for s in ("keep", "demote_candidate", "insufficient_evidence",
               "no_input", "stale_input", "unsupported", "no_cheaper_target")) == len(table)


def test_range_run_gives_each_window_its_own_metadata_and_a_verdict_table(all_resources, seeded):
    """The UI plots numeric metadata over partitions: in a range run each window end must carry its
    own numbers (not the newest window's copied onto every partition), and the verdicts a table."""
    days = seeded([END_DAY - dt.timedelta(days=1), END_DAY])
    with dg.instance_for_test() as instance:
        result = dg.materialize(ALL_ASSETS, resources=all_resources, instance=instance, tags={
            "dagster/asset_partition_range_start": days[0].isoformat(),
            "dagster/asset_partition_range_end": days[-1].isoformat()})
    assert result.success
    fits = {m.partition: m.metadata for m in result.asset_materializations_for_node("counterfactual_fits")}
    assert [fits[d.isoformat()]["window_end"].value for d in days] == [d.isoformat() for d in days]
    assert [fits[d.isoformat()]["days_present"].value for d in days] == [1, 2]
    verdicts = {m.partition: m.metadata for m in result.asset_materializations_for_node("agent_verdicts")}
    table = verdicts[days[-1].isoformat()]["verdict_table"]
    assert {c.name for c in table.schema.columns} >= {"agent_id_base", "status", "why", "cheap_agreement"}
    rows = {r.data["agent_id_base"]: r.data for r in table.records}
    assert {"ic_cio", "thinktank_thesis", "executor"} <= set(rows)
    assert rows["executor"]["status"] == "unsupported" and rows["executor"]["why"] == (
        "deterministic executor (no LLM decision)")  # the reason's phrase, its numbers in the columns
    assert verdicts[days[-1].isoformat()]["report_uri"].value.endswith("report.md")
    assert any(k.startswith("cheap_agreement/ic_cio/") for k in verdicts[days[-1].isoformat()])


@pytest.mark.parametrize("ci, phrase", [
    ((-0.068, -0.026), "measurably below the original but within the tolerance"),  # the CI excludes 0
    ((-0.04, 0.01), "within the original's own noise"),  # the CI holds 0
])
def test_a_demotion_phrase_agrees_with_the_difference_ci_it_cites(ci, phrase):
    evidence = _evidence(cheap_agreement=0.834, ceiling_agreement=0.881, diff=-0.047, diff_ci_low=ci[0],
                         diff_ci_high=ci[1], ratio_ci_low=0.92, ratio_ci_high=0.99)
    status, reason = decide("thinktank_thesis", evidence, END, CONFIG)
    assert status == "demote_candidate" and phrase in reason
    assert f"difference 95% CI [{ci[0]:+.3f}, {ci[1]:+.3f}]" in reason
