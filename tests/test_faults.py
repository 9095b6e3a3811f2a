"""The fault harness: the fault proxy between the product and each real server (moto's S3, the
loopback Messages API and its OpenAI-compatible router endpoint), one scenario per fault. Each
scenario asserts what must happen and records a row of the README's fault matrix (fault ->
outcome -> data state -> what the user sees):
`python -m pytest tests/test_faults.py --fault-matrix docs/fault-matrix.md` rewrites it."""

import datetime as dt
import json
from dataclasses import dataclass

import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource

from alpha_replay_assets.checks.replay import replay_failure_rate
from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.index import artifact_index, list_day, read_day_index
from alpha_replay_assets.paths import concordance_key
from alpha_replay_assets.replay.planning import eligible_rows
from alpha_replay_assets.replay.rows import day_summary
from alpha_replay_assets.sample import corpus
from alpha_replay_assets.sample.fault_proxy import FaultProxy
from alpha_replay_assets.sample.fault_rules import FaultRule
from helpers import DAY, check_evaluations, pinned
from resources.artifact_store import ArtifactStore

SPEC = pinned(per_day=40, bad_fraction=0, large_bytes=20_000)
MODEL = "claude-haiku-4-5"
ROUTER_MODEL = "deepseek/deepseek-chat-v3.1"  # a router slug: the openai SDK, the router's chat completions
PRICES = {ROUTER_MODEL: [0.27, 1.1]}
CAPTURE_GET = r"/decision_artifacts/\d{4}/"  # a GET of an artifact (a listing's path is the bucket alone)


@dataclass(frozen=True)
class Scenario:
    name: str
    where: str
    rule: FaultRule
    expect_success: bool = True
    model: str = MODEL  # the target replayed through the faulty path


def _store(endpoint: str, bucket: str, max_attempts: int = 4) -> ArtifactStore:
    s3 = S3Resource(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                    aws_secret_access_key="testing", max_attempts=max_attempts)
    return ArtifactStore(s3=s3, bucket=bucket, max_workers=8, max_object_bytes=256 * 1024, read_timeout_s=2.0)


def _run(assets, resources, selection=None, config=None):
    """(result, the check evaluations it recorded)."""
    with dg.instance_for_test() as instance:
        result = dg.materialize([artifact_index, concordance, replay_failure_rate], resources=resources,
                                instance=instance, partition_key=DAY.isoformat(), raise_on_error=False,
                                selection=selection or assets, run_config={"ops": config or {}})
        return result, check_evaluations(instance, result.run_id)


def _failure(result) -> str:
    """The first line of the step failure and of each error that caused it."""
    failures = result.get_step_failure_events()
    error, lines = failures[0].event_specific_data.error if failures else None, []
    while error is not None:
        lines.append(error.message.split("\n")[0][:160])
        error = error.cause
    return " <- ".join(lines)


S3_SCENARIOS = [
    Scenario("503 SlowDown", "S3 GETs of artifacts", FaultRule("http_503_slowdown", 0.3, "GET", CAPTURE_GET)),
    Scenario("500 InternalError", "S3 GETs of artifacts", FaultRule("http_500", 0.3, "GET", CAPTURE_GET)),
    Scenario("connection reset", "S3 GETs of artifacts", FaultRule("reset", 0.2, "GET", CAPTURE_GET)),
    Scenario("truncated body", "S3 GETs of artifacts", FaultRule("truncate", 0.2, "GET", CAPTURE_GET)),
    Scenario("hang past the read timeout", "S3 GETs of artifacts",
             FaultRule("hang", 1.0, "GET", CAPTURE_GET, max_count=2)),
    Scenario("503 SlowDown", "S3 listing of the day folder", FaultRule("http_503_slowdown", 1.0, "GET", r"list-type",
                                                                       max_count=2)),
    Scenario("500 InternalError", "S3 PUT of the index", FaultRule("http_500", 1.0, "PUT", r"artifact_index",
                                                                   max_count=2)),
]


@pytest.mark.parametrize("scenario", S3_SCENARIOS, ids=[f"{s.name}@{s.where}" for s in S3_SCENARIOS])
def test_s3_fault_is_retried_and_the_index_is_complete(scenario, s3_server, bucket, s3_client, replay_resources,
                                                       fault_matrix):
    resources = replay_resources
    corpus.seed(s3_client, bucket, [DAY], SPEC)
    with FaultProxy(s3_server.endpoint_url, [scenario.rule], seed=1, hang_s=5) as proxy:
        store = _store(proxy.url, bucket)
        result, _ = _run([artifact_index], resources | {"store": store})
        faults = proxy.counts().get("faults", 0)
    assert faults > 0, "the scenario injected nothing"
    assert result.success, _failure(result)
    direct = _store(s3_server.endpoint_url, bucket)
    index, listed = read_day_index(direct, DAY), len(list_day(direct, DAY))
    assert len(index) == listed and (index["status"] == "ok").all()
    metadata = result.asset_materializations_for_node("artifact_index")[0].metadata
    retries = metadata["read_retries"].value
    if scenario.rule.kind == "truncate":
        assert retries > 0  # re-read by the store: botocore does not retry a body cut short
    fault_matrix.append({
        "fault": f"{scenario.name} ({scenario.rule.kind}, rate {scenario.rule.rate:g})", "where": scenario.where,
        "outcome": f"run succeeded; {faults} faults injected, all retried"
                   + (f" ({retries} object re-reads by the store)" if retries else " (botocore)"),
        "data": f"index complete: {len(index)}/{listed} rows, all `ok`",
        "user_sees": f"nothing to act on; `read_retries` = {retries} in the metadata",
    })


MODEL_SCENARIOS = [
    Scenario("429 rate limit", "Messages API", FaultRule("http_429", 0.3, "POST")),
    Scenario("529 overloaded", "Messages API", FaultRule("http_529", 0.3, "POST")),
    Scenario("500 error", "Messages API", FaultRule("http_500", 0.3, "POST")),
    Scenario("connection reset", "Messages API", FaultRule("reset", 0.2, "POST")),
    Scenario("truncated body", "Messages API", FaultRule("truncate", 0.2, "POST")),
    Scenario("hang past the timeout", "Messages API", FaultRule("hang", 1.0, "POST", max_count=2)),
    Scenario("200 with a non-JSON body", "Messages API", FaultRule("non_json_200", 0.15, "POST")),
    Scenario("200 with JSON that is not a Message", "Messages API", FaultRule("wrong_shape_200", 0.15, "POST")),
    Scenario("429 that never ends", "Messages API", FaultRule("http_429", 1.0, "POST"), expect_success=False),
]
ROUTER = "router chat completions"
CHAT = r"/chat/completions"
MODEL_SCENARIOS += [
    Scenario("429 rate limit", ROUTER, FaultRule("http_429", 0.3, "POST", CHAT), model=ROUTER_MODEL),
    Scenario("500 error", ROUTER, FaultRule("http_500", 0.3, "POST", CHAT), model=ROUTER_MODEL),
    Scenario("connection reset", ROUTER, FaultRule("reset", 0.2, "POST", CHAT), model=ROUTER_MODEL),
    Scenario("200 with a non-JSON body", ROUTER, FaultRule("non_json_200", 0.15, "POST", CHAT), model=ROUTER_MODEL),
    Scenario("200 with JSON that is not a chat completion", ROUTER, FaultRule("wrong_shape_200", 0.15, "POST", CHAT),
             model=ROUTER_MODEL),
    Scenario("429 that never ends", ROUTER, FaultRule("http_429", 1.0, "POST", CHAT), expect_success=False,
             model=ROUTER_MODEL),
]


@pytest.mark.parametrize("scenario", MODEL_SCENARIOS,
                         ids=[s.name + ("@router" if s.model == ROUTER_MODEL else "") for s in MODEL_SCENARIOS])
def test_model_fault_becomes_a_retry_a_row_or_a_loud_failure(scenario, s3_server, bucket, s3_client, store,
                                                             replay_resources, make_replay_model, model_server,
                                                             fault_matrix):
    resources = replay_resources
    corpus.seed(s3_client, bucket, [DAY], SPEC)
    assert _run([artifact_index], resources)[0].success
    with FaultProxy(model_server.base_url, [scenario.rule], seed=3, hang_s=5, max_faults=500) as proxy:
        replay_model = make_replay_model(base_url=proxy.url, timeout_s=1.0, max_retries=3,
                                         target_models=[scenario.model], openai_compat_base_url=f"{proxy.url}/api/v1",
                                         openai_compat_api_key="test-key")
        result, evaluations = _run([concordance], resources | {"replay_model": replay_model},
                      selection=dg.AssetSelection.assets(concordance),
                      config={"concordance": {"config": {"max_failure_rate": 0.3, "prices": PRICES}}})
        faults = proxy.counts().get("faults", 0)
    assert faults > 0
    frame = store.read_parquet(concordance_key(store, DAY, scenario.model))
    if not scenario.expect_success:
        assert not result.success and "failed at the provider" in _failure(result)
        cached = len(list(store.list_prefix(store.analytics_key("replay_cache"))))
        fault_matrix.append({
            "fault": f"{scenario.name} ({scenario.rule.kind}, rate 1)", "where": scenario.where,
            "outcome": "step fails loudly after the retries (provider failures above `max_failure_rate`), "
                       "no step retry",
            "data": f"no concordance partition written; {cached} replies received before were cached",
            "user_sees": f"run FAILURE: \u201c{_failure(result).split(': ', 1)[-1][:90]}\u2026\u201d; "
                         "run-failure alert",
        })
        return
    assert result.asset_materializations_for_node("concordance"), _failure(result)  # the step itself succeeded
    summary = day_summary(frame)
    eligible, failed = summary["eligible"], frame[frame["outcome"].isin(["transport_error", "bad_response"])]
    # every artifact has its row: an answer, or a failure with its reason
    assert summary["replayed"] + len(failed) == eligible and failed["error"].str.len().gt(0).all()
    [check] = [e for e in evaluations if e.check_name == "replay_failure_rate"]
    assert summary["failure_rate"] == pytest.approx(len(failed) / eligible, abs=1e-4)
    assert check.passed == (summary["failure_rate"] <= 0.1)  # the blocking check counts them
    if scenario.rule.kind in ("non_json_200", "wrong_shape_200"):
        bad = frame[frame["outcome"] == "bad_response"]
        shape = "chat completion" if scenario.model == ROUTER_MODEL else "Message"
        assert len(bad) > 0 and bad["error"].str.contains(f"not a {shape}").all()
        outcome = f"{len(bad)} rows `bad_response` with the reason (not retried: the provider did answer)"
    else:
        assert summary["bad_responses"] == 0 and summary["transport_errors"] <= eligible // 4
        outcome = (f"retried ({faults} faults injected); {summary['transport_errors']} still failing "
                   "after its retries became `transport_error` rows")
    data = (f"{summary['replayed']}/{eligible} replayed and cached; failed rows not cached (the next run asks "
            "again)")
    fault_matrix.append({
        "fault": f"{scenario.name} ({scenario.rule.kind}, rate {scenario.rule.rate:g})", "where": scenario.where,
        "outcome": outcome, "data": data,
        "user_sees": f"`replay_failure_rate` {'passed' if check.passed else 'FAILED (blocking: no summary)'} "
                     f"at {summary['failure_rate']:.1%} of {eligible}",
    })


def test_a_day_that_keeps_failing_fails_the_range_and_keeps_the_other_days(s3_server, bucket, s3_client,
                                                                           replay_resources, fault_matrix):
    """One day's listing answers 500 for good: botocore retries each request, the step retry
    policy retries the step, then the run fails loudly, and the other days of the range are
    indexed (each day is its own object, written as soon as it is built)."""
    days = [DAY - dt.timedelta(days=n) for n in (2, 1, 0)]
    corpus.seed(s3_client, bucket, days, SPEC)
    broken = days[1]
    slash = "(/|%2F)"
    rule = FaultRule("http_500", 1.0, "GET",
                     rf"prefix=decision_artifacts{slash}{broken:%Y}{slash}{broken:%m}{slash}{broken:%d}")
    with FaultProxy(s3_server.endpoint_url, [rule], seed=1, max_faults=1000) as proxy:
        with dg.instance_for_test() as instance:
            store = _store(proxy.url, bucket, max_attempts=1)  # one botocore retry per request: a quick test
            result = dg.materialize([artifact_index], resources=replay_resources | {"store": store},
                                    instance=instance, raise_on_error=False, tags={
                                        "dagster/asset_partition_range_start": days[0].isoformat(),
                                        "dagster/asset_partition_range_end": days[-1].isoformat()})
            attempts = len([e for e in result.all_events if e.event_type_value == "STEP_RESTARTED"]) + 1
        faults = proxy.counts().get("faults", 0)
    assert not result.success and "InternalError" in _failure(result)
    assert f"indexing day {broken}" in _failure(result) and f"{broken:%Y/%m/%d}" in _failure(result)  # day, key
    direct = _store(s3_server.endpoint_url, bucket)
    indexed = {d: read_day_index(direct, d) is not None for d in days}
    assert indexed == {days[0]: True, broken: False, days[2]: True}
    assert attempts == 3  # the first try and the step retry policy's two retries
    fault_matrix.append({
        "fault": "500 InternalError for good (http_500, rate 1)", "where": "S3 listing of one day of a 3-day range",
        "outcome": f"botocore retries each request, the step is retried twice ({faults} faults), then the run "
                   "fails loudly naming the S3 error",
        "data": "the other 2 days indexed and kept (one object per day); the broken day has no index",
        "user_sees": f"run FAILURE naming the day and the listing: \u201c{_failure(result)[:90]}\u2026\u201d; "
                     "run-failure alert; `latest_partition_arrived` for that day",
    })


PROVIDER_NUMBER_FAULTS = [("huge_tokens", MODEL, "usage.input_tokens is 4611686018427387904"),
                          ("huge_tokens", ROUTER_MODEL, "usage.completion_tokens is 1000000000000000000000000000000"),
                          ("nan_cost", ROUTER_MODEL, "usage.cost is nan"),
                          ("negative_cost", ROUTER_MODEL, "usage.cost is -0.5")]


@pytest.mark.parametrize("fault,model,reason", PROVIDER_NUMBER_FAULTS, ids=[f"{f}@{m}" for f, m, _ in
                                                                            PROVIDER_NUMBER_FAULTS])
def test_impossible_provider_numbers_are_bad_responses_never_priced(fault, model, reason, bucket, s3_client, store,
                                                                    replay_resources, make_replay_model,
                                                                    model_server, fault_matrix):
    """Found by an attacker: usage.output_tokens = 10**30 was priced (and summed) like any reply."""
    corpus.seed(s3_client, bucket, [DAY], SPEC)
    model_server.inject(*[fault] * 3)
    replay_model = make_replay_model(target_models=[model], openai_compat_base_url=model_server.router_url,
                                     openai_compat_api_key="test-key")
    result, _ = _run([artifact_index, concordance], replay_resources | {"replay_model": replay_model},
                     config={"concordance": {"config": {"prices": PRICES, "max_failure_rate": 0.5}}})
    assert result.asset_materializations_for_node("concordance"), _failure(result)
    frame = store.read_parquet(concordance_key(store, DAY, model))
    bad = frame[frame["outcome"] == "bad_response"]
    assert len(bad) == 3 and bad["error"].str.contains(reason, regex=False).all()
    assert bad["cost_usd"].isna().all() and bad["cache_hit"].isna().all()  # not priced, not from a cache
    cached = len(list(store.list_prefix(store.analytics_key("replay_cache") + "/")))
    assert cached == day_summary(frame)["replayed"]  # not cached: the next run asks again
    assert frame["cost_usd"].max() < 1  # every priced row is a real reply's price
    fault_matrix.append({
        "fault": f"usage numbers out of range ({fault})", "where": "Messages API" if model == MODEL else ROUTER,
        "outcome": f"{len(bad)} rows `bad_response` naming the number (\u201c{reason}\u201d)",
        "data": f"{cached}/{day_summary(frame)['eligible']} replayed and cached; the bad replies neither cached "
                "nor priced",
        "user_sees": f"`replay_failure_rate` {'passed' if result.success else 'FAILED (blocking)'} at "
                     f"{day_summary(frame)['failure_rate']:.1%}; `usd_new` ${day_summary(frame)['usd_new']:.4f}",
    })


def test_a_reply_from_another_model_is_flagged_named_and_forgettable(bucket, s3_client, store, replay_resources,
                                                                    model_server, fault_matrix):
    """Found by an attacker: a reply naming another model than the one asked for was scored as the target's."""
    from alpha_replay_assets.checks.replay import replies_from_asked_model
    from alpha_replay_assets.forget import forget, plan_forget

    corpus.seed(s3_client, bucket, [DAY], SPEC)
    model_server.inject(*["other_model"] * 4)
    with dg.instance_for_test() as instance:
        result = dg.materialize([artifact_index, concordance, replies_from_asked_model], resources=replay_resources,
                                instance=instance, partition_key=DAY.isoformat())
        [check] = [e for e in check_evaluations(instance, result.run_id) if e.check_name == "replies_from_asked_model"]
    frame = store.read_parquet(concordance_key(store, DAY, MODEL))
    flagged = frame[frame["model_mismatch"].eq(True)]
    assert len(flagged) == 4 and set(flagged["reply_model"]) == {"claude-3-haiku-20240307"}
    assert set(flagged["outcome"]) <= {"structured", "schema_error"}  # the answer is kept, and flagged
    unflagged = frame[frame["outcome"].isin(["structured", "schema_error"]) & ~frame["model_mismatch"].eq(True)]
    assert len(unflagged) and (unflagged["reply_model"] == MODEL).all()
    [mat] = result.asset_materializations_for_node("concordance")
    assert mat.metadata["model_mismatches"].value == 4
    assert mat.metadata["mismatched_models"].value == {MODEL: {"claude-3-haiku-20240307": 4}}
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert "claude-3-haiku-20240307 (4)" in check.description

    plan = plan_forget(store, DAY, DAY, MODEL, ["model_mismatch"], 4096)
    assert len(plan.cache_keys) == 4
    forget(store, plan, dt.datetime.now(dt.UTC), "test")
    calls = model_server.counts()["messages"]
    with dg.instance_for_test() as instance:
        dg.materialize([concordance], resources=replay_resources, instance=instance, partition_key=DAY.isoformat(),
                       selection=[concordance], raise_on_error=True)
    assert model_server.counts()["messages"] == calls + 4  # exactly the forgotten ones were asked again
    assert not store.read_parquet(concordance_key(store, DAY, MODEL))["model_mismatch"].any()
    fault_matrix.append({
        "fault": "a reply naming another model (other_model)", "where": "Messages API",
        "outcome": "kept and flagged: `reply_model`, `model_mismatch` on the row, counted in `model_mismatches`",
        "data": "4 flagged replies cached; `replays forget --outcome model_mismatch` removed exactly those, the "
                "next run asked 4 calls",
        "user_sees": f"WARN `replies_from_asked_model`: \u201c{check.description[:80]}\u201d",
    })


def test_a_stuck_bad_cached_reply_is_a_row_and_can_be_forgotten(bucket, s3_client, store, replay_resources,
                                                               model_server, fault_matrix):
    """A cache entry with impossible numbers (written by hand, or before replies were checked) failed
    every run of its day; now it is a `bad_response` row that `replays forget --outcome bad_response` clears."""
    from alpha_replay_assets.forget import forget, plan_forget
    from alpha_replay_assets.paths import replay_cache_key

    corpus.seed(s3_client, bucket, [DAY], SPEC)
    assert _run([artifact_index, concordance], replay_resources)[0].success
    frame = store.read_parquet(concordance_key(store, DAY, MODEL))
    digest = frame.loc[frame["outcome"] == "structured", "request_digest"].iloc[0]
    entry = json.loads(store.get_bytes(replay_cache_key(store, MODEL, digest))) | {"output_tokens": 10**30}
    store.write_json(replay_cache_key(store, MODEL, digest), entry)
    result, _ = _run([concordance], replay_resources, selection=[concordance])
    assert result.success, _failure(result)
    frame = store.read_parquet(concordance_key(store, DAY, MODEL))
    [stuck] = frame[frame["outcome"] == "bad_response"].itertuples()
    assert stuck.request_digest == digest and stuck.cache_hit and "replays forget" in stuck.error
    plan = plan_forget(store, DAY, DAY, MODEL, ["bad_response"], 4096)
    assert plan.cache_keys == [replay_cache_key(store, MODEL, digest)]
    forget(store, plan, dt.datetime.now(dt.UTC), "test")
    calls = model_server.counts()["messages"]
    assert _run([concordance], replay_resources, selection=[concordance])[0].success
    assert model_server.counts()["messages"] == calls + 1
    assert day_summary(store.read_parquet(concordance_key(store, DAY, MODEL)))["bad_responses"] == 0
    fault_matrix.append({
        "fault": "a cached reply with impossible numbers (output_tokens = 10**30)", "where": "replay cache",
        "outcome": "a `bad_response` row from the cache (`cache_hit`), naming the entry and the way out",
        "data": "`replays forget --outcome bad_response` removed exactly that entry; the next run asked 1 call",
        "user_sees": "`replay_failure_rate` counts it until it is forgotten",
    })


def test_a_real_run_never_uses_a_simulated_reply_nor_the_reverse(bucket, s3_client, store, replay_resources,
                                                                 make_replay_model, model_server, fault_matrix):
    """Found by an attacker: `demo --real-model` after a simulated demo with the same state reported the
    loopback's replies as the real model's (one cache address for both)."""
    from alpha_replay_assets.paths import replay_cache_key

    corpus.seed(s3_client, bucket, [DAY], SPEC)
    assert _run([artifact_index, concordance], replay_resources)[0].success  # the loopback: simulated
    simulated = store.read_parquet(concordance_key(store, DAY, MODEL))
    replayed = day_summary(simulated)["replayed"]
    entry = json.loads(store.get_bytes(replay_cache_key(store, MODEL, simulated["request_digest"].dropna().iloc[0])))
    assert entry["simulated"] is True and entry["route"] == "anthropic"
    assert entry["endpoint"] == model_server.base_url.removeprefix("http://")

    calls = model_server.counts()["messages"]
    real = make_replay_model(simulated=False)  # as a real endpoint would be: nothing cached answers it
    assert _run([concordance], replay_resources | {"replay_model": real}, selection=[concordance])[0].success
    frame = store.read_parquet(concordance_key(store, DAY, MODEL))
    assert model_server.counts()["messages"] - calls == replayed == day_summary(frame)["model_calls"]
    assert not frame["cache_hit"].eq(True).any()
    assert set(frame["request_digest"].dropna()).isdisjoint(simulated["request_digest"].dropna())

    calls = model_server.counts()["messages"]
    for replay_model in (real, make_replay_model()):  # each answered from its own replies
        resources = replay_resources | {"replay_model": replay_model}
        assert _run([concordance], resources, selection=[concordance])[0].success
    assert model_server.counts()["messages"] == calls
    fault_matrix.append({
        "fault": "a real-model run after a simulated one with the same replay cache", "where": "replay cache",
        "outcome": f"{replayed} real calls, 0 simulated replies used (cache addresses apart: `~simulated`)",
        "data": "every cache entry records route, endpoint host:port, reported model and `simulated`",
        "user_sees": "`model_calls` = the replays; re-runs of either kind answered by their own replies only",
    })


def test_two_simultaneous_backfills_of_the_same_days_pay_each_request_once(bucket, s3_client, store, model_server,
                                                                           launch_env, tmp_path, fault_matrix):
    """Found by an attacker: two `dg launch` of the same range at once paid every replay twice (each run
    found the cache empty and called). A claim in the store (If-None-Match: *) before each call: the
    second run waits for the first's reply."""
    import subprocess

    from alpha_replay_assets.paths import ceiling_key
    from helpers import ROOT

    days = [DAY - dt.timedelta(days=1), DAY]
    corpus.seed(s3_client, bucket, days, SPEC)
    model_server.state.latency_ms = 150  # calls long enough for the two runs to overlap
    command = ["dg", "launch", "--job", "daily_job", "--partition-range", f"{days[0]}...{days[1]}"]
    homes = [tmp_path / f"home-{n}" for n in range(2)]  # two operators: one instance each (sqlite is per machine)
    for home in homes:
        home.mkdir()
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    runs = [subprocess.Popen(command, cwd=ROOT, env=launch_env | {"DAGSTER_HOME": str(home)}, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for home in homes]
    outputs = [run.communicate(timeout=900) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err[-1500:] for _, err in outputs]
    requests = set()
    for day in days:
        for key in (concordance_key(store, day, MODEL), ceiling_key(store, day)):
            frame = store.read_parquet(key)
            replied = frame[frame["outcome"].isin(["structured", "schema_error"])]
            requests |= set(zip(replied["target_model"], replied["request_digest"]))
    calls = model_server.counts()["messages"]
    assert len(requests) > 20
    assert calls == len(requests)  # each (request, target) paid once across both runs
    assert not list(store.list_prefix(store.analytics_key("replay_claims") + "/"))  # every claim released
    assert not list(store.list_prefix(store.analytics_key("paid_twice") + "/"))
    fault_matrix.append({
        "fault": "two simultaneous `dg launch --job daily_job --partition-range` of the same 2 days",
        "where": "replay claims (conditional PUT before each call)",
        "outcome": f"both runs succeeded; {calls} model calls for {len(requests)} distinct requests",
        "data": "every reply cached once; every claim released; no second payment journalled",
        "user_sees": "nothing to act on; a second payment (a stale claim taken over) would be `paid_twice` in "
                     "the concordance metadata and `calls_paid_twice` in `spend_ledger`",
    })


def test_a_paid_reply_that_cannot_be_stored_stops_the_paid_calls(s3_server, bucket, s3_client, store, replay_resources,
                                                                model_server, fault_matrix):
    """Found by an attacker: with the replay cache's PUTs failing, every worker kept paying for replies
    it could not keep, and the error named neither the object nor the day."""
    corpus.seed(s3_client, bucket, [DAY], SPEC)
    assert _run([artifact_index], replay_resources)[0].success
    rule = FaultRule("http_500", 1.0, "PUT", r"/replay_cache/")
    with FaultProxy(s3_server.endpoint_url, [rule], seed=1, max_faults=1000) as proxy:
        faulty = _store(proxy.url, bucket, max_attempts=1)
        result, _ = _run([concordance], replay_resources | {"store": faulty}, selection=[concordance])
        faults = proxy.counts().get("faults", 0)
    failure = _failure(result)
    message = result.get_step_failure_events()[0].event_specific_data.error.message
    calls = model_server.counts()["messages"]
    assert not result.success and faults > 0
    assert f"{DAY} {MODEL}: the paid reply of decision_artifacts/{DAY:%Y/%m/%d}/" in failure
    assert "S3 PUT s3://" in message and "/replay_cache/" in message and "InternalError" in message
    assert calls <= replay_resources["replay_model"].max_concurrency  # the calls in flight, nothing after
    assert len([e for e in result.all_events if e.event_type_value == "STEP_RESTARTED"]) == 0  # never re-paid
    fault_matrix.append({
        "fault": "500 InternalError for good (http_500, rate 1)", "where": "S3 PUT of a paid reply (replay cache)",
        "outcome": f"step fails loudly, no step retry; {calls} paid calls (those in flight), none after the first "
                   "failed PUT",
        "data": "no concordance partition written; the unstored replies are the only ones a re-run pays again",
        "user_sees": f"run FAILURE: \u201c{failure.split(' <- ')[0][:110]}\u2026\u201d",
    })


def test_a_retry_after_beyond_the_runs_max_wait_fails_at_once_with_counts(bucket, s3_client, replay_resources,
                                                                          model_server, fault_matrix):
    """Found by an attacker: a 429 with `retry-after: 3600` kept the run STARTED without a word."""
    from resources.replay_model import TAG_RATE_LIMITED_UNTIL

    corpus.seed(s3_client, bucket, [DAY], SPEC)
    model_server.state.retry_after_s = 3600
    model_server.inject(*["429"] * 500)
    with dg.instance_for_test() as instance:
        result = dg.materialize([artifact_index, concordance], resources=replay_resources, instance=instance,
                                partition_key=DAY.isoformat(), raise_on_error=False)
        run = instance.get_run_by_id(result.run_id)
        warnings = [e.user_message for e in instance.all_logs(result.run_id) if "rate-limited by" in e.user_message]
    failure = result.get_step_failure_events()[0].event_specific_data.error.message
    calls = model_server.counts()["messages"]
    assert "beyond replay_model.max_wait_s = 600 s" in failure and "0 replayed" in failure
    assert run.tags.get(TAG_RATE_LIMITED_UNTIL) and warnings and "retrying in 3600 s" in warnings[0]
    assert calls <= replay_resources["replay_model"].max_concurrency  # the first attempts in flight, no more
    assert not [e for e in result.all_events if e.event_type_value == "STEP_RESTARTED"]
    fault_matrix.append({
        "fault": "429 with `retry-after: 3600` on every call", "where": "Messages API",
        "outcome": f"a WARN log line with the time until retry and the run tag `{TAG_RATE_LIMITED_UNTIL}`; the "
                   f"step fails at once (3600 s > `replay_model.max_wait_s`), no retry; {calls} calls",
        "data": "no concordance partition written; nothing paid",
        "user_sees": f"run FAILURE: \u201c{failure.split(': ', 1)[-1][:110]}\u2026\u201d",
    })


def test_replies_slower_than_the_timeout_fail_the_day_without_sending_every_replay(bucket, s3_client, store,
                                                                                  replay_resources, make_replay_model,
                                                                                  model_server, fault_matrix):
    """Found by an attacker: with every reply past the timeout, a shared-prompt family's warm-up retried
    its calls one at a time (1,333 s, 120 billable requests to fail)."""
    corpus.seed(s3_client, bucket, [DAY], SPEC)
    model_server.state.latency_ms = 2500
    replay_model = make_replay_model(timeout_s=0.5, max_retries=1)
    result, _ = _run([artifact_index, concordance], replay_resources | {"replay_model": replay_model})
    eligible = len(read_day_index(store, DAY).query("status == 'ok' and is_llm and not is_placeholder"))
    calls = model_server.counts()["messages"]
    assert not result.success and "failed at the provider" in _failure(result)
    assert calls < eligible and calls <= 2 * 3 * replay_model.max_concurrency
    fault_matrix.append({
        "fault": "every reply slower than `timeout_s` (0.5 s timeout, 2.5 s replies)", "where": "Messages API",
        "outcome": f"warm-ups end at their first failed call; after {replay_model.max_concurrency} failures in a "
                   f"row the rest are not sent (`transport_error` rows saying so): {calls} requests for "
                   f"{eligible} replays",
        "data": "no concordance partition written",
        "user_sees": f"run FAILURE: \u201c{_failure(result).split(': ', 1)[-1][:90]}\u2026\u201d",
    })


def test_late_weekend_runs_are_reported_missing_until_replayed(bucket, s3_client, store, all_resources, model_server,
                                                              fault_matrix):
    """Found by an attacker: weekend runs re-indexed into Friday stayed unreplayed and the next window's
    summary reported every candidate replayed."""
    from test_checks import run_checks

    from alpha_replay_assets.checks.replay import replay_complete
    from alpha_replay_assets.concordance_summary import concordance_summary
    from alpha_replay_assets.paths import summary_key

    corpus.seed(s3_client, bucket, [DAY], SPEC)
    with dg.instance_for_test() as instance:
        def run(*assets):
            return dg.materialize(list(assets), resources=all_resources, instance=instance,
                                  partition_key=DAY.isoformat(), raise_on_error=False)
        assert run(artifact_index, concordance).success
        known = set(read_day_index(store, DAY)["key"])
        late = [(k, b) for k, b in corpus.day_objects(DAY, "decision_artifacts", pinned(mix="today", seed=99,
                                                                                        bad_fraction=0))
                if k not in known][:4]
        for key, body in late:
            s3_client.put_object(Bucket=bucket, Key=key, Body=body)
        assert run(artifact_index).success  # the sensor's re-index
        index = read_day_index(store, DAY)
        n = len(eligible_rows(index[index["key"].isin([k for k, _ in late])]))
        assert run(concordance_summary).success
        [check] = run_checks(all_resources, instance, [replay_complete]).get_asset_check_evaluations()
    summary = store.read_json(summary_key(store, DAY, MODEL))
    assert n and not check.passed and f"{n} indexed after the replays ran" in check.description
    assert summary["n_artifacts_not_replayed_yet"] == n and not summary["complete"]
    fault_matrix.append({
        "fault": f"4 think-tank runs ({n} eligible) land in a replayed day's folder (late weekend runs)",
        "where": "S3 capture folder, after the day's replays",
        "outcome": "the sensor re-indexes the day, then requests `daily_job` for it (run key `replay:<day>:...`)",
        "data": f"until replayed: summary `complete: false`, `n_artifacts_not_replayed_yet: {n}`, "
                f"{summary['n_artifacts_replayed']}/{summary['n_artifacts_candidate']} replayed",
        "user_sees": f"`replay_complete` FAILED: \u201c{check.description[:90]}\u2026\u201d",
    })


def test_off_layout_objects_and_far_timestamps_are_named(bucket, s3_client, store, replay_resources, fault_matrix):
    """Found by an attacker: objects outside the day layout and timestamps far from their day were silent."""
    from alpha_replay_assets.checks.layout import capture_layout, timestamps_in_range

    corpus.seed(s3_client, bucket, [DAY], SPEC)
    key, body = next((k, b) for k, b in corpus.day_objects(DAY, "decision_artifacts", SPEC)
                     if json.loads(b).get("model_metadata"))
    doc = json.loads(body)
    for path in (f"{DAY:%Y-%m-%d}/x/a.json", f"{DAY:%Y/%m}/{doc['agent_id']}/a.json"):
        s3_client.put_object(Bucket=bucket, Key=f"decision_artifacts/{path}", Body=body)
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=365)).isoformat()
    s3_client.put_object(Bucket=bucket, Key=key.replace(".json", "-future.json"),
                         Body=json.dumps(doc | {"timestamp": future}).encode())
    with dg.instance_for_test() as instance:
        result = dg.materialize([artifact_index, capture_layout, timestamps_in_range], resources=replay_resources,
                                instance=instance, partition_key=DAY.isoformat())
        checks = {e.check_name: e for e in check_evaluations(instance, result.run_id)}
    layout, stamps = checks["capture_layout"], checks["timestamps_in_range"]
    assert not layout.passed and layout.metadata["off_layout_objects"].value == 2
    assert not stamps.passed and stamps.metadata["by_flag"].value == {"future": 1}
    assert len(read_day_index(store, DAY).query("timestamp_flag == 'future' and status == 'ok'")) == 1
    fault_matrix.append({
        "fault": "objects outside the day layout (`YYYY-MM-DD/`, a day folder missing a segment); a timestamp a "
                 "year in the future", "where": "S3 capture prefix",
        "outcome": "WARN `capture_layout` counts and names them; the artifact is indexed, its row flagged "
                   "`timestamp_flag: future`",
        "data": "index unchanged otherwise; off-layout objects in no index",
        "user_sees": f"WARN `capture_layout`: \u201c{layout.description[:80]}\u2026\u201d; WARN "
                     "`timestamps_in_range`",
    })
