"""The structural scorer on nested JSON: what each kind of value scores and how it explains itself."""

import pytest

from alpha_replay_assets.family_spec.fields import SchemaError
from alpha_replay_assets.family_spec.structural import STRUCTURAL, structural

ORIGINAL = {
    "risk_level": "Elevated",
    "alerts": [{"ticker": "AAA", "severity": "high", "exposure": 0.04},
               {"ticker": "BBB", "severity": "medium", "exposure": 0.02}],
    "summary": "Concentration in energy names drives the risk this week",
}


def test_identical_documents_agree_fully_and_lose_nothing():
    result = structural(ORIGINAL, ORIGINAL)
    assert result.score == 1.0 and result.scorer == "structural"
    assert result.diagnostics["lost"] == [] and result.diagnostics["leaves"] == 8


def test_nested_lists_match_by_ticker_numbers_by_closeness_strings_by_kind():
    reply = {
        "risk_level": "elevated ",  # short string: case- and space-insensitive equality
        "alerts": [{"ticker": "BBB", "severity": "medium", "exposure": 0.01},  # order does not matter
                   {"ticker": "CCC", "severity": "low", "exposure": 0.01}],  # CCC is not in the original
        "summary": "Concentration in energy names drives the risk",  # long string: word-set similarity
    }
    result = structural(ORIGINAL, reply)
    # thirds per top-level key; alerts: thirds per ticker (AAA, BBB, CCC), BBB: thirds per field
    bbb = (1 + 1 + (1 - 0.01 / 0.02)) / 3
    summary = 7 / 9  # 7 of the 9 words
    assert result.score == pytest.approx((1 + bbb / 3 + summary) / 3)
    fields = result.diagnostics["fields"]
    assert fields["risk_level"] == {"weight": pytest.approx(1 / 3, abs=1e-4), "score": 1.0}
    assert fields["alerts"]["score"] == pytest.approx(bbb / 3, abs=1e-4)
    lost = [leaf["path"] for leaf in result.diagnostics["lost"]]
    assert lost[:2] == ["alerts[ticker=AAA]", "alerts[ticker=CCC]"]  # unmatched ids cost the most
    assert "summary" in lost and "alerts[ticker=BBB].exposure" in lost


def test_types_scalars_and_empty_containers():
    assert structural({"a": [1, 2, 3]}, {"a": [3, 2, 4]}).score == pytest.approx(2 / 4)  # scalar lists as sets
    assert structural({"a": 10}, {"a": "10"}).score == 0.0  # a type mismatch
    assert structural({"a": 0}, {"a": 0.0}).score == 1.0
    assert structural({"a": -5}, {"a": 5}).score == 0.0
    assert structural({"a": True}, {"a": 1}).score == 0.0 and structural({"a": None}, {"a": None}).score == 1.0
    assert structural({"a": [], "b": {}}, {"a": [], "b": {}}).score == 1.0
    assert structural({"a": 1, "b": 2}, {"a": 1}).diagnostics["lost"] == [{"path": "b", "weight": 0.5, "score": 0.0}]
    # lists of objects without an id field pair by position
    assert structural({"a": [{"x": 1}, {"x": 2}]}, {"a": [{"x": 1}]}).score == pytest.approx(0.5)


def test_judge_accepts_any_object_sharing_a_field_with_the_original():
    assert STRUCTURAL.validate({"summary": "x"}, ORIGINAL) == {"summary": "x"}
    with pytest.raises(SchemaError, match="shares no top-level field"):
        STRUCTURAL.validate({"answer": "I would rather not say"}, ORIGINAL)
    with pytest.raises(SchemaError, match="non-empty JSON object"):
        STRUCTURAL.validate({}, ORIGINAL)
    assert STRUCTURAL.label_pairs(ORIGINAL, ORIGINAL) == []
