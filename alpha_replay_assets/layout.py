"""What the day layout leaves out: objects under the capture prefix outside any day folder, and
artifact timestamps far from their folder's day.

The index lists day folders (`<capture>/YYYY/MM/DD/`, `keys.day_prefix`); an object anywhere else
(`2026/12/2/...`, `2026-12-02/...`, `2026/12/<agent_id>/...`: a day folder missing a segment) would
be in no index. `off_layout_near` walks the three levels above a day (the capture prefix, the
day's year, its month) and names whatever does not fit there, with the day its path names (None
when it names none: reported with every day it sits near). A timestamp more than
`MAX_DAYS_OFF` days from its folder's day, or in the future, is flagged on its row
(`timestamp_flag`), the artifact kept.
"""

import datetime as dt
import re
from dataclasses import dataclass

from alpha_replay_assets.partitions import FIRST_DAY, day_of
from resources.artifact_store import ArtifactStore

MAX_DAYS_OFF = 2  # think-tank weekend runs are filed under Friday: 1-2 days off is the layout
FUTURE, FAR_FROM_DAY = "future", "far_from_day"
LOOSE_DATE = re.compile(r"(\d{4})([/_-]?)(\d{1,2})\2(\d{1,2})(?!\d)")


def loose_day(path: str) -> dt.date | None:
    """The date a misplaced path names (`2026/12/2`, `2026-12-02`, `20261202`), or None."""
    match = LOOSE_DATE.search(path)
    try:
        return dt.date(int(match[1]), int(match[3]), int(match[4])) if match else None
    except ValueError:
        return None


def _is_day(year: int, month: int, name: str) -> bool:
    try:
        return bool(re.fullmatch(r"\d{2}/", name)) and dt.date(year, month, int(name[:2])) is not None
    except ValueError:
        return False


@dataclass(frozen=True)
class OffLayout:
    path: str  # under the capture prefix; a folder ends with `/`
    objects: int
    day: dt.date | None


def plausible_year(name: str, now: dt.date) -> bool:
    """A year folder (`YYYY/`) from the first partition's year to next year: a mistyped year (`2062/`)
    is off the layout, its objects in no index."""
    return bool(re.fullmatch(r"\d{4}/", name)) and day_of(FIRST_DAY).year <= int(name[:4]) <= now.year + 1


def off_layout_near(store: ArtifactStore, day: dt.date) -> list[OffLayout]:
    """Objects and folders outside the day layout at the levels above `day`, naming it or no day.
    `_`-prefixed folders are the pipeline's meta-prefixes (docs/domain.md §1.1), never reported."""
    root, now = store.capture_prefix.rstrip("/") + "/", dt.datetime.now(dt.UTC).date()
    levels = [(root, lambda n: plausible_year(n, now) or n.startswith("_")),
              (f"{root}{day:%Y}/", lambda n: bool(re.fullmatch(r"(0[1-9]|1[0-2])/", n))),
              (f"{root}{day:%Y/%m}/", lambda n: _is_day(day.year, day.month, n))]
    found = []
    for prefix, fits in levels:
        folders, keys = store.list_level(prefix)
        for folder in (f for f in folders if not fits(f[len(prefix):])):
            rel = folder[len(root):]
            found.append(OffLayout(rel, sum(1 for _ in store.list_prefix(folder)), loose_day(rel)))
        found += [OffLayout(key[len(root):], 1, loose_day(key[len(root):])) for key in keys]
    return [f for f in found if f.day in (day, None)]


def timestamp_flag(timestamp: str, day: dt.date, now: dt.datetime) -> str | None:
    """`future`, `far_from_day` (more than MAX_DAYS_OFF days from the folder's day), or None."""
    stamp = dt.datetime.fromisoformat(timestamp)
    stamp = stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)
    if stamp > now:
        return FUTURE
    return FAR_FROM_DAY if abs((stamp.date() - day).days) > MAX_DAYS_OFF else None
