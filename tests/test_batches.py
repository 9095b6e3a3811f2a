"""Backfills at batch price by default: a range longer than `batch_threshold_days` sends its
uncached replays as Message Batches first (one set for the whole range), recorded so a retried
step collects instead of paying again; the weekly tick and single days stay interactive."""

import datetime as dt
import math

import dagster as dg

from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.index import artifact_index
from alpha_replay_assets.paths import batch_record_key, concordance_key
from alpha_replay_assets.replay import batches
from alpha_replay_assets.replay.rate_card import price_for
from alpha_replay_assets.replay.rows import day_summary
from helpers import DAY
from jobs.schedules import range_tags, weekly_range
from resources.replay_model import ReplayModel

MODEL = "claude-haiku-4-5"
DAYS = [DAY - dt.timedelta(days=1), DAY]


def test_the_weekly_tick_and_single_days_stay_interactive_longer_ranges_use_batches():
    start, end = weekly_range(dt.datetime(2026, 11, 28, 2, tzinfo=dt.UTC))
    tick_days = (dt.date.fromisoformat(end) - dt.date.fromisoformat(start)).days + 1
    model = ReplayModel()
    assert tick_days == 7 and not model.batch_for(tick_days) and not model.batch_for(1)
    assert model.batch_for(8) and model.batch_for(56)
    assert ReplayModel(use_batches=True).batch_for(1)  # forced
    assert not ReplayModel(batch_threshold_days=56).batch_for(56)


def _run(resources):
    with dg.instance_for_test() as instance:
        return dg.materialize([artifact_index, concordance], resources=resources, instance=instance,
                              tags=range_tags(DAYS[0].isoformat(), DAYS[-1].isoformat()))


def test_a_backfill_is_replayed_in_one_batch_at_half_price_and_a_retry_collects_it_again(
        replay_resources, make_replay_model, store, model_server, seeded):
    seeded(DAYS)
    resources = replay_resources | {"replay_model": make_replay_model(batch_threshold_days=1)}
    result = _run(resources)
    counts = model_server.counts()
    assert counts["batch_create"] == 1 and counts["messages"] == 0  # one batch for the whole range
    mat = result.asset_materializations_for_node("concordance")[0]  # one per day, the same run metadata
    replied = 0
    for day in DAYS:
        frame = store.read_parquet(concordance_key(store, day, MODEL))
        summary = day_summary(frame)
        done = frame[frame["outcome"].isin(["structured", "schema_error"])]
        assert summary["complete"] and len(done) and done["batch"].all()
        price = price_for(MODEL)
        expected = [price.usd(r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_create_tokens, batch=True)
                    for r in done.itertuples()]
        assert done["cost_usd"].tolist() == expected  # at the batch price
        replied += done["request_digest"].nunique()
        assert store.read_json(batch_record_key(store, day, MODEL))["collected"] is True
    assert mat.metadata["batch_requests"].value == replied

    # a step that died after submitting: its record names the batch, nothing was collected yet
    store.delete([o["Key"] for o in store.list_prefix(store.analytics_key("replay_cache"))])
    for day in DAYS:
        key = batch_record_key(store, day, MODEL)
        store.write_json(key, store.read_json(key) | {"collected": False})
    _run(resources)
    counts = model_server.counts()
    assert counts["batch_create"] == 1 and counts["messages"] == 0  # collected again, never resubmitted
    assert all(day_summary(store.read_parquet(concordance_key(store, d, MODEL)))["complete"] for d in DAYS)


def test_a_range_too_large_for_one_batch_is_split_and_every_day_names_its_batches(
        replay_resources, make_replay_model, store, model_server, seeded, monkeypatch):
    seeded(DAYS)
    monkeypatch.setattr(batches, "MAX_REQUESTS", 25)  # the API's limit is 100,000 requests (or 256 MB)
    result = _run(replay_resources | {"replay_model": make_replay_model(batch_threshold_days=1)})
    batched = result.asset_materializations_for_node("concordance")[0].metadata["batch_requests"].value
    assert model_server.counts()["batch_create"] == math.ceil(batched / 25) > 2
    assert model_server.counts()["batch_requests"] == batched and model_server.counts()["messages"] == 0
    named = [set(store.read_json(batch_record_key(store, day, MODEL))["batch_ids"]) for day in DAYS]
    assert len(named[0] | named[1]) == model_server.counts()["batch_create"]
    assert all(day_summary(store.read_parquet(concordance_key(store, d, MODEL)))["complete"] for d in DAYS)
