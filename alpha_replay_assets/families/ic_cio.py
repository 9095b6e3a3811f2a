"""ic_cio — the investment committee: advances or rejects each candidate.

Decision: `decisions[{ticker, decision}]` (raw) or `ic_decisions[...]` + `advanced_tickers` (stored).
Scored: 0.7·Jaccard(advanced tickers) + 0.3·share of common tickers with the same decision.
Kappa on the per-ticker decisions. Fitted: ADVANCE vs REJECT per decision, from the matching
candidate's composite, quant and qual scores, conviction and sector modifier.
"""

import random

from alpha_replay_assets.families.comparators import CategoricalMap, Part, Scorer, TickerSet
from alpha_replay_assets.families.fitting import by_ticker, feature_row, same_named
from alpha_replay_assets.families.spec import Choice, Family, FitSpec, HiddenRule, TickerList
from alpha_replay_assets.families.synthetic import SECTORS, TICKERS

DECISIONS = ("ADVANCE", "REJECT", "NO_ADVANCE_DEADLOCK", "ADVANCE_FORCED")
ADVANCING = ("ADVANCE", "ADVANCE_FORCED")
LABELS = ("ADVANCE", "REJECT")  # fitted; the other two are rare overrides
FEATURES = same_named({"composite_score": 0.0, "quant_score": 0.0, "qual_score": 0.0, "conviction": 0.0,
                       "sector_modifier": 1.0})


def normalise(output: dict) -> dict:
    """{advanced: tickers, decisions: ticker -> decision} from either shape."""
    items = output.get("decisions", output.get("ic_decisions")) or []
    decisions = {i["ticker"]: i.get("decision") for i in items if isinstance(i, dict) and isinstance(i.get("ticker"), str)}
    if isinstance(output.get("advanced_tickers"), list):
        advanced = {t for t in output["advanced_tickers"] if isinstance(t, str)}
    else:
        advanced = {t for t, d in decisions.items() if d in ADVANCING}
    return {"advanced": advanced, "decisions": decisions}


def fit_rows(snapshot: dict, output: dict) -> list[dict]:
    """One row per ADVANCE/REJECT decision, features from the candidate with the same ticker."""
    candidates = by_ticker(snapshot.get("candidates"))
    return [feature_row(d["decision"], candidates.get(d.get("ticker"), {}), FEATURES)
            for d in output.get("ic_decisions", output.get("decisions")) or []
            if isinstance(d, dict) and d.get("decision") in LABELS]


# -- hidden rule of the synthetic corpus --------------------------------------------------------


def snapshot(rng: random.Random) -> dict:
    tickers = rng.sample(TICKERS, 14)
    return {"candidates": [
        {"ticker": t, "composite_score": round(rng.uniform(30, 95), 1), "quant_score": round(rng.uniform(20, 99), 1),
         "qual_score": round(rng.uniform(20, 99), 1), "conviction": round(rng.uniform(10, 95), 1),
         "sector_modifier": round(rng.uniform(0.7, 1.3), 2), "sector": rng.choice(SECTORS)}
        for t in tickers[: rng.randint(5, 10)]]}


def decide(snapshot: dict, rng: random.Random, noise: float) -> dict:
    decisions = []
    for c in snapshot["candidates"]:
        advance = (c["composite_score"] * c["sector_modifier"] > 65 and c["conviction"] > 30) != (rng.random() < noise)
        decisions.append({"ticker": c["ticker"], "decision": "ADVANCE" if advance else "REJECT",
                          "conviction": round(c["conviction"]), "score": c["composite_score"],
                          "rationale": "composite and sector tailwind" if advance else "insufficient edge"})
    return {"decisions": decisions}


def post_process(raw: dict) -> dict:
    advanced = [d["ticker"] for d in raw["decisions"] if d["decision"] == "ADVANCE"]
    return {"ic_decisions": raw["decisions"], "advanced_tickers": advanced,
            "entry_theses": {t: "enter on weakness" for t in advanced}}


FAMILY = Family(
    name="ic_cio",
    agent_ids=r"ic_cio",
    decision=(TickerList("decisions|ic_decisions", item=Choice("decision", DECISIONS)),),
    normalise=normalise,
    scorer=Scorer((Part("jaccard_advanced", 0.7, TickerSet("advanced")),
                   Part("decision_match", 0.3, CategoricalMap("decisions")))),
    kappa_on="decisions",
    fit=FitSpec("ADVANCE vs REJECT, per decision", "the candidate's composite/quant/qual score, conviction, "
                "sector modifier", fit_rows),
    rule=HiddenRule(snapshot, decide, '{"decisions": [{"ticker", "decision": "ADVANCE"|"REJECT", "conviction", '
                    '"rationale"}]}', post_process=post_process),
)
