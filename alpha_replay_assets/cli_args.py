"""argparse types shared by the commands: a bad argument is one line, never a traceback or a
silent no-op (`--days 0` that writes nothing, a day no partition has)."""

import argparse
import datetime as dt

from alpha_replay_assets.partitions import ENV_FIRST_DAY, FIRST_DAY

MOST = 1_000_000  # days or artifacts a day: more is a typo (16x production is 9,360 a day)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value <= MOST:
        raise argparse.ArgumentTypeError(f"must be 1 or more (at most {MOST:,}), got {value}")
    return value


def partition_day(text: str) -> dt.date:
    """A day that has a partition: from the first partition day to yesterday (UTC)."""
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a day as YYYY-MM-DD, got {text!r}") from None
    first, last = dt.date.fromisoformat(FIRST_DAY), dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    if not first <= day <= last:
        raise argparse.ArgumentTypeError(f"{day} has no partition: days run from {first} to yesterday ({last}); "
                                         f"older data: set {ENV_FIRST_DAY}")
    return day


def check_window(parser: argparse.ArgumentParser, end: dt.date, days: int) -> None:
    """`days` days ending on `end` must all have partitions."""
    first = dt.date.fromisoformat(FIRST_DAY)
    if days - 1 > (end - first).days:
        parser.error(f"--days {days} ending {end} reaches before the first partition day {FIRST_DAY} "
                     f"({(end - first).days + 1} days to choose from)")
