"""Time partitioning shared by every asset: one partition per UTC capture day (domain §1.1)."""


import datetime as dt

import dagster as dg

# The corpus starts here; windows reaching further back are clipped by Dagster.
FIRST_DAY = "2026-01-01"

# end_offset=0: the newest partition is the last *complete* UTC day.
DAILY = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, timezone="UTC")


def day_of(partition_key: str) -> dt.date:
    return dt.date.fromisoformat(partition_key)


def trailing_days(end: dt.date, n_days: int) -> list[dt.date]:
    """The `n_days` days ending on `end`, oldest first, never before the first partition."""
    first = day_of(FIRST_DAY)
    return [d for d in (end - dt.timedelta(days=n) for n in reversed(range(n_days))) if d >= first]
