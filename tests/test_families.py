"""The family registry: what holds for every declared family, and that a new family is one file."""

import random
import re
from pathlib import Path

import pytest

from alpha_replay_assets import families
from alpha_replay_assets.families import REGISTRY, judge_for, judged_families, lookup
from alpha_replay_assets.families.spec import Run, SchemaError
from alpha_replay_assets.sample import corpus, rules, unregistered
from helpers import DAY, pinned

README = Path(__file__).resolve().parent.parent / "README.md"
JUDGED = judged_families()


def original_and_raw(name, seed=3, noise=0.0):
    """(stored agent_output, the raw reply it was post-processed from) of one synthetic artifact."""
    rule, rng = rules.RULES[name], random.Random(seed)
    snapshot = rule.snapshot(rng, DAY, None)
    raw = rule.decide(snapshot, rng, noise)
    return rule.post_process(raw, snapshot, Run(DAY, DAY, 0.001), rng), raw


def test_registry_holds_the_nine_families_and_judges_the_llm_ones():
    assert set(REGISTRY) == {"sector_quant", "sector_qual", "sector_peer_review", "macro_economist", "ic_cio",
                             "thesis_update", "thinktank_thesis", "thinktank_theme", "executor"}
    assert set(JUDGED) == set(REGISTRY) - {"executor"}
    assert not REGISTRY["executor"].is_llm and judge_for("executor", {}) is None


@pytest.mark.parametrize("name", JUDGED + [unregistered.NAME])
def test_a_reply_equal_to_the_producers_raw_output_scores_one(name):
    """Stored output vs the raw reply it came from: 1.0 wherever the producer's post-processing kept
    the decision (it may not: ic_cio's advance floor, peer review's regime gate, macro's guardrail;
    those pairs keep their lower numbers)."""
    judge, kept = judge_for(name, {}), 0
    assert judge.name == ("structural" if name == unregistered.NAME else name)
    for seed in range(20):
        original, raw = original_and_raw(name, seed)
        score = judge.score(original, judge.validate(raw, original)).score
        assert 0.0 <= score <= 1.0
        kept += score == pytest.approx(1.0)
    assert kept >= 15


@pytest.mark.parametrize("name", JUDGED)
def test_a_reply_without_the_decision_fields_is_a_schema_error(name):
    original, _ = original_and_raw(name)
    with pytest.raises(SchemaError):
        judge_for(name, original).validate({"answer": "I would rather not say"}, original)


# sector_qual's domain scorer compares the assessed ticker sets, and the producer assesses exactly the
# quant top 5 it is given: every schema-valid reply agrees (1.0), noisy or not (README says so).
@pytest.mark.parametrize("name", [n for n in JUDGED if n != "sector_qual"])
def test_a_noisier_reply_scores_lower_and_stays_in_range(name):
    rule, family = rules.RULES[name], REGISTRY[name]
    scores = {0.0: [], 0.5: []}
    for seed in range(40):
        snapshot = rule.snapshot(random.Random(seed), DAY, None)
        decided = rule.decide(snapshot, random.Random(seed + 1), 0.0)
        original = rule.post_process(decided, snapshot, Run(DAY, DAY, 0.001), random.Random(seed))
        for noise in scores:
            scores[noise].append(family.score(original, rule.decide(snapshot, random.Random(seed + 2), noise)).score)
    assert all(0.0 <= s <= 1.0 for s in scores[0.0] + scores[0.5])
    assert sum(scores[0.5]) < sum(scores[0.0])


def test_generated_agent_ids_match_the_declared_patterns():
    days = corpus.window(corpus.dt.date(2026, 7, 12), 3)  # Fri..Sun: every family, weekend filing
    ids = {key.split("/")[4] for day in days for key, _ in corpus.day_objects(day, "decision_artifacts",
                                                                               pinned(per_day=120))}
    registered = [i for i in ids if not i.startswith(unregistered.NAME)]
    assert {lookup(i).name for i in registered if lookup(i)} == set(REGISTRY)
    assert all(lookup(i) is not None for i in registered)
    assert lookup(unregistered.NAME) is None
    assert any(re.fullmatch(r"sector_quant:[a-z]+", i) for i in ids)
    # an id off its family's declared pattern is not that family (thinktank ids are never per ticker)
    assert lookup("thinktank_thesis:AAPL") is None and lookup("executor:risk_guard").name == "executor"


def test_every_fitted_family_extracts_labelled_rows_from_its_artifacts():
    for name, family in REGISTRY.items():
        if family.fit is None:
            continue
        rule, rows = rules.RULES[name], []
        for seed in range(30):
            original, _ = original_and_raw(name, seed, noise=0.05)
            rows += family.fit.rows(rule.snapshot(random.Random(seed), DAY, None), original)
        assert rows and all("error" not in r for r in rows), name
        assert len({r["label"] for r in rows}) >= 2, name
        assert not any(r["all_default"] for r in rows), name


def test_who_judges_what():
    assert judge_for("thinktank_theme", {"mood": "sunny"}) is REGISTRY["thinktank_theme"]  # the fields are known now
    assert judge_for("never_heard_of_it", {}).name == "structural"
    assert judge_for("executor", {}) is None
    unsupported = {n: f.unsupported_reason for n, f in REGISTRY.items() if f.judged and f.fit is None}
    assert set(unsupported) == {"thinktank_theme"} and "no numeric input" in unsupported["thinktank_theme"]


def test_readme_family_table_is_generated_from_the_declarations():
    assert families.table() in README.read_text()


def test_adding_a_family_is_one_file(tmp_path, monkeypatch):
    """README's example module, dropped into the package, is registered, scored and fitted."""
    example = re.search(r"```python\n(# alpha_replay_assets/families/news_desk\.py.*?)```", README.read_text(), re.S)
    (tmp_path / "news_desk.py").write_text(example.group(1))
    monkeypatch.setattr(families, "__path__", [*families.__path__, str(tmp_path)])
    registry = families.discover()
    desk = registry["news_desk"]
    assert set(registry) == set(REGISTRY) | {"news_desk"}
    assert desk.matches("news_desk:europe") and desk.judged
    original = {"headline_call": "risk_on", "confidence": 80, "note": "Breadth improving, credit calm."}
    assert desk.score(original, original).score == pytest.approx(1.0)
    assert desk.score(original, original | {"headline_call": "risk_off"}).score < 0.7
    assert desk.label_pairs(original, original) == [["risk_on", "risk_on"]]
    with pytest.raises(SchemaError, match="headline_call"):
        desk.validate({"confidence": 80})
    [row] = desk.fit.rows({"breadth": 0.7, "vix": 14.0}, original)
    assert row == {"label": "risk_on", "features": {"breadth": 0.7, "vix": 14.0}, "all_default": False}
