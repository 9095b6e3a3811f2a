"""sector_peer_review — a sector team's joint selection (agent id `sector_peer_review:{team}`).

A research-graph family: run id = the run date, `claude-haiku-4-5-20251001`, stub system prompt,
unrendered `peer_review_joint_selection` template. The captured call is the joint selection
(`JointSelectionOutput`: `selected_tickers[]`, `team_rationale`); when the merged candidates are
3 or fewer no selection is made and the only call may be the acceptance verdict on the qual
analyst's extra name (`QuantAcceptanceVerdict`: `accept` bool, `reason`). Stored (post-processed):
`recommendations[]` (≤ 3 selected names merged with their quant and qual data, regime-gated),
`additional_accepted` (a bool: that verdict), `peer_review_rationale`, `team_id`.
Scored: Jaccard(selected tickers vs recommendation tickers) and, for a verdict reply,
[additional_accepted same] (weights over the parts present). `additional_accepted` is a bool, so
docs/domain.md §2.1's "string items of additional_accepted" are none.
Fitted: selected vs not, per quant-top-5 candidate, from its quant score, its qual score and
conviction (from qual_assessments) and its technical score.
"""

import datetime as dt
import random

from alpha_replay_assets.families.sector_qual import decide as qual_decide
from alpha_replay_assets.families.sector_qual import snapshot as qual_snapshot
from alpha_replay_assets.families.sector_quant import technicals
from alpha_replay_assets.family_spec.comparators import Part, Same, Scorer, TickerSet, tickers
from alpha_replay_assets.family_spec.family import Family, FitSpec, named_after
from alpha_replay_assets.family_spec.fields import Flag, OfType, OneOf, StrList
from alpha_replay_assets.family_spec.fitting import by_ticker, candidate_rows
from alpha_replay_assets.family_spec.rule import HiddenRule, Run, Volume
from alpha_replay_assets.family_spec.synthetic import GRAPH_MODEL, filler, team_of

NAME = named_after(__name__)

FEATURES = {"quant_score": ("quant_score", 0.0), "qual_score": ("qual.qual_score", 0.0),
            "conviction": ("qual.conviction", 0.0), "technical_score": ("technical.technical_score", 0.0)}


def from_output(output: dict) -> dict:
    accepted = output.get("additional_accepted")
    return {"selected": tickers(output.get("recommendations")),
            "additional_accepted": accepted if isinstance(accepted, bool) else None}


def from_reply(reply: dict) -> dict:
    selected = reply.get("selected_tickers")
    return {"selected": [t for t in selected if isinstance(t, str)] if isinstance(selected, list) else None,
            "additional_accepted": reply.get("accept") if isinstance(reply.get("accept"), bool) else None}


def fit_rows(snapshot: dict, output: dict) -> list[dict]:
    selected = set(from_output(output)["selected"])
    qual, technical = by_ticker(snapshot.get("qual_assessments")), snapshot.get("technical_scores_review_set") or {}
    candidates = [c | {"qual": qual.get(c["ticker"]), "technical": technical.get(c["ticker"])}
                  for c in by_ticker(snapshot.get("quant_top5")).values()]
    return candidate_rows(candidates, lambda t: "selected" if t in selected else "not_selected", FEATURES)


# -- hidden rule of the synthetic corpus --------------------------------------------------------


def snapshot(rng: random.Random, day: dt.date, scope: str | None = None) -> dict:
    qual = qual_snapshot(rng, day, scope)
    reply = qual_decide(qual, rng, 0.0)
    extra = reply["additional_candidate"]
    names = qual["quant_top5_tickers"] + ([extra["ticker"]] if extra else [])
    return {"team_id": qual["team_id"], "run_date": qual["run_date"], "market_regime": qual["market_regime"],
            "quant_top5": qual["quant_top5"], "qual_assessments": reply["assessments"],
            "qual_additional_candidate": reply["additional_candidate"],
            "technical_scores_review_set": {t: technicals(rng) for t in names}}


def decide(snapshot: dict, rng: random.Random, noise: float) -> dict:
    """Select up to three names whose quant and qual scores agree on a good case."""
    qual = by_ticker(snapshot["qual_assessments"])
    combined = sorted((((p["quant_score"] + (qual.get(p["ticker"], {}).get("qual_score") or 50)) / 2
                        + rng.gauss(0, 40 * noise)), p["ticker"]) for p in snapshot["quant_top5"])
    return {"selected_tickers": [t for s, t in reversed(combined) if s > 55][:3],
            "team_rationale": filler(rng, rng.randint(90, 147))}


def post_process(raw: dict, snapshot: dict, run: Run, rng: random.Random) -> dict:
    """Merge the selection with its quant and qual data; a bear regime gates out weak quant scores;
    the side call on the qual analyst's extra name gives `additional_accepted`."""
    quant, qual = by_ticker(snapshot["quant_top5"]), by_ticker(snapshot["qual_assessments"])
    extra = snapshot["qual_additional_candidate"]
    recommendations = [
        {"ticker": t, "quant_score": quant[t]["quant_score"], "quant_rationale": quant[t]["rationale"],
         "qual_score": qual.get(t, {}).get("qual_score"), "bull_case": qual.get(t, {}).get("bull_case", ""),
         "bear_case": qual.get(t, {}).get("bear_case", ""), "catalysts": qual.get(t, {}).get("catalysts", []),
         "conviction": qual.get(t, {}).get("conviction"), "resources_used": [],
         "peer_review_rationale": filler(rng, rng.randint(90, 137))}
        for t in raw["selected_tickers"] if t in quant
        and not (snapshot["market_regime"] == "bear" and quant[t]["quant_score"] < 40)]
    accepted = extra is not None and snapshot["technical_scores_review_set"][extra["ticker"]]["technical_score"] > 60
    return {"team_id": snapshot["team_id"], "recommendations": recommendations, "additional_accepted": accepted,
            "peer_review_rationale": raw["team_rationale"]}


TEMPLATE = "Joint selection for {team_id}:\n{candidates}\nRegime {market_regime}.\nReturn JointSelectionOutput."
SYSTEM = ("You chair the {team} sector team's peer review. Select at most three of the candidates where the quant and "
          "qual work agree; reply with selected_tickers and a team_rationale.")

FAMILY = Family(
    name=NAME,
    rationales=("recommendations[].peer_review_rationale", "peer_review_rationale"),
    agent_ids=rf"{NAME}(:[\w-]+)?",
    decision=(OneOf(((StrList("selected_tickers"), OfType("team_rationale", str)),
                     (Flag("accept"), OfType("reason", str)))),),
    reply_model="JointSelectionOutput | QuantAcceptanceVerdict",
    stored_at="agent_output.recommendations[].ticker, agent_output.additional_accepted (bool)",
    from_output=from_output,
    from_reply=from_reply,
    scorer=Scorer((Part("jaccard_selected", 1.0, TickerSet("selected")),
                   Part("additional_accepted", 1.0, Same("additional_accepted"))), missing="renormalise"),
    fit=FitSpec("selected vs not, per quant-top-5 candidate", "quant score, qual score, qual conviction, technical "
                "score", fit_rows),
    rule=HiddenRule(snapshot, decide, post_process, GRAPH_MODEL,
                    system=lambda s: SYSTEM.format(team=team_of(s["team_id"])), template=TEMPLATE,
                    graph=("sector_team_node", "peer_review_joint_selection"),
                    agent_id=lambda s: f"{NAME}:{s['team_id']}",
                    volume=(Volume("legacy", order=4, per_team=1),)),
)
