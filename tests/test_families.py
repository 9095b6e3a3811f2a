"""The family registry: what holds for every declared family, parametrised over the registry and
over what each family declares (its hidden rule, its corpus volume), so a new family is tested by
being there. No test here names the set of families."""

import datetime as dt
import pkgutil
import random
import re
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from alpha_replay_assets import families
from alpha_replay_assets.families import REGISTRY, judge_for, judged_families, lookup
from alpha_replay_assets.family_spec.fields import SchemaError
from alpha_replay_assets.family_spec.rule import Run
from alpha_replay_assets.sample import corpus, rules, schedule, unregistered
from helpers import DAY, PINNED_DAY, pinned

README = Path(__file__).resolve().parent.parent / "alpha_replay_assets" / "families" / "README.md"  # beside the code
JUDGED = judged_families()
SYNTHETIC = [name for name in REGISTRY if REGISTRY[name].rule]  # the families the corpus and model can make
JUDGED_SYNTHETIC = [name for name in JUDGED if name in SYNTHETIC]
VOLUMES = [(name, v) for era in ("legacy", "today") for name, v in schedule.volumes(era)]


def original_and_raw(name, seed=3, noise=0.0):
    """(stored agent_output, the raw reply it was post-processed from) of one synthetic artifact."""
    rule, rng = rules.RULES[name], random.Random(seed)
    snapshot = rule.snapshot(rng, DAY, None)
    raw = rule.decide(snapshot, rng, noise)
    return rule.post_process(raw, snapshot, Run(DAY, DAY, 0.001), rng), raw


def test_every_module_of_the_families_package_is_a_registered_family():
    assert set(REGISTRY) == {m.name for m in pkgutil.iter_modules(families.__path__)}
    assert all(family.matches(name) or family.matches(f"{name}:x") for name, family in REGISTRY.items())


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_llm_families_with_a_scorer_are_judged_the_others_never(name):
    family = REGISTRY[name]
    assert (name in JUDGED) == (family.is_llm and family.scorer is not None)
    assert (judge_for(name, {}) is family) == (name in JUDGED)
    if name not in JUDGED:
        assert judge_for(name, {}) is None and family.unsupported_reason


@pytest.mark.parametrize("name", JUDGED_SYNTHETIC + [unregistered.NAME])
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


@pytest.mark.parametrize("name", JUDGED_SYNTHETIC)
def test_a_reply_without_the_decision_fields_is_a_schema_error(name):
    original, _ = original_and_raw(name)
    with pytest.raises(SchemaError):
        judge_for(name, original).validate({"answer": "I would rather not say"}, original)


@pytest.mark.parametrize("name", JUDGED_SYNTHETIC)
def test_a_noisier_reply_scores_lower_and_stays_in_range(name):
    """Lower, unless the scorer is blind to what the noise changes by design: sector_qual's compares
    the assessed ticker sets, and the producer assesses exactly the quant top 5 it is given, so every
    schema-valid reply agrees (1.0), noisy or not (families/README.md says so)."""
    rule, family = rules.RULES[name], REGISTRY[name]
    scores = {0.0: [], 0.5: []}
    for seed in range(40):
        snapshot = rule.snapshot(random.Random(seed), DAY, None)
        decided = rule.decide(snapshot, random.Random(seed + 1), 0.0)
        original = rule.post_process(decided, snapshot, Run(DAY, DAY, 0.001), random.Random(seed))
        for noise in scores:
            scores[noise].append(family.score(original, rule.decide(snapshot, random.Random(seed + 2), noise)).score)
    assert all(0.0 <= s <= 1.0 for s in scores[0.0] + scores[0.5])
    assert sum(scores[0.5]) < sum(scores[0.0]) or set(scores[0.0] + scores[0.5]) == {1.0}


def test_generated_agent_ids_match_the_declared_patterns():
    days = corpus.window(corpus.dt.date(2026, 7, 12), 3)  # Fri..Sun: every family, weekend filing
    ids = {key.split("/")[4] for day in days for key, _ in corpus.day_objects(day, "decision_artifacts",
                                                                               pinned(per_day=120))}
    registered = [i for i in ids if not i.startswith(unregistered.NAME)]
    assert {lookup(i).name for i in registered if lookup(i)} == {name for name, _ in VOLUMES}
    assert all(lookup(i) is not None for i in registered)
    assert lookup(unregistered.NAME) is None
    for name, volume in VOLUMES:  # a team's artifacts are filed under `family:team`
        if volume.per_team and not volume.holding and not volume.kinds:
            assert any(re.fullmatch(rf"{name}:[a-z]+", i) for i in ids), name
    # an id off its family's declared pattern is not that family (thinktank ids are never per ticker)
    assert lookup("thinktank_thesis:AAPL") is None and lookup("executor:risk_guard").name == "executor"


@pytest.mark.parametrize("name", [n for n in SYNTHETIC if REGISTRY[n].fit])
def test_every_fitted_family_extracts_labelled_rows_from_its_artifacts(name):
    family, rule, rows = REGISTRY[name], rules.RULES[name], []
    for seed in range(30):
        original, _ = original_and_raw(name, seed, noise=0.05)
        rows += family.fit.rows(rule.snapshot(random.Random(seed), DAY, None), original)
    assert rows and all("error" not in r for r in rows)
    assert len({r["label"] for r in rows}) >= 2
    assert not any(r["all_default"] for r in rows)


@pytest.mark.parametrize("name,volume", VOLUMES, ids=[f"{n}-{v.era}" for n, v in VOLUMES])
def test_the_corpus_writes_the_volume_a_family_declares(name, volume):
    """A legacy day of exactly six team blocks, or a today folder drawn as a Wednesday's, holds the
    family's declared count."""
    legacy = schedule.volumes("legacy")
    spec = pinned(mix=volume.era, bad_fraction=0, unregistered_per_day=0,
                  per_day=sum(v.per_day + 6 * v.per_team for _, v in legacy))
    written = Counter(lookup(key.split("/")[4]).name for key, _ in corpus.day_objects(DAY, "decision_artifacts", spec))
    declared = {"legacy": volume.per_day + 6 * volume.per_team,
                "today": volume.weekly[PINNED_DAY.weekday()] if volume.weekly else volume.per_day}[volume.era]
    assert written[name] == declared > 0


def test_a_family_without_a_hidden_rule_is_simply_absent_from_the_corpus(monkeypatch):
    name = VOLUMES[0][0]
    monkeypatch.setitem(REGISTRY, name, replace(REGISTRY[name], rule=None))
    written = {key.split("/")[4].split(":")[0] for day in (DAY, DAY + dt.timedelta(days=2))
               for key, _ in corpus.day_objects(day, "decision_artifacts", pinned(per_day=60, bad_fraction=0))}
    assert name not in written and len(written) >= 3


def test_who_judges_what():
    assert judge_for("thinktank_theme", {"mood": "sunny"}) is REGISTRY["thinktank_theme"]  # the fields are known now
    assert judge_for("never_heard_of_it", {}).name == "structural"
    assert judge_for("executor", {}) is None
    unsupported = {n: f.unsupported_reason for n, f in REGISTRY.items() if f.judged and f.fit is None}
    assert "no numeric input" in unsupported["thinktank_theme"]
    assert all(reason != "no decision field to replay or fit" for reason in unsupported.values())  # each says why


def test_readme_family_table_rows_are_generated_from_the_declarations():
    """Every row the families README's table shows is the generated one (`families.table()`); a family
    README does not show yet is not a failure (the table is regenerated, never hand-edited)."""
    generated = families.table().splitlines()
    after = README.read_text().split(generated[0] + "\n", 1)[1].splitlines()
    rows = after[:next(i for i, line in enumerate(after) if not line.startswith("|"))]
    assert len(rows) >= 3 and all(row in generated for row in rows)


def test_readme_example_module_is_a_family(tmp_path, monkeypatch):
    """The families README's example module, put on the package's path, is registered, scored and fitted (that a
    new module is all a family needs, end to end, is tests/test_family_copy.py's business)."""
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
