"""Replays go through the provider the producer used: router slugs (`vendor/model`, the think tank's
models) through the real `openai` SDK to the loopback server's OpenAI-compatible chat completions,
Claude ids through the real `anthropic` SDK to its Messages API; with everything the Anthropic path
guarantees (the replay cache, the budget, the rate governor, bad responses as rows, cost, dry runs,
per-run overrides). The server counts each endpoint apart, which proves where a replay went."""

import datetime as dt
import json
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import pytest

from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.index import artifact_index
from alpha_replay_assets.noise_ceiling import noise_ceiling
from alpha_replay_assets.paths import ceiling_key, concordance_key
from alpha_replay_assets.replay.cache import request_hash
from alpha_replay_assets.replay.rows import day_summary
from alpha_replay_assets.sample.model_state import ROUTER_USD_PER_MTOK
from helpers import DAY
from jobs.schedules import range_tags
from resources.environment import resources_from_env
from resources.rate_governor import read_limits
from resources.replay_model import ReplayModel, Unroutable
from resources.router_client import DEFAULT_BASE_URL
from resources.run_mode import DRY_RUN_TAG, DryRunViolation

SLUG = "deepseek/deepseek-chat-v3.1"  # the think tank's thesis model, through OpenRouter
QWEN = "qwen/qwen3-235b-a22b-instruct"  # its themes model, same router
CLAUDE = "claude-haiku-4-5"
# A price table entry for the slug, far from what the loopback router bills: a row priced from the
# table instead of the router's `usage.cost` would show.
PRICES = {SLUG: [5.0, 5.0]}
NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def routed(make_replay_model, model_server):
    """A ReplayModel with both routes on the loopback server; keyword arguments override."""
    def make(**overrides):
        return make_replay_model(**dict(openai_compat_base_url=model_server.router_url,
                                        openai_compat_api_key="router-test-key") | overrides)
    return make


def billed(row) -> float:
    usd_in, usd_out = ROUTER_USD_PER_MTOK
    return (row.input_tokens * usd_in + row.output_tokens * usd_out) / 1e6


def _concordance(resources, **tags):
    with dg.instance_for_test() as instance:
        return dg.materialize([artifact_index, concordance], resources=resources, instance=instance,
                              run_config={"ops": {"concordance": {"config": {"prices": PRICES}}}}, **tags)


def test_routing_is_by_model_id_and_the_route_is_part_of_the_content_address():
    model = ReplayModel(openai_compat_api_key="k")
    assert model.provider("claude-haiku-4-5-20251001") == "anthropic" == model.provider("claude-sonnet-4-6")
    assert model.provider(SLUG) == model.provider(QWEN) == "openai_compat"
    assert model.route(SLUG) == "openai_compat@openrouter.ai" and model.route(CLAUDE) == "anthropic"
    assert model.openai_compat_base_url == DEFAULT_BASE_URL == "https://openrouter.ai/api/v1"
    assert not model.has_batches(SLUG) and not model.caches_prompts(SLUG) and model.caches_prompts(CLAUDE)
    with pytest.raises(Unroutable, match="neither an Anthropic id"):
        model.provider("gpt-4o")
    assert "ALPHA_REPLAY_OPENAI_COMPAT_API_KEY" in ReplayModel().route_problem(SLUG)
    assert ReplayModel().route_problem(CLAUDE) is None  # the Anthropic SDK has its own key chain
    # an Anthropic address is what it was before routing (cached replies stay valid); a router's is its own
    assert request_hash(CLAUDE, "s", "u", 512, 0, "anthropic") == request_hash(CLAUDE, "s", "u", 512)
    routes = {request_hash(SLUG, "s", "u", 512, 1, route) for route in
              ("anthropic", "openai_compat@openrouter.ai", "openai_compat@other-router.example")}
    assert len(routes) == 3


def test_router_rate_limit_headers_in_both_spellings():
    openrouter = {"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "20",
                  "X-RateLimit-Reset": str(int((NOW.timestamp() + 9) * 1000))}
    openai_style = {"x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "0",
                    "x-ratelimit-reset-requests": "1m0s", "x-ratelimit-limit-tokens": "1000",
                    "x-ratelimit-remaining-tokens": "500", "x-ratelimit-reset-tokens": "250ms"}
    limits = read_limits(openrouter, NOW)
    assert limits["requests"].remaining == 20 and limits["requests"].refill_per_s == pytest.approx(180 / 9)
    limits = read_limits(openai_style, NOW)
    assert limits["requests"].refill_per_s == pytest.approx(1.0)
    assert limits["tokens"].refill_per_s == pytest.approx(2000)
    assert read_limits({"x-ratelimit-limit-tokens": "1", "x-ratelimit-remaining-tokens": "0",
                        "x-ratelimit-reset-tokens": "soon"}, NOW) == {}


def test_a_router_slug_goes_to_chat_completions_a_claude_id_to_messages_and_a_rerun_makes_no_call(
        routed, replay_resources, store, model_server, seeded):
    seeded()
    resources = replay_resources | {"replay_model": routed(target_models=[SLUG, CLAUDE])}
    result = _concordance(resources, partition_key=DAY.isoformat())
    assert result.success
    router, claude = (store.read_parquet(concordance_key(store, DAY, m)) for m in (SLUG, CLAUDE))
    calls = {m: day_summary(f)["model_calls"] for m, f in ((SLUG, router), (CLAUDE, claude))}
    counts = model_server.counts()
    assert counts["chat_completions"] == calls[SLUG] > 20 and counts["messages"] == calls[CLAUDE] > 20
    assert day_summary(router)["complete"] and (router["outcome"] == "structured").sum() > 20
    replied = router[router["outcome"] == "structured"]
    # the cost is what the router billed (`usage.cost`), not the price table's $5/MTok
    assert replied["cost_usd"].tolist() == pytest.approx([billed(r) for r in replied.itertuples()], rel=1e-6)
    assert not replied["batch"].any()
    assert len(list(store.list_prefix(store.analytics_key("replay_cache", "deepseek-deepseek-chat-v3.1")))) == \
        replied["request_digest"].nunique()

    again = _concordance(resources, partition_key=DAY.isoformat())
    assert again.success and model_server.counts() == counts  # 0 calls on either endpoint
    rerun = store.read_parquet(concordance_key(store, DAY, SLUG))
    assert rerun.loc[rerun["outcome"] == "structured", "cache_hit"].all()
    assert rerun["cost_usd"].tolist() == pytest.approx(router["cost_usd"].tolist(), nan_ok=True)


def _router_originals(s3_client, bucket, days) -> dict[str, set[str]]:
    """Router slug -> the families whose artifacts name it as their original model, read as the
    producers wrote them (the think tank: thesis on deepseek, themes on qwen). Each of them leaves
    `provider` at `anthropic`, so a replay routed by `provider` instead of the model id would show."""
    originals: dict[str, set[str]] = {}
    for day in days:
        prefix = f"decision_artifacts/{day:%Y/%m/%d}/"
        for page in s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                body = s3_client.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                try:
                    meta = json.loads(body)["model_metadata"]
                except (ValueError, KeyError, TypeError):
                    continue  # the corpus's bad objects
                if isinstance(meta, dict) and "/" in str(meta.get("model_name")):
                    assert meta["provider"] == "anthropic"
                    originals.setdefault(meta["model_name"], set()).add(obj["Key"].split("/")[4].split(":")[0])
    return originals


def test_a_backfilled_noise_ceiling_replays_router_originals_interactively_and_the_rest_in_batches(
        routed, replay_resources, store, model_server, seeded, s3_client, bucket):
    days = seeded([DAY - dt.timedelta(days=1), DAY])
    originals = _router_originals(s3_client, bucket, days)
    assert originals == {SLUG: {"thinktank_thesis"}, QWEN: {"thinktank_theme"}}
    resources = replay_resources | {"replay_model": routed(batch_threshold_days=1)}
    with dg.instance_for_test() as instance:
        result = dg.materialize([artifact_index, noise_ceiling], resources=resources, instance=instance,
                                tags=range_tags(days[0].isoformat(), days[-1].isoformat()),
                                run_config={"ops": {"noise_ceiling": {"config": {"prices": PRICES}}}})
        logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert result.success
    frames = [store.read_parquet(ceiling_key(store, day)) for day in days]
    router = [f[f["target_model"].isin(originals)] for f in frames]
    assert all({m: set(g) for m, g in r.groupby("target_model")["agent_id_base"]} == originals for r in router)
    assert all(len(r) and (r["outcome"] == "structured").all() and not r["batch"].any() for r in router)
    counts = model_server.counts()
    assert counts["chat_completions"] == sum(r["request_digest"].nunique() for r in router)  # k=2: distinct samples
    assert counts["batch_create"] >= 1 and counts["messages"] == 0  # the Claude originals went to batches
    others = [f[~f["target_model"].isin(originals)] for f in frames]
    assert all(len(o) and o.loc[o["outcome"] == "structured", "batch"].all() for o in others)
    mat = result.asset_materializations_for_node("noise_ceiling")[0]
    assert sorted(mat.metadata["interactive_backfill_models"].value) == sorted(originals)
    assert all(any(f"{slug}: the router has no batch API" in m for m in logs) for slug in originals)


def test_without_a_router_key_router_originals_are_a_counted_ceiling_skip_and_router_targets_fail_first(
        replay_resources, make_replay_model, store, model_server, seeded, s3_client, bucket):
    seeded()
    originals = _router_originals(s3_client, bucket, [DAY])
    assert set(originals) == {SLUG, QWEN}
    resources = replay_resources | {"replay_model": make_replay_model()}  # no ALPHA_REPLAY_OPENAI_COMPAT_API_KEY
    with dg.instance_for_test() as instance:
        result = dg.materialize([artifact_index, noise_ceiling], resources=resources, instance=instance,
                                partition_key=DAY.isoformat(),
                                run_config={"ops": {"noise_ceiling": {"config": {"prices": PRICES}}}})
    frame = store.read_parquet(ceiling_key(store, DAY))
    skipped = frame[frame["outcome"] == "skipped_unroutable_model"]
    assert {m: set(g) for m, g in skipped.groupby("target_model")["agent_id_base"]} == originals
    assert skipped["error"].str.contains("ALPHA_REPLAY_OPENAI_COMPAT_API_KEY").all()
    assert (frame["outcome"] == "structured").sum() > 0 and model_server.counts()["chat_completions"] == 0
    assert result.asset_materializations_for_node("noise_ceiling")[0].metadata["skipped_unroutable_model"].value \
        == len(skipped)

    with dg.instance_for_test() as instance:
        failed = dg.materialize([concordance], resources=replay_resources | {
            "replay_model": make_replay_model(target_models=[SLUG])}, instance=instance, raise_on_error=False,
            partition_key=DAY.isoformat(), run_config={"ops": {"concordance": {"config": {"prices": PRICES}}}})
    assert not failed.success and model_server.counts()["chat_completions"] == 0
    assert "ALPHA_REPLAY_OPENAI_COMPAT_API_KEY" in str(failed.get_step_failure_events()[0].event_specific_data.error)


def test_a_429_with_retry_after_is_honoured_on_the_router_path(routed, model_server):
    """Two calls at once on a spent one-call bucket: the second is refused with `retry-after: 2`,
    the SDK and the governor wait that long, and the retry is let through (no second 429)."""
    model_server.rate_limit(requests=1, period_s=2.0)
    with dg.build_resources({"model": routed(max_concurrency=2, timeout_s=10.0)}) as built:
        with ThreadPoolExecutor(2) as pool:
            replies = list(pool.map(lambda i: built.model.create(SLUG, "You decide.", f"call {i}"), range(2)))
        seen_429 = built.model.rate_limited
    admitted = model_server.admitted()
    assert len(replies) == len(admitted) == 2 and all(r.cost_usd for r in replies)
    assert seen_429 == model_server.counts()["rate_limited"] == 1
    assert admitted[1] - admitted[0] >= 1.5  # the bucket's one call refills in 2 s; retry-after said so


class Call(dg.Config):
    model: str


@dg.asset
def careless_router(config: Call, replay_model: ReplayModel) -> None:
    """An asset that forgot its dry-run guard and replays straight away."""
    replay_model.create(config.model, "system", "user")


@pytest.mark.parametrize("model", [SLUG, CLAUDE])
def test_a_dry_run_builds_no_client_on_either_route(model, routed, model_server):
    with dg.instance_for_test() as instance:
        result = dg.materialize([careless_router], resources={"replay_model": routed()}, instance=instance,
                                raise_on_error=False, tags={DRY_RUN_TAG: "true"},
                                run_config={"ops": {"careless_router": {"config": {"model": model}}}})
        real = dg.materialize([careless_router], resources={"replay_model": routed()}, instance=instance,
                              run_config={"ops": {"careless_router": {"config": {"model": model}}}})
    assert not result.success
    assert DryRunViolation.__name__ in str(result.get_step_failure_events()[0].event_specific_data.error)
    endpoint = "chat_completions" if model == SLUG else "messages"
    assert real.success and model_server.counts()[endpoint] == 1  # the refusal was the dry run's doing


def test_a_per_run_router_base_url_keeps_the_env_bound_key(monkeypatch, model_server):
    monkeypatch.setenv("ALPHA_REPLAY_OPENAI_COMPAT_API_KEY", "router-key-from-env")
    monkeypatch.setenv("ALPHA_REPLAY_OPENAI_COMPAT_BASE_URL", "http://127.0.0.1:9/api/v1")
    monkeypatch.setenv("ALPHA_REPLAY_ANTHROPIC_BASE_URL", "http://127.0.0.1:7")
    bound = resources_from_env()["replay_model"]
    with dg.build_resources({"replay_model": bound}) as built:
        before = built.replay_model.model_dump()
    assert before["openai_compat_api_key"] == "router-key-from-env"
    override = {"replay_model": {"config": {"openai_compat_base_url": model_server.router_url}}}
    with dg.build_resources({"replay_model": bound}, resource_config=override) as built:
        after = built.replay_model.model_dump()
        reply = built.replay_model.create(SLUG, "system", "user")  # reaches the loopback router with the key
    assert after == before | {"openai_compat_base_url": model_server.router_url}
    assert reply.message_id and model_server.counts()["chat_completions"] == 1


def test_every_spelling_of_this_machine_is_a_stand_in_and_another_anthropic_host_has_its_own_address():
    """127.1, 0.0.0.0, 2130706433, `localhost.`, ip6-localhost, [::ffff:127.0.0.1] are this machine: a
    stand-in, never cached as the real API's replies; a proxy in front of the API gets its own address."""
    from resources.replay_model import is_loopback

    for host in ("127.1", "0.0.0.0", "2130706433", "localhost.", "ip6-localhost", "::ffff:127.0.0.1", "[::1]",
                 "localhost", "127.0.0.1", "::"):
        assert is_loopback(host), host
        model = ReplayModel(base_url=f"http://{host if ':' not in host or host.startswith('[') else f'[{host}]'}:9")
        assert model.is_simulated(CLAUDE) and model.address(CLAUDE).endswith("~simulated"), host
    for host in ("api.anthropic.com", "10.1.2.3", "no-such-host.invalid", "", None):
        assert not is_loopback(host), host
    assert ReplayModel().address(CLAUDE) == "anthropic"  # the real API's cached replies keep their address
    assert ReplayModel(base_url="https://api.anthropic.com").address(CLAUDE) == "anthropic"
    proxy = ReplayModel(base_url="https://llm-proxy.example.com/v1", simulated=False)
    assert proxy.address(CLAUDE) == "anthropic@llm-proxy.example.com"
    assert ReplayModel(base_url="http://10.0.0.5:8080", simulated=False).address(CLAUDE) == "anthropic@10.0.0.5:8080"
