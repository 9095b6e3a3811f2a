"""Sensors: new artifacts trigger re-indexing (and replays of what the replays never saw); check
failures, recoveries and run failures alert."""

import datetime as dt
import json

import dagster as dg

# Not exported by dagster 1.13: the status of the check records the public instance API returns.
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from alpha_replay_assets.index import indexed_fingerprint, list_day, listing_fingerprint
from alpha_replay_assets.partitions import FIRST_DAY, day_of
from alpha_replay_assets.replay_currency import unreplayed_on
from jobs.asset_jobs import daily_job, index_job
from resources.artifact_store import ArtifactStore
from resources.notifier import Notifier
from resources.replay_model import ReplayModel

CODE_LOCATION = "alpha_replay"  # as workspace.yaml and pyproject's [tool.dg.project] name it
WILL_RETRY_TAG = "dagster/will_retry"  # set by Dagster on a failed run when run retries are enabled

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


def _replays_follow(context, store: ArtifactStore, replay_model: ReplayModel, day: str, listing: str):
    """A run of the day's replay assets when its current index has eligible artifacts its replay
    files have no row for (indexed after the replays ran: late weekend runs); once per listing."""
    late = unreplayed_on(store, day_of(day), replay_model.all_targets, replay_model.targets_for)
    in_flight = context.instance.get_runs(dg.RunsFilter(job_name=daily_job.name, tags={"dagster/partition": day},
                                                        statuses=IN_FLIGHT), limit=1)
    if not late or in_flight:
        return None
    context.log.info(f"{day}: " + ", ".join(f"{len(rows)} artifacts not replayed under {model}"
                                            for model, rows in late.items()) + "; requesting its replays")
    return dg.RunRequest(job_name=daily_job.name, partition_key=day, run_key=f"replay:{day}:{listing[:16]}")


@dg.sensor(jobs=[index_job, daily_job], minimum_interval_seconds=300, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Re-index a recent day until its index was built from the folder's current listing "
                       "(keys + ETags); the cursor advances only when such an index has landed. A day whose "
                       "index then has artifacts its replays never saw is replayed again (`daily_job`).")
def new_artifacts_sensor(context: dg.SensorEvaluationContext, store: ArtifactStore,
                         replay_model: ReplayModel) -> dg.SensorResult:
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
            if follow := _replays_follow(context, store, replay_model, day, listing):
                requests.append(follow)
            continue
        attempts = known.get("attempts", 0) if known.get("requested") == listing else 0
        cursor[day] = known
        if _index_run_in_flight(context.instance, day):
            continue
        if attempts >= MAX_REQUESTS_PER_LISTING:
            stuck.append(f"{day}: {attempts} index runs for its current listing did not land")
            continue
        requests.append(dg.RunRequest(job_name=index_job.name, partition_key=day,
                                      run_key=f"index:{day}:{listing[:16]}:{attempts + 1}"))
        cursor[day] = {"indexed": known.get("indexed"), "requested": listing, "attempts": attempts + 1}
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor, sort_keys=True),
                           skip_reason=None if requests
                           else dg.SkipReason("; ".join(stuck) or "every index is current"))


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
        planned = AssetCheckExecutionRecordStatus.PLANNED
        done = sorted((r for r in records if r.id > state["id"] and r.status != planned), key=lambda r: r.id)
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
        notifier.send(f"[alpha-replay] {alert['status']} {alert['asset']}.{alert['check']} {alert['partition']}", alert,
                      context.log)
    return dg.SensorResult(cursor=json.dumps(cursor, sort_keys=True),
                           skip_reason=None if alerts else dg.SkipReason("no new check failures or recoveries"))


def _ours(run: dg.DagsterRun, repository: dg.RepositoryDefinition | None) -> bool:
    """A run of this code location: launched through it (its origin names it), or launched in
    process (`dg launch`, `materialize`: no origin) of one of its jobs or assets."""
    if repository is None:
        return True
    if run.remote_job_origin is not None:
        return run.remote_job_origin.repository_origin.code_location_origin.location_name == CODE_LOCATION
    if run.asset_selection:
        known = {spec.key for spec in repository.asset_graph.asset_nodes}
        return run.asset_selection <= known
    return repository.has_job(run.job_name)


def _what_ran(run: dg.DagsterRun) -> str:
    """The job's name, or for an implicit asset job (`dg launch --assets`) the assets it materialised."""
    if run.asset_selection and run.job_name.startswith("__ASSET_JOB"):
        return "assets " + ", ".join(sorted(k.to_user_string() for k in run.asset_selection))
    return run.job_name


def _partitions(run: dg.DagsterRun) -> str:
    return run.tags.get("dagster/partition") or "..".join(
        filter(None, (run.tags.get("dagster/asset_partition_range_start"),
                      run.tags.get("dagster/asset_partition_range_end")))) or "(unpartitioned)"


def _retry(context: dg.RunFailureSensorContext) -> str:
    """Whether the run will be retried, and never a promise nobody keeps: a run launched in process
    has no origin for the daemon to re-execute, so its `will_retry` tag is set to false."""
    run = context.dagster_run
    if run.tags.get(WILL_RETRY_TAG) != "true":
        return "not retried"
    if run.remote_job_origin is None:
        context.instance.add_run_tags(run.run_id, {WILL_RETRY_TAG: "false"})
        return "not retried (launched in process: re-run it, e.g. with `dg launch` or from the UI)"
    return "the daemon retries it"


# Monitors every code location, because `dg launch` runs carry none (and a sensor scoped to its own
# location never sees them); `_ours` keeps it to this location's jobs and assets.
@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING, monitor_all_code_locations=True,
                       description="Every failed run of this code location, however it was launched, once.")
def run_failure_alert_sensor(context: dg.RunFailureSensorContext, notifier: Notifier) -> None:
    run = context.dagster_run
    if not _ours(run, context.repository_def):
        return
    steps = [{"step": e.step_key, "error": (e.step_failure_data.error.message.strip() if e.step_failure_data
                                             and e.step_failure_data.error else e.message)[:500]}
             for e in context.get_step_failure_events()]
    what, partitions = _what_ran(run), _partitions(run)
    notifier.send(f"[alpha-replay] run FAILED {what} {partitions}", {
        "status": "RUN_FAILED", "job": run.job_name, "what": what, "run_id": run.run_id, "partition": partitions,
        "steps": steps, "step": steps[0]["step"] if steps else None,
        "error": steps[0]["error"] if steps else context.failure_event.message, "retry": _retry(context),
        "link": f"{notifier.ui_base_url}/runs/{run.run_id}",
    }, context.log)
