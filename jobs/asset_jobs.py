"""Jobs: what runs together. Partitions are inferred from the assets (all daily)."""

import dagster as dg

from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.concordance_summary import concordance_summary
from alpha_replay_assets.counterfactual import counterfactual_fits
from alpha_replay_assets.index import artifact_index

daily_job = dg.define_asset_job(
    "daily_job",
    selection=dg.AssetSelection.assets(artifact_index, concordance),
    description="Index capture days (and, once replayed, score them).",
)

demo_job = dg.define_asset_job(
    "demo_job",
    selection=dg.AssetSelection.all(),
    description="Everything, for the quick start's seeded window.",
)

window_job = dg.define_asset_job(
    "window_job",
    selection=dg.AssetSelection.assets(concordance_summary, counterfactual_fits),
    description="The window assets for a window-end day: summary metrics (and rule fits).",
)
