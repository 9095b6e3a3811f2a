"""Rationale template concentration (docs/domain.md §3b): the clusters are greedy single linkage's, the
index carries each family's rationales, templated agents are found and named, and a family whose
producer stopped gets no datapoint and a failing check (the original metric's last failure)."""

import datetime as dt
import json
import random

import dagster as dg
import numpy as np
import pytest

from alpha_replay_assets import families
from alpha_replay_assets.artifacts import ListedObject, index_row
from alpha_replay_assets.checks.rationales import RATIONALE_CHECKS
from alpha_replay_assets.family_spec.family import strings_at
from alpha_replay_assets.family_spec.synthetic import FILLER, TICKERS
from alpha_replay_assets.index import artifact_index
from alpha_replay_assets.paths import templates_agent_key, templates_agent_latest_key, templates_key
from alpha_replay_assets.rationale_clusters import close_pairs, cluster, normalise, tfidf, vectoriser
from alpha_replay_assets.rationale_templates import METRIC, METRIC_N, rationale_templates
from alpha_replay_assets.sample.corpus import day_objects
from alpha_replay_assets.verdict_rules import VerdictConfig, decide
from helpers import DAY, pinned

# a vocabulary of real size: most character 5-grams are rare, as in production prose
WORDS = [*FILLER, *(t.lower() for t in TICKERS), *(f"{a}{b}" for a in ("re", "de", "pre", "over") for b in FILLER)]


def varied(rng: random.Random) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(8, 16)))


def sample(n: int = 400, seed: int = 3) -> list[str]:
    """Templates with numbers swapped, their word-order variants, chains and varied prose."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.3:
            texts.append(f"Technical score {rng.uniform(0, 99):.1f} with momentum {rng.gauss(0, 5):.2f}; "
                         + " ".join(rng.sample(["trend", "breakout", "support", "strength"], 4)) + ".")
        elif kind < 0.45:
            texts.append(f"{rng.choice(TICKERS)} thesis {rng.choice(['strengthened', 'weakened'])} on "
                         f"{rng.choice(['news spike', 'earnings surprise', 'price move'])}")
        elif kind < 0.55:  # one edit away from its neighbour: chains of near-duplicates
            base = varied(random.Random(int(rng.random() * 5)))
            words = base.split()
            words[rng.randrange(len(words))] = rng.choice(WORDS)
            texts.append(" ".join(words))
        else:
            texts.append(varied(rng))
    return texts


def greedy_single_linkage(texts: list[str], threshold: float = 0.75) -> list[set[int]]:
    """The reference: TF-IDF of the whole list (duplicates included), full cosine matrix, and each
    text joins (and merges) every cluster holding a member at or above the threshold."""
    normal = [normalise(t) for t in texts]
    matrix = vectoriser().fit_transform(normal)
    similarity = (matrix @ matrix.T).toarray()
    clusters: list[set[int]] = []
    for i in range(len(texts)):
        joined = [c for c in clusters if any(similarity[i, j] >= threshold - 1e-9 for j in c)]
        merged = {i}.union(*joined)
        clusters = [c for c in clusters if c not in joined] + [merged]
    return clusters


def test_normalise_is_structure_not_meaning():
    assert normalise("  Score 12.5 and\tRSI 61,2 on  2026-07-01 ") == "score # and rsi # on #-#-#"


def test_clusters_equal_greedy_single_linkage_on_a_fixed_sample():
    texts = sample()
    reference = greedy_single_linkage(texts)
    result = cluster(texts)
    assert sorted(result.sizes, reverse=True) == sorted((len(c) for c in reference), reverse=True)
    as_texts = sorted(sorted({texts[i] for i in c}) for c in reference)
    assert sorted(sorted(members) for members in result.members) == as_texts
    assert result.sizes[0] > 100 and len(result.sizes) > 150  # templated and varied both present
    assert result.concentration == pytest.approx(sum(sorted(map(len, reference), reverse=True)[:3]) / len(texts))


def test_prefix_filtered_pairs_are_all_pairs_above_the_threshold():
    distinct = sorted({normalise(t) for t in sample(600, seed=11)})
    weights = np.arange(1, len(distinct) + 1) % 3 + 1.0
    # the fitted vectors are the vectoriser's on the corpus with its duplicates
    corpus = [t for t, w in zip(distinct, weights) for _ in range(int(w))]
    expected = vectoriser().fit(corpus).transform(distinct)
    assert abs(tfidf(distinct, weights) - expected).max() < 1e-12
    full = (expected @ expected.T).toarray()
    i, j = np.nonzero(np.triu(full >= 0.75 - 1e-6, k=1))
    found_i, found_j = close_pairs(distinct, weights)
    assert set(zip(found_i.tolist(), found_j.tolist())) == set(zip(i.tolist(), j.tolist()))
    assert 0 < len(i) < len(distinct) ** 2 / 100  # some close pairs, most pairs far


def test_thin_blank_and_gramless_rationales():
    assert cluster([]).concentration is None and cluster(["  ", ""]).n == 0
    assert cluster(["a", "b", "ok", "x", "y"]).sizes == [1, 1, 1, 1, 1]  # no 3-gram: no similarity
    thin = cluster(["same text 1", "same text 2", "same text 3", "same text 4"])
    assert thin.sizes == [4] and thin.concentration is None  # 4 < 5: no metric
    assert cluster([f"same text {n}" for n in range(5)]).concentration == 1.0


def test_rationale_paths_read_free_form_outputs():
    output = {"ranked_picks": [{"rationale": "a"}, {"rationale": 3}, "junk", {}], "thesis": {"summary": "s"}}
    assert strings_at(output, ["ranked_picks[]", "rationale"]) == ["a"]
    assert strings_at(output, ["thesis", "summary"]) == ["s"]
    assert strings_at({"ranked_picks": "not a list"}, ["ranked_picks[]", "rationale"]) == []
    assert families.REGISTRY["sector_peer_review"].rationale_texts(
        {"recommendations": [{"peer_review_rationale": "r1"}, {"peer_review_rationale": " "}],
         "peer_review_rationale": "team"}) == ["r1", "team"]


def test_index_rows_carry_each_familys_rationales_both_eras():
    found = {}
    for key, body in day_objects(DAY, "decision_artifacts", pinned(per_day=60, bad_fraction=0.0)):
        row = index_row(ListedObject(key, "e", len(body), dt.datetime.now(dt.UTC)), body, "decision_artifacts",
                        4 * 1024 * 1024)
        if row["status"] == "ok" and row.get("rationales"):
            found.setdefault(row["agent_id_base"], []).extend(json.loads(row["rationales"]))
    declared = {name for name, f in families.REGISTRY.items() if f.rationales}
    assert declared <= set(found)  # the graph families and the think tank
    assert "executor" not in found and "mystery_agent" not in found
    assert any(t.startswith("Technical score") for t in found["sector_quant"])


def _seed_and_index(seeded, resources, instance, days, spec):
    seeded(days=days, spec=spec)
    dg.materialize([artifact_index], resources=resources, instance=instance, tags={
        "dagster/asset_partition_range_start": min(days).isoformat(),
        "dagster/asset_partition_range_end": max(days).isoformat()})


def _materialise(resources, instance, window_days):
    config = {"window_days": window_days, "min_rationales_per_agent": 20}
    return dg.materialize([rationale_templates, *RATIONALE_CHECKS], resources=resources, instance=instance,
                          partition_key=DAY.isoformat(), raise_on_error=False,
                          run_config={"ops": {"rationale_templates": {"config": config}}})


def test_templated_agents_are_measured_emitted_and_named(all_resources, store, metrics, seeded):
    days = [DAY - dt.timedelta(days=n) for n in (2, 1, 0)]
    with dg.instance_for_test() as instance:
        _seed_and_index(seeded, all_resources, instance, days, pinned(per_day=120, bad_fraction=0.0, mix="legacy"))
        result = _materialise(all_resources, instance, 3)
    table = store.read_parquet(templates_key(store, DAY)).set_index("agent_id")
    assert table.loc["sector_quant", "status"] == "ok" and table.loc["sector_quant", "concentration"] > 0.7
    assert table.loc["sector_qual", "status"] == "ok" and table.loc["sector_qual", "concentration"] < 0.3
    assert table.loc["executor", "status"] == "unsupported"
    assert table.loc["thinktank_thesis", "status"] == "no_input"  # a legacy corpus: said, not omitted
    assert (table.loc[table["scope"] == "agent"].index.str.startswith("sector_")).any()
    assert (table["days_present"] == 3).all()

    quant = store.read_json(templates_agent_key(store, "sector_quant", DAY))
    assert sum(quant["cluster_sizes"]) == quant["n_rationales"] == table.loc["sector_quant", "n_rationales"]
    assert quant["clusters"][0]["representatives"][0].startswith("Technical score")
    latest = store.read_json(templates_agent_latest_key(store, "sector_quant"))
    assert latest["key"] == templates_agent_key(store, "sector_quant", DAY)

    now = dt.datetime.now(dt.UTC)
    _, value = metrics.newest(METRIC, {"judged_agent_id": "sector_quant"}, dt.timedelta(days=14), now)
    assert value == pytest.approx(table.loc["sector_quant", "concentration"])
    _, n = metrics.newest(METRIC_N, {"judged_agent_id": "sector_quant"}, dt.timedelta(days=14), now)
    assert n == table.loc["sector_quant", "n_rationales"]

    [mat] = result.asset_materializations_for_node("rationale_templates")
    assert mat.metadata["templates/sector_quant/concentration"].value == pytest.approx(value)
    assert "Technical score" in mat.metadata["templates/sector_quant/largest"].value
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    warned = checks["template_concentration_below_bound"]
    assert not warned.passed and warned.severity == dg.AssetCheckSeverity.WARN
    assert "sector_quant:" in warned.description and "largest: 'Technical score" in warned.description
    assert "sector_qual:" not in warned.description
    assert checks["rationale_corpus_fresh"].passed


def test_a_family_whose_producer_stopped_gets_no_datapoint_and_a_failing_check(all_resources, store, metrics,
                                                                                seeded):
    """The original metric's last failure: the graph families stopped writing, and it kept
    emitting freshly stamped datapoints over their frozen corpus."""
    stopped = [DAY - dt.timedelta(days=n) for n in (9, 8)]
    live = [DAY - dt.timedelta(days=n) for n in (2, 1, 0)]
    with dg.instance_for_test() as instance:
        _seed_and_index(seeded, all_resources, instance, stopped, pinned(per_day=60, bad_fraction=0.0, mix="legacy"))
        _seed_and_index(seeded, all_resources, instance, live,
                        pinned(mix="today", bad_fraction=0.0, think_tank_scale=3))
        result = _materialise(all_resources, instance, 10)
    table = store.read_parquet(templates_key(store, DAY)).set_index("agent_id")
    quant = table.loc["sector_quant"]
    assert quant["status"] == "stale_input" and quant["last_seen"] == stopped[-1].isoformat()
    assert quant["concentration"] > 0.7  # measured and shown, never published
    assert table.loc["thinktank_thesis", "status"] == "ok"
    now = dt.datetime.now(dt.UTC)
    assert metrics.newest(METRIC, {"judged_agent_id": "sector_quant"}, dt.timedelta(days=14), now) is None
    assert metrics.newest(METRIC, {"judged_agent_id": "thinktank_thesis"}, dt.timedelta(days=14), now) is not None
    fresh = {e.check_name: e for e in result.get_asset_check_evaluations()}["rationale_corpus_fresh"]
    assert not fresh.passed and fresh.severity == dg.AssetCheckSeverity.ERROR
    assert "sector_quant: last artifact on" in fresh.description and "thinktank_thesis" not in fresh.description


def test_a_templated_family_is_a_demote_candidate_in_the_documented_order():
    config = VerdictConfig()
    e = {"n_artifacts": 40, "n_llm": 40, "last_seen": DAY.isoformat(), "n_paired": 3,
         "template_concentration": 0.93, "n_rationales": 400}
    status, reason = decide("sector_quant", e, DAY, config)
    assert status == "demote_candidate" and "the 3 largest template clusters hold 0.930 of 400" in reason
    assert decide("sector_quant", e | {"n_rationales": 12}, DAY, config)[0] == "insufficient_evidence"  # thin
    assert decide("sector_quant", e | {"template_concentration": 0.5}, DAY, config)[0] == "insufficient_evidence"
    stale = e | {"last_seen": (DAY - dt.timedelta(days=5)).isoformat()}
    assert decide("sector_quant", stale, DAY, config)[0] == "stale_input"  # a stale corpus is never evidence
