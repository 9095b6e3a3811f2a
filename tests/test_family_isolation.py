"""A family's trouble is its own (issue 17): a family whose replies never fit its schema gets its own
`replies_unusable` rows and a WARN check, and every other family's summary, verdict and spend go
on; a provider failure still blocks the day. Proven through `dg launch` against the moto S3 server
and the loopback Messages API.

The new family `newbie_agent` is written by this test, not by the corpus: its prompt is not one the
loopback model's hidden rules know, so it answers without any of the original's fields (today a
bare `{}`), and the structural scorer makes every reply a `schema_error`."""

import datetime as dt
import json

import dagster as dg
import pandas as pd
import pytest
from dagster._core.instance.ref import InstanceRef

from alpha_replay_assets.concordance_summary import summarise
from alpha_replay_assets.families import judged_families
from alpha_replay_assets.paths import artifact_key, concordance_key, ledger_key, summary_key, verdicts_key
from alpha_replay_assets.replay.rows import day_summary
from alpha_replay_assets.sample import corpus
from alpha_replay_assets.sample.fault_proxy import FaultProxy
from alpha_replay_assets.sample.fault_rules import FaultRule
from alpha_replay_assets.unusable_replies import REPLIES_UNUSABLE, UnusableRepliesConfig, unusable_families
from alpha_replay_assets.verdict_rules import VerdictConfig, decide
from helpers import DAY, check_evaluations, pinned

MODEL = "claude-haiku-4-5"
NEWBIE = "newbie_agent"
# The think tank's weekday (~12 artifacts) and 3 of `mystery_agent`, whose replies do fit.
SPEC = pinned(mix="today", unregistered_per_day=3, placeholder_fraction=0, truncated_fraction=0)
N_NEWBIE = 4  # ~20% of the day's eligible artifacts


def newbie_artifact(day: dt.date, i: int) -> tuple[str, bytes]:
    """A valid LLM artifact of a family nobody registered, with fields no other reply carries."""
    snapshot = {"book": f"desk-{i}", "gross_exposure": 1.2 + i / 10}
    doc = {
        "schema_version": 2, "run_id": f"nb-{day:%Y%m%d}-{i}", "agent_id": NEWBIE,
        "timestamp": dt.datetime.combine(day, dt.time(9, i), tzinfo=dt.UTC).isoformat(),
        "model_metadata": {"model_name": "claude-opus-4-1", "input_tokens": 120, "output_tokens": 40,
                           "cache_read_tokens": 0, "cache_create_tokens": 0, "cost_usd": 0.0048},
        "full_prompt_context": {"system_prompt": "Newbie hedging desk. Answer in JSON with newbie_hedge_ratio "
                                                 "and newbie_rationale.",
                                "user_prompt": f"Book: {json.dumps(snapshot)}", "tool_definitions": [],
                                "prompt_version_hash": None},
        "input_data_snapshot": snapshot, "input_data_summary": None, "input_data_truncated_at": None,
        "agent_output": {"newbie_hedge_ratio": 0.3 + i / 100, "newbie_rationale": "trim the gross book"},
        "code_sha": None, "data_snapshot_id": None,
    }
    return artifact_key("decision_artifacts", day, NEWBIE, doc["run_id"]), json.dumps(doc).encode()


def seed_with_newbie(s3_client, bucket) -> None:
    corpus.seed(s3_client, bucket, [DAY], SPEC)
    for i in range(N_NEWBIE):
        key, body = newbie_artifact(DAY, i)
        s3_client.put_object(Bucket=bucket, Key=key, Body=body)


def the_run(dagster_home):
    """(run, its check evaluations by name) of the one run `dg launch` recorded."""
    instance = dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home)))
    [run] = instance.get_runs()
    evaluations = {e.check_name: e for e in check_evaluations(instance, run.run_id)}
    instance.dispose()
    return run, evaluations


def test_provider_failures_block_schema_errors_are_the_familys_own():
    frame = pd.DataFrame({
        "key": [f"k{i}" for i in range(10)],
        "agent_id_base": ["a"] * 6 + [NEWBIE] * 4,
        "target_model": [MODEL] * 10,
        "outcome": ["structured"] * 4 + ["transport_error", "bad_response"] + ["schema_error"] * 3 + ["structured"],
        "agreement_score": [0.9] * 4 + [None] * 5 + [0.5],
        "error": [None] * 4 + ["APIConnectionError", "not a Message"] + ["reply is not a non-empty JSON object"] * 3
                 + [None],
        "cache_hit": [False] * 10, "cost_usd": [0.001] * 10,
    })
    summary = day_summary(frame)
    assert summary["failure_rate"] == 0.2 and summary["schema_errors"] == 3  # only the provider's share blocks
    found = unusable_families(frame, UnusableRepliesConfig())
    assert list(found) == [NEWBIE]  # a's 2 provider failures are not replies that did not fit
    fit, example = found[NEWBIE]
    assert (fit.replies, fit.unusable) == (4, 3) and example == "reply is not a non-empty JSON object"
    assert fit.phrase() == "3 of 4 replies did not fit the family's schema (75%)"
    assert unusable_families(frame, UnusableRepliesConfig(max_unusable_rate_by_family={NEWBIE: 0.8})) == {}

    groups = summarise(frame, ["a"], [MODEL]).set_index("agent_id_base")
    assert groups.loc["a", "status"] == "ok"
    assert groups.loc[NEWBIE, "status"] == REPLIES_UNUSABLE and groups.loc[NEWBIE, "unusable_rate"] == 0.75
    assert groups.loc[NEWBIE, "reason"] == "3 of 4 replies did not fit the family's schema (75%) > 20%"


@pytest.mark.parametrize("evidence, status", [
    ({"replies": 10, "unusable": 2}, "demote_candidate"),  # 20% is within the default bound
    ({"replies": 10, "unusable": 3}, REPLIES_UNUSABLE),  # before any call on evidence, the rule's included
    ({"replies": 10, "unusable": 3, "last_seen": "2026-11-20"}, "stale_input"),  # a producer down comes first
    ({"replies": 0, "unusable": 0, "n_artifacts": 0}, "no_input"),
])
def test_replies_unusable_sits_after_stale_input_and_before_every_call_on_evidence(evidence, status):
    end = dt.date(2026, 11, 27)
    e = {"n_artifacts": 50, "n_llm": 50, "last_seen": end.isoformat(), "n_paired": 40, "cheap_agreement": 0.8,
         "ceiling_agreement": 0.8, "diff": 0.0, "diff_ci_low": -0.02, "diff_ci_high": 0.02, "ratio_ci_low": 0.95,
         "ratio_ci_high": 1.05, "rule_heldout": 0.95, "rule_baseline": 0.5, "rule_stable": True} | evidence
    got, reason = decide("ic_cio", e, end, VerdictConfig())
    assert got == status
    if status == REPLIES_UNUSABLE:
        assert reason == ("its replies do not fit: 3 of 10 replies did not fit the family's schema (30%), "
                          "above its bound 20%")
    assert decide("ic_cio", e, end, VerdictConfig(max_unusable_rate_by_family={"ic_cio": 0.5}))[0] != REPLIES_UNUSABLE


def test_dg_launch_weekly_job_a_new_familys_unusable_replies_block_nothing(dg_launch, dagster_home, s3_client,
                                                                             bucket, store, model_server):
    seed_with_newbie(s3_client, bucket)
    done = dg_launch("--job", "weekly_job", "--partition", DAY.isoformat())
    assert done.returncode == 0, done.stderr[-3000:]

    frame = store.read_parquet(concordance_key(store, DAY, MODEL))
    mine = frame[frame["agent_id_base"] == NEWBIE]
    assert len(mine) == N_NEWBIE and (mine["outcome"] == "schema_error").all()
    summary = day_summary(frame)
    assert summary["schema_errors"] / summary["eligible"] > 0.1  # what the old all-families check blocked on
    assert summary["failure_rate"] == 0.0

    run, checks = the_run(dagster_home)
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert checks["replay_failure_rate"].passed
    warn = checks["replies_fit_family_schema"]
    assert not warn.passed and warn.severity == dg.AssetCheckSeverity.WARN and not warn.blocking
    assert warn.partition == DAY.isoformat()
    assert (f"{NEWBIE} under {MODEL}: {N_NEWBIE} of {N_NEWBIE} replies did not fit the family's schema (100%) > 20%; "
            f"e.g. {mine['error'].iloc[0][:120]}") in warn.description
    assert "thinktank" not in warn.description and "mystery_agent" not in warn.description

    document = store.read_json(summary_key(store, DAY, MODEL))
    published = {a["agent_id_base"] for a in document["per_agent"]}
    assert {"thinktank_thesis", "mystery_agent"} <= published and NEWBIE not in published
    [unusable] = document["agents_replies_unusable"]
    assert unusable["agent_id_base"] == NEWBIE and unusable["unusable_rate"] == 1.0

    verdicts = store.read_parquet(verdicts_key(store, DAY)).set_index("agent_id_base")
    assert set(judged_families()) <= set(verdicts.index)  # every other family has its verdict row
    row = verdicts.loc[NEWBIE]
    assert row["status"] == REPLIES_UNUSABLE and "unregistered family" in row["reason"]
    assert f"{N_NEWBIE} of {N_NEWBIE} replies did not fit the family's schema (100%)" in row["reason"]
    assert (verdicts.drop(index=NEWBIE)["status"] != REPLIES_UNUSABLE).all()
    assert verdicts.loc["thinktank_thesis", "n_artifacts"] > 0

    ledger = store.read_parquet(ledger_key(store, DAY))
    assert {"thinktank_thesis", "thinktank_theme", "mystery_agent"} <= set(ledger["agent_id_base"])
    assert set(ledger["purpose"]) == {"concordance", "noise_ceiling"}


def test_dg_launch_a_provider_failure_still_blocks_the_day(launch_env, dg_launch, dagster_home, s3_client, bucket,
                                                           store, model_server):
    """3 replies answered with a non-JSON 200 (`bad_response`, not retried): ~15% of the day, under
    the step's own 20% bound, over the blocking check's 10%. No noise ceiling in the selection, so
    every fault lands on a concordance replay."""
    seed_with_newbie(s3_client, bucket)
    with FaultProxy(model_server.base_url, [FaultRule("non_json_200", 1.0, "POST", max_count=3)], seed=1) as proxy:
        done = dg_launch("--assets", "artifact_index,concordance,concordance_summary,agent_verdicts,spend_ledger",
                         "--partition", DAY.isoformat(),
                         env=launch_env | {"ALPHA_REPLAY_ANTHROPIC_BASE_URL": proxy.url})
    assert done.returncode != 0

    summary = day_summary(store.read_parquet(concordance_key(store, DAY, MODEL)))
    assert summary["bad_responses"] == 3 and 0.1 < summary["failure_rate"] <= 0.2
    run, checks = the_run(dagster_home)
    assert run.status == dg.DagsterRunStatus.FAILURE
    blocked = checks["replay_failure_rate"]
    assert not blocked.passed and blocked.severity == dg.AssetCheckSeverity.ERROR and blocked.blocking
    assert f"provider failure rate {summary['failure_rate']:.1%} > 10%" in blocked.description
    assert "3 bad responses" in blocked.description
    assert store.read_json(summary_key(store, DAY, MODEL)) is None  # nothing downstream was written
    assert store.read_parquet(verdicts_key(store, DAY)) is None
    assert store.read_parquet(ledger_key(store, DAY)) is None
