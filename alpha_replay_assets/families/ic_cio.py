"""ic_cio — the investment committee: advances or rejects each candidate.

A research-graph family: agent id exactly `ic_cio`, run id = the run date, `claude-sonnet-4-6`,
stub system prompt and the *rendered* `ic_cio_evaluation` user prompt (candidates, remaining
population, exits, prior decisions, run date). Raw reply (`CIORawOutput`): `decisions[{ticker,
decision ∈ ADVANCE|REJECT|NO_ADVANCE_DEADLOCK, rank, conviction, rationale, rule_tags,
entry_thesis}]` (≥ 1). Stored: `ic_decisions` (reconciled with the candidate list, `quant_score`
and `qual_score` stamped from the candidate; a floor on advances may promote a decision to
`ADVANCE_FORCED`, which no reply carries), `advanced_tickers`, `entry_theses{TICKER: ...}`.
Scored: 0.7·Jaccard(advanced tickers) + 0.3·share of common tickers with the same decision.
Kappa on the per-ticker decisions. Fitted: ADVANCE vs REJECT per decision, from the matching
candidate's quant score, qual score and conviction (candidates carry no composite score and no
sector modifier).
"""

import datetime as dt
import random

from alpha_replay_assets.families.sector_qual import CATALYSTS, RISKS
from alpha_replay_assets.family_spec.comparators import CategoricalMap, Part, Scorer, TickerSet
from alpha_replay_assets.family_spec.family import Family, FitSpec, named_after
from alpha_replay_assets.family_spec.fields import Choice, TickerList
from alpha_replay_assets.family_spec.fitting import by_ticker, feature_row, same_named
from alpha_replay_assets.family_spec.rule import HiddenRule, Run, Volume
from alpha_replay_assets.family_spec.synthetic import (
    GRAPH_LEAD_MODEL,
    SECTORS,
    TEAMS,
    clip,
    filler,
    phrases,
    tickers_of,
    worked_examples,
)

NAME = named_after(__name__)

DECISIONS = ("ADVANCE", "REJECT", "NO_ADVANCE_DEADLOCK")  # what a reply may say
ADVANCING = ("ADVANCE", "ADVANCE_FORCED")  # ADVANCE_FORCED: stored only (the advance floor)
LABELS = ("ADVANCE", "REJECT")  # fitted; the other two are rare overrides
FEATURES = same_named({"quant_score": 0.0, "qual_score": 0.0, "conviction": 0.0})
ADVANCE_FLOOR = 2  # the producer promotes the best-ranked rejections until this many advance


def comparable(output: dict) -> dict:
    """{advanced: tickers, decisions: ticker -> decision} from either shape."""
    items = output.get("decisions", output.get("ic_decisions")) or []
    decisions = {i["ticker"]: i.get("decision") for i in items
                 if isinstance(i, dict) and isinstance(i.get("ticker"), str)}
    if isinstance(output.get("advanced_tickers"), list):
        advanced = {t for t in output["advanced_tickers"] if isinstance(t, str)}
    else:
        advanced = {t for t, d in decisions.items() if d in ADVANCING}
    return {"advanced": advanced, "decisions": decisions}


def fit_rows(snapshot: dict, output: dict) -> list[dict]:
    """One row per ADVANCE/REJECT decision, features from the candidate with the same ticker."""
    candidates = by_ticker(snapshot.get("candidates"))
    return [feature_row(d["decision"], candidates.get(d.get("ticker"), {}), FEATURES)
            for d in output.get("ic_decisions") or [] if isinstance(d, dict) and d.get("decision") in LABELS]


# -- hidden rule of the synthetic corpus --------------------------------------------------------


def snapshot(rng: random.Random, day: dt.date, scope: str | None = None) -> dict:
    candidates = []
    for team in rng.sample(sorted(TEAMS), 6):
        for ticker in tickers_of(team, rng.randint(1, 3), rng):
            qual = None if rng.random() < 0.05 else float(rng.randint(17, 99))
            candidates.append({"ticker": ticker, "quant_score": round(rng.uniform(34, 99), 1),
                               "quant_rationale": filler(rng, rng.randint(60, 109)), "qual_score": qual,
                               "bull_case": filler(rng, rng.randint(90, 149)),
                               "bear_case": filler(rng, rng.randint(80, 133)),
                               "catalysts": phrases(rng, CATALYSTS, 1, 3),
                               "conviction": None if qual is None else rng.randint(38, 92), "resources_used": [],
                               "peer_review_rationale": filler(rng, rng.randint(90, 137)), "team_id": team})
    held = rng.sample([t for team in TEAMS for t in tickers_of(team, 3, rng)], 14)
    return {"run_date": day.isoformat(), "candidates_count": len(candidates), "candidates": candidates,
            "macro_context": {"market_regime": rng.choice(("bull", "neutral", "bear")),
                              "macro_report": filler(rng, 500)},
            "sector_ratings": {s: {"rating": "market_weight", "rationale": filler(rng, 38)} for s in SECTORS},
            "remaining_population": [{"ticker": t, "sector": rng.choice(SECTORS)} for t in held],
            "remaining_population_count": len(held), "open_slots": 4,
            "exits": [{"ticker": t, "reason": "score below exit threshold"} for t in held[:rng.randint(0, 2)]],
            "prior_ic_decisions": [{"ticker": t, "decision": "REJECT", "date": (day - dt.timedelta(days=7)).isoformat()}
                                   for t in held[-3:]], "prior_ic_count": 3}


def merit(candidate: dict) -> float:
    return 0.5 * candidate["quant_score"] + 0.5 * (candidate["qual_score"] or 50)


def decide(snapshot: dict, rng: random.Random, noise: float) -> dict:
    """Advance a candidate whose mean of quant and qual score clears 66 with the team's conviction
    above 45; a tie on the bar is a deadlock."""
    ranked = sorted(snapshot["candidates"], key=merit, reverse=True)
    decisions = []
    for rank, c in enumerate(ranked, 1):
        score = merit(c) + rng.gauss(0, 30 * noise)
        advance = score > 66 and (c["conviction"] or 50) > 45
        decision = "NO_ADVANCE_DEADLOCK" if abs(score - 66) < 0.3 else "ADVANCE" if advance else "REJECT"
        conviction = round(clip(score + rng.gauss(0, 4), 0, 100))
        thesis = {"bull_case": c["bull_case"], "bear_case": c["bear_case"], "catalysts": c["catalysts"][:2],
                  "risks": phrases(rng, RISKS, 1, 2), "conviction": conviction,
                  "conviction_rationale": filler(rng, rng.randint(60, 93)),
                  "thesis_summary": filler(rng, rng.randint(90, 132)), "triggers_response": ""}
        decisions.append({"ticker": c["ticker"], "decision": decision, "rank": rank, "conviction": conviction,
                          "rationale": filler(rng, rng.randint(90, 134)), "rule_tags": None,
                          "entry_thesis": thesis if decision == "ADVANCE" else None})
    return {"decisions": decisions}


def post_process(raw: dict, snapshot: dict, run: Run, rng: random.Random) -> dict:
    """Reconcile with the candidate list (scores stamped), then the advance floor."""
    candidates = by_ticker(snapshot["candidates"])
    decisions = [d | {k: candidates[d["ticker"]][k] for k in ("quant_score", "qual_score")}
                 for d in raw["decisions"] if d["ticker"] in candidates]
    short = ADVANCE_FLOOR - sum(d["decision"] == "ADVANCE" for d in decisions)
    promotable = sorted((d for d in decisions if d["decision"] != "ADVANCE"), key=lambda d: d["rank"] or 99)
    for d in promotable[:max(0, short)]:
        d["decision"] = "ADVANCE_FORCED"
    advanced = [d["ticker"] for d in decisions if d["decision"] in ADVANCING]
    return {"ic_decisions": decisions, "advanced_tickers": advanced,
            "entry_theses": {d["ticker"]: d["entry_thesis"] for d in decisions if d["entry_thesis"]}}


# The investment committee charter, the bulk of the CIO's production system prompt (with worked
# examples, past the 4,096-token minimum of Haiku 4.5's prompt cache).
CHARTER = """Investment committee charter (standing instructions for every committee session)

1. Your role. You chair the weekly investment committee. The sector teams send you candidates
they want to add to the portfolio; you decide, for each one, whether it advances to position
sizing. You do not size positions and you do not revisit holdings. Every candidate in the input
gets exactly one decision, in the order given.

2. Your inputs. The user message lists the candidates the sector teams propose. Each carries:
- ticker and team_id;
- quant_score (0-100): the quantitative analyst's score of the name;
- qual_score (0-100, sometimes missing): the qualitative analyst's score;
- conviction (0-100, missing when the qual work is): how strongly the team backs the name;
- the bull and bear cases, catalysts and the peer review's rationale.
It also lists the remaining population (held names not up for review), the exits already
decided and the committee's prior decisions, for context only.

3. The decisions you may take:
- ADVANCE: the candidate goes to position sizing this week.
- REJECT: it does not; the sector team may propose it again after new information.
- NO_ADVANCE_DEADLOCK: the committee is split (see section 4).
The committee's floor on advances is applied after your reply; never write ADVANCE_FORCED.

4. The bar. A candidate's merit is the mean of its quant and qual scores (a missing qual score
counts as 50). Advance a candidate whose merit is above 66 AND whose team's conviction is above 45
(a missing conviction counts as 50). Reject it otherwise. A candidate sitting exactly on the bar,
where the committee is split, is NO_ADVANCE_DEADLOCK. Low conviction vetoes a high merit: a team
that will not defend its own candidate does not get it sized.

5. What you must not do. Do not advance more candidates because the list is long, or fewer
because it is short: each decision stands alone. Do not let the ticker's recent price action, which
you do not see, creep in. Do not reject a candidate for its sector alone.

6. Each decision carries: ticker (as given), decision, rank (1 = the highest merit), your
conviction in the decision (0-100), a short rationale naming what decided it, rule_tags (null
unless a rule of the charter forced the decision) and, for an advance, the entry thesis (bull and
bear case, catalysts, risks, conviction, conviction rationale, thesis summary).

7. Record keeping. Your reply is filed as the committee minutes. Downstream, the advanced tickers
are extracted and an entry thesis is attached to each; a reply that is not a single JSON object
with a decisions list breaks the minutes and the session is re-run by hand.

8. Checklist before you answer: one decision per candidate, ranked; the bar of section 4
applied; an entry thesis for every advance; one JSON object with a decisions list, nothing
before or after it.
"""

TEMPLATE = """Investment committee session, {run_date}.

Candidates proposed by the sector teams this week (scores, cases, conviction):
{candidates}

Remaining population (held names not up for review):
{remaining_population}

Exits already decided:
{exits}

The committee's prior decisions:
{prior_ic_decisions}

Return CIORawOutput: one decision per candidate, in rank order."""
EXAMPLES = worked_examples(snapshot, decide, 2, "ic_cio")

FAMILY = Family(
    name=NAME,
    rationales=("ic_decisions[].rationale",),
    agent_ids=rf"{NAME}",
    decision=(TickerList("decisions", item=Choice("decision", DECISIONS)),),
    reply_model="CIORawOutput",
    stored_at="agent_output.ic_decisions[], agent_output.advanced_tickers",
    reply_at="decisions[]",
    from_output=comparable,
    from_reply=comparable,
    scorer=Scorer((Part("jaccard_advanced", 0.7, TickerSet("advanced")),
                   Part("decision_match", 0.3, CategoricalMap("decisions")))),
    kappa_on="decisions",
    fit=FitSpec("ADVANCE vs REJECT, per decision", "the matching candidate's quant score, qual score, conviction",
                fit_rows),
    rule=HiddenRule(snapshot, decide, post_process, GRAPH_LEAD_MODEL,
                    system=lambda s: CHARTER + "\n" + EXAMPLES, template=TEMPLATE,
                    sections=("run_date", "candidates", "remaining_population", "exits", "prior_ic_decisions"),
                    rendered=True, graph=("cio_node", "ic_cio_evaluation"),
                    volume=(Volume("legacy", order=1, per_day=1, broken_copies=True),)),
)
