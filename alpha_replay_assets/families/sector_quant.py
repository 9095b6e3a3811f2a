"""sector_quant — ranks a sector team's universe on technical scores (agent id `sector_quant:{team}`).

A research-graph family (retired mid-2026): run id = the run date, one artifact per agent id and
day, `claude-haiku-4-5-20251001`, the cost tracker's stub system prompt and the unrendered
`quant_analyst_user` template. Raw reply (`QuantAnalystOutput`) and stored output are the same:
`ranked_picks[{ticker, quant_score, rationale, key_metrics}]` in rank order (≤ 10).
Scored: 0.6·Jaccard(top 5 picks) + 0.4·Jaccard(top 10 picks).
Fitted: picked vs not, per ticker of `technical_scores_team`, from its technical fields.
"""

import datetime as dt
import random

from alpha_replay_assets.family_spec.comparators import Part, Scorer, TickerSet, tickers
from alpha_replay_assets.family_spec.family import Family, FitSpec, named_after
from alpha_replay_assets.family_spec.fields import TickerList
from alpha_replay_assets.family_spec.fitting import candidate_rows, same_named
from alpha_replay_assets.family_spec.rule import HiddenRule, Run, Volume
from alpha_replay_assets.family_spec.synthetic import GRAPH_MODEL, clip, pick_words, team_of, tickers_of

NAME = named_after(__name__)

TECHNICAL = ("technical_score", "rsi_14", "momentum_20d", "price_vs_ma50", "price_vs_ma200", "atr_pct")
FEATURES = same_named({name: 0.0 for name in TECHNICAL})


def comparable(output: dict) -> dict:
    return {"picks": tickers(output.get("ranked_picks"))}


def by_ticker_rows(scores) -> list[dict]:
    """A `{TICKER: {...}}` map of technical scores as a list of candidates with a ticker."""
    return [{"ticker": t} | v for t, v in scores.items() if isinstance(v, dict)] if isinstance(scores, dict) else []


def fit_rows(snapshot: dict, output: dict) -> list[dict]:
    picked = set(comparable(output)["picks"])
    return candidate_rows(by_ticker_rows(snapshot.get("technical_scores_team")),
                          lambda t: "picked" if t in picked else "not_picked", FEATURES)


# -- hidden rule of the synthetic corpus --------------------------------------------------------


def technicals(rng: random.Random) -> dict:
    """One ticker's technical scores (the scanner's fields), internally consistent."""
    momentum = rng.gauss(0, 6)
    return {"technical_score": round(clip(50 + 5 * momentum + rng.gauss(0, 6), -12, 105), 1),
            "rsi_14": round(clip(50 + 3.5 * momentum + rng.gauss(0, 4), 10, 90), 1), "momentum_20d": round(momentum, 2),
            "price_vs_ma50": round(1 + momentum / 100, 3), "price_vs_ma200": round(1 + 1.5 * momentum / 100, 3),
            "atr_pct": round(rng.uniform(1.0, 4.0), 2), "current_price": round(rng.uniform(45, 920), 2)}


def snapshot(rng: random.Random, day: dt.date, scope: str | None = None) -> dict:
    team = scope or "technology"
    universe = sorted(tickers_of(team, rng.randint(6, 13), rng))
    return {"team_id": team, "run_date": day.isoformat(), "market_regime": rng.choice(("bull", "neutral", "bear")),
            "scanner_universe_size": 52, "sector_tickers": universe, "sector_tickers_count": len(universe),
            "technical_scores_team": {t: technicals(rng) for t in universe}}


def decide(snapshot: dict, rng: random.Random, noise: float) -> dict:
    """Rank by technical score with an RSI tilt; a score under 25 is not a pick."""
    scored = sorted(((v["technical_score"] + 0.2 * (v["rsi_14"] - 50) + rng.gauss(0, 60 * noise), t)
                     for t, v in snapshot["technical_scores_team"].items()), reverse=True)
    team = snapshot["technical_scores_team"]
    return {"ranked_picks": [
        {"ticker": t, "quant_score": round(clip(s, 1, 99), 1),
         "rationale": f"Technical score {team[t]['technical_score']} with momentum {team[t]['momentum_20d']}; "
                      f"{pick_words(rng, 'trend', 'breakout', 'support', 'relative', 'strength')}.",
         "key_metrics": {"rsi_14": team[t]["rsi_14"], "momentum_20d": team[t]["momentum_20d"]}}
        for s, t in scored[:10] if s >= 25]}


def post_process(raw: dict, snapshot: dict, run: Run, rng: random.Random) -> dict:
    return dict(raw)


TEMPLATE = ("Rank the {team_id} team's universe for {run_date} (regime {market_regime}).\n"
            "Technical scores:\n{technical_scores}\nReturn QuantAnalystOutput.")
SYSTEM = ("You are the quantitative analyst of the {team} sector team. Rank the team's universe on the "
          "technical scores given; reply with ranked_picks, best first, at most ten.")

FAMILY = Family(
    name=NAME,
    rationales=("ranked_picks[].rationale",),
    agent_ids=rf"{NAME}(:[\w-]+)?",
    decision=(TickerList("ranked_picks"),),
    reply_model="QuantAnalystOutput",
    stored_at="agent_output.ranked_picks (identical to the reply)",
    from_output=comparable,
    from_reply=comparable,
    scorer=Scorer((Part("jaccard_top5", 0.6, TickerSet("picks", top_k=5)),
                   Part("jaccard_top10", 0.4, TickerSet("picks", top_k=10)))),
    fit=FitSpec("picked vs not, per ticker of technical_scores_team", "technical score, RSI(14), 20-day momentum, "
                "price vs 50/200-day average, ATR%", fit_rows),
    rule=HiddenRule(snapshot, decide, post_process, GRAPH_MODEL,
                    system=lambda s: SYSTEM.format(team=team_of(s["team_id"])), template=TEMPLATE,
                    graph=("sector_team_node", "quant_analyst_user"), agent_id=lambda s: f"{NAME}:{s['team_id']}",
                    production_bytes=(10_000, 50_000),
                    volume=(Volume("legacy", order=2, per_team=1),)),
)
