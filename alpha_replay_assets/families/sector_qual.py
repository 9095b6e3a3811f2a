"""sector_qual — the qualitative analyst of a sector team (agent id `sector_qual:{team}`).

A research-graph family: run id = the run date, `claude-haiku-4-5-20251001`, stub system prompt,
unrendered `qual_analyst_user` template. Raw reply (`QualAnalystOutput`) and stored output are the
same: `assessments[{ticker, qual_score 0–100|null, conviction 0–100|null, bull_case, bear_case,
catalysts[], risks[]}]` for the quant top 5, and `additional_candidate` (same shape + rationale,
or null). Scored: Jaccard of the assessed ticker sets (docs/domain.md §2.1).
Fitted: what the analyst decides is a qualitative score per quant-top-5 candidate (the set itself
is given), so the label is the qual score's bucket (low < 50 ≤ mid < 70 ≤ high), per assessment,
from the candidate's quant score and RSI, its news sentiment, its last earnings surprise and, for a
held name, the prior thesis's final score.
"""

import datetime as dt
import random

from alpha_replay_assets.families.sector_quant import decide as quant_decide
from alpha_replay_assets.families.sector_quant import snapshot as quant_snapshot
from alpha_replay_assets.family_spec.comparators import Part, Scorer, TickerSet, tickers
from alpha_replay_assets.family_spec.family import Family, FitSpec, named_after
from alpha_replay_assets.family_spec.fields import TickerList
from alpha_replay_assets.family_spec.fitting import bucket, by_ticker, feature_row
from alpha_replay_assets.family_spec.rule import HiddenRule, Run, Volume
from alpha_replay_assets.family_spec.synthetic import (
    GRAPH_MODEL,
    SECTORS,
    TEAMS,
    clip,
    filler,
    phrases,
    team_of,
    tickers_of,
)

NAME = named_after(__name__)

BUCKETS = ((50, 70), ("low", "mid", "high"))
FEATURES = {"quant_score": ("quant.quant_score", 0.0), "rsi_14": ("quant.key_metrics.rsi_14", 50.0),
            "news_sentiment": ("news.sentiment", 0.0), "earnings_surprise": ("surprise", 0.0),
            "prior_final_score": ("prior.final_score", 0.0)}
CATALYSTS = ("product cycle", "margin expansion", "share buyback", "new contract wins", "pricing power")
RISKS = ("valuation", "competition", "regulation", "execution", "demand slowdown")


def comparable(output: dict) -> dict:
    return {"assessed": set(tickers(output.get("assessments")))}


def candidate_facts(snapshot: dict, ticker: str) -> dict:
    """What the snapshot says about one candidate, from its per-ticker maps."""
    analyst = (snapshot.get("analyst_data_for_top5") or {}).get(ticker) or {}
    surprises = analyst.get("earnings_surprises") if isinstance(analyst, dict) else None
    last = surprises[-1] if isinstance(surprises, list) and surprises and isinstance(surprises[-1], dict) else {}
    return {"quant": by_ticker(snapshot.get("quant_top5")).get(ticker),
            "news": (snapshot.get("news_data_for_top5") or {}).get(ticker),
            "surprise": last.get("surprise_pct"), "prior": (snapshot.get("prior_theses_for_top5") or {}).get(ticker)}


def fit_rows(snapshot: dict, output: dict) -> list[dict]:
    return [feature_row(label, candidate_facts(snapshot, a["ticker"]), FEATURES)
            for a in output.get("assessments") or []
            if isinstance(a, dict) and (label := bucket(a.get("qual_score"), *BUCKETS)) is not None]


# -- hidden rule of the synthetic corpus --------------------------------------------------------


def graph_thesis(rng: random.Random, ticker: str, team: str) -> dict:
    """A held name's stored graph thesis (prior_theses_for_top5, thesis_update's prior_thesis)."""
    quant, qual, shift = round(rng.uniform(40, 86), 1), round(rng.uniform(42, 95), 1), round(rng.uniform(-1.8, 1.8), 1)
    base = round(0.5 * quant + 0.5 * qual, 1)
    final = round(base + shift, 1)
    return {"ticker": ticker, "sector": TEAMS[team_of(team)][0], "team_id": team_of(team), "final_score": final,
            "quant_score": quant, "qual_score": qual, "weighted_base": base, "macro_shift": shift,
            "bull_case": filler(rng, rng.randint(80, 126)), "bear_case": filler(rng, rng.randint(80, 121)),
            "catalysts": phrases(rng, CATALYSTS, 1, 2), "conviction": rng.choice(("rising", "stable", "declining")),
            "quant_rationale": filler(rng, rng.randint(40, 71)),
            "rating": "BUY" if final >= 65 else "SELL" if final < 50 else "HOLD", "score_failed": False}


def ratings() -> dict:
    return {s: {"rating": "market_weight", "modifier": 1.0} for s in SECTORS}


def snapshot(rng: random.Random, day: dt.date, scope: str | None = None) -> dict:
    quant = quant_snapshot(rng, day, scope)
    top5 = quant_decide(quant, rng, 0.0)["ranked_picks"][:5]
    names = [p["ticker"] for p in top5]
    held = sorted(rng.sample(names, min(len(names), rng.randint(0, 3))))
    return {"team_id": quant["team_id"], "run_date": quant["run_date"], "market_regime": quant["market_regime"],
            "quant_top5": top5, "quant_top5_tickers": names, "held_in_top5": held,
            "prior_theses_for_top5": {t: graph_thesis(rng, t, quant["team_id"]) for t in held},
            "news_data_for_top5": {t: {"articles": [{"headline": filler(rng, rng.randint(50, 90))} for _ in range(3)],
                                       "sentiment": round(clip(rng.gauss(0.05, 0.4), -0.9, 0.9), 3)} for t in names},
            "analyst_data_for_top5": {t: {"consensus_rating": "buy", "num_analysts": 30, "earnings_surprises": [
                {"date": "2026-04-24", "surprise_pct": round(rng.gauss(2, 4), 1)}]} for t in names},
            "insider_data_for_top5": {}, "prior_sector_ratings": ratings(), "current_sector_ratings": ratings(),
            "memories_summary": {"episodic_count": 0, "semantic_count": 0}}


def assess(ticker: str, facts: dict, rng: random.Random, noise: float) -> dict:
    sentiment, surprise = (facts["news"] or {}).get("sentiment", 0.0), facts["surprise"] or 0.0
    score = clip(58 + 35 * sentiment + 1.5 * surprise + rng.gauss(0, 60 * noise), 1, 99)
    return {"ticker": ticker, "qual_score": float(round(score)), "bull_case": filler(rng, rng.randint(90, 149)),
            "bear_case": filler(rng, rng.randint(80, 133)), "catalysts": phrases(rng, CATALYSTS, 1, 3),
            "risks": phrases(rng, RISKS, 1, 2), "conviction": round(clip(40 + score / 2 + rng.gauss(0, 5), 0, 100))}


def decide(snapshot: dict, rng: random.Random, noise: float) -> dict:
    """Assess every quant-top-5 name; propose one more team name when the news on the top 5 is poor."""
    names = snapshot["quant_top5_tickers"]
    assessments = [assess(t, candidate_facts(snapshot, t), rng, noise) for t in names]
    weak = sum(a["qual_score"] < 50 for a in assessments)
    extra = None
    if weak >= 2 or rng.random() < noise:
        others = [t for t in tickers_of(snapshot["team_id"], 30, rng) if t not in names]
        filled = rng.random() < 0.5
        extra = {"ticker": others[0], "qual_score": 80.0 if filled else None,
                 "bull_case": filler(rng, 90) if filled else "", "bear_case": filler(rng, 50) if filled else "",
                 "catalysts": phrases(rng, CATALYSTS, 1, 2) if filled else [],
                 "risks": phrases(rng, RISKS, 1, 2) if filled else [], "conviction": 65 if filled else None,
                 "rationale": filler(rng, rng.randint(60, 88))}
    return {"assessments": assessments, "additional_candidate": extra}


def post_process(raw: dict, snapshot: dict, run: Run, rng: random.Random) -> dict:
    return dict(raw)


TEMPLATE = "Assess {team_id}'s quant top 5 for {run_date}:\n{quant_top5}\n{news}\n{analyst}\nReturn QualAnalystOutput."
SYSTEM = ("You are the qualitative analyst of the {team} sector team. Assess each of the quant top 5 from the news, "
          "analyst data and prior theses given; you may propose one additional candidate.")

FAMILY = Family(
    name=NAME,
    rationales=("assessments[].bull_case",),
    agent_ids=rf"{NAME}(:[\w-]+)?",
    decision=(TickerList("assessments"),),
    reply_model="QualAnalystOutput",
    stored_at="agent_output.assessments (identical to the reply)",
    from_output=comparable,
    from_reply=comparable,
    scorer=Scorer((Part("jaccard_tickers", 1.0, TickerSet("assessed")),)),
    fit=FitSpec("qual score bucket (low/mid/high), per assessed candidate", "quant score, RSI(14), news sentiment, "
                "last earnings surprise, prior thesis final score (held names)", fit_rows),
    rule=HiddenRule(snapshot, decide, post_process, GRAPH_MODEL,
                    system=lambda s: SYSTEM.format(team=team_of(s["team_id"])), template=TEMPLATE,
                    graph=("sector_team_node", "qual_analyst_user"), agent_id=lambda s: f"{NAME}:{s['team_id']}",
                    production_bytes=(300_000, 400_000),
                    volume=(Volume("legacy", order=3, per_team=1),)),
)
