"""Sensors: new artifacts trigger re-indexing; check failures, recoveries and run failures alert."""

import datetime as dt
import hashlib
import json

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from alpha_replay_assets.keys import day_prefix
from alpha_replay_assets.partitions import FIRST_DAY, day_of
from jobs.asset_jobs import index_job
from resources.artifact_store import ArtifactStore
from resources.notifier import Notifier

# Day folders stay mutable for a few days (the think-tank producer files weekend runs under the
# previous Friday), so the sensor re-lists the last few complete days, never the whole bucket.
WATCHED_DAYS = 4


def listing_fingerprint(store: ArtifactStore, day: dt.date) -> str:
    digest = hashlib.sha256()
    for obj in sorted(store.list_prefix(day_prefix(store.capture_prefix, day)), key=lambda o: o["Key"]):
        digest.update(f"{obj['Key']}\0{obj['ETag']}\n".encode())
    return digest.hexdigest()


@dg.sensor(job=index_job, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Re-index a recent day when its folder listing changes (cursor: per-day fingerprint).")
def new_artifacts_sensor(context: dg.SensorEvaluationContext, store: ArtifactStore) -> dg.SensorResult:
    seen = json.loads(context.cursor or "{}")
    today = dt.datetime.now(dt.UTC).date()
    days = [d for d in (today - dt.timedelta(days=n) for n in range(WATCHED_DAYS, 0, -1)) if d >= day_of(FIRST_DAY)]
    fingerprints = {d.isoformat(): listing_fingerprint(store, d) for d in days}
    requests = [
        dg.RunRequest(partition_key=day, run_key=f"index:{day}:{fp[:16]}")
        for day, fp in fingerprints.items()
        if seen.get(day) != fp
    ]
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(fingerprints, sort_keys=True))


def _evaluation(record):
    return record.event.dagster_event.event_specific_data


def check_alerts(instance: dg.DagsterInstance, check_keys, cursor: dict, ui_base_url: str) -> tuple[list, dict]:
    """New failures and recoveries since `cursor`, one alert each. Cursor per check key:
    the last record id read and the partitions currently failing."""
    alerts, new_cursor = [], {}
    for key in check_keys:
        state = cursor.get(key.to_user_string(), {"id": 0, "failing": []})
        failing = set(state["failing"])
        records = instance.event_log_storage.get_asset_check_execution_history(key, limit=200)
        done = sorted((r for r in records if r.id > state["id"] and r.status != AssetCheckExecutionRecordStatus.PLANNED),
                      key=lambda r: r.id)
        for record in done:
            evaluation = _evaluation(record)
            if evaluation is None or evaluation.metadata.get("stub"):
                continue  # an execution error (the run-failure sensor reports it) or a dry-run stub
            partition = record.partition or "(unpartitioned)"
            change = None
            if not evaluation.passed and partition not in failing:
                failing.add(partition)
                change = "FAILED"
            elif evaluation.passed and partition in failing:
                failing.discard(partition)
                change = "RECOVERED"
            if change:
                asset = key.asset_key.to_user_string()
                alerts.append({
                    "status": change, "asset": asset, "check": key.name, "partition": partition,
                    "severity": evaluation.severity.value, "description": evaluation.description,
                    "metadata": {k: v.value for k, v in evaluation.metadata.items()},
                    "run_id": record.run_id,
                    "link": f"{ui_base_url}/assets/{'/'.join(key.asset_key.path)}?view=checks",
                })
        new_cursor[key.to_user_string()] = {"id": max([state["id"], *(r.id for r in done)]), "failing": sorted(failing)}
    return alerts, new_cursor


@dg.sensor(minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Open-source Dagster does not alert on checks: send each new check failure and "
                       "each recovery once through the notifier.")
def check_alert_sensor(context: dg.SensorEvaluationContext, notifier: Notifier) -> dg.SensorResult:
    check_keys = sorted(context.repository_def.asset_graph.asset_check_keys, key=lambda k: k.to_user_string())
    alerts, cursor = check_alerts(context.instance, check_keys, json.loads(context.cursor or "{}"),
                                  notifier.ui_base_url)
    for alert in alerts:
        notifier.send(f"[alpha-replay] {alert['status']} {alert['asset']}.{alert['check']} {alert['partition']}", alert)
    return dg.SensorResult(cursor=json.dumps(cursor, sort_keys=True),
                           skip_reason=None if alerts else dg.SkipReason("no new check failures or recoveries"))


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING, description="Every failed run, once.")
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, notifier: Notifier) -> None:
    run = context.dagster_run
    notifier.send(f"[alpha-replay] run FAILED {run.job_name}", {
        "status": "RUN_FAILED", "job": run.job_name, "run_id": run.run_id,
        "partition": run.tags.get("dagster/partition") or "..".join(
            filter(None, (run.tags.get("dagster/asset_partition_range_start"),
                          run.tags.get("dagster/asset_partition_range_end")))),
        "error": context.failure_event.message, "link": f"{notifier.ui_base_url}/runs/{run.run_id}",
    })
