"""sector_peer_review — accepts or drops the sector teams' proposals (one agent id per sector).

Decision: `selected_decisions[{ticker, ...}]` (raw) or `recommendations[{ticker}]` +
`additional_accepted[ticker]` (stored). Scored: Jaccard of the accepted ticker sets.
Fitted: accepted vs not, per proposal, from its quant and qual scores.
"""

import random

from alpha_replay_assets.families.comparators import Part, Scorer, TickerSet, tickers
from alpha_replay_assets.families.fitting import candidate_rows, same_named
from alpha_replay_assets.families.spec import Family, FitSpec, HiddenRule, OfType, TickerList
from alpha_replay_assets.families.synthetic import SECTORS, TICKERS

FEATURES = same_named({"quant_score": 0.0, "qual_score": 0.0})


def normalise(output: dict) -> dict:
    if "selected_decisions" in output:
        return {"accepted": set(tickers(output["selected_decisions"]))}
    extra = {t for t in output.get("additional_accepted") or [] if isinstance(t, str)}
    return {"accepted": set(tickers(output.get("recommendations"))) | extra}


def fit_rows(snapshot: dict, output: dict) -> list[dict]:
    accepted = normalise(output)["accepted"]
    return candidate_rows(snapshot.get("proposals"), lambda t: "accepted" if t in accepted else "not_accepted",
                          FEATURES)


# -- hidden rule of the synthetic corpus --------------------------------------------------------


def snapshot(rng: random.Random) -> dict:
    return {"sector": rng.choice(SECTORS), "proposals": [
        {"ticker": t, "quant_score": round(rng.uniform(20, 95), 1), "qual_score": round(rng.uniform(20, 95), 1)}
        for t in rng.sample(TICKERS, 8)]}


def decide(snapshot: dict, rng: random.Random, noise: float) -> dict:
    keep = [p for p in snapshot["proposals"] if ((p["quant_score"] + p["qual_score"]) / 2 > 60) != (rng.random() < noise)]
    return {"selected_decisions": [{"ticker": p["ticker"], "rationale": "scores agree"} for p in keep],
            "peer_review_rationale": "kept proposals whose quant and qual scores agree"}


def post_process(raw: dict) -> dict:
    tickers = [d["ticker"] for d in raw["selected_decisions"]]
    return {"recommendations": [{"ticker": t, "action": "accept"} for t in tickers[:3]],
            "additional_accepted": tickers[3:], "peer_review_rationale": raw["peer_review_rationale"]}


FAMILY = Family(
    name="sector_peer_review",
    agent_ids=r"sector_peer_review(:[\w-]+)?",
    decision=(TickerList("selected_decisions|recommendations"), OfType("additional_accepted", list)),
    normalise=normalise,
    scorer=Scorer((Part("jaccard_accepted", 1.0, TickerSet("accepted")),)),
    fit=FitSpec("accepted vs not, per proposal", "quant score, qual score", fit_rows),
    rule=HiddenRule(snapshot, decide, '{"selected_decisions": [{"ticker", "rationale"}], "peer_review_rationale"}',
                    post_process=post_process, agent_id=lambda s: f"sector_peer_review:{s['sector']}"),
)
