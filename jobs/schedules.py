"""When things run. The weekly tick is written by hand: `build_schedule_from_partitioned_job`
refuses a weekly cron for daily partitions."""

import datetime as dt
import os

import dagster as dg

from jobs.asset_jobs import freshness_checks_job, preflight_job, weekly_job

WEEKLY_CRON = os.environ.get("ALPHA_REPLAY_WEEKLY_CRON", "0 2 * * 6")  # Saturday 02:00 UTC
PREFLIGHT_CRON = os.environ.get("ALPHA_REPLAY_PREFLIGHT_CRON", "0 1 * * 6")  # an hour before it


def weekly_range(tick: dt.datetime) -> tuple[str, str]:
    """The last 7 complete UTC days before the tick (re-run idempotently: late artifacts land)."""
    end = tick.astimezone(dt.UTC).date() - dt.timedelta(days=1)
    return (end - dt.timedelta(days=6)).isoformat(), end.isoformat()


def range_tags(start: str, end: str) -> dict[str, str]:
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}


@dg.schedule(cron_schedule=WEEKLY_CRON, job=weekly_job, execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Index + replay the last 7 days, then the windows ending on the last one.")
def weekly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    start, end = weekly_range(context.scheduled_execution_time)
    # one run per tick, however often the tick is evaluated
    return dg.RunRequest(run_key=f"weekly:{end}", tags=range_tags(start, end))


@dg.schedule(cron_schedule=PREFLIGHT_CRON, job=preflight_job, execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.RUNNING,
             description="Dry run of the coming weekly tick's range: a broken deployment fails here, "
                         "an hour early, without a single S3, CloudWatch or model request.")
def preflight_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    start, end = weekly_range(context.scheduled_execution_time)
    return dg.RunRequest(run_key=f"preflight:{end}", tags=range_tags(start, end))


freshness_schedule = dg.ScheduleDefinition(
    name="freshness_schedule", job=freshness_checks_job, cron_schedule="15 * * * *",
    execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly: has every asset's expected partition arrived?",
)
