"""Prompt machinery of the synthetic corpus, shared by the generator (the "expensive" model that
produced the originals) and the loopback model server (the "cheap" replay model).

The hidden rules themselves live with their families (`families/<name>.py`, `HiddenRule`); the
one family alpha-replay must not know lives in `sample/unregistered.py`. Both sides apply the
same rule to the same input snapshot with *different* noise, so replay concordance is high but
below 1 and the counterfactual fit finds real signal.
"""

import json
import re

from alpha_replay_assets.families import REGISTRY
from alpha_replay_assets.families.spec import HiddenRule
from alpha_replay_assets.sample import unregistered

SYSTEM_PROMPT = (
    "You are the {family} agent of a quantitative research desk. Decide from the input "
    "snapshot only. Reply with one JSON object and nothing else, shaped as: {shape}"
)
SNAPSHOT_OPEN, SNAPSHOT_CLOSE = "<input_snapshot>", "</input_snapshot>"
FAMILY_PATTERN = re.compile(r"You are the ([a-z_]+) agent")
RULES: dict[str, HiddenRule] = {name: f.rule for name, f in REGISTRY.items() if f.rule} | {unregistered.NAME: unregistered.RULE}


def system_prompt(family: str) -> str:
    rule = RULES[family]
    head = SYSTEM_PROMPT.format(family=family, shape=rule.reply_shape)
    return f"{head}\n\n{rule.instructions}" if rule.instructions else head


def user_prompt(snapshot: dict) -> str:
    return f"Input snapshot:\n{SNAPSHOT_OPEN}\n{json.dumps(snapshot, sort_keys=True)}\n{SNAPSHOT_CLOSE}"


def parse_prompt(system: str, user: str) -> tuple[str, dict] | None:
    """(family, snapshot) recovered from a prompt built above, or None for any other prompt."""
    match = FAMILY_PATTERN.search(system)
    start, end = user.find(SNAPSHOT_OPEN), user.find(SNAPSHOT_CLOSE)
    if match is None or start < 0 or end < start:
        return None
    try:
        return match.group(1), json.loads(user[start + len(SNAPSHOT_OPEN) : end])
    except json.JSONDecodeError:
        return None
