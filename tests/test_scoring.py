"""The six graph families' scorers on hand-built pairs (stored output vs raw reply), both-empty
agreement, shape normalisation and validation against the raw reply schema. The numbers are those
of scorer v2; replies are in each producer's raw response schema (docs/real-shapes.md §5). Per-family
examples in the real shapes are in test_real_shapes.py."""

import pytest

from alpha_replay_assets.families import REGISTRY
from alpha_replay_assets.family_spec.comparators import jaccard, pearson
from alpha_replay_assets.family_spec.fields import SchemaError, extract_json


def test_both_empty_is_agreement():
    assert jaccard(set(), set()) == 1.0
    assert REGISTRY["sector_qual"].score({"assessments": []}, {"assessments": []}).score == 1.0
    empty_ic = REGISTRY["ic_cio"].score({"ic_decisions": [], "advanced_tickers": []}, {"decisions": []})
    assert empty_ic.score == pytest.approx(0.7)
    assert REGISTRY["sector_peer_review"].score({"recommendations": [], "additional_accepted": False},
                                                {"selected_tickers": [], "team_rationale": ""}).score == 1.0


def test_sector_quant_weights_top5_and_top10():
    a = {"ranked_picks": [{"ticker": t} for t in "ABCDEFGHIJ"]}
    b = {"ranked_picks": [{"ticker": t} for t in "ABCDEKLMNO"]}
    result = REGISTRY["sector_quant"].score(a, b)
    assert result.diagnostics == {"jaccard_top5": 1.0, "jaccard_top10": 5 / 15}
    assert result.score == pytest.approx(0.6 + 0.4 / 3)


def test_peer_review_normalises_raw_against_post_processed():
    original = {"recommendations": [{"ticker": "A"}, {"ticker": "B"}], "additional_accepted": True}
    reply = {"selected_tickers": ["A", "C", "D"], "team_rationale": "quant and qual agree"}
    result = REGISTRY["sector_peer_review"].score(original, reply)
    assert result.score == pytest.approx(1 / 4)  # {A} of {A, B, C, D}; a joint selection says nothing on the extra name
    assert result.diagnostics == {"jaccard_selected": pytest.approx(0.25), "additional_accepted": None}
    verdict = {"accept": False, "reason": "technical score too weak"}  # the call when no selection was made
    assert REGISTRY["sector_peer_review"].score(original, verdict).score == 0.0
    assert REGISTRY["sector_peer_review"].score(original, verdict | {"accept": True}).score == 1.0


def test_macro_regime_and_modifier_correlation():
    a = {"market_regime": "bull", "sector_modifiers": {"x": 0.9, "y": 1.0, "z": 1.2}}
    same_order = {"market_regime": "bull", "sector_modifiers": {"x": 0.8, "y": 1.0, "z": 1.4}}
    assert REGISTRY["macro_economist"].score(a, same_order).score == pytest.approx(1.0)
    flat = {"market_regime": "bear", "sector_modifiers": {"x": 1.0, "y": 1.0, "z": 1.0}}
    result = REGISTRY["macro_economist"].score(a, flat)
    assert result.score == 0.0 and result.diagnostics["modifier_pearson"] is None
    inverse = {"market_regime": "bull", "sector_modifiers": {"x": 1.2, "y": 1.0, "z": 0.9}}
    assert REGISTRY["macro_economist"].score(a, inverse).score == pytest.approx(0.6)
    assert REGISTRY["macro_economist"].score({"market_regime": None}, {"market_regime": None}).score == 0.0


def test_ic_cio_advanced_jaccard_and_decision_match():
    original = {"ic_decisions": [{"ticker": "A", "decision": "ADVANCE"}, {"ticker": "B", "decision": "REJECT"},
                                 {"ticker": "C", "decision": "ADVANCE"}], "advanced_tickers": ["A", "C"]}
    reply = {"decisions": [{"ticker": "A", "decision": "ADVANCE"}, {"ticker": "B", "decision": "ADVANCE"},
                           {"ticker": "C", "decision": "REJECT"}]}
    result = REGISTRY["ic_cio"].score(original, reply)
    assert result.diagnostics["jaccard_advanced"] == pytest.approx(1 / 3)
    assert result.diagnostics["decision_match"] == pytest.approx(1 / 3)
    assert result.score == pytest.approx(0.7 / 3 + 0.3 / 3)


def test_thesis_update_closeness_and_text():
    a = {"final_score": 60, "conviction": 70, "bull_case": "strong demand growth"}
    b = {"final_score": 70, "conviction": 70, "bull_case": "strong demand"}
    result = REGISTRY["thesis_update"].score(a, b)
    assert result.diagnostics["closeness"] == pytest.approx(0.95)
    assert result.diagnostics["text"] == pytest.approx(2 / 3)
    assert result.score == pytest.approx(0.6 * 0.95 + 0.4 * 2 / 3)
    assert REGISTRY["thesis_update"].score({"final_score": 50}, {"final_score": 250}).score == 0.0
    assert REGISTRY["thesis_update"].score({}, {}).score == 0.0
    # the stored final_score is the prior's, the reply has none: closeness is the conviction's alone,
    # and a stored string conviction (the prior's trend, kept when the reply's was null) is no number
    stored = {"final_score": 58.2, "conviction": 50, "bull_case": "strong demand growth"}
    assert REGISTRY["thesis_update"].score(stored, {"conviction": 40}).diagnostics["closeness"] == pytest.approx(0.9)
    assert REGISTRY["thesis_update"].score(stored | {"conviction": "declining"}, {"conviction": 40}).score == 0.0


def test_pearson_degenerate_cases():
    assert pearson([1.0], [2.0]) is None
    assert pearson([1.0, 2.0], [1.0]) is None
    assert pearson([1.0, 1.0], [1.0, 2.0]) is None
    assert pearson([1.0, 2.0, 3.0], [2.0, 4.0, 6.0]) == pytest.approx(1.0)


@pytest.mark.parametrize("text", ['{"ranked_picks": []}', 'Sure!\n```json\n{"ranked_picks": []}\n```',
                                  'Answer: {"x": {"y": 1}} and {"ranked_picks": []} done'])
def test_json_is_found_in_prose_and_fences(text):
    assert extract_json(text) in ({"ranked_picks": []}, {"x": {"y": 1}})


@pytest.mark.parametrize("family, reply, message", [
    ("sector_quant", {"picks": []}, "missing ranked_picks"),
    ("sector_quant", {"ranked_picks": [{"symbol": "A"}]}, "string ticker"),
    ("macro_economist", {"market_regime": "euphoric", "sector_modifiers": {}}, "market_regime"),
    ("macro_economist", {"market_regime": "bull", "sector_modifiers": {"x": "high"}}, "sector_modifiers"),
    ("ic_cio", {"decisions": [{"ticker": "A", "decision": "MAYBE"}]}, "decision must be"),
    ("ic_cio", {"decisions": [{"ticker": "A", "decision": "ADVANCE_FORCED"}]}, "decision must be"),  # stored only
    ("ic_cio", {"ic_decisions": [], "advanced_tickers": []}, "missing decisions"),  # the stored shape is no reply
    ("thesis_update", {"conviction": "rising"}, "conviction must be a number"),
    ("thesis_update", {"final_score": 60}, "neither"),  # the carried-over score is not in the reply schema
    ("sector_peer_review", {"recommendations": [], "additional_accepted": True}, "selected_tickers"),
    ("sector_peer_review", {"selected_tickers": "A"}, "selected_tickers must be a list of strings"),
    ("macro_economist", {"market_regime": "caution", "sector_modifiers": {}, "report_md": ""}, "market_regime"),
])
def test_schema_errors_say_what_is_missing(family, reply, message):
    with pytest.raises(SchemaError, match=message):
        REGISTRY[family].validate(reply)


def test_no_json_is_a_schema_error():
    with pytest.raises(SchemaError, match="no JSON object"):
        REGISTRY["ic_cio"].validate(extract_json("I cannot help with that. [1, 2]"))
