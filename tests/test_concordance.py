"""`concordance` against the moto S3 server and the loopback Messages API, through the real SDK."""

import json

import dagster as dg
import pandas as pd
import pytest

from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.index import artifact_index
from alpha_replay_assets.noise_ceiling import noise_ceiling
from alpha_replay_assets.paths import ceiling_key, concordance_key, replay_cache_key
from alpha_replay_assets.replay.cache import CorruptCacheEntry, ReplyCache, request_hash
from alpha_replay_assets.replay.rows import day_summary
from helpers import DAY

MODEL = "claude-haiku-4-5"
PARTITION = DAY.isoformat()


def run(resources, config=None, raise_on_error=True):
    with dg.instance_for_test() as instance:
        return dg.materialize(
            [artifact_index, concordance], resources=resources, instance=instance, partition_key=PARTITION,
            run_config={"ops": {"concordance": {"config": config or {}}}}, raise_on_error=raise_on_error,
        )


def result_frame(store):
    return store.read_parquet(concordance_key(store, DAY, MODEL))


def test_replays_scores_and_never_pays_twice(replay_resources, store, model_server, seeded):
    seeded()
    result = run(replay_resources)
    frame = result_frame(store)
    index = store.read_parquet(f"{store.analytics_prefix}/artifact_index/dt={PARTITION}/index.parquet")
    assert sorted(frame["key"]) == sorted(index["key"])  # one row per artifact, skips included
    structured = frame[frame["outcome"] == "structured"]
    summary = day_summary(frame)
    assert summary["complete"] and summary["structured"] == len(structured) > 0
    assert model_server.counts()["messages"] == len(structured)
    assert {"skipped_deterministic", "skipped_invalid"} <= set(frame["outcome"])
    assert "skipped_unsupported_family" not in set(frame["outcome"])  # an unregistered family is replayed too
    # every structured row names its scorer: the family's own, or the structural one for the unregistered family
    expected = structured["agent_id_base"].where(structured["agent_id_base"] != "mystery_agent", "structural")
    assert (structured["scorer"] == expected).all() and "structural" in set(structured["scorer"])
    # same hidden rules, different noise: high agreement, but not identical
    assert 0.6 < structured["agreement_score"].mean() < 1.0
    assert structured["agreement_score"].between(0, 1).all()
    assert (structured["cost_usd"] > 0).all() and (structured["input_tokens"] > 0).all()
    assert not structured["cache_hit"].any()
    [mat] = result.asset_materializations_for_node("concordance")
    assert mat.metadata["model_calls"].value == len(structured)
    assert any(k.startswith("concordance/ic_cio/") and k.endswith("/mean") for k in mat.metadata)

    before = model_server.counts()["messages"]
    run(replay_resources)
    assert model_server.counts()["messages"] == before  # zero model calls on re-materialisation
    again = result_frame(store)
    assert again[again["outcome"] == "structured"]["cache_hit"].all()
    pd.testing.assert_series_equal(again["agreement_score"], frame["agreement_score"])


def test_rate_limits_and_server_errors_recover(replay_resources, store, model_server, seeded):
    seeded()
    model_server.inject("429", "500", "529", "429")
    run(replay_resources)
    counts = model_server.counts()
    assert counts["fault_429"] == 2 and counts["fault_500"] == 1 and counts["fault_529"] == 1
    frame = result_frame(store)
    assert "transport_error" not in set(frame["outcome"])
    assert day_summary(frame)["complete"]


def test_malformed_and_schema_breaking_replies_are_rows_not_retries(replay_resources, store, model_server, seeded):
    seeded()
    model_server.inject("malformed", "schema")
    run(replay_resources)
    frame = result_frame(store)
    errors = frame[frame["outcome"] == "schema_error"]
    assert len(errors) == 2 and errors["error"].str.len().gt(0).all()
    calls = model_server.counts()["messages"]
    assert calls == day_summary(frame)["replayed"]  # one attempt each, none retried
    run(replay_resources)
    assert model_server.counts()["messages"] == calls  # the bad replies are cached too: never re-paid
    assert (result_frame(store)["outcome"] == "schema_error").sum() == 2


def test_budget_stop_keeps_what_it_has_and_resumes(replay_resources, store, model_server, seeded):
    seeded()
    result = run(replay_resources, {"budget_usd": 0.01})
    frame = result_frame(store)
    summary = day_summary(frame)
    assert summary["budget_skipped"] > 0 and summary["structured"] > 0 and not summary["complete"]
    [mat] = result.asset_materializations_for_node("concordance")
    assert mat.metadata["complete"].value is False
    paid = model_server.counts()["messages"]
    assert paid == summary["structured"]

    run(replay_resources)  # default budget: the rest, and only the rest
    after = result_frame(store)
    assert day_summary(after)["complete"]
    assert model_server.counts()["messages"] == paid + summary["budget_skipped"]


def test_transport_failures_above_threshold_fail_loudly(replay_resources, store, model_server, seeded):
    seeded()
    model_server.inject(*["500"] * 200)  # more than every replay's retries
    result = run(replay_resources, {"max_failure_rate": 0.2}, raise_on_error=False)
    assert not result.success
    [failure] = result.get_step_failure_events()
    assert "failed at the provider" in str(failure.event_specific_data.error)
    assert result_frame(store) is None  # nothing half-written over the partition


def test_batch_mode_submits_once_and_collects(replay_resources, make_replay_model, store, model_server, seeded):
    seeded()
    resources = replay_resources | {"replay_model": make_replay_model(use_batches=True)}
    run(resources)
    counts = model_server.counts()
    assert counts["batch_create"] == 1 and counts["messages"] == 0 and counts["batch_retrieve"] >= 2
    frame = result_frame(store)
    structured = frame[frame["outcome"] == "structured"]
    assert day_summary(frame)["complete"] and structured["batch"].all()
    run(resources)
    assert model_server.counts()["batch_create"] == 1  # everything cached: no new batch


def test_unknown_target_price_fails_before_any_call(replay_resources, make_replay_model, model_server, seeded):
    seeded()
    resources = replay_resources | {"replay_model": make_replay_model(target_models=["claude-mystery-1"])}
    result = run(resources, raise_on_error=False)
    assert not result.success and model_server.counts()["messages"] == 0


def _materialise_in_child(resources):
    run(resources)


def test_killed_run_resumes_without_repaying(replay_resources, make_replay_model, store, model_server, seeded,
                                             s3_client, bucket):
    import multiprocessing
    import time

    seeded()
    with dg.instance_for_test() as instance:
        dg.materialize([artifact_index], resources=replay_resources, instance=instance, partition_key=PARTITION)
    model_server.state.latency_ms = 100
    slow = replay_resources | {"replay_model": make_replay_model(max_concurrency=2)}
    child = multiprocessing.get_context("fork").Process(target=_materialise_in_child, args=(slow,))
    child.start()
    cache_prefix = f"{store.analytics_prefix}/replay_cache/"
    deadline = time.monotonic() + 60
    while s3_client.list_objects_v2(Bucket=bucket, Prefix=cache_prefix).get("KeyCount", 0) < 6:
        assert time.monotonic() < deadline and child.is_alive()
        time.sleep(0.05)
    child.kill()  # SIGKILL mid-run: no cleanup, no final write
    child.join()
    assert result_frame(store) is None
    time.sleep(0.3)  # let calls in flight land on the server
    cached = s3_client.list_objects_v2(Bucket=bucket, Prefix=cache_prefix)["KeyCount"]
    paid_before = model_server.counts()["messages"]
    assert paid_before <= cached + 2  # at most the calls in flight (concurrency 2) were lost

    model_server.state.latency_ms = 0
    run(replay_resources)
    frame = result_frame(store)
    summary = day_summary(frame)
    assert summary["complete"]
    assert model_server.counts()["messages"] - paid_before == summary["replayed"] - cached
    assert frame["cache_hit"].eq(True).sum() == cached


def test_a_corrupt_cache_entry_is_named_with_the_way_out(store):
    """Found by an attacker: a truncated cache object failed the step with a bare JSONDecodeError."""
    digest = request_hash("claude-haiku-4-5", "system", "user", 512)
    store.put_bytes(replay_cache_key(store, "claude-haiku-4-5", digest), b'{"truncated', "application/json")
    with pytest.raises(CorruptCacheEntry, match=f"{digest}.json is not a stored reply.*delete it"):
        ReplyCache(store, "claude-haiku-4-5").get(digest)


def test_an_artifact_of_an_unpriced_model_is_a_counted_ceiling_skip_not_a_failed_day(
        replay_resources, store, s3_client, bucket, model_server, seeded):
    """Found by an attacker: one `claude-opus-5` artifact failed `noise_ceiling` for every family."""
    seeded()
    prefix = f"decision_artifacts/{DAY:%Y/%m/%d}/mystery_agent/"
    source = s3_client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"][0]["Key"]
    doc = json.loads(s3_client.get_object(Bucket=bucket, Key=source)["Body"].read())
    doc["run_id"] = "from-a-new-model"
    doc["model_metadata"]["model_name"] = "claude-opus-5"
    s3_client.put_object(Bucket=bucket, Key=f"{prefix}from-a-new-model.json", Body=json.dumps(doc).encode())
    with dg.instance_for_test() as instance:
        result = dg.materialize([artifact_index, noise_ceiling], resources=replay_resources, instance=instance,
                                partition_key=PARTITION,
                                run_config={"ops": {"noise_ceiling": {"config": {"samples_per_family": 100}}}})
    frame = store.read_parquet(ceiling_key(store, DAY))
    skipped = frame[frame["outcome"] == "skipped_unpriced_model"]
    assert list(skipped["key"]) == [f"{prefix}from-a-new-model.json"]
    assert "no price for 'claude-opus-5'" in skipped["error"].iloc[0]
    assert (frame["outcome"] == "structured").sum() > 0 and day_summary(frame)["complete"]  # the rest replayed
    [mat] = result.asset_materializations_for_node("noise_ceiling")
    assert mat.metadata["skipped_unpriced_model"].value == 1
