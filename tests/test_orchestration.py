"""Schedules, sensors, alerts, dry runs and CLI backfills, against the real servers."""

import datetime as dt
import json
import logging
import os
import subprocess

import boto3
import dagster as dg
import pytest

from alpha_replay_assets.checks.freshness import FRESHNESS_CHECKS, expected_partition
from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.index import artifact_index
from alpha_replay_assets.paths import index_key
from alpha_replay_assets.sample import corpus
from helpers import DAY, pinned
from jobs.asset_jobs import ALL_JOBS
from jobs.catalog import ALL_ASSETS, ALL_CHECKS
from jobs.schedules import weekly_schedule
from jobs.sensors import check_alert_sensor, new_artifacts_sensor, run_failure_alert_sensor
from resources.notifier import Notifier

ASSETS = ALL_ASSETS
CHECKS = ALL_CHECKS


def definitions(resources):
    return dg.Definitions(assets=ASSETS, asset_checks=CHECKS, jobs=ALL_JOBS, resources=resources,
                          schedules=[weekly_schedule], sensors=[new_artifacts_sensor, check_alert_sensor])


def test_weekly_tick_requests_the_last_seven_days_in_one_idempotent_run(all_resources):
    defs = definitions(all_resources)
    with dg.instance_for_test() as instance:
        tick = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)  # a Saturday
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick,
                                            repository_def=defs.get_repository_def())
        [request] = weekly_schedule.evaluate_tick(context).run_requests
    assert request.run_key == "weekly:2026-11-27"
    assert request.partition_key_range == dg.PartitionKeyRange("2026-11-21", "2026-11-27")
    assert weekly_schedule.cron_schedule == "0 2 * * 6" and weekly_schedule.execution_timezone == "UTC"


def test_expected_partition_deadlines():
    saturday_8 = dt.datetime(2026, 11, 28, 8, tzinfo=dt.UTC)
    assert expected_partition(saturday_8, None, 9) == "2026-11-26"  # today's 09:00 not reached yet
    assert expected_partition(saturday_8.replace(hour=10), None, 9) == "2026-11-27"
    assert expected_partition(saturday_8, 5, 9) == "2026-11-20"  # last Saturday's deadline
    assert expected_partition(saturday_8.replace(hour=10), 5, 9) == "2026-11-27"


def test_sensor_advances_a_day_only_once_an_index_of_its_current_listing_landed(all_resources, store, s3_client,
                                                                                   bucket, seeded):
    seeded()
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    defs = definitions(all_resources)
    with dg.instance_for_test() as instance:
        def tick(cursor):
            resources = {"store": store, "replay_model": all_resources["replay_model"]}
            with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources,
                                         definitions=defs) as context:
                result = new_artifacts_sensor.evaluate_tick(context)
            return {r.partition_key: r for r in result.run_requests}, result.cursor

        def index(day):
            result = defs.resolve_job_def("index_job").execute_in_process(instance=instance, partition_key=day)
            assert result.success

        first, cursor = tick(None)
        assert DAY.isoformat() in first and len(first) == 4  # no watched day has an index yet
        again, cursor = tick(cursor)
        # requested but never run (it failed, or was lost): asked again, with a new run key
        assert again[DAY.isoformat()].run_key != first[DAY.isoformat()].run_key
        assert json.loads(cursor)[DAY.isoformat()] == {"indexed": None, "requested": json.loads(cursor)[
            DAY.isoformat()]["requested"], "attempts": 2}
        for day in first:
            index(day)
        requests, cursor = tick(cursor)
        assert requests == {} and all(state.get("indexed") for state in json.loads(cursor).values())

        key, body = next(corpus.day_objects(yesterday, "decision_artifacts", pinned(per_day=1)))
        s3_client.put_object(Bucket=bucket, Key=key, Body=body)  # a late artifact in yesterday's folder
        requests, cursor = tick(cursor)
        assert list(requests) == [yesterday.isoformat()]
        assert requests[yesterday.isoformat()].run_key.startswith(f"index:{yesterday}:")
        index(yesterday.isoformat())
        assert tick(cursor)[0] == {}


def test_sensor_stops_asking_after_repeated_failures_and_says_why(all_resources, store, seeded):
    seeded()
    defs = definitions(all_resources)
    with dg.instance_for_test() as instance:
        def tick(cursor):
            resources = {"store": store, "replay_model": all_resources["replay_model"]}
            with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources,
                                         definitions=defs) as context:
                return new_artifacts_sensor.evaluate_tick(context)

        cursor = None
        for _ in range(3):
            result = tick(cursor)
            cursor = result.cursor
            assert DAY.isoformat() in {r.partition_key for r in result.run_requests}
        result = tick(cursor)
        assert result.run_requests == [] and f"{DAY}: 3 index runs" in result.skip_message


@pytest.fixture
def alert_queue(s3_server):
    """An SNS topic with an SQS queue subscribed, both on the moto server."""
    kwargs = dict(endpoint_url=s3_server.endpoint_url, region_name="us-east-1")
    sns, sqs = boto3.client("sns", **kwargs), boto3.client("sqs", **kwargs)
    topic = sns.create_topic(Name=f"alerts-{os.urandom(4).hex()}")["TopicArn"]
    queue = sqs.create_queue(QueueName=f"alerts-{os.urandom(4).hex()}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    notifier = Notifier(sns_topic_arn=topic, endpoint_url=s3_server.endpoint_url, aws_access_key_id="testing",
                        aws_secret_access_key="testing", ui_base_url="http://ui.test")

    def received():
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        for m in messages:
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
        return [json.loads(m["Body"]) for m in messages]
    return notifier, received


def test_alert_sensor_sends_each_new_failure_and_recovery_once(all_resources, alert_queue, seeded):
    notifier, received = alert_queue
    seeded()  # 12% bad rows: bad_row_rate_below_bound fails at its default 5%
    defs = definitions(all_resources)
    selection = dg.AssetSelection.assets(artifact_index) - dg.AssetSelection.checks(*FRESHNESS_CHECKS)
    with dg.instance_for_test() as instance:
        def materialise(max_rate):
            dg.materialize(ASSETS + CHECKS, selection=selection, resources=all_resources, instance=instance,
                           partition_key=DAY.isoformat(), raise_on_error=False, run_config={"ops": {
                               "artifact_index_bad_row_rate_below_bound": {"config": {"max_bad_row_rate": max_rate}}}})

        def tick(cursor):
            with dg.build_sensor_context(instance=instance, cursor=cursor, resources={"notifier": notifier},
                                         definitions=defs) as context:
                return check_alert_sensor(context).cursor

        materialise(0.05)
        cursor = tick(None)
        [alert] = [a for a in received() if a["check"] == "bad_row_rate_below_bound"]
        assert alert["status"] == "FAILED" and alert["asset"] == "artifact_index"
        assert alert["partition"] == DAY.isoformat() and alert["severity"] == "WARN"
        assert alert["link"] == "http://ui.test/assets/artifact_index?view=checks"
        assert alert["metadata"]["bad_row_rate"] > 0.05

        materialise(0.05)  # still failing: no second alert
        cursor = tick(cursor)
        assert [a for a in received() if a["check"] == "bad_row_rate_below_bound"] == []

        materialise(0.5)  # recovered: one alert saying so
        cursor = tick(cursor)
        [recovery] = [a for a in received() if a["check"] == "bad_row_rate_below_bound"]
        assert recovery["status"] == "RECOVERED"
        tick(cursor)
        assert received() == []


def test_run_failure_sensor_alerts(all_resources, make_replay_model, alert_queue, seeded):
    notifier, received = alert_queue
    resources = all_resources | {"replay_model": make_replay_model(target_models=["claude-unpriced"])}
    with dg.instance_for_test() as instance:
        result = dg.materialize([concordance], resources=resources, instance=instance,
                                partition_key=DAY.isoformat(), raise_on_error=False)
        assert not result.success
        run = instance.get_run_by_id(result.run_id)
        failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert_sensor", dagster_event=failure, dagster_instance=instance,
            dagster_run=run, resources={"notifier": notifier}).for_run_failure()
        run_failure_alert_sensor(context)
    [alert] = received()
    assert alert["status"] == "RUN_FAILED" and alert["run_id"] == result.run_id
    assert alert["partition"] == DAY.isoformat() and alert["link"].endswith(result.run_id)


def _snapshot(client, bucket):
    objects = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in objects}


def test_preflight_makes_zero_calls_and_changes_nothing(all_resources, s3_server, s3_client, bucket, model_server,
                                                        metrics, seeded):
    seeded()
    defs = definitions(all_resources)
    with dg.instance_for_test() as instance:
        real = defs.resolve_job_def("weekly_job").execute_in_process(instance=instance, partition_key=DAY.isoformat())
        assert real.success
        before = _snapshot(s3_client, bucket)
        model_calls = model_server.counts()["messages"]
        s3_server.reset_counts()
        dry = defs.resolve_job_def("preflight_job").execute_in_process(instance=instance, partition_key=DAY.isoformat())
        assert dry.success
        assert s3_server.request_counts().get("total", 0) == 0  # no S3 and no CloudWatch request at all
        assert model_server.counts()["messages"] == model_calls
        mats = dry.get_asset_materialization_events()
        assert len(mats) == len(ALL_ASSETS)
        assert all(m.materialization.metadata["stub"].value is True for m in mats)
        assert _snapshot(s3_client, bucket) == before  # real partitions byte-identical

        # a stub never counts as arrived: the freshness check fails until a real run lands
        expected = expected_partition(dt.datetime.now(dt.UTC), None, 9)
        defs.resolve_job_def("preflight_job").execute_in_process(instance=instance, partition_key=expected)

        def arrived():
            result = defs.resolve_job_def("freshness_checks_job").execute_in_process(instance=instance)
            return {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}["artifact_index"]
        assert not arrived().passed and expected in arrived().description
        defs.resolve_job_def("index_job").execute_in_process(instance=instance, partition_key=expected)
        assert arrived().passed


def test_cli_range_backfill_with_dg_launch(s3_server, s3_client, bucket, store, tmp_path):
    days = [DAY - dt.timedelta(days=1), DAY]
    spec = pinned(per_day=30)
    corpus.seed(s3_client, bucket, days, spec)
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = os.environ | {"ALPHA_REPLAY_S3_ENDPOINT_URL": s3_server.endpoint_url, "ALPHA_REPLAY_BUCKET": bucket,
                        "DAGSTER_HOME": str(tmp_path)}
    command = ["dg", "launch", "--assets", "artifact_index", "--partition-range", f"{days[0]}...{days[1]}"]
    done = subprocess.run(command, cwd=os.path.dirname(os.path.dirname(__file__)), env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    for day in days:
        seeded_objects = sum(1 for _ in corpus.day_objects(day, "decision_artifacts", spec))
        assert len(store.read_parquet(index_key(store, day))) == seeded_objects


def test_an_alert_with_no_channel_goes_to_the_log_with_a_warning(caplog):
    from resources.notifier import NO_CHANNEL_HINT, Notifier

    log = logging.getLogger("alerts-test")
    with caplog.at_level(logging.WARNING, logger="alerts-test"):
        assert Notifier().send("[alpha-replay] run FAILED weekly_job", {"status": "RUN_FAILED"}, log) == 0
    [record] = caplog.records
    assert NO_CHANNEL_HINT in record.getMessage() and "RUN_FAILED" in record.getMessage()
