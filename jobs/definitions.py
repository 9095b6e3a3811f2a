"""The `alpha_replay` code location: every asset, check, job, schedule and sensor, and the
resources they run with (bound from the environment, see `resources.environment`)."""

import dagster as dg

from alpha_replay_assets.checks.capture import CAPTURE_CHECKS
from alpha_replay_assets.checks.freshness import FRESHNESS_CHECKS
from alpha_replay_assets.checks.replay import REPLAY_CHECKS
from alpha_replay_assets.checks.windows import WINDOW_CHECKS
from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.concordance_summary import concordance_summary
from alpha_replay_assets.counterfactual import counterfactual_fits
from alpha_replay_assets.index import artifact_index
from jobs.asset_jobs import ALL_JOBS
from jobs.schedules import freshness_schedule, weekly_schedule
from jobs.sensors import check_alert_sensor, new_artifacts_sensor, run_failure_alert_sensor
from resources.environment import resources_from_env

defs = dg.Definitions(
    assets=[artifact_index, concordance, concordance_summary, counterfactual_fits],
    asset_checks=[*CAPTURE_CHECKS, *REPLAY_CHECKS, *WINDOW_CHECKS, *FRESHNESS_CHECKS],
    jobs=ALL_JOBS,
    schedules=[weekly_schedule, freshness_schedule],
    sensors=[new_artifacts_sensor, check_alert_sensor, run_failure_alert_sensor],
    resources=resources_from_env(),
)
