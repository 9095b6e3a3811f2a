"""Parsing of every artifact shape and every bad-input kind, without S3 or Dagster."""

import datetime as dt
import json
import random

import pytest

from alpha_replay_assets import artifacts
from alpha_replay_assets.families import REGISTRY
from alpha_replay_assets.family_spec.fitting import EXTRACTOR_VERSION
from alpha_replay_assets.sample import corpus, unregistered
from alpha_replay_assets.stub_prompts import PLACEHOLDER_MARKER
from helpers import pinned

P = "decision_artifacts"
TS = dt.datetime(2026, 11, 20, 6, tzinfo=dt.UTC)
LIMIT = 100_000


def good(family="ic_cio", **spec):
    spec = pinned(placeholder_fraction=0, truncated_fraction=0, large_fraction=0) if not spec else pinned(**spec)
    return corpus._artifact(family, corpus.Slot(TS.date(), TS.date(), 21_600, "run-1"), random.Random(1), spec)


def row(doc, agent_id="ic_cio", raw=None):
    body = raw if raw is not None else json.dumps(doc).encode()
    listed = artifacts.ListedObject(f"{P}/2026/11/20/{agent_id}/run-1.json", "etag", len(body), TS)
    return artifacts.index_row(listed, body, P, LIMIT)


@pytest.mark.parametrize("family", [name for name, f in REGISTRY.items() if f.is_llm])
def test_every_llm_family_parses(family):
    doc = good(family)
    r = row(doc, doc["agent_id"])
    assert r["status"] == "ok", r["error"]
    assert r["is_llm"] and r["model_name"] == REGISTRY[family].rule.model
    assert not r["is_placeholder"] and not r["is_truncated"]
    assert r["family_registered"] and r["agent_id_base"] == family
    assert r["input_tokens"] > 0 and r["cost_usd"] > 0
    assert json.loads(r["agent_output"]) == doc["agent_output"]
    assert len(r["prompt_hash"]) == 64
    if REGISTRY[family].fit is None:  # thinktank_theme: nothing numeric to fit
        assert "decision_features" not in r
        return
    rows = json.loads(r["decision_features"])  # every other LLM family with a decision is fitted
    assert rows and all("label" in x for x in rows) and r["extractor_version"] == EXTRACTOR_VERSION


def test_deterministic_executor_and_colon_ids():
    doc = good("executor")
    r = row(doc, doc["agent_id"])
    assert r["status"] == "ok" and r["is_llm"] is False and r["agent_id_base"] == "executor"
    assert r["agent_id"].startswith("executor:") and r["family_registered"]
    assert "system_prompt" not in r and "decision_features" not in r


def test_placeholder_and_truncated_flags():
    doc = good()
    doc["full_prompt_context"]["user_prompt"] = f"({PLACEHOLDER_MARKER})"
    assert row(doc)["is_placeholder"]
    doc = good()
    doc["full_prompt_context"].update(system_prompt=" ", user_prompt="")
    assert row(doc)["is_placeholder"]
    doc = good()
    doc["input_data_snapshot"]["candidates"][0] = {"_truncated": True, "original_field": "x", "original_size_bytes": 9}
    assert row(doc)["is_truncated"]
    doc = good() | {"input_data_truncated_at": 1000}
    assert row(doc)["is_truncated"]


# Stub prompts as the producers write them (docs/real-shapes.md §4): the cost tracker's placeholder system
# prompt, its missing-user-prompt text, the capture helper's old marker, unrendered user templates.
RENDERED_USER = "Run date 2026-07-08. Candidates:\n" + json.dumps(
    [{"ticker": "AAPL", "quant_score": 71.5, "note": "template slot {ticker} quoted in a filing"}], indent=2)
STUB_SYSTEM = "<system prompt for agent_id='sector_quant:technology' not yet plumbed through the cost tracker>"
TEMPLATE = ("You are the quantitative analyst of the {team_id} team. Market regime: {market_regime}.\n"
            "Technical scores of {sector_tickers_count} tickers:\n{technical_scores_team}\n"
            'Reply with {{"ranked_picks": [{{"ticker": "...", "quant_score": 0}}]}}')


@pytest.mark.parametrize("system, user", [
    (STUB_SYSTEM, RENDERED_USER),  # macro_economist / ic_cio: the real user prompt, a stub system prompt
    (STUB_SYSTEM, TEMPLATE),  # the three sector families and thesis_update: both stubs
    ("You are the IC chair.", TEMPLATE),  # an unrendered template alone (its escaped JSON example is no data)
    ("You are the IC chair.", "Rank {ticker} against {peers}."),
    ("You are the IC chair.", "<user prompt for agent_id='ic_cio' not provided>"),
    (f"[{PLACEHOLDER_MARKER}]", RENDERED_USER),
    ("You are the IC chair.", f"({PLACEHOLDER_MARKER})"),
    (" ", ""),
])
def test_stub_prompts_are_placeholders(system, user):
    doc = good()
    doc["full_prompt_context"].update(system_prompt=system, user_prompt=user)
    assert row(doc)["is_placeholder"]


@pytest.mark.parametrize("system, user", [
    ("You are the IC chair.", RENDERED_USER),  # JSON data with a `{ticker}` inside it: rendered
    ('Reply as {"stance": "attractive|neutral|avoid", "rating": 0}', "Underwrite AAPL: {\"pe_fwd\": 28.1} {ticker}"),
    ("You are the macro economist.", "VIX 17.20, 10y 4.31%, curve +0.42; prior report of 2026-07-01 follows."),
    ("You are the IC chair.", "{{ticker}} is escaped, not a field: rendered text with a literal brace"),
    ("<system prompt for agent_id='ic_cio'>", RENDERED_USER),  # the prefix without the marker is not the stub
    ("", RENDERED_USER),  # one blank prompt is not a stub pair
])
def test_rendered_prompts_are_not_placeholders(system, user):
    doc = good()
    doc["full_prompt_context"].update(system_prompt=system, user_prompt=user)
    assert not row(doc)["is_placeholder"]


def _without(doc, *path):
    target = doc
    for p in path[:-1]:
        target = target[p]
    del target[path[-1]]
    return doc


@pytest.mark.parametrize(
    "mutate, status, message",
    [
        (lambda d: _without(d, "agent_output"), "missing_field", "agent_output"),
        (lambda d: _without(d, "model_metadata"), "missing_field", "model_metadata"),
        (lambda d: _without(d, "model_metadata", "model_name"), "missing_field", "model_metadata.model_name"),
        (lambda d: _without(d, "full_prompt_context", "user_prompt"), "missing_field", "user_prompt"),
        (lambda d: d | {"schema_version": "2"}, "wrong_type", "schema_version"),
        (lambda d: d | {"schema_version": True}, "wrong_type", "schema_version"),
        (lambda d: d | {"schema_version": 3}, "wrong_type", "unsupported schema_version"),
        (lambda d: d | {"timestamp": "yesterday"}, "wrong_type", "ISO-8601"),
        (lambda d: d | {"agent_output": ["ADVANCE"]}, "wrong_type", "agent_output is list"),
        (lambda d: d | {"full_prompt_context": None}, "wrong_type", "null iff"),
        (lambda d: d | {"model_metadata": d["model_metadata"] | {"input_tokens": -1}}, "wrong_type", "out of range"),
        (lambda d: d | {"agent_id": "macro_economist"}, "key_mismatch", "does not match"),
    ],
)
def test_bad_fields_become_rows_with_reasons(mutate, status, message):
    r = row(mutate(good()))
    assert r["status"] == status
    assert message in r["error"]
    assert r["key"].endswith("run-1.json")  # the row is still there, keyed


def test_bad_bytes():
    assert row(None, raw=b"\xff\xfe{}")["status"] == "not_utf8"
    r = row(None, raw=b'{"schema_version": 2,')
    assert r["status"] == "malformed_json" and "malformed JSON" in r["error"]
    assert row(None, raw=b"[1, 2]")["status"] == "wrong_type"
    assert row(None, raw=b"[" * 100_000)["status"] in ("malformed_json",)


def test_a_valid_artifact_of_an_unregistered_family_is_valid_data():
    r = row(good(unregistered.NAME), unregistered.NAME)
    assert r["status"] == "ok" and r["error"] is None and r["is_llm"]
    assert r["family_registered"] is False and r["agent_id_base"] == unregistered.NAME
    assert "decision_features" not in r  # no declared decision to fit
    off_pattern = row(good("thinktank_thesis") | {"agent_id": "thinktank_thesis:AAPL"}, "thinktank_thesis:AAPL")
    assert off_pattern["status"] == "ok" and off_pattern["family_registered"] is False


def test_oversized_and_bad_keys_need_no_body():
    big = artifacts.ListedObject(f"{P}/2026/11/20/ic_cio/r.json", "e", LIMIT + 1, TS)
    assert not artifacts.needs_body(big, P, LIMIT)
    assert artifacts.index_row(big, None, P, LIMIT)["status"] == "oversized"
    trick = artifacts.ListedObject(f"{P}/2026/11/20/../../etc/passwd.json", "e", 10, TS)
    assert not artifacts.needs_body(trick, P, LIMIT)
    r = artifacts.index_row(trick, None, P, LIMIT)
    assert r["status"] == "bad_key" and "agent_id" not in r


def test_ic_cio_features_follow_candidates_by_ticker():
    snapshot = {"candidates": [{"ticker": "AAA", "quant_score": 70.5, "qual_score": 60.0, "conviction": None}]}
    output = {"ic_decisions": [{"ticker": "AAA", "decision": "ADVANCE"}, {"ticker": "ZZZ", "decision": "REJECT"},
                               {"ticker": "AAA", "decision": "NO_ADVANCE_DEADLOCK"},
                               {"ticker": "AAA", "decision": "ADVANCE_FORCED"}]}
    rows = REGISTRY["ic_cio"].fit.rows(snapshot, output)
    assert [r["label"] for r in rows] == ["ADVANCE", "REJECT"]
    assert rows[0]["features"] == {"quant_score": 70.5, "qual_score": 60.0, "conviction": 0.0}
    assert rows[0]["all_default"] is False and rows[1]["all_default"] is True
    bad = REGISTRY["ic_cio"].fit.rows({"candidates": [{"ticker": "AAA", "quant_score": "high"}]},
                                      {"ic_decisions": [{"ticker": "AAA", "decision": "REJECT"}]})
    assert "quant_score" in bad[0]["error"]


def test_macro_features_read_macro_data():
    macro_rows = REGISTRY["macro_economist"].fit.rows
    rows = macro_rows({"macro_data": {"vix": 31.5, "sp500_30d_return": -0.04}}, {"market_regime": "bear"})
    assert rows[0]["label"] == "bear" and rows[0]["features"]["vix"] == 31.5
    assert rows[0]["features"]["sp500_30d_return"] == -0.04 and not rows[0]["all_default"]
    assert macro_rows({}, {"market_regime": "bull"})[0]["all_default"]
    assert macro_rows({}, {"market_regime": "sideways"}) == []


def test_production_sizes_follow_each_familys_declared_range_deterministically():
    def day(sizes, seed=7):
        spec = pinned(per_day=300, mix="legacy", unregistered_per_day=0, bad_fraction=0, sizes=sizes,
                      placeholder_fraction=0, truncated_fraction=0, large_fraction=0, seed=seed,
                      graph_prompts="stub")  # the producers' prompts: a snapshot is stored once, not twice
        return dict(corpus.day_objects(TS.date(), P, spec))

    small, production = day("small"), day("production")
    assert production == day("production") and production != day("production", seed=8)  # deterministic per seed
    assert small.keys() == production.keys()  # the same artifacts, only bigger
    by_family = {}
    for key, body in production.items():
        doc = json.loads(body)
        by_family.setdefault(doc["agent_id"].split(":")[0], []).append(len(body))
        listed = artifacts.ListedObject(key, "etag", len(body), TS)
        assert artifacts.index_row(listed, body, P, 4 * 2**20)["status"] == "ok"  # padded ones index like any other
    for family, sizes in by_family.items():
        declared = REGISTRY[family].rule.production_bytes
        if declared:  # within ~3 KB of the declared range (padding comes in 4 KB documents)
            assert declared[0] - 4_000 <= min(sizes) and max(sizes) <= declared[1] + 4_000, family
        else:  # a family without bulk text keeps its own size
            mine = [len(b) for b in small.values() if json.loads(b)["agent_id"].split(":")[0] == family]
            assert sizes == mine, family
    assert sum(map(len, production.values())) > 10 * sum(map(len, small.values()))


def _spoiled(change):
    doc = good("sector_quant")
    change(doc)
    return doc


@pytest.mark.parametrize("change, raw_edit, error", [
    (lambda d: d.update(run_id="evil"), lambda b: b.replace(b'"evil"', b'"evil\\ud800"'), "lone UTF-16 surrogate"),
    (lambda d: d["model_metadata"].update(input_tokens=2**70), None, "input_tokens is out of range"),
    (lambda d: d["model_metadata"].update(cost_usd=-1e6), None, "cost_usd -1000000.0 is not a dollar amount"),
    (lambda d: d["model_metadata"].update(cost_usd=float("nan")), None, "cost_usd nan is not a dollar amount"),
    (lambda d: d["agent_output"].update(ranked_picks=5), None, "agent_output does not have the sector_quant shape"),
    (lambda d: d.update(schema_version=2),
     lambda b: b.replace(b'"schema_version": 2', b'"schema_version": ' + b"9" * 5000), "Exceeds the limit"),
    (lambda d: d["input_data_snapshot"].update(deep="DEEP"),
     lambda b: b.replace(b'"DEEP"', b"[" * 600 + b"]" * 600), "nested too deep"),
], ids=["lone surrogate", "count over int64", "negative cost", "NaN cost", "wrong family shape",
        "an int of 5,000 digits", "a snapshot nested 600 deep"])
def test_content_no_index_can_store_is_a_counted_bad_row_not_a_crash(change, raw_edit, error, tmp_path):
    """Found by an attacker: each of these, one object in a day, used to fail the whole day's index."""
    doc = _spoiled(change)
    body = json.dumps(doc).encode()
    r = row(doc, doc["agent_id"], raw=raw_edit(body) if raw_edit else body)
    assert r["status"] in artifacts.BAD_STATUSES and error in r["error"], r
    frame = artifacts.to_frame([r, row(good(), "ic_cio")])
    frame.to_parquet(tmp_path / "day.parquet")  # the day's index can be written with it
    assert list(frame["status"]).count("ok") == 1


def test_a_valid_surrogate_pair_is_text():
    doc = good()
    doc["full_prompt_context"]["user_prompt"] = "chart \U0001F4C8"
    assert row(doc)["status"] == "ok"  # json.dumps escapes it as \ud83d\udcc8: a pair, not a lone surrogate


def test_an_id_outside_a_registered_familys_pattern_is_its_own_unregistered_agent():
    """Found by an attacker: `macro_economist:eu` was flagged unregistered yet pooled into (and
    scored as) macro_economist."""
    doc = good("macro_economist")
    doc["agent_id"] = "macro_economist:eu"
    r = row(doc, "macro_economist:eu")
    assert r["status"] == "ok" and not r["family_registered"]
    assert r["agent_id_base"] == "macro_economist:eu"
    assert "decision_features" not in r  # not fitted as the family either
