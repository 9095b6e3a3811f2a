"""A prompt change mid-window for the synthetic corpus (docs/domain.md §3c), off by default.

From `CorpusSpec.version_shift_from` on, two graph families ship a new prompt version (a new
`prompt_version_hash`): `sector_qual`'s changes its behaviour (its qual score becomes a crisp rule
of the news sentiment: a different, reducible agent), `sector_quant`'s is cosmetic (same
behaviour). The captured prompt text is left as it was (the loopback model reads it): what a
reader sees change is the version and, for the first family only, the decisions.
"""

import datetime as dt

CHANGED, COSMETIC = "sector_qual", "sector_quant"
REVISIONS = {CHANGED: "\nrevision 2: score each name from its news sentiment alone.",
             COSMETIC: "\nrevision 2: typo fixes."}
HIGH_SENTIMENT = 0.3  # the new sector_qual rule: above it the name scores high, else low


def revision(family: str, day: dt.date, since: dt.date | None) -> str:
    """What the family's template gained by `day` (empty: still the original prompt)."""
    return REVISIONS.get(family, "") if since is not None and day >= since else ""


def behave(family: str, raw: dict, snapshot: dict) -> dict:
    """The reply under the revised prompt: the changed family follows its new rule."""
    if family != CHANGED:
        return raw
    news = snapshot.get("news_data_for_top5") or {}
    return raw | {"assessments": [
        a | {"qual_score": 80.0 if (news.get(a["ticker"]) or {}).get("sentiment", 0.0) > HIGH_SENTIMENT else 30.0}
        for a in raw["assessments"]]}
