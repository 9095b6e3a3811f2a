"""sector_quant — ranks a sector's universe on technical scores (one agent id per sector).

Decision: `ranked_picks[{ticker, quant_score, ...}]` in rank order.
Scored: 0.6·Jaccard(top 5 picks) + 0.4·Jaccard(top 10 picks).
Fitted: picked vs not, per universe candidate, from momentum, value and quality.
"""

import random

from alpha_replay_assets.families.comparators import Part, Scorer, TickerSet, tickers
from alpha_replay_assets.families.fitting import candidate_rows, same_named
from alpha_replay_assets.families.spec import Family, FitSpec, HiddenRule, TickerList
from alpha_replay_assets.families.synthetic import SECTORS, TICKERS, clip

FEATURES = same_named({"momentum": 0.0, "value": 0.0, "quality": 0.0})


def normalise(output: dict) -> dict:
    return {"picks": tickers(output.get("ranked_picks"))}


def fit_rows(snapshot: dict, output: dict) -> list[dict]:
    picked = set(normalise(output)["picks"])
    return candidate_rows(snapshot.get("universe"), lambda t: "picked" if t in picked else "not_picked", FEATURES)


# -- hidden rule of the synthetic corpus --------------------------------------------------------


def snapshot(rng: random.Random) -> dict:
    return {"sector": rng.choice(SECTORS), "universe": [
        {"ticker": t, "momentum": round(rng.gauss(0, 1), 3), "value": round(rng.gauss(0, 1), 3),
         "quality": round(rng.gauss(0, 1), 3)} for t in rng.sample(TICKERS, 14)]}


def decide(snapshot: dict, rng: random.Random, noise: float) -> dict:
    scored = sorted(((50 + 15 * (u["momentum"] + 0.6 * u["value"] + 0.4 * u["quality"]) + rng.gauss(0, 60 * noise),
                      u["ticker"]) for u in snapshot["universe"]), reverse=True)
    return {"ranked_picks": [
        {"ticker": t, "quant_score": round(clip(s, 0, 100), 1), "rationale": "momentum and value lead",
         "key_metrics": {"score": round(s, 2)}} for s, t in scored[:10]]}


FAMILY = Family(
    name="sector_quant",
    agent_ids=r"sector_quant(:[\w-]+)?",
    decision=(TickerList("ranked_picks"),),
    normalise=normalise,
    scorer=Scorer((Part("jaccard_top5", 0.6, TickerSet("picks", top_k=5)),
                   Part("jaccard_top10", 0.4, TickerSet("picks", top_k=10)))),
    fit=FitSpec("picked vs not, per universe candidate", "momentum, value, quality", fit_rows),
    rule=HiddenRule(snapshot, decide, '{"ranked_picks": [{"ticker", "quant_score", "rationale"}]}',
                    agent_id=lambda s: f"sector_quant:{s['sector']}",
                    production_bytes=(10_000, 50_000)),
)
