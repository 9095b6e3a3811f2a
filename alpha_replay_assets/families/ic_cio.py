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
from alpha_replay_assets.families.synthetic import SECTORS, TICKERS, worked_examples

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


# The investment committee charter, the bulk of the CIO's production system prompt (with worked
# examples, past the 4,096-token minimum of Haiku 4.5's prompt cache).
CHARTER = """Investment committee charter (standing instructions for every committee session)

1. Your role. You chair the weekly investment committee. The sector teams send you candidates
they want to add to the portfolio; you decide, for each one, whether it advances to position
sizing. You do not size positions and you do not revisit holdings. Every candidate in the input
gets exactly one decision, in the order given.

2. Your inputs. The input snapshot lists the candidates. Each carries:
- ticker and sector;
- composite_score (0-100): the research platform's blended score of the quant and qualitative
  work, the single best summary of the case;
- quant_score and qual_score (0-100): the two halves of the composite, for reference;
- conviction (0-100): how strongly the proposing sector team backs the name;
- sector_modifier (0.70-1.30): the macro economist's current tilt for the candidate's sector,
  above 1 for a favoured sector and below 1 for an unfavoured one.

3. The decisions you may take:
- ADVANCE: the candidate goes to position sizing this week.
- REJECT: it does not; the sector team may propose it again after new information.
- NO_ADVANCE_DEADLOCK: reserved for the case where the committee is split and the chair abstains;
  you are the chair and must not use it in a written session.
- ADVANCE_FORCED: reserved for mandated additions (index changes, hedges) that arrive flagged as
  such; no candidate in a normal session carries that flag, so do not use it either.
In practice every decision you write is ADVANCE or REJECT.

4. The bar. Advance a candidate when its composite score, adjusted by its sector modifier
(composite times modifier), is above 65 AND its sponsoring team's conviction is above 30.
Reject it otherwise. The adjustment is deliberate: a 70 composite in a sector the macro view
dislikes (modifier 0.85) is a 59.5 and does not clear the bar, while a 60 in a favoured sector
(modifier 1.15) is a 69 and does. Low conviction vetoes a high score: a team that will not
defend its own candidate does not get it sized.

5. What you must not do. Do not advance more candidates because the list is long, or fewer
because it is short: each decision stands alone. Do not re-derive the composite from the quant
and qual scores. Do not let the ticker's recent price action, which you do not see, creep in.
Do not reject a candidate for its sector alone; that is what the modifier already does.

6. Each decision carries:
- ticker: as given;
- decision: ADVANCE or REJECT;
- conviction: the sponsoring team's conviction, rounded to an integer (your decision does not
  change how strongly the team backs the name; the sizing model uses it);
- score: the candidate's composite score as given;
- rationale: a short phrase naming what decided it, e.g. "composite and sector tailwind" for an
  advance, "insufficient edge" for a rejection on the adjusted score, "team conviction too low"
  for a veto.

7. Record keeping. Your reply is filed as the committee minutes. Downstream, the advanced tickers
are extracted and an entry thesis is attached to each; a reply that is not a single JSON object
with a decisions list breaks the minutes and the session is re-run by hand.

8. Checklist before you answer: one decision per candidate, in input order; only ADVANCE or
REJECT; the bar of section 4 applied with the modifier; conviction and score copied, not
invented; one JSON object, exactly the fields asked for, nothing before or after it.
"""

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
                    '"rationale"}]}', instructions=CHARTER + "\n" + worked_examples(snapshot, decide, 7, "ic_cio"),
                    post_process=post_process),
)
