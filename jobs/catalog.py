"""Everything the code location defines, listed once for the jobs, the Definitions and tests."""

from alpha_replay_assets.checks.capture import CAPTURE_CHECKS
from alpha_replay_assets.checks.freshness import FRESHNESS_CHECKS
from alpha_replay_assets.checks.layout import LAYOUT_CHECKS
from alpha_replay_assets.checks.listing import index_matches_listing
from alpha_replay_assets.checks.prices import PRICE_CHECKS
from alpha_replay_assets.checks.rationales import RATIONALE_CHECKS
from alpha_replay_assets.checks.replay import REPLAY_CHECKS
from alpha_replay_assets.checks.verdicts import VERDICT_CHECKS
from alpha_replay_assets.checks.windows import WINDOW_CHECKS
from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.concordance_summary import concordance_summary
from alpha_replay_assets.counterfactual import counterfactual_fits
from alpha_replay_assets.index import artifact_index
from alpha_replay_assets.noise_ceiling import noise_ceiling
from alpha_replay_assets.rationale_templates import rationale_templates
from alpha_replay_assets.spend_ledger import spend_ledger
from alpha_replay_assets.verdicts import agent_verdicts

ALL_ASSETS = [artifact_index, concordance, noise_ceiling, concordance_summary, counterfactual_fits, rationale_templates,
              agent_verdicts, spend_ledger]
# Checks evaluated with the partitions a run materialises (freshness checks evaluate "now").
PARTITION_CHECKS = [*CAPTURE_CHECKS, index_matches_listing, *LAYOUT_CHECKS, *PRICE_CHECKS, *REPLAY_CHECKS,
                    *WINDOW_CHECKS, *RATIONALE_CHECKS, *VERDICT_CHECKS]
ALL_CHECKS = [*PARTITION_CHECKS, *FRESHNESS_CHECKS]
