"""Prompt machinery of the synthetic corpus, shared by the generator (the "expensive" model that
produced the originals) and the loopback model server (the "cheap" replay model).

The hidden rules live with their families (`families/<name>.py`, `HiddenRule`); the one family
alpha-replay must not know lives in `sample/unregistered.py`. Both sides apply the same rule to
the same input snapshot with *different* noise, so replay concordance is high but below 1 and the
counterfactual fit finds real signal.

The prompts are the producers' (docs/real-shapes.md §4): the think tank's real system prompts and rendered
user prompts; for the research graph the cost tracker's placeholder system prompt, the unrendered
user template for the sector families and thesis_update, and a rendered user prompt for
macro_economist and ic_cio. `graph_prompts="rendered"` (a CorpusSpec knob for tests that need
replayable graph artifacts) gives every graph artifact a real-looking system prompt and a
rendered user prompt instead. A model recognises a family by its template's opening words and
reads the data from the rendered sections (`synthetic.render`).
"""

import re

from alpha_replay_assets.families import REGISTRY
from alpha_replay_assets.family_spec.rule import HiddenRule
from alpha_replay_assets.family_spec.synthetic import read_sections, render, stub_system
from alpha_replay_assets.sample import unregistered

RULES: dict[str, HiddenRule] = ({name: f.rule for name, f in REGISTRY.items() if f.rule}
                                | {unregistered.NAME: unregistered.RULE})
GRAPH_PROMPTS = ("stub", "rendered")  # the producers' reality (default), or replayable graph prompts


def _opening(template: str) -> str:
    """A template's words before its first slot: how a prompt of this family begins, rendered or not."""
    return re.split(r"\{", template, maxsplit=1)[0]


OPENINGS = {_opening(rule.template): family for family, rule in RULES.items() if rule.template}


def prompts(family: str, snapshot: dict, agent_id: str, graph_prompts: str = "stub") -> tuple[str, str]:
    """(system prompt, user prompt) as the family's producer captured them."""
    rule = RULES[family]
    if rule.graph is not None and graph_prompts == "stub":
        user = render(rule.template, snapshot, rule.sections) if rule.rendered else rule.template
        return stub_system(agent_id), user
    return rule.system(snapshot), render(rule.template, snapshot, rule.sections)


def parse_prompt(user: str) -> tuple[str, dict] | None:
    """(family, the data the prompt carries) for a prompt of a synthetic family, or None for any
    other text. The data is empty for an unrendered template."""
    family = next((f for opening, f in OPENINGS.items() if user.startswith(opening)), None)
    return None if family is None else (family, read_sections(user))
