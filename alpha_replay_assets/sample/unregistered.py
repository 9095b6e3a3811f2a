"""`mystery_agent`: an LLM family alpha-replay does not know (no module in `families/`).

The corpus writes it and the loopback model answers its prompts by this hidden rule, so the
quick start and the tests show an unregistered family indexed `ok`, replayed, scored by the
structural scorer and judged. It lives here, not in `families/`, precisely because alpha-replay
must not know it. Its prompts are rendered (a new producer that captures them properly).
"""

import datetime as dt
import random

from alpha_replay_assets.family_spec.rule import HiddenRule, Run
from alpha_replay_assets.family_spec.synthetic import TICKERS, pick_words

NAME = "mystery_agent"
MODEL = "claude-sonnet-4-5"  # a new producer on a model of its own
LEVELS = ("normal", "elevated", "high")


def snapshot(rng: random.Random, day: dt.date, scope: str | None = None) -> dict:
    return {"vix": round(rng.uniform(11, 38), 2), "positions": [
        {"ticker": t, "exposure": round(rng.uniform(0.005, 0.08), 4), "volatility": round(rng.uniform(0.1, 0.7), 3)}
        for t in rng.sample(TICKERS, rng.randint(4, 8))]}


def decide(snapshot: dict, rng: random.Random, noise: float) -> dict:
    alerts = []
    for p in snapshot["positions"]:
        risk = p["exposure"] * p["volatility"] * (1 + rng.gauss(0, 2 * noise))
        if (risk > 0.01) != (rng.random() < noise):
            alerts.append({"ticker": p["ticker"], "severity": "high" if risk > 0.025 else "medium",
                           "risk_contribution": round(risk, 4)})
    level = "high" if snapshot["vix"] > 30 else "elevated" if snapshot["vix"] > 20 or len(alerts) > 2 else "normal"
    return {"risk_level": level, "alerts": alerts,
            "summary": f"Risk is {level} with {len(alerts)} alerts; "
                       f"{pick_words(rng, 'trim', 'hedge', 'hold', 'concentration', 'volatility', 'liquidity')}."}


def post_process(raw: dict, snapshot: dict, run: Run, rng: random.Random) -> dict:
    return dict(raw)


SYSTEM = ("You are the mystery_agent agent of a quantitative research desk: the risk monitor. Decide from the "
          "positions given only; reply with one JSON object: risk_level, alerts [{ticker, severity, "
          "risk_contribution}], summary.")
TEMPLATE = "Risk review of the book.\nPositions: {positions}\nVIX: {vix}"
RULE = HiddenRule(snapshot, decide, post_process, MODEL, system=lambda s: SYSTEM, template=TEMPLATE,
                  rendered=True)
