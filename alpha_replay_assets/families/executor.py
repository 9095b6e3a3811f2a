"""executor — the order executors (`executor:risk_guard`, `executor:order_router`, ...).

Deterministic rules, no LLM (`model_metadata` null): indexed and counted, never replayed, scored
or fitted; their verdict row says `unsupported` with that reason.
"""

import random

from alpha_replay_assets.families.spec import Family, HiddenRule
from alpha_replay_assets.families.synthetic import TICKERS

EXECUTORS = ("risk_guard", "order_router")


def snapshot(rng: random.Random) -> dict:
    return {"executor": rng.choice(EXECUTORS), "orders": [
        {"ticker": t, "quantity": rng.randint(10, 5000), "limit_breach": rng.random() < 0.1}
        for t in rng.sample(TICKERS, rng.randint(1, 8))]}


def decide(snapshot: dict, rng: random.Random, noise: float) -> dict:
    breaches = [o["ticker"] for o in snapshot["orders"] if o["limit_breach"]]
    return {"orders_blocked": len(breaches), "limit_breaches": breaches}


FAMILY = Family(
    name="executor",
    agent_ids=r"executor(:[\w-]+)?",
    is_llm=False,
    unsupported_reason="deterministic executor (no LLM decision): indexed and counted, never replayed or fitted",
    rule=HiddenRule(snapshot, decide, "", agent_id=lambda s: f"executor:{s['executor']}"),
)
