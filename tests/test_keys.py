import datetime as dt

import pytest

from alpha_replay_assets.keys import BadKey, agent_id_base, is_meta_key, parse_key

P = "decision_artifacts"


def test_parses_colon_agent_ids():
    key = parse_key(P, f"{P}/2026/11/20/thesis_update:tech:AAPL/run-1.json")
    assert key.day == dt.date(2026, 11, 20)
    assert key.agent_id == "thesis_update:tech:AAPL"
    assert key.agent_id_base == "thesis_update"
    assert key.run_id == "run-1"


@pytest.mark.parametrize("rest", ["_eval/x/y.json", "_replay/2026/11/20/a/b.json", "_alpha_replay/artifact_index/x"])
def test_meta_prefixes_are_not_artifacts(rest):
    assert is_meta_key(P, f"{P}/{rest}")
    with pytest.raises(BadKey, match="meta-prefix"):
        parse_key(P, f"{P}/{rest}")


@pytest.mark.parametrize(
    "rest, reason",
    [
        ("2026/11/20/ic_cio/run.txt", "not a .json"),
        ("2026/11/20/run.json", "segments"),
        ("2026/11/20/ic_cio/sub/run.json", "segments"),
        ("2026/11/20/../run.json", "relative"),
        ("2026/11/20//run.json", "empty"),
        ("2026/11/20/" + "a" * 300 + "/run.json", "longer"),
        ("2026/13/20/ic_cio/run.json", "not a date"),
        ("2026/1/20/ic_cio/run.json", "zero-padded"),
        ("2026/11/20/ic_cio/.json", "not a .json"),
    ],
)
def test_bad_layouts_say_why(rest, reason):
    with pytest.raises(BadKey, match=reason):
        parse_key(P, f"{P}/{rest}")


def test_outside_prefix():
    with pytest.raises(BadKey, match="outside"):
        parse_key(P, "other/2026/11/20/a/b.json")
    assert agent_id_base("executor:risk_guard") == "executor"
