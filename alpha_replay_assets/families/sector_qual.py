"""sector_qual — assesses a sector's candidates qualitatively (one agent id per sector).

Decision: `assessments[{ticker, qual_score, conviction, bull_case, bear_case, ...}]`.
Scored: Jaccard of the assessed ticker sets.
Fitted: assessed vs not, per candidate, from news sentiment and moat.
"""

import random

from alpha_replay_assets.families.comparators import Part, Scorer, TickerSet, tickers
from alpha_replay_assets.families.fitting import candidate_rows, same_named
from alpha_replay_assets.families.spec import Family, FitSpec, HiddenRule, TickerList
from alpha_replay_assets.families.synthetic import SECTORS, TICKERS, clip

FEATURES = same_named({"news_sentiment": 0.0, "moat": 0.0})


def normalise(output: dict) -> dict:
    return {"assessed": set(tickers(output.get("assessments")))}


def fit_rows(snapshot: dict, output: dict) -> list[dict]:
    assessed = normalise(output)["assessed"]
    return candidate_rows(snapshot.get("candidates"), lambda t: "assessed" if t in assessed else "not_assessed",
                          FEATURES)


# -- hidden rule of the synthetic corpus --------------------------------------------------------


def snapshot(rng: random.Random) -> dict:
    return {"sector": rng.choice(SECTORS), "candidates": [
        {"ticker": t, "news_sentiment": round(rng.uniform(-1, 1), 3), "moat": round(rng.uniform(0, 1), 3)}
        for t in rng.sample(TICKERS, 10)]}


def decide(snapshot: dict, rng: random.Random, noise: float) -> dict:
    keep = [c for c in snapshot["candidates"] if (c["news_sentiment"] + c["moat"] > 0.6) != (rng.random() < noise)]
    return {"assessments": [
        {"ticker": c["ticker"], "qual_score": round(clip(50 + 40 * c["news_sentiment"], 0, 100), 1),
         "conviction": round(100 * c["moat"]), "bull_case": "durable moat", "bear_case": "valuation",
         "catalysts": ["earnings"], "risks": ["macro"]} for c in keep], "additional_candidate": None}


FAMILY = Family(
    name="sector_qual",
    agent_ids=r"sector_qual(:[\w-]+)?",
    decision=(TickerList("assessments"),),
    normalise=normalise,
    scorer=Scorer((Part("jaccard_tickers", 1.0, TickerSet("assessed")),)),
    fit=FitSpec("assessed vs not, per candidate", "news sentiment, moat", fit_rows),
    rule=HiddenRule(snapshot, decide, '{"assessments": [{"ticker", "qual_score", "conviction", "bull_case", '
                    '"bear_case"}]}', agent_id=lambda s: f"sector_qual:{s['sector']}",
                    production_bytes=(300_000, 400_000)),
)
