"""Prompt caching through the real SDK against the loopback Messages API: the server reports cache
writes and reads as the API does, concordance marks the long system prompts its families share,
warms each before the rest, records and prices the cache tokens, and asks each distinct request once."""

import datetime as dt
import json
import time

import dagster as dg
import pytest

from alpha_replay_assets.concordance import concordance, concordance_key, shared_prefixes
from alpha_replay_assets.costs import price_for
from alpha_replay_assets.index import artifact_index
from alpha_replay_assets.replay_cache import REQUEST_SCHEMA_VERSION
from alpha_replay_assets.sample import rules
from conftest import DAY
from resources.prompt_cache import min_cacheable_tokens, reaches_minimum

MODEL = "claude-haiku-4-5"
TUESDAY = DAY - dt.timedelta(days=(DAY.weekday() - 1) % 7)  # a weekday with think-tank theses and themes
DAYS = [TUESDAY, TUESDAY + dt.timedelta(days=1)]
LONG = "You are the ic_cio agent. " + "committee charter " * 1200  # ~5,400 tokens


def test_minimums_per_model_and_which_quick_start_families_reach_them():
    assert min_cacheable_tokens("claude-haiku-4-5") == 4096
    assert min_cacheable_tokens("claude-haiku-4-5-20251001") == 4096
    assert min_cacheable_tokens("claude-sonnet-4-5") == min_cacheable_tokens("claude-opus-4-1") == 1024
    assert min_cacheable_tokens("claude-unknown-9") == 4096  # unlisted: the largest minimum
    long_enough = {f for f in rules.RULES if reaches_minimum(MODEL, rules.system_prompt(f))}
    assert long_enough == {"ic_cio", "thinktank_thesis", "thinktank_theme"}
    assert REQUEST_SCHEMA_VERSION == 1  # the cache mark is not part of the content address


def test_server_writes_then_reads_a_marked_prefix_within_its_ttl(replay_model, model_server):
    with dg.build_resources({"model": replay_model}) as built:
        model = built.model
        first = model.create(MODEL, LONG, "candidates A", cache_system=True)
        second = model.create(MODEL, LONG, "candidates B", cache_system=True)
        unmarked = model.create(MODEL, LONG, "candidates C")
        short = model.create(MODEL, "You are the ic_cio agent.", "candidates D", cache_system=True)
        model_server.state.cache_ttl_s = 0.2
        model.create(MODEL, LONG, "candidates E", cache_system=True)  # refreshes the entry with the short TTL
        time.sleep(0.3)
        expired = model.create(MODEL, LONG, "candidates F", cache_system=True)
    prefix = len(LONG) // 4
    assert (first.cache_create_tokens, first.cache_read_tokens) == (prefix, 0)
    assert (second.cache_create_tokens, second.cache_read_tokens) == (0, prefix)
    assert second.input_tokens == first.input_tokens < 10  # only the uncached remainder
    assert unmarked.cache_create_tokens == unmarked.cache_read_tokens == 0 and unmarked.input_tokens > prefix
    assert short.cache_create_tokens == short.cache_read_tokens == 0  # below Haiku's 4,096 tokens: not cached
    assert expired.cache_create_tokens == prefix  # written again after the TTL ran out


def _run_day(resources, day):
    with dg.instance_for_test() as instance:
        return dg.materialize([artifact_index, concordance], resources=resources, instance=instance,
                              partition_key=day.isoformat())


def _duplicate_one_artifact(s3_client, bucket, day) -> None:
    """The same ic_cio call captured twice (a producer retry): two artifacts, one request."""
    prefix = f"decision_artifacts/{day:%Y/%m/%d}/ic_cio/"
    for item in s3_client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]:
        doc = json.loads(s3_client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
        if doc["input_data_truncated_at"] is None and "ADVANCE" in json.dumps(doc["agent_output"]) \
                and doc["full_prompt_context"]["user_prompt"]:  # replayed: neither truncated nor a placeholder
            s3_client.put_object(Bucket=bucket, Key=item["Key"].replace(".json", "-retry.json"),
                                 Body=json.dumps(doc | {"run_id": doc["run_id"] + "-retry"}).encode())
            return
    raise AssertionError("no replayable ic_cio artifact to duplicate")


def test_concordance_prices_cache_writes_and_reads_and_asks_each_request_once(
        replay_resources, store, model_server, seeded, s3_client, bucket):
    seeded(DAYS)
    _duplicate_one_artifact(s3_client, bucket, DAYS[0])
    price = price_for(MODEL)

    _run_day(replay_resources, DAYS[0])
    first = store.read_parquet(concordance_key(store, DAYS[0], MODEL))
    replied = first[first["outcome"].isin(["structured", "schema_error"])]
    counts = model_server.counts()
    # no duplicate calls: one model call per distinct request, the duplicated artifact included
    assert counts["messages"] == replied["request_digest"].nunique() == len(replied) - 1
    # each long prefix used by several requests is written once (its first call runs alone) and read by
    # the rest; one asked once is not marked (a write nobody reads costs 1.25x for nothing)
    long = replied[replied["agent_id_base"].isin(["ic_cio", "thinktank_thesis", "thinktank_theme"])]
    requests = long.groupby("agent_id_base")["request_digest"].nunique()
    reused = requests[requests >= 2]
    assert {"ic_cio", "thinktank_thesis"} <= set(reused.index)
    cached = long[long["agent_id_base"].isin(reused.index)].drop_duplicates("request_digest")  # the twin repeats
    assert counts["cache_writes"] == len(reused) == (cached["cache_create_tokens"] > 0).sum()
    assert counts["cache_reads"] == reused.sum() - len(reused)
    assert (cached["cache_read_tokens"] + cached["cache_create_tokens"]).gt(4096).all()
    others = replied[~replied["agent_id_base"].isin(reused.index)]
    assert (others["cache_read_tokens"] == 0).all() and (others["cache_create_tokens"] == 0).all()
    # recorded on the rows and priced: uncached input 1x, cache reads 0.1x, writes 1.25x, output
    expected = (replied["input_tokens"] * price.input + replied["cache_read_tokens"] * price.input * 0.1
                + replied["cache_create_tokens"] * price.input * 1.25 + replied["output_tokens"] * price.output) / 1e6
    assert replied["cost_usd"].to_numpy() == pytest.approx(expected.to_numpy())
    read_rows = cached[cached["cache_read_tokens"] > 0]
    full_price = price.usd(read_rows["input_tokens"] + read_rows["cache_read_tokens"], read_rows["output_tokens"])
    saved = 0.9 * read_rows["cache_read_tokens"].sum() * price.input / 1e6  # each read token at 0.1x
    assert read_rows["cost_usd"].sum() == pytest.approx(full_price.sum() - saved) and saved > 0

    # the next day, seconds later: yesterday's prefixes are still warm and only read
    _run_day(replay_resources, DAYS[1])
    second = store.read_parquet(concordance_key(store, DAYS[1], MODEL))
    warm = second[second["agent_id_base"].isin(reused.index) & second["outcome"].isin(["structured", "schema_error"])]
    assert len(warm) and (warm["cache_read_tokens"] > 0).all() and (warm["cache_create_tokens"] == 0).all()
    written = second[second["cache_create_tokens"] > 0].drop_duplicates("request_digest")  # families new today
    assert not set(written["agent_id_base"]) & set(reused.index)
    assert model_server.counts()["cache_writes"] == len(reused) + len(written)


def test_shared_prefixes_need_reuse_and_length():
    class T:
        def __init__(self, system):
            self.system = system
    tasks = [T(LONG), T(LONG), T("short"), T("short"), T(LONG + "once")]
    assert shared_prefixes(tasks, MODEL) == {LONG}
    assert shared_prefixes(tasks, "claude-opus-4-1") == {LONG}
