"""Prompt caching through the real SDK against the loopback Messages API: the server reports cache
writes and reads as the API does, a replay (concordance, the noise ceiling) marks the long system
prompts that several of its distinct requests share, warms each before the rest, records and prices
the cache tokens, and asks each distinct request once. In the producers' reality no captured system
prompt is long enough to cache; the corpus's rendered graph prompts give ic_cio one that is."""

import datetime as dt
import json
import time

import dagster as dg
import pandas as pd
import pytest

from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.index import artifact_index, read_day_index
from alpha_replay_assets.noise_ceiling import noise_ceiling
from alpha_replay_assets.paths import ceiling_key, concordance_key
from alpha_replay_assets.replay.cache import REQUEST_SCHEMA_VERSION
from alpha_replay_assets.replay.planning import shared_prefixes
from alpha_replay_assets.replay.rate_card import price_for
from alpha_replay_assets.sample import corpus
from helpers import DAY, pinned
from resources.prompt_cache import min_cacheable_tokens, reaches_minimum

MODEL = "claude-haiku-4-5"
TUESDAY = DAY - dt.timedelta(days=(DAY.weekday() - 1) % 7)  # a weekday with think-tank theses and themes
DAYS = [TUESDAY, TUESDAY + dt.timedelta(days=1)]
LONG = "You are the ic_cio agent. " + "committee charter " * 1200  # ~5,400 tokens


def _families_reaching(model: str, graph_prompts: str) -> set[str]:
    """Families whose captured system prompt, on a pinned corpus day, is long enough to cache for `model`."""
    reaching = set()
    for _, body in corpus.day_objects(DAY, "decision_artifacts", pinned(per_day=60, graph_prompts=graph_prompts)):
        try:
            doc = json.loads(body)
            system = doc["full_prompt_context"]["system_prompt"]
        except (ValueError, KeyError, TypeError):
            continue  # bad objects, deterministic executors
        if reaches_minimum(model, system):
            reaching.add(doc["agent_id"].split(":")[0])
    return reaching


def test_minimums_per_model_and_which_families_reach_them():
    assert min_cacheable_tokens("claude-haiku-4-5") == 4096
    assert min_cacheable_tokens("claude-haiku-4-5-20251001") == 4096
    assert min_cacheable_tokens("claude-sonnet-4-5") == min_cacheable_tokens("claude-opus-4-1") == 1024
    assert min_cacheable_tokens("claude-unknown-9") == 4096  # unlisted: the largest minimum
    # the producers' reality (the corpus default): the think tank's system prompts are a few hundred
    # characters and the graph's are the cost tracker's stubs, so none reaches even the smallest minimum
    assert _families_reaching(MODEL, "stub") == _families_reaching("claude-sonnet-4-5", "stub") == set()
    # with real-looking graph prompts only ic_cio's (its committee charter and worked examples) does
    assert _families_reaching(MODEL, "rendered") == {"ic_cio"}
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


def _run_day(resources, day, asset):
    with dg.instance_for_test() as instance:
        return dg.materialize([artifact_index, asset], resources=resources, instance=instance,
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


def _replied(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["outcome"].isin(["structured", "schema_error"])]


def _long(store, day, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows whose system prompt (read from the day's index) reaches their model's cache minimum."""
    systems = read_day_index(store, day, ["key", "system_prompt"]).set_index("key")["system_prompt"]
    return frame[[reaches_minimum(m, systems[k]) for k, m in zip(frame["key"], frame["target_model"])]]


def test_replays_price_cache_writes_and_reads_and_ask_each_request_once(
        replay_resources, store, model_server, seeded, s3_client, bucket):
    """On the producers' cadence one ic_cio artifact a day carries the long prefix: concordance asks
    it once (never marked, the retry's twin included), the noise ceiling asks it k times (written by
    the first call, read by the rest, priced as such), and the next day's ceiling only reads it."""
    seeded(DAYS)
    _duplicate_one_artifact(s3_client, bucket, DAYS[0])

    _run_day(replay_resources, DAYS[0], concordance)
    replied = _replied(store.read_parquet(concordance_key(store, DAYS[0], MODEL)))
    counts = model_server.counts()
    # no duplicate calls: one model call per distinct request, the duplicated artifact included
    assert counts["messages"] == replied["request_digest"].nunique() == len(replied) - 1
    # a long prefix asked by one request (twice) is not marked: a write nobody reads costs 1.25x for nothing
    assert _long(store, DAYS[0], replied)["agent_id_base"].tolist() == ["ic_cio", "ic_cio"]
    assert counts["cache_writes"] == counts["cache_reads"] == 0
    assert (replied["cache_read_tokens"] == 0).all() and (replied["cache_create_tokens"] == 0).all()

    _run_day(replay_resources, DAYS[0], noise_ceiling)
    replied = _replied(store.read_parquet(ceiling_key(store, DAYS[0])))
    before, counts = counts, model_server.counts()
    assert counts["messages"] - before["messages"] == replied["request_digest"].nunique() == len(replied) - 2
    # each long prefix used by several requests is written once (its first call runs alone) and read by the rest
    long = _long(store, DAYS[0], replied)
    requests = long.groupby("agent_id_base")["request_digest"].nunique()
    reused = requests[requests >= 2]
    assert set(reused.index) == {"ic_cio"}
    cached = long[long["agent_id_base"].isin(reused.index)].drop_duplicates("request_digest")  # the twin repeats
    assert counts["cache_writes"] == len(reused) == (cached["cache_create_tokens"] > 0).sum()
    assert counts["cache_reads"] == reused.sum() - len(reused)
    assert all(r.cache_read_tokens + r.cache_create_tokens >= min_cacheable_tokens(r.target_model)
               for r in cached.itertuples())
    others = replied[~replied["agent_id_base"].isin(reused.index)]
    assert len(others) and (others["cache_read_tokens"] == 0).all() and (others["cache_create_tokens"] == 0).all()
    # recorded on the rows and priced: uncached input 1x, cache reads 0.1x, writes 1.25x, output
    prices = [price_for(m) for m in replied["target_model"]]
    expected = [(r.input_tokens * p.input + r.cache_read_tokens * p.input * 0.1
                 + r.cache_create_tokens * p.input * 1.25 + r.output_tokens * p.output) / 1e6
                for r, p in zip(replied.itertuples(), prices)]
    assert replied["cost_usd"].tolist() == pytest.approx(expected)
    read_rows = cached[cached["cache_read_tokens"] > 0]
    price = price_for(read_rows["target_model"].iloc[0])
    full_price = price.usd(read_rows["input_tokens"] + read_rows["cache_read_tokens"], read_rows["output_tokens"])
    saved = 0.9 * read_rows["cache_read_tokens"].sum() * price.input / 1e6  # each read token at 0.1x
    assert read_rows["cost_usd"].sum() == pytest.approx(full_price.sum() - saved) and saved > 0

    # the next day, seconds later: yesterday's prefixes are still warm and only read
    _run_day(replay_resources, DAYS[1], noise_ceiling)
    second = _replied(store.read_parquet(ceiling_key(store, DAYS[1])))
    warm = second[second["agent_id_base"].isin(reused.index)]
    assert len(warm) and (warm["cache_read_tokens"] > 0).all() and (warm["cache_create_tokens"] == 0).all()
    written = second[second["cache_create_tokens"] > 0].drop_duplicates("request_digest")  # families new today
    assert not set(written["agent_id_base"]) & set(reused.index)
    assert model_server.counts()["cache_writes"] == len(reused) + len(written)


def test_shared_prefixes_need_reuse_by_distinct_requests_and_length():
    class T:
        def __init__(self, system, digest):
            self.system, self.digest = system, digest
    tasks = [T(LONG, "a"), T(LONG, "b"), T("short", "c"), T("short", "d"), T(LONG + "once", "e")]
    assert shared_prefixes(tasks, MODEL) == {LONG}
    assert shared_prefixes(tasks, "claude-opus-4-1") == {LONG}
    twins = [T(LONG + "once", "e"), T(LONG + "once", "e")]  # one request captured twice: one call, nobody reads
    assert shared_prefixes(tasks + twins, MODEL) == {LONG}
