"""Rate-limit aware concurrency: the governor's rules on their own (a fake clock), then the real SDK
against the loopback Messages API enforcing a scripted limit with `anthropic-ratelimit-*` headers
and 429s. The scripted limits are far below what the machine serves (a few ms per call), so the
limit, not the CPU, sets the pace; the bounds on the pace are generous for a busy machine."""

import bisect
import datetime as dt
import math
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import pytest

from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.index import artifact_index
from alpha_replay_assets.paths import concordance_key
from alpha_replay_assets.replay.rows import day_summary
from helpers import DAY
from resources.rate_governor import Governor, read_limits, retry_after_s

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
MODEL = "claude-haiku-4-5"
ROUTER_MODEL = "qwen/qwen3-235b-a22b-instruct"  # through the loopback's OpenAI-compatible endpoint


def limit_headers(remaining: int, limit: int = 100, full_in_s: float = 60.0, dimension: str = "requests") -> dict:
    prefix = f"anthropic-ratelimit-{dimension}-"
    reset = (NOW + dt.timedelta(seconds=full_in_s)).isoformat().replace("+00:00", "Z")
    return {prefix + "limit": str(limit), prefix + "remaining": str(remaining), prefix + "reset": reset}


def test_headers_give_each_bucket_its_refill_rate_and_the_wait_after_a_429():
    headers = limit_headers(10, 100, 45.0) | {k.title(): v for k, v in
                                               limit_headers(0, 5000, 60.0, "input-tokens").items()}
    limits = read_limits(headers, NOW)
    assert limits["requests"].remaining == 10 and limits["requests"].refill_per_s == pytest.approx(2.0)
    assert limits["input-tokens"].refill_per_s == pytest.approx(5000 / 60)  # header names are case-insensitive
    assert read_limits(limit_headers(100, 100, 0.0), NOW)["requests"].refill_per_s == math.inf  # full
    assert read_limits({"anthropic-ratelimit-requests-limit": "x"}, NOW) == {}
    assert retry_after_s({"retry-after": "3"}, NOW) == 3.0
    assert retry_after_s({"retry-after-ms": "250", "retry-after": "3"}, NOW) == 0.25
    assert retry_after_s({"Retry-After": "Sat, 28 Nov 2026 12:00:07 GMT"}, NOW) == 7.0
    assert retry_after_s({"retry-after": "soon"}, NOW) is None and retry_after_s({}, NOW) is None


def test_pacing_starts_when_a_limit_runs_low_and_stops_when_it_has_refilled():
    governor = Governor(4)
    governor.started(0.0)
    governor.finished(0.0, 200, read_limits(limit_headers(50), NOW), None)
    assert governor.spacing == 0.0  # 50 calls left, 4 could be in flight: no pacing
    governor.started(0.0)
    governor.finished(0.0, 200, read_limits(limit_headers(4, 100, 48.0), NOW), None)
    assert governor.spacing == pytest.approx(0.5)  # 4 left < 4 in flight + 1; 96 used refill in 48 s: 2 calls/s
    governor.started(1.0)
    assert governor.delay(1.0) == pytest.approx(0.5) and governor.delay(1.5) == 0.0
    governor.started(1.5)
    assert governor.delay(1.5) == pytest.approx(0.5)  # each start books the next slot
    for _ in range(2):
        governor.finished(2.0, 200, read_limits(limit_headers(90, 100, 5.0), NOW), None)
    assert governor.spacing == 0.0  # refilled: back to full speed
    # a token dimension paces by a call's learned cost: 1,000 tokens a call, 500 tokens/s refill
    governor.record_usage(1000, 100)
    governor.started(3.0)
    governor.finished(3.0, 200, read_limits(limit_headers(2000, 30000, 56.0, "input-tokens"), NOW), None)
    assert governor.spacing == pytest.approx(2.0)


def test_a_429_pauses_every_worker_and_halves_concurrency_which_grows_back_additively():
    governor = Governor(8)
    for _ in range(8):
        governor.started(0.0)
    assert governor.delay(0.0) is None  # every slot busy
    governor.finished(0.1, 429, {}, 2.0)
    assert governor.allowed == 4.0 and governor.rate_limited == 1
    for _ in range(4):
        governor.finished(0.2, 200, {}, None)
    assert governor.in_flight == 3 and governor.delay(0.5) == pytest.approx(1.6)  # paused until 2.1 s
    expected = 4.0
    for _ in range(4):  # +1/allowed per success: +1 per round of `allowed` calls
        expected += 1 / expected
    governor.finished(0.3, None, {}, None)  # a connection failure changes nothing but the slot
    assert governor.allowed == pytest.approx(expected)
    governor.finished(0.3, 429, {}, None)
    assert governor.paused_until == pytest.approx(2.1)  # a shorter default pause never shortens a longer one
    for _ in range(200):
        governor.started(3.0)
        governor.finished(3.0, 200, {}, None)
    assert governor.allowed == 8.0  # grown back, never above max_concurrency


def _admitted_in_any_window(times: list[float], window_s: float) -> int:
    return max(bisect.bisect_right(times, t + window_s) - i for i, t in enumerate(times))


@pytest.mark.parametrize("model", [MODEL, ROUTER_MODEL], ids=["messages", "router"])
@pytest.mark.parametrize("limit", [{"requests": 20}, {"input_tokens": 2000}], ids=["20 requests-s", "2000 tokens-s"])
def test_replays_run_at_the_scripted_limit_and_never_above_it(limit, model, make_replay_model, model_server):
    """On the router path the limits come in the router's spelling (`x-ratelimit-*`, requests with
    OpenRouter's epoch-ms reset, tokens with a duration), read by the same governor."""
    model_server.rate_limit(**limit, period_s=1.0)  # a bucket of one second's worth, refilled continuously
    rate, burst, n = 20.0, 20, 300  # each prompt is 400 characters, 100 input tokens: 20 calls/s either way
    system = "You decide."
    replay_model = make_replay_model(max_concurrency=8, timeout_s=30.0, openai_compat_api_key="test-key",
                                     openai_compat_base_url=model_server.router_url)
    with dg.build_resources({"model": replay_model}) as built:
        with ThreadPoolExecutor(8) as pool:
            prompts = [f"{i:04d} ".ljust(400 - len(system), "x") for i in range(n)]
            replies = list(pool.map(lambda user: built.model.create(model, system, user), prompts))
        seen_429 = built.model.rate_limited
    admitted, refused = model_server.admitted(), model_server.counts()["rate_limited"]
    assert len(replies) == len(admitted) == n
    assert model_server.counts()["chat_completions" if model == ROUTER_MODEL else "messages"] == n + refused
    # no more than the limit allows, counted on the server: in any window, the bucket plus its refill
    for window_s in (1.0, 5.0):
        assert _admitted_in_any_window(admitted, window_s) <= burst + rate * window_s + 1
    # and at least 90% of it: the pace after the first bucketful
    achieved = (n - burst) / (admitted[-1] - admitted[0])
    assert 0.9 * rate <= achieved <= 1.05 * rate, f"{achieved:.1f} calls/s against a limit of {rate:g}"
    # it slowed down before the 429s (the SDK's retries alone meet ~100 here: 8 workers on a spent bucket);
    # a token limit may refuse a call or two before the first reply has taught the governor a call's size
    assert refused == seen_429 <= 5
    print(f"{model} limit {limit}: {achieved:.2f} calls/s of {rate:g} over {n} calls, {refused} 429s")


def test_concordance_under_a_rate_limit_completes_without_transport_errors(replay_resources, store, model_server,
                                                                          seeded):
    seeded()
    model_server.rate_limit(requests=10, period_s=1.0)
    with dg.instance_for_test() as instance:
        result = dg.materialize([artifact_index, concordance], resources=replay_resources, instance=instance,
                                partition_key=DAY.isoformat())
    summary = day_summary(store.read_parquet(concordance_key(store, DAY, MODEL)))
    assert summary["complete"] and summary["transport_errors"] == 0
    [mat] = result.asset_materializations_for_node("concordance")
    assert mat.metadata["rate_limited_429s"].value == model_server.counts()["rate_limited"] <= 3
