"""Sensors: new artifacts trigger re-indexing; check failures, recoveries and run failures alert."""

import datetime as dt
import json

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from alpha_replay_assets.index import indexed_fingerprint, list_day, listing_fingerprint
from alpha_replay_assets.partitions import FIRST_DAY, day_of
from jobs.asset_jobs import index_job
from resources.artifact_store import ArtifactStore
from resources.notifier import Notifier

# Day folders stay mutable for a few days (the think-tank producer files weekend runs under the
# previous Friday), so the sensor re-lists the last few complete days, never the whole bucket.
WATCHED_DAYS = 4
# Index runs requested for one listing before the sensor stops asking (the run failed each time:
# `index_matches_listing` and the run-failure alert say so; a new artifact starts a new count).
MAX_REQUESTS_PER_LISTING = 3
IN_FLIGHT = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
             dg.DagsterRunStatus.STARTED]


def watched_days(today: dt.date) -> list[dt.date]:
    return [d for d in (today - dt.timedelta(days=n) for n in range(WATCHED_DAYS, 0, -1)) if d >= day_of(FIRST_DAY)]


def _index_run_in_flight(instance: dg.DagsterInstance, day: str) -> bool:
    runs = instance.get_runs(dg.RunsFilter(job_name=index_job.name, tags={"dagster/partition": day},
                                           statuses=IN_FLIGHT), limit=1)
    return bool(runs)


@dg.sensor(job=index_job, minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Re-index a recent day until its index was built from the folder's current listing "
                       "(keys + ETags); the cursor advances only when such an index has landed.")
def new_artifacts_sensor(context: dg.SensorEvaluationContext, store: ArtifactStore) -> dg.SensorResult:
    """Compares each watched day's listing with the fingerprint recorded on its index object, so
    a run that failed, or lost a race to a stale writer, is noticed and asked for again — a
    cursor that moved on when the run was *requested* would have forgotten the day."""
    state = json.loads(context.cursor or "{}")
    cursor, requests, stuck = {}, [], []
    for day in (d.isoformat() for d in watched_days(dt.datetime.now(dt.UTC).date())):
        listing = listing_fingerprint(list_day(store, day_of(day)))
        known = state.get(day, {})
        if indexed_fingerprint(store, day_of(day)) == listing:
            cursor[day] = {"indexed": listing}
            continue
        attempts = known.get("attempts", 0) if known.get("requested") == listing else 0
        cursor[day] = known
        if _index_run_in_flight(context.instance, day):
            continue
        if attempts >= MAX_REQUESTS_PER_LISTING:
            stuck.append(f"{day}: {attempts} index runs for its current listing did not land")
            continue
        requests.append(dg.RunRequest(partition_key=day, run_key=f"index:{day}:{listing[:16]}:{attempts + 1}"))
        cursor[day] = {"indexed": known.get("indexed"), "requested": listing, "attempts": attempts + 1}
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor, sort_keys=True),
                           skip_reason=None if requests else dg.SkipReason("; ".join(stuck) or "every index is current"))


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
