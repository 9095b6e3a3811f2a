"""Time partitioning shared by every asset: one partition per UTC capture day (docs/domain.md §1.1)."""


import datetime as dt
import os

import dagster as dg

# Who answers for every asset in the UI's owner column.
OWNERS = ["team:quant-research"]

# The corpus starts here; windows reaching further back are clipped by Dagster. A bucket with older
# day folders sets ALPHA_REPLAY_FIRST_DAY (the same value for the code location, daemon and CLI:
# changing it adds or removes partitions, never renames them).
ENV_FIRST_DAY = "ALPHA_REPLAY_FIRST_DAY"
FIRST_DAY = dt.date.fromisoformat(os.environ.get(ENV_FIRST_DAY) or "2026-01-01").isoformat()

# end_offset=0: the newest partition is the last *complete* UTC day.
DAILY = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, timezone="UTC")


def day_of(partition_key: str) -> dt.date:
    return dt.date.fromisoformat(partition_key)


def trailing_days(end: dt.date, n_days: int) -> list[dt.date]:
    """The `n_days` days ending on `end`, oldest first, never before the first partition."""
    first = day_of(FIRST_DAY)
    return [d for d in (end - dt.timedelta(days=n) for n in reversed(range(n_days))) if d >= first]


# Which partition must exist by when: daily assets by 09:00 UTC the next day; the weekly assets
# (replayed and windowed by the Saturday 02:00 schedule) by Saturday 09:00 UTC.
DAILY_DEADLINE = (None, 9)
WEEKLY_DEADLINE = (5, 9)  # (weekday, hour): Saturday


def freshness_policy(deadline: tuple[int | None, int]) -> dg.FreshnessPolicy:
    """The UI-level rule for the same cadence (the daemon evaluates it; it ignores partitions)."""
    weekly = deadline[0] is not None
    return dg.FreshnessPolicy.time_window(
        fail_window=dt.timedelta(days=8 if weekly else 2), warn_window=dt.timedelta(days=7 if weekly else 1)
    )
