"""The live think-tank families: scoring, kappa on stance, a fit that recovers the hidden stance
rule, and the corpus's `--mix today` (real weekly volume, weekend runs filed under Friday)."""

import datetime as dt
import json
import random
import re
from collections import Counter

import pytest

from alpha_replay_assets.families import REGISTRY, judge_for
from alpha_replay_assets.families.spec import SchemaError
from alpha_replay_assets.families.structural import STRUCTURAL
from alpha_replay_assets.rule_fit import fit_rule
from alpha_replay_assets.sample import corpus
from alpha_replay_assets.stats import cohen_kappa

THESIS, THEME = REGISTRY["thinktank_thesis"], REGISTRY["thinktank_theme"]


def test_thesis_scores_stance_rating_conviction_and_narrative():
    a = {"stance": "bullish", "rating": 60, "conviction": 50, "moat": "network effects and scale", "risks": "leverage"}
    b = {"stance": "bullish", "rating": 70, "conviction": 50, "moat": "network effects"}
    result = THESIS.score(a, b)
    assert result.scorer == "thinktank_thesis"
    assert result.diagnostics == {"stance_match": 1.0, "closeness": pytest.approx(0.95), "narrative": pytest.approx(0.5)}
    assert result.score == pytest.approx(0.4 + 0.3 * 0.95 + 0.3 * 0.5)
    flipped = THESIS.score(a, b | {"stance": "bearish"})
    assert flipped.score == pytest.approx((0.3 * 0.95 + 0.3 * 0.5))
    no_text = THESIS.score({"stance": "neutral", "rating": 50}, {"stance": "neutral", "rating": 40})
    assert no_text.score == pytest.approx((0.4 + 0.3 * 0.9) / 0.7)  # weights over the parts present
    with pytest.raises(SchemaError, match="rating must be within"):
        THESIS.validate({"stance": "bullish", "rating": 140})


def test_theme_scores_its_declared_fields_or_falls_back_to_structural():
    a = {"kind": "sector", "key": "energy", "stance": "bearish", "conviction": 70,
         "dimensions": {"growth": 4.0, "risk": 8.0}, "narrative": "momentum rolling over"}
    b = a | {"conviction": 60, "dimensions": {"growth": 5.8, "risk": 8.0}}
    result = THEME.score(a, b)
    assert result.diagnostics["dimensions"] == pytest.approx((0.8 + 1.0) / 2)
    assert result.score == pytest.approx(0.4 + 0.2 * 0.9 + 0.2 * 0.9 + 0.2)
    # a producer whose field names differ from the declared ones is still judged, structurally
    unknown = {"view": "cautious", "score": 40}
    assert judge_for("thinktank_theme", unknown) is STRUCTURAL
    assert judge_for("thinktank_theme", a) is THEME


def test_kappa_on_stance():
    rule, pairs = THESIS.rule, []
    for seed in range(300):
        snapshot = rule.snapshot(random.Random(seed))
        original = rule.decide(snapshot, random.Random(f"o{seed}"), 0.08)
        pairs += THESIS.label_pairs(original, rule.decide(snapshot, random.Random(f"r{seed}"), 0.16))
    assert len(pairs) == 300 and {p[0] for p in pairs} == {"bullish", "neutral", "bearish"}
    kappa, confusion = cohen_kappa([tuple(p) for p in pairs])
    assert 0.6 < kappa < 0.95  # same rule, independent noise: high but not perfect
    assert sum(confusion["bullish"].values()) == sum(p[0] == "bullish" for p in pairs)


@pytest.mark.parametrize("family, splits", [
    (THESIS, {"news_sentiment", "signal_score", "attractiveness_score"}),
    (THEME, {"momentum_4w", "breadth", "earnings_revisions"}),
])
def test_fit_recovers_the_hidden_stance_rule(family, splits):
    rule, rows = family.rule, []
    for seed in range(400):
        rng = random.Random(seed)
        snapshot = rule.snapshot(rng)
        rows += family.fit.rows(snapshot, rule.post_process(rule.decide(snapshot, rng, 0.05)))
    fit = fit_rule([r["label"] for r in rows], [r["features"] for r in rows])
    assert fit["status"] == "fitted" and fit["heldout_accuracy"] > 0.88 and fit["lift"] > 0.3
    assert splits <= set(fit["split_features"])


def test_today_mix_has_the_real_weekly_volume_and_files_weekends_under_friday(s3_server, s3_client, bucket):
    friday = dt.date(2026, 11, 20)
    corpus.main(["--endpoint-url", s3_server.endpoint_url, "--bucket", bucket, "--end", "2026-11-22", "--days", "7",
                 "--mix", "today"])
    keys = [o["Key"] for p in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in p.get("Contents", [])]
    per_folder = Counter((k.split("/")[3], k.split("/")[4].split(":")[0]) for k in keys)
    assert sum(n for (_, f), n in per_folder.items() if f == "thinktank_thesis") == 71
    assert sum(n for (_, f), n in per_folder.items() if f == "thinktank_theme") == 12
    assert {f for _, f in per_folder} == {"thinktank_thesis", "thinktank_theme", "executor", "mystery_agent"}
    assert per_folder["20", "thinktank_thesis"] == 11 + 10 + 10  # Friday's folder holds Fri + Sat + Sun
    assert per_folder["16", "thinktank_thesis"] == 10
    for weekend in ("21", "22"):
        assert per_folder[weekend, "thinktank_thesis"] == per_folder[weekend, "thinktank_theme"] == 0
        assert per_folder[weekend, "executor"] == corpus.TODAY_EXECUTORS_PER_DAY

    friday_theses = [k for k in keys if k.startswith(f"decision_artifacts/{friday:%Y/%m/%d}/thinktank_thesis/")]
    run_days = Counter()
    for key in friday_theses:
        doc = json.loads(s3_client.get_object(Bucket=bucket, Key=key)["Body"].read())
        assert doc["agent_id"] == "thinktank_thesis"
        assert re.fullmatch(r"tt\d{8}-[0-9a-f]{8}-[A-Z]{3}-v\d", doc["run_id"])
        assert doc["run_id"].split("-")[2] == doc["input_data_snapshot"]["ticker"] == doc["agent_output"]["ticker"]
        assert doc["agent_output"]["stance"] in ("bullish", "neutral", "bearish")
        if doc["input_data_truncated_at"] is None:
            assert len(json.dumps(doc["input_data_snapshot"]["filings_excerpts"])) > 9000  # KBs of filings text
        run_days[dt.datetime.fromisoformat(doc["timestamp"]).date()] += 1
    assert run_days == {friday: 11, friday + dt.timedelta(days=1): 10, friday + dt.timedelta(days=2): 10}
    themes = [k.rsplit("/", 1)[1] for k in keys if "/thinktank_theme/" in k]
    assert all(re.fullmatch(r"tt\d{8}-[0-9a-f]{8}-(macro-macro|sector-[a-z]+)-v\d\.json", t) for t in themes)
