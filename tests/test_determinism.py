"""The same corpus gives the same numbers: a rerun asks the model nothing and writes the same
outputs, and two cold runs ask the same requests (which artifacts are replayed, the noise-ceiling
sample included, is a function of the data and the configuration alone)."""

import datetime as dt
import io
import json

import dagster as dg
import pandas as pd
import pytest

from alpha_replay_assets.paths import verdicts_key
from alpha_replay_assets.sample import corpus
from alpha_replay_assets.sample.model_server import ModelServer
from helpers import DAY, SMALL, snapshot
from jobs.catalog import ALL_ASSETS
from resources.artifact_store import ArtifactStore

DAYS = [DAY - dt.timedelta(days=1), DAY]
# Per run by nature: when and by which run a result was computed, and whether a reply was cached.
RUN_FIELDS = {"computed_at", "run_id"}
RUN_COLUMNS = ["cache_hit"]


def _same_but_for_run_fields(key: str, a: bytes, b: bytes) -> bool:
    if key.endswith(".parquet"):
        frames = [pd.read_parquet(io.BytesIO(body)) for body in (a, b)]
        return frames[0].drop(columns=RUN_COLUMNS, errors="ignore").equals(
            frames[1].drop(columns=RUN_COLUMNS, errors="ignore"))
    if key.endswith(".json") and any(p in key for p in ("/_replay_summary/", "/_counterfactual/", "/_analysis/")):
        docs = [{k: v for k, v in json.loads(body).items() if k not in RUN_FIELDS} for body in (a, b)]
        return docs[0] == docs[1]
    return False


def test_a_rerun_makes_no_model_calls_and_writes_the_same_outputs(dg_launch, s3_client, bucket, model_server, seeded):
    seeded(DAYS)
    command = ["--job", "weekly_job", "--partition-range", f"{DAYS[0]}...{DAYS[-1]}"]
    first = dg_launch(*command)
    assert first.returncode == 0, first.stderr[-3000:]
    calls, before = model_server.counts()["messages"], snapshot(s3_client, bucket)
    assert calls > 0
    second = dg_launch(*command)
    assert second.returncode == 0, second.stderr[-3000:]
    after = snapshot(s3_client, bucket)
    assert model_server.counts()["messages"] == calls  # 0 model calls on the rerun
    assert set(after) == set(before)
    changed = [k for k in before if before[k] != after[k]]
    assert changed, "the outputs carry when and by which run they were computed"
    for key in changed:  # only those per-run fields differ; everything else is byte-identical
        assert _same_but_for_run_fields(key, before[key], after[key]), key


def _run_cold(bucket, s3_client, store, all_resources, make_replay_model, budget):
    server = ModelServer()
    try:
        resources = all_resources | {"store": ArtifactStore(s3=store.s3, bucket=bucket, max_workers=8),
                                     "replay_model": make_replay_model(base_url=server.base_url)}
        budgets = {"ops": {asset: {"config": {"budget_usd": budget}} for asset in ("concordance", "noise_ceiling")}}
        with dg.instance_for_test() as instance:
            result = dg.materialize(ALL_ASSETS, resources=resources, instance=instance, run_config=budgets,
                                    tags={"dagster/asset_partition_range_start": DAYS[0].isoformat(),
                                          "dagster/asset_partition_range_end": DAYS[-1].isoformat()})
        assert result.success
        cache = {k.rsplit("/", 1)[1] for k in snapshot(s3_client, bucket) if "/replay_cache/" in k}
        verdicts = pd.read_parquet(io.BytesIO(s3_client.get_object(
            Bucket=bucket, Key=verdicts_key(resources["store"], DAYS[-1]))["Body"].read()))
        return cache, verdicts, server.counts()["messages"]
    finally:
        server.stop()


@pytest.mark.parametrize("budget", [25.0, 0.02], ids=["enough budget", "budget cuts the day"])
def test_two_cold_runs_ask_the_same_requests_and_reach_the_same_verdicts(budget, s3_client, store, all_resources,
                                                                         make_replay_model):
    outcomes = []
    for n in (1, 2):
        name = f"{store.bucket}-{n}"
        s3_client.create_bucket(Bucket=name)
        corpus.seed(s3_client, name, DAYS, SMALL)
        outcomes.append(_run_cold(name, s3_client, store, all_resources, make_replay_model, budget))
    (cache_a, verdicts_a, calls_a), (cache_b, verdicts_b, calls_b) = outcomes
    assert cache_a and cache_a == cache_b and calls_a == calls_b
    pd.testing.assert_frame_equal(verdicts_a, verdicts_b)
