"""Partition-aware freshness that a dry run cannot fake.

Dagster's `FreshnessPolicy` (set on every daily asset for the UI's health view) looks at the
newest materialisation of *any* partition, and the built-in time-partition check cannot tell a
dry-run stub from real data. This check asks the question the old system never asked: did the
partition that should exist by the last deadline arrive, from a real (non-stub) run?
"""

import datetime as dt

import dagster as dg

from alpha_replay_assets.checks.common import latest_real_materialization
from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.concordance_summary import concordance_summary
from alpha_replay_assets.counterfactual import counterfactual_fits
from alpha_replay_assets.index import artifact_index
from alpha_replay_assets.noise_ceiling import noise_ceiling
from alpha_replay_assets.partitions import DAILY_DEADLINE, WEEKLY_DEADLINE
from alpha_replay_assets.rationale_templates import rationale_templates
from alpha_replay_assets.spend_ledger import spend_ledger
from alpha_replay_assets.verdicts import agent_verdicts


def expected_partition(now: dt.datetime, weekday: int | None, hour: int) -> str:
    """The day partition that must have arrived by the most recent deadline before `now`."""
    deadline = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    step = dt.timedelta(days=1 if weekday is None else 7)
    if weekday is not None:
        deadline -= dt.timedelta(days=(deadline.weekday() - weekday) % 7)
    if deadline > now:
        deadline -= step
    return (deadline.date() - dt.timedelta(days=1)).isoformat()


def build_partition_arrived_check(asset: dg.AssetsDefinition, deadline: tuple[int | None, int]):
    weekday, hour = deadline
    when = f"{hour:02d}:00 UTC" + ("" if weekday is None else f" on {dt.date(2026, 11, 23 + weekday):%A}s")

    @dg.asset_check(asset=asset, name="latest_partition_arrived",
                    description=f"The previous day's partition exists, from a real run, by {when}.")
    def latest_partition_arrived(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        expected = expected_partition(dt.datetime.now(dt.UTC), weekday, hour)
        arrived = latest_real_materialization(context.instance, asset.key, expected)
        return dg.AssetCheckResult(
            passed=arrived is not None,
            metadata={"expected_partition": expected, "deadline": when},
            description=f"partition {expected} " + ("arrived" if arrived else f"has not arrived (deadline {when})"),
        )

    return latest_partition_arrived


FRESHNESS_CHECKS = [
    build_partition_arrived_check(artifact_index, DAILY_DEADLINE),
    *(build_partition_arrived_check(asset, WEEKLY_DEADLINE)
      for asset in (concordance, noise_ceiling, concordance_summary, counterfactual_fits, rationale_templates,
                    agent_verdicts, spend_ledger)),
]
