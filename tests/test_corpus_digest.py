"""The synthetic corpus is a function of its spec: refactoring where its tables are declared (the
families' own `Volume`s) must not change one byte. The digests below were taken with the code
before that move (main at 69c80bc); a change to them is a change to every test's corpus."""

import datetime as dt
import hashlib

import pytest

from alpha_replay_assets.sample import corpus
from helpers import PINNED_DAY

FRIDAY = PINNED_DAY + dt.timedelta(days=2)
SPECS = {  # name -> (spec, days): every era, both prompt kinds, production sizes, overflow teams, weekend filing
    "default_fri_to_mon": (corpus.CorpusSpec(), corpus.window(FRIDAY + dt.timedelta(days=3), 4)),
    "rendered_production": (corpus.CorpusSpec(per_day=60, sizes="production", graph_prompts="rendered"), [PINNED_DAY]),
    "legacy_overflow_teams": (corpus.CorpusSpec(per_day=700, mix="legacy", seed=11), [PINNED_DAY]),
    "today_scaled": (corpus.CorpusSpec(mix="today", think_tank_scale=3, unregistered_per_day=0), [FRIDAY]),
}
DIGESTS = {
    'default_fri_to_mon': '19040e7f2577318975d274bc08c3895eca90695c7908baa82ed45993b7d8ccfb',
    'legacy_overflow_teams': '4a19440a5e1a7e2c64b077fc9f0484ce0be2cbb01b9cde168dceb353a8f1f7e8',
    'rendered_production': 'ec27586ffa3d28920b42e4454b4f9a4187225a7e1007ade0465df490a4aabea5',
    'today_scaled': '864e476544d45cfc8934308b5ae1671cfadf8c1d4bbe5b4f8ced11ffb4cd8039',
}


def digest(spec: corpus.CorpusSpec, days: list[dt.date]) -> str:
    """sha256 over every object's key and body, in the order the corpus writes them."""
    h = hashlib.sha256()
    for day in days:
        for key, body in corpus.day_objects(day, "decision_artifacts", spec):
            h.update(key.encode() + b"\0" + hashlib.sha256(body).digest())
    return h.hexdigest()


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_corpus_is_byte_identical_to_the_recorded_one(name):
    assert digest(*SPECS[name]) == DIGESTS[name]


def test_a_16x_day_holds_each_ticker_once_per_team_and_every_key_once():
    """At 16x volume (9,360 a day) the holding families need more team:ticker agent ids than there
    are tickers: later rounds are new tickers, never a second artifact under one key."""
    keys = [key for key, _ in corpus.day_objects(PINNED_DAY, "decision_artifacts", corpus.CorpusSpec(
        per_day=9360, mix="legacy", unregistered_per_day=0, bad_fraction=0))]
    assert len(keys) == 9360 and len(set(keys)) == len(keys)
    assert any(":" in k and k.split("/")[-2].endswith("2") for k in keys if "thesis_update" in k)
