import datetime as dt

import pytest

from alpha_replay_assets import paths
from alpha_replay_assets.paths import BadKey, agent_id_base, artifact_key, is_meta_key, parse_key
from helpers import DAY

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


def test_artifact_keys_round_trip():
    key = artifact_key(P, DAY, "sector_quant:technology", "run-7")
    assert parse_key(P, key) == paths.ArtifactKey(DAY, "sector_quant:technology", "run-7")


def test_every_output_key_is_ours_and_never_an_artifact(store):
    """Each output lands under a meta prefix (an index never lists it as an artifact), outputs never
    share a key, and the store, which refuses to write anywhere else, accepts every one of them."""
    now = dt.datetime(2026, 11, 20, 12, 30, tzinfo=dt.UTC)
    model, digest = "openrouter/deepseek:v3", "ab" * 32
    keys = [
        paths.index_key(store, DAY), paths.concordance_key(store, DAY, model), paths.ceiling_key(store, DAY),
        paths.replay_cache_key(store, model, digest), paths.claim_key(store, model, digest),
        paths.paid_twice_key(store, DAY, model, digest), paths.batch_record_key(store, DAY, model),
        paths.summary_key(store, DAY, model), paths.summary_latest_key(store, model), paths.fits_key(store, DAY),
        paths.fit_agent_key(store, "ic_cio", DAY), paths.fit_agent_latest_key(store, "ic_cio"),
        paths.templates_key(store, DAY), paths.templates_agent_key(store, "ic_cio", DAY),
        paths.templates_agent_latest_key(store, "ic_cio"), paths.verdicts_key(store, DAY),
        paths.verdicts_key(store, DAY, "report.md"), paths.ledger_key(store, DAY), paths.forget_audit_key(store, now),
    ]
    assert len(set(keys)) == len(keys)
    for key in keys:
        assert is_meta_key(store.capture_prefix, key), key
        assert ":" not in key and "//" not in key, key
        store.put_bytes(key, b"{}", "application/json")
    assert paths.verdicts_key(store, DAY).startswith(paths.verdicts_prefix(store))
    assert paths.paid_twice_key(store, DAY, model, digest).startswith(paths.paid_twice_prefix(store, DAY))
