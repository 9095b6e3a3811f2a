"""The live think-tank families: scoring, kappa on stance, a fit that recovers the hidden stance
rule, and the corpus's `--mix today` (real weekly volume, weekend runs filed under Friday)."""

import datetime as dt
import json
import random
import re
from collections import Counter

import pytest

from alpha_replay_assets.families import REGISTRY
from alpha_replay_assets.families.thinktank_theme import side as theme_side
from alpha_replay_assets.families.thinktank_thesis import STANCES
from alpha_replay_assets.family_spec.fields import SchemaError
from alpha_replay_assets.family_spec.rule import Run
from alpha_replay_assets.rule_fit import fit_rule
from alpha_replay_assets.sample import corpus, schedule, unregistered
from alpha_replay_assets.stats import cohen_kappa

THESIS, THEME = REGISTRY["thinktank_thesis"], REGISTRY["thinktank_theme"]
RUN = Run(dt.date(2026, 7, 8), dt.date(2026, 7, 8), 0.0035)


def stored(rule, seed, noise=0.05):
    rng = random.Random(seed)
    snapshot = rule.snapshot(rng, RUN.day, None)
    return snapshot, rule.post_process(rule.decide(snapshot, rng, noise), snapshot, RUN, rng)


def test_thesis_scores_stance_rating_conviction_and_prose_where_each_side_keeps_them():
    thesis = {"stance": "attractive", "rating": 60, "conviction": 50, "moat": "network effects and scale",
              "risks": ["leverage"], "catalysts": []}
    reply = {"stance": "attractive", "rating": 70, "conviction": 50, "moat": "network effects", "risks": ["leverage"],
             "catalysts": []}
    result = THESIS.score({"thesis": thesis, "ticker": "AAA", "version": 2}, reply)
    assert result.scorer == "thinktank_thesis"
    assert result.diagnostics == {"stance_match": 1.0, "closeness": pytest.approx(0.95), "narrative": pytest.approx(
        (0.5 + 1 + 1) / 3)}  # moat, risks, catalysts (two empty lists agree)
    flipped = THESIS.score({"thesis": thesis}, reply | {"stance": "avoid"})
    assert flipped.diagnostics["stance_match"] == 0.0 and flipped.score < result.score
    older = THESIS.score({"thesis": thesis | {"rating": None}}, reply)  # pre-2026-07-02 theses: no rating
    assert older.diagnostics["closeness"] == 1.0  # conviction alone
    with pytest.raises(SchemaError, match="rating must be within"):
        THESIS.validate(reply | {"rating": 140})
    with pytest.raises(SchemaError, match="stance must be one of"):
        THESIS.validate(reply | {"stance": "bullish"})  # the old guess, not the producer's enumeration
    with pytest.raises(SchemaError, match="risks must be a list"):
        THESIS.validate(reply | {"risks": "leverage"})


@pytest.mark.parametrize("stance, side", [("risk-on", "positive"), ("Constructive", "positive"),
                                          ("overweight", "positive"), ("cautious", "negative"),
                                          ("Underweight", "negative"), ("risk off", "negative"),
                                          ("neutral", "neutral"), ("market-weight", "neutral"),
                                          ("cautiously constructive", "positive"), ("sideways", None), (None, None)])
def test_theme_stance_free_text_is_read_as_a_side(stance, side):
    assert theme_side(stance) == side


def test_theme_scores_stance_side_material_change_and_drivers():
    theme = {"stance": "risk-on", "material_change": True,
             "drivers": ["earnings revisions turning up", "easing credit"],
             "narrative": "broad rally", "watch_items": [], "change_summary": ""}
    reply = theme | {"stance": "constructive", "drivers": ["earnings revisions turning up"]}
    result = THEME.score({"theme": theme, "kind": "macro"}, THEME.validate(reply))
    assert result.diagnostics == {"stance_side_match": 1.0, "material_change": 1.0, "drivers": pytest.approx(4 / 6)}
    worse = THEME.score({"theme": theme}, reply | {"stance": "cautious", "material_change": False})
    assert worse.score == pytest.approx(0.3 * 4 / 6)
    assert THEME.label_pairs({"theme": theme}, reply) == [["positive", "positive"]]
    with pytest.raises(SchemaError, match="material_change"):
        THEME.validate(reply | {"material_change": "yes"})


def test_kappa_on_stance():
    rule, pairs = THESIS.rule, []
    for seed in range(300):
        snapshot, original = stored(rule, seed, 0.08)
        pairs += THESIS.label_pairs(original, rule.decide(snapshot, random.Random(f"r{seed}"), 0.16))
    assert len(pairs) == 300 and {p[0] for p in pairs} == set(STANCES)
    kappa, confusion = cohen_kappa([tuple(p) for p in pairs])
    assert 0.6 < kappa < 0.95  # same rule, independent noise: high but not perfect
    assert sum(confusion["attractive"].values()) == sum(p[0] == "attractive" for p in pairs)


def test_fit_recovers_the_hidden_stance_rule_from_the_real_snapshot_keys():
    rows = []
    for seed in range(500):
        snapshot, original = stored(THESIS.rule, seed)
        rows += THESIS.fit.rows(snapshot, original)
    fit = fit_rule([r["label"] for r in rows], [r["features"] for r in rows])
    assert fit["status"] == "fitted" and fit["heldout_accuracy"] > 0.85 and fit["lift"] > 0.3
    assert "news_trusted_sentiment" in fit["split_features"]
    assert {"signal_stance", "signal_score"} & set(fit["split_features"])  # the weekly signal, either way
    assert THEME.fit is None and "no numeric input" in THEME.unsupported_reason


def test_today_mix_has_the_real_weekly_volume_and_files_weekends_under_friday(s3_server, s3_client, bucket):
    friday = dt.date(2026, 7, 10)
    corpus.main(["--endpoint-url", s3_server.endpoint_url, "--bucket", bucket, "--end", "2026-07-12", "--days", "7",
                 "--mix", "today"])
    keys = [o["Key"] for p in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in p.get("Contents", [])]
    per_folder = Counter((k.split("/")[3], k.split("/")[4].split(":")[0]) for k in keys)
    assert sum(n for (_, f), n in per_folder.items() if f == "thinktank_thesis") == 71
    assert sum(n for (_, f), n in per_folder.items() if f == "thinktank_theme") == 12
    assert {f for _, f in per_folder} == {f for f, _ in schedule.volumes("today")} | {unregistered.NAME}
    assert per_folder["10", "thinktank_thesis"] == 11 + 10 + 10  # Friday's folder holds Fri + Sat + Sun
    assert per_folder["06", "thinktank_thesis"] == 10
    for weekend in ("11", "12"):
        assert per_folder[weekend, "thinktank_thesis"] == per_folder[weekend, "thinktank_theme"] == 0
        assert per_folder[weekend, "executor"] == dict(schedule.volumes("today"))["executor"].per_day

    friday_theses = [k for k in keys if k.startswith(f"decision_artifacts/{friday:%Y/%m/%d}/thinktank_thesis/")]
    run_days = Counter()
    for key in friday_theses:
        doc = json.loads(s3_client.get_object(Bucket=bucket, Key=key)["Body"].read())
        assert doc["agent_id"] == "thinktank_thesis"
        assert re.fullmatch(r"[0-9a-f]{12}-[A-Z]{3}-v\d", doc["run_id"])
        assert doc["run_id"].split("-")[1] == doc["input_data_snapshot"]["ticker"] == doc["agent_output"]["ticker"]
        assert doc["run_id"].endswith(f"-v{doc['agent_output']['version']}")
        assert doc["agent_output"]["thesis"]["stance"] in STANCES
        if doc["input_data_truncated_at"] is None and "news_bodies" not in doc["input_data_snapshot"]:
            assert len(doc["input_data_snapshot"]["filings_excerpts"]) == 6
            assert 12_500 < len(doc["full_prompt_context"]["user_prompt"]) < 18_000  # the evidence, rendered
        # weekend runs: Friday's date in the timestamp and the trading day, the real one in calendar_date
        assert dt.datetime.fromisoformat(doc["timestamp"]).date() == friday
        assert doc["agent_output"]["trading_day"] == friday.isoformat()
        run_days[dt.date.fromisoformat(doc["agent_output"]["calendar_date"])] += 1
    assert run_days == {friday: 11, friday + dt.timedelta(days=1): 10, friday + dt.timedelta(days=2): 10}
    themes = [k.rsplit("/", 1)[1] for k in keys if "/thinktank_theme/" in k]
    assert all(re.fullmatch(r"[0-9a-f]{12}-(macro-macro|sector-[a-z_]+)-v\d\.json", t) for t in themes)
