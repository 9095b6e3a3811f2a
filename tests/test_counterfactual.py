"""Rule fits: known rules are recovered, noise is not mistaken for a rule, every agent gets a row."""

import datetime as dt
import json
import random

import dagster as dg
import pandas as pd
import pytest

from alpha_replay_assets import counterfactual
from alpha_replay_assets.counterfactual import METRIC, METRIC_N, counterfactual_fits, fit_window
from alpha_replay_assets.families import REGISTRY
from alpha_replay_assets.families.macro_economist import FEATURES as MACRO_FEATURES
from alpha_replay_assets.family_spec.fitting import feature_row
from alpha_replay_assets.index import artifact_index
from alpha_replay_assets.paths import artifact_key, fit_agent_key, fit_agent_latest_key, fits_key
from alpha_replay_assets.rule_fit import fit_rule
from helpers import DAY


def test_known_rule_is_recovered():
    rng = random.Random(0)
    features = [{"a": rng.uniform(0, 100), "b": rng.uniform(0, 1), "noise": rng.gauss(0, 1)} for _ in range(400)]
    labels = ["ADVANCE" if f["a"] > 60 and f["b"] > 0.3 else "REJECT" for f in features]
    fit = fit_rule(labels, features)
    assert fit["status"] == "fitted" and fit["match_rate"] > 0.97
    assert fit["heldout_accuracy"] > 0.95 and fit["lift"] > 0.2
    assert fit["heldout_ci_low"] < fit["heldout_accuracy"] < fit["heldout_ci_high"]
    assert "a <=" in fit["tree_text"] and "b <=" in fit["tree_text"]
    assert set(fit["feature_importances"]) <= {"a", "b", "noise"} and fit["feature_importances"]["a"] > 0.3


def test_random_labels_score_near_baseline_held_out_but_high_in_sample():
    rng = random.Random(1)
    features = [{f"x{i}": rng.gauss(0, 1) for i in range(6)} for _ in range(60)]
    labels = [rng.choice(["ADVANCE", "REJECT"]) for _ in features]
    fit = fit_rule(labels, features)
    assert fit["match_rate"] > fit["baseline"] + 0.15  # the tree memorises noise in-sample ...
    assert abs(fit["heldout_accuracy"] - fit["baseline"]) < 0.2  # ... which held-out exposes
    assert fit["heldout_accuracy"] < fit["match_rate"]


def test_thin_single_class_and_one_sample_class():
    assert fit_rule(["A"] * 5 + ["B"] * 4, [{"x": float(i)} for i in range(9)])["status"] == "thin_sample"
    assert fit_rule(["A"] * 12, [{"x": float(i)} for i in range(12)])["status"] == "single_class"
    lonely = fit_rule(["A"] * 11 + ["B"], [{"x": float(i)} for i in range(12)])
    assert lonely["status"] == "fitted" and lonely["heldout_accuracy"] is None
    assert "one sample" in lonely["heldout_note"]


def _window(rows):
    index = pd.DataFrame(rows, columns=["key", *counterfactual.WINDOW_COLUMNS])
    return counterfactual.Decisions({dt.date(2026, 11, 20): counterfactual.decision_tables(index)})


def test_every_family_gets_a_row_and_bad_rows_are_excluded_with_reasons():
    good = [{"label": "bull" if i % 2 else "bear", "features": {"vix": float(i)}, "all_default": i < 3}
            for i in range(20)]
    window = _window([
        {"key": "k1", "agent_id": "macro_economist", "agent_id_base": "macro_economist", "status": "ok",
         "decision_features": json.dumps(good + [{"label": "bull", "error": "vix='high' is not a finite number"}])},
        {"key": "k2", "agent_id": "executor:risk_guard", "agent_id_base": "executor", "status": "ok",
         "decision_features": None},
        {"key": "k3", "agent_id": "mystery_agent", "agent_id_base": "mystery_agent", "status": "ok",
         "decision_features": None},
        {"key": "k4", "agent_id": "ic_cio", "agent_id_base": "ic_cio", "status": "malformed_json",
         "decision_features": None},
        {"key": "k5", "agent_id": "thinktank_thesis", "agent_id_base": "thinktank_thesis", "status": "ok",
         "decision_features": json.dumps(good[:4])},
    ])
    results = {r["agent_id"]: r for r in fit_window(window)}
    assert results["macro_economist"]["status"] == "fitted" and results["macro_economist"]["reason"] is None
    macro = results["macro_economist"]
    assert macro["rows_excluded"] == 1 and macro["excluded_reasons"] == {"vix": 1}
    assert results["macro_economist"]["feature_coverage"] == pytest.approx(1 - 3 / 20)
    assert results["executor"]["status"] == "unsupported" and "deterministic" in results["executor"]["reason"]
    assert results["mystery_agent"]["status"] == "unsupported" and "unregistered" in results["mystery_agent"]["reason"]
    assert results["thinktank_thesis"]["status"] == "thin_sample"
    assert results["thinktank_thesis"]["reason"] == "4 decisions < 10"
    # judged but not fittable (its snapshot holds no number), and not in the window: a row all the same
    theme = results["thinktank_theme"]
    assert theme["status"] == "unsupported" and "no numeric input" in theme["reason"]
    assert results["ic_cio"]["status"] == "no_input"  # only a bad row: no input, said out loud
    no_input = {f for f, r in results.items() if r["status"] == "no_input"}
    assert {"sector_quant", "thesis_update", "sector_qual"} <= no_input
    assert all(r["scope"] == "family" for r in results.values())


def test_per_agent_fits_where_the_sample_allows_and_the_roll_up_always():
    rng = random.Random(5)

    def rows(n):
        features = [{"momentum": rng.gauss(0, 1)} for _ in range(n)]
        return json.dumps([{"label": "picked" if f["momentum"] > 0 else "not_picked", "features": f,
                            "all_default": False} for f in features])
    window = _window([
        {"key": "a", "agent_id": "sector_quant:technology", "agent_id_base": "sector_quant", "status": "ok",
         "decision_features": rows(60)},
        {"key": "b", "agent_id": "sector_quant:energy", "agent_id_base": "sector_quant", "status": "ok",
         "decision_features": rows(20)},
        {"key": "c", "agent_id": "sector_quant:energy", "agent_id_base": "sector_quant", "status": "ok",
         "decision_features": rows(20)},
        {"key": "d", "agent_id": "sector_quant:utilities", "agent_id_base": "sector_quant", "status": "ok",
         "decision_features": rows(5)},
    ])
    results = {r["agent_id"]: r for r in fit_window(window, min_rows_per_agent=40)}
    assert set(results) >= {"sector_quant", "sector_quant:technology", "sector_quant:energy"}
    assert "sector_quant:utilities" not in results  # 5 rows: only in the roll-up
    assert results["sector_quant"]["scope"] == "family" and results["sector_quant"]["n_samples"] == 105
    assert results["sector_quant:energy"]["scope"] == "agent" and results["sector_quant:energy"]["n_samples"] == 40
    assert results["sector_quant:technology"]["status"] == "fitted"
    assert results["sector_quant:technology"]["heldout_accuracy"] > 0.9
    assert results["sector_quant:technology"]["target"] == REGISTRY["sector_quant"].fit.target  # the family's own


def test_a_fit_error_is_recorded_and_does_not_lose_the_others(monkeypatch):
    def fragile(labels, features, coverage):
        if labels and labels[0] in ("ADVANCE", "REJECT"):
            raise ValueError("boom")
        return {"status": "fitted", "n_samples": len(labels)}
    monkeypatch.setattr(counterfactual, "fit_rule", fragile)
    window = _window([
        {"key": "a", "agent_id": "ic_cio", "agent_id_base": "ic_cio", "status": "ok",
         "decision_features": json.dumps([{"label": "ADVANCE", "features": {"x": 1.0}, "all_default": False}])},
        {"key": "b", "agent_id": "macro_economist", "agent_id_base": "macro_economist", "status": "ok",
         "decision_features": json.dumps([{"label": "bull", "features": {"x": 1.0}, "all_default": False}])},
    ])
    results = {r["agent_id_base"]: r for r in fit_window(window)}
    assert results["ic_cio"]["status"] == "fit_error" and "boom" in results["ic_cio"]["error"]
    assert results["macro_economist"]["status"] == "fitted"


def test_asset_fits_the_seeded_window_with_missing_days(all_resources, store, metrics, seeded, s3_server):
    """A graph run writes one macro_economist and one ic_cio artifact a day (the producers' reality),
    so the window is long enough for a per-artifact family to reach MIN_SAMPLES: its first day is
    never indexed (missing), DAY-2 is indexed but empty (present)."""
    from helpers import SMALL
    window_days = 14
    days = seeded(days=[DAY - dt.timedelta(days=n) for n in reversed(range(window_days - 1)) if n != 2],
                  spec=SMALL.__class__(per_day=60, bad_fraction=0.02, mix="legacy"))
    with dg.instance_for_test() as instance:
        dg.materialize([artifact_index], resources=all_resources, instance=instance, tags={
            "dagster/asset_partition_range_start": days[0].isoformat(),
            "dagster/asset_partition_range_end": days[-1].isoformat()})
        s3_server.reset_counts()
        result = dg.materialize([counterfactual_fits], resources=all_resources, instance=instance,
                                partition_key=DAY.isoformat(),
                                run_config={"ops": {"counterfactual_fits": {"config": {"window_days": window_days}}}})
    table = store.read_parquet(fits_key(store, DAY)).set_index("agent_id")
    counts = s3_server.request_counts()
    present = window_days - 1  # the range indexed DAY-2 too (an empty day is present)
    # per window day present: a tail GET (the footer and the smallest columns), then the features' range;
    # the day never indexed: one GET, not found
    assert counts["GET artifact_index"] <= 2 * present + 1
    # plus a latest pointer per result and the previous window's fits
    assert counts["GET"] <= counts["GET artifact_index"] + len(table) + 2
    committees = [store.read_json(artifact_key(store.capture_prefix, d, "ic_cio", d.isoformat())) for d in days]
    decided = sum(d["decision"] in ("ADVANCE", "REJECT") for c in committees for d in c["agent_output"]["ic_decisions"])
    assert table.loc["ic_cio", "status"] == "fitted"
    assert table.loc["ic_cio", "n_samples"] == decided > 50  # a row per decision, none lost
    assert table.loc["ic_cio", "heldout_accuracy"] > table.loc["ic_cio", "baseline"]
    assert table.loc["executor", "status"] == "unsupported" and table.loc["mystery_agent", "status"] == "unsupported"
    assert table.loc["thinktank_thesis", "status"] == "no_input"  # a legacy corpus: said, not omitted
    newly_fitted = table.loc[["sector_quant", "sector_qual", "sector_peer_review", "thesis_update"]]
    assert (newly_fitted["status"] == "fitted").all()
    assert (newly_fitted["heldout_accuracy"] > newly_fitted["baseline"] + 0.1).all()  # the hidden rules are found
    per_sector = table[table["scope"] == "agent"]
    assert len(per_sector) >= 7 and per_sector.index.str.startswith("sector_").all()
    assert (table["days_present"] == present).all()
    macro = store.read_json(fit_agent_key(store, "macro_economist", DAY))
    assert macro["status"] == "fitted" and macro["n_samples"] == len(days)  # one regime a day
    assert macro["coverage"] == round(present / window_days, 4)
    assert macro["days_missing"] == [(DAY - dt.timedelta(days=window_days - 1)).isoformat()]  # never indexed
    assert set(macro["split_features"]) <= set(MACRO_FEATURES) and "vix" in macro["split_features"]
    assert macro["feature_coverage"] == 1.0  # the fixed mapping reads macro_data: no all-default rows
    assert store.read_json(fit_agent_latest_key(store, "ic_cio"))["key"] == fit_agent_key(store, "ic_cio", DAY)

    now = dt.datetime.now(dt.UTC)
    _, value = metrics.newest(METRIC, {"judged_agent_id": "ic_cio"}, dt.timedelta(days=14), now)
    assert value == pytest.approx(table.loc["ic_cio", "match_rate"])
    newest = metrics.newest(METRIC_N, {"judged_agent_id": "ic_cio"}, dt.timedelta(days=14), now)
    assert newest[1] == table.loc["ic_cio", "n_samples"]
    [mat] = result.asset_materializations_for_node("counterfactual_fits")
    assert mat.metadata["fit/ic_cio/heldout_accuracy"].value == pytest.approx(table.loc["ic_cio", "heldout_accuracy"])
    assert "qual_score" in mat.metadata["fit/ic_cio/rule"].value  # the hidden rule's bar is on quant and qual


def _rows(n, features, defaulted=(), label=lambda i: "bull" if i % 2 else "bear"):
    """Decision rows as an extractor writes them, `defaulted` features absent (at their default 0)."""
    return json.dumps([feature_row(label(i), {f: float(i) for f in features if f not in defaulted},
                                   {f: (f, 0.0) for f in features}) for i in range(n)])


def test_rows_name_their_defaulted_features():
    spec = {"vix": ("macro.vix", 0.0), "oas": ("macro.oas", 3.0)}
    assert feature_row("bull", {"macro": {"vix": 21.0}}, spec) == {
        "label": "bull", "features": {"vix": 21.0, "oas": 3.0}, "all_default": False, "defaulted": ["oas"]}
    assert "defaulted" not in feature_row("bull", {"macro": {"vix": 21.0, "oas": 4.0}}, spec)
    assert feature_row("bull", None, spec)["defaulted"] == ["vix", "oas"]


def test_a_fit_on_mostly_absent_features_is_no_features_and_names_them():
    window = _window([{"key": "k", "agent_id": "macro_economist", "agent_id_base": "macro_economist", "status": "ok",
                       "decision_features": _rows(40, ["vix", "oas", "cpi"], defaulted=("oas", "cpi"))}])
    macro = {r["agent_id"]: r for r in fit_window(window)}["macro_economist"]
    assert macro["status"] == "no_features" and "match_rate" not in macro  # no tree, no metric
    assert macro["missing_features"] == ["cpi", "oas"]
    assert macro["coverage_by_feature"] == {"vix": 1.0, "oas": 0.0, "cpi": 0.0}
    assert macro["feature_coverage"] == pytest.approx(1 / 3)  # not 1.0: no row was all-default
    assert macro["reason"] == "2 of 3 declared features absent (present in < 50% of 40 decisions): cpi 0%, oas 0%"


def test_a_minority_of_absent_features_is_fitted_and_says_what_it_lacked():
    window = _window([{"key": "k", "agent_id": "macro_economist", "agent_id_base": "macro_economist", "status": "ok",
                       "decision_features": _rows(40, ["vix", "oas", "cpi"], defaulted=("cpi",))}])
    macro = {r["agent_id"]: r for r in fit_window(window)}["macro_economist"]
    assert macro["status"] == "fitted" and macro["missing_features"] == ["cpi"]
    assert macro["reason"] == "fitted without the features absent in most decisions: cpi 0%"


def test_constant_features_are_not_evidence_and_old_rows_read_as_all_or_nothing():
    constant = json.dumps([{"label": "bull" if i % 2 else "bear", "features": {"vix": 20.0}, "all_default": False}
                           for i in range(30)])
    old = json.dumps([{"label": "bull" if i % 2 else "bear", "features": {"vix": float(i)}, "all_default": i < 20}
                      for i in range(30)])  # written before rows named their defaults
    window = _window([
        {"key": "a", "agent_id": "macro_economist", "agent_id_base": "macro_economist", "status": "ok",
         "decision_features": constant},
        {"key": "b", "agent_id": "ic_cio", "agent_id_base": "ic_cio", "status": "ok", "decision_features": old},
    ])
    results = {r["agent_id"]: r for r in fit_window(window)}
    assert results["macro_economist"]["status"] == "constant_features"
    assert "no feature varies over the 30 decisions" in results["macro_economist"]["reason"]
    assert results["ic_cio"]["status"] == "no_features"
    assert results["ic_cio"]["coverage_by_feature"] == {"vix": pytest.approx(1 / 3)}
    assert fit_rule(["A", "B"] * 10, [{"x": 1.0}] * 20)["status"] == "constant_features"


@pytest.mark.parametrize("seed", range(4))
def test_out_of_fold_predictions_are_sklearns_cross_val_predict(seed):
    """The held-out score's own fold loop gives exactly what `cross_val_predict` gives."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.tree import DecisionTreeClassifier

    from alpha_replay_assets.rule_fit import _as_tree_input, out_of_fold

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(97, 4)).round(1)
    y = (x[:, 0] + rng.normal(scale=0.7, size=97) > 0).astype(int) + (x[:, 1] > 1)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    expected = cross_val_predict(DecisionTreeClassifier(max_depth=3, random_state=0), x, y, cv=folds)
    assert (out_of_fold(_as_tree_input(x), y, 5) == expected).all() and len(set(y)) == 3


@pytest.mark.parametrize("seed", range(4))
def test_a_fit_is_the_tree_sklearns_checked_path_gives(seed):
    """Fits skip sklearn's per-call input checks (their own check runs once): the tree, its rule
    text and its in-sample score are those of a plain `DecisionTreeClassifier().fit`, on values
    that float32 rounds (1e-9 apart) and on wide ranges."""
    import numpy as np
    from sklearn.tree import DecisionTreeClassifier, export_text

    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.normal(size=120) * 10.0 ** rng.integers(-3, 6), 1 + rng.integers(0, 3, 120) * 1e-9,
                         rng.integers(0, 5, 120).astype(float)])
    labels = np.where(x[:, 0] > 0, "buy", np.where(x[:, 2] > 2, "hold", "sell")).tolist()
    fit = fit_rule(labels, [dict(zip(["a", "b", "c"], row)) for row in x])
    plain = DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, labels)
    assert fit["status"] == "fitted"
    assert fit["tree_text"] == export_text(plain, feature_names=["a", "b", "c"], class_names=list(plain.classes_))
    assert fit["match_rate"] == (plain.predict(x) == np.array(labels)).mean()


@pytest.mark.parametrize("value", [1e39, float("inf"), -float("inf")])
def test_a_value_float32_cannot_hold_fails_the_fit_as_sklearn_does(value):
    """sklearn refuses such a value (its own check); the fit's one check must too, not fit on inf."""
    import numpy as np
    from sklearn.tree import DecisionTreeClassifier

    features = [{"x": float(i % 7)} for i in range(30)]
    features[3]["x"] = value
    labels = ["A" if i % 7 > 3 else "B" for i in range(30)]
    with pytest.raises(ValueError):
        DecisionTreeClassifier().fit(np.array([[f["x"]] for f in features]), labels)
    with pytest.raises(ValueError, match="infinite or too large for float32"):
        fit_rule(labels, features)


def test_decision_tables_read_what_only_json_writes():
    """A feature of 1e400 is inf once parsed; the index writer's `json.dumps` keeps it as
    `Infinity`, which orjson refuses: the cell is still read, not lost."""
    cell = json.dumps([{"label": "buy", "features": {"a": float("inf"), "b": 1.0}, "defaulted": ["b"]}])
    index = pd.DataFrame({"agent_id": ["macro_economist"], "agent_id_base": ["macro_economist"],
                          "status": ["ok"], "decision_features": [cell]})
    tables, seen = counterfactual.decision_tables(index)
    table = tables["macro_economist"]
    assert table["feature:a"].tolist() == [float("inf")] and table["present:a"].tolist() == [True]
    assert table["present:b"].tolist() == [False] and seen["macro_economist"] == 1
