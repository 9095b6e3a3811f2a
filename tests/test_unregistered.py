"""An unregistered LLM family end to end, through the real assets against the moto S3 server and
the loopback Messages API: indexed ok, replayed, scored structurally, judged and named."""

import json

import dagster as dg

from alpha_replay_assets.index import read_day_index
from alpha_replay_assets.paths import ceiling_key, concordance_key, verdicts_key
from helpers import DAY, pinned
from jobs.catalog import ALL_ASSETS, PARTITION_CHECKS

MODEL = "claude-haiku-4-5"


def test_unregistered_family_is_indexed_replayed_scored_and_judged(all_resources, store, model_server, seeded):
    # graph prompts rendered: the registered legacy families replay meaningfully beside it (their
    # captured stubs would give uninformed replies); no large snapshots (a size test's business)
    seeded(spec=pinned(per_day=20, mix="legacy", unregistered_per_day=12, bad_fraction=0.1, placeholder_fraction=0,
                       truncated_fraction=0, large_fraction=0, graph_prompts="rendered"))
    with dg.instance_for_test() as instance:
        result = dg.materialize(ALL_ASSETS + PARTITION_CHECKS, resources=all_resources, instance=instance,
                                partition_key=DAY.isoformat(), raise_on_error=False)
    assert result.success

    index = read_day_index(store, DAY)
    mine = index[index["agent_id_base"] == "mystery_agent"]
    assert len(mine) == 12 and (mine["status"] == "ok").all() and not mine["family_registered"].any()
    assert (index["status"] != "ok").sum() == 2  # the really bad objects, and only those, are bad rows

    replays = store.read_parquet(concordance_key(store, DAY, MODEL))
    replayed = replays[replays["agent_id_base"] == "mystery_agent"]
    assert (replayed["outcome"] == "structured").all() and (replayed["scorer"] == "structural").all()
    scores = replayed["agreement_score"]  # the same hidden rule, other noise: mostly close, never nothing alike
    assert scores.between(0.0, 1.0).all() and scores.min() > 0 and scores.median() >= 0.6
    drivers = json.loads(replayed["diagnostics"].iloc[0])
    assert set(drivers["fields"]) == {"alerts", "risk_level", "summary"} and "lost" in drivers
    assert model_server.counts()["messages"] >= len(replayed)
    ceiling = store.read_parquet(ceiling_key(store, DAY))
    assert (ceiling.loc[ceiling["agent_id_base"] == "mystery_agent", "scorer"] == "structural").all()

    verdicts = store.read_parquet(verdicts_key(store, DAY)).set_index("agent_id_base")
    row = verdicts.loc["mystery_agent"]
    assert row["scorer"] == "structural" and row["n_paired"] >= 10
    assert row["status"] in ("keep", "demote_candidate", "insufficient_evidence")
    assert "cheap" in row["reason"] and "scored by the structural scorer" in row["reason"]
    report = store.get_bytes(verdicts_key(store, DAY, "report.md")).decode()
    assert "**mystery_agent**" in report and "structural" in report

    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    seen = checks["unregistered_family_seen"]
    assert not seen.passed and "mystery_agent" in seen.description
    assert checks["every_family_has_a_row"].passed and checks["scorer_fields_readable"].passed
