"""The tests' corpus does not depend on the date the suite runs on: on any of 60 consecutive
calendar days, the pinned spec writes the same objects (only the dates in keys and timestamps
differ). The failure this guards against: a test's day was `now - 2 days`, and on about a third of
dates the generator drew a valid 400 KB artifact above the test store's size bound."""

import datetime as dt
import re

from alpha_replay_assets.sample import corpus
from helpers import DAY, PINNED_DAY, SMALL


def test_day_is_recent_and_has_the_pinned_weekday():
    age = (dt.datetime.now(dt.UTC).date() - DAY).days
    assert 2 <= age <= 8 and DAY.weekday() == PINNED_DAY.weekday()


def _undated(day: dt.date, spec: corpus.CorpusSpec) -> list[tuple[str, bytes]]:
    """The day's objects with every date from a week before the day (the producers' prior report,
    prior decisions, weekly anchor) to two days after it written as D-7 .. D2."""
    subs = {}
    for n in range(-7, 3):
        d = day + dt.timedelta(days=n)
        subs.update({d.isoformat(): f"D{n}", f"{d:%Y%m%d}": f"D{n}", f"{d:%Y/%m/%d}": f"D{n}"})
    pattern = re.compile("|".join(map(re.escape, subs)))
    def relative(text: str) -> str:
        return pattern.sub(lambda m: subs[m.group()], text)
    return [(relative(key), relative(body.decode("latin-1")))
            for key, body in corpus.day_objects(day, "decision_artifacts", spec)]


def test_pinned_corpus_is_the_same_on_every_date_of_a_60_day_sweep():
    spec_fields = {f: getattr(SMALL, f) for f in ("per_day", "bad_fraction", "large_bytes", "oversized_bytes")}
    reference = None
    for shift in range(60):
        today = dt.date(2026, 12, 4) + dt.timedelta(days=shift)
        day = today - dt.timedelta(days=2)
        day -= dt.timedelta(days=(day - PINNED_DAY).days % 7)  # as conftest picks DAY
        objects = _undated(day, corpus.CorpusSpec(draw_offset_days=(PINNED_DAY - day).days, **spec_fields))
        reference = reference or objects
        assert objects == reference, f"the corpus differs when the suite runs on {today}"
    assert len(reference) > 60


def test_unpinned_corpus_does_differ_by_date():
    """The sweep above can fail: without the pin two weeks' Wednesdays draw different objects."""
    day = PINNED_DAY
    assert _undated(day, corpus.CorpusSpec(per_day=60)) != _undated(day + dt.timedelta(days=7),
                                                                    corpus.CorpusSpec(per_day=60))
