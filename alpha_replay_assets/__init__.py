"""alpha-replay's assets, checks and the pure domain logic they call."""

import warnings

import dagster as dg

# We use Beta/Preview features on purpose (backfill policies, partitioned asset checks) and the
# superseded-but-only partition-aware freshness checks; say so once instead of on every import.
for _category in (dg.BetaWarning, dg.PreviewWarning, dg.SupersessionWarning):
    warnings.filterwarnings("ignore", category=_category)
