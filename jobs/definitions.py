"""The `alpha_replay` code location: every asset, check, job, schedule and sensor, and the
resources they run with (bound from the environment, see `resources.environment`)."""

import dagster as dg

from alpha_replay_assets.families import declared_targets
from jobs.asset_jobs import ALL_JOBS
from jobs.catalog import ALL_ASSETS, ALL_CHECKS
from jobs.schedules import freshness_schedule, preflight_schedule, weekly_schedule
from jobs.sensors import check_alert_sensor, new_artifacts_sensor, run_failure_alert_sensor
from resources.environment import resources_from_env

# Steps start from a forkserver that has already imported the code location: a weekly run's
# steps start in about a second each instead of re-importing dagster, pandas and scikit-learn.
EXECUTOR = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": ["jobs.definitions"]}}}
)

defs = dg.Definitions(
    # code references: the UI links each asset to the file and line that defines it
    assets=dg.with_source_code_references(ALL_ASSETS),
    asset_checks=ALL_CHECKS,
    jobs=ALL_JOBS,
    schedules=[weekly_schedule, preflight_schedule, freshness_schedule],
    sensors=[new_artifacts_sensor, check_alert_sensor, run_failure_alert_sensor],
    resources=resources_from_env(declared_targets()),
    executor=EXECUTOR,
)
