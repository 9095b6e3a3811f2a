"""Jobs: what runs together. Partitions are inferred from the assets (all daily, UTC).

Freshness checks evaluate "now", not a run's partitions, so they are kept out of the
materialising jobs and run on their own schedule (`freshness_checks_job`).
"""

import dagster as dg

from alpha_replay_assets.checks.freshness import FRESHNESS_CHECKS
from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.concordance_summary import concordance_summary
from alpha_replay_assets.counterfactual import counterfactual_fits
from alpha_replay_assets.index import artifact_index
from alpha_replay_assets.noise_ceiling import noise_ceiling
from alpha_replay_assets.rationale_templates import rationale_templates
from alpha_replay_assets.spend_ledger import spend_ledger
from alpha_replay_assets.verdicts import agent_verdicts
from jobs.catalog import ALL_ASSETS
from resources.run_mode import DRY_RUN_TAG


def _with_partition_checks(*assets) -> dg.AssetSelection:
    return dg.AssetSelection.assets(*assets) - dg.AssetSelection.checks(*FRESHNESS_CHECKS)


index_job = dg.define_asset_job(
    "index_job", selection=_with_partition_checks(artifact_index),
    description="(Re-)index capture days; requested by the new-artifact sensor.",
)
daily_job = dg.define_asset_job(
    "daily_job", selection=_with_partition_checks(artifact_index, concordance, noise_ceiling),
    description="Index and replay capture days.",
)
window_job = dg.define_asset_job(
    "window_job",
    selection=_with_partition_checks(concordance_summary, counterfactual_fits, rationale_templates, agent_verdicts,
                                     spend_ledger),
    description="The window assets for window-end days: concordance summary, rule fits, rationale templates, "
                "verdicts, spend ledger.",
)
weekly_job = dg.define_asset_job(
    "weekly_job",
    selection=_with_partition_checks(*ALL_ASSETS),
    description="The weekly tick: the last 7 days indexed and replayed, then their windows, in one run "
                "so the windows always read this run's replays.",
)
preflight_job = dg.define_asset_job(
    "preflight_job",
    selection=dg.AssetSelection.assets(*ALL_ASSETS).without_checks(),
    # The tag, not a default run config, makes it dry: every launch path puts a job's tags on its
    # runs (`dg launch --partition` replaces its default config with `{}`; GraphQL launches and
    # job backfills copy `tags`, schedules and sensors `run_tags`, which default to `tags`), and
    # the resources refuse to reach the network for any run of this job (`resources.run_mode`).
    tags={DRY_RUN_TAG: "true"},
    description="Dry run of everything: boots resources and imports, materialises stubs marked "
                "`stub: true`; no S3, model or CloudWatch traffic. Run it before the weekly tick.",
)
freshness_checks_job = dg.define_asset_job(
    "freshness_checks_job", selection=dg.AssetSelection.checks(*FRESHNESS_CHECKS),
    description="Did each asset's expected partition arrive, from a real run?",
)

ALL_JOBS = [index_job, daily_job, window_job, weekly_job, preflight_job, freshness_checks_job]
