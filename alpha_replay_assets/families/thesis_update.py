"""thesis_update — updates a held ticker's thesis after triggers (agent id `thesis_update:{team}:{TICKER}`).

A research-graph family: run id = the run date, `claude-haiku-4-5-20251001`, stub system prompt,
unrendered `sector_team_thesis_update` template. Raw reply (`HeldThesisUpdateLLMOutput`):
`conviction` int 0–100|null and prose (`bull_case`, `bear_case`, `catalysts[]`, `risks[]`,
`conviction_rationale`, `thesis_summary`, `triggers_response`), all optional. Stored: the prior
thesis overwritten by the reply's non-empty fields, plus `last_updated`, `triggers`, `stale_days`;
`final_score`, the scores and `rating` are *copied from the prior thesis* (the reply has no
score), and a null reply conviction leaves the prior's string (`rising|stable|declining`).
Scored (docs/domain.md §2.1): 0.6·mean closeness(final_score, conviction) + 0.4·mean word similarity of
bull_case, conviction_rationale, thesis_summary, each part over what both sides have: a reply
carries no final_score, so the closeness is the conviction's.
Fitted: the agent's own decision, its conviction bucketed (low < 45 ≤ mid < 60 ≤ high), from its
news sentiment, last earnings surprise, the prior final score and the prior conviction's trend
(rising 1, stable 0, declining -1) — never the carried-over final_score as the label.
"""

import datetime as dt
import random

from alpha_replay_assets.families.sector_qual import graph_thesis
from alpha_replay_assets.family_spec.comparators import Closeness, MeanOf, Part, Scorer, Tokens, is_number
from alpha_replay_assets.family_spec.family import Family, FitSpec, named_after
from alpha_replay_assets.family_spec.fields import AnyOf, Number, OfType, StrList
from alpha_replay_assets.family_spec.fitting import bucket, feature_row, read_path
from alpha_replay_assets.family_spec.rule import HiddenRule, Run, Volume
from alpha_replay_assets.family_spec.synthetic import GRAPH_MODEL, TICKERS, clip, filler, phrases, pick_words, team_of

NAME = named_after(__name__)

TEXT_FIELDS = ("bull_case", "conviction_rationale", "thesis_summary")
REPLY_FIELDS = ("bull_case", "bear_case", "catalysts", "conviction", "conviction_rationale", "risks", "thesis_summary",
                "triggers_response")
BUCKETS = ((45, 60), ("low", "mid", "high"))
TREND = {"rising": 1, "stable": 0, "declining": -1}
TRIGGERS = ("earnings_surprise", "news_spike", "price_move_5pct")
FEATURES = {"news_sentiment": ("news_sentiment", 0.0), "earnings_surprise": ("earnings_surprise", 0.0),
            "prior_final_score": ("prior_final_score", 0.0), "prior_conviction_trend": ("prior_trend", 0.0)}


def fit_rows(snapshot: dict, output: dict) -> list[dict]:
    label = bucket(output.get("conviction"), *BUCKETS)  # a string conviction is the prior's: no decision
    if label is None:
        return []
    surprises = read_path(snapshot, "analyst_data.earnings_surprises")
    last = surprises[-1] if isinstance(surprises, list) and surprises and isinstance(surprises[-1], dict) else {}
    facts = {"news_sentiment": read_path(snapshot, "news_data.sentiment"),
             "earnings_surprise": last.get("surprise_pct"),
             "prior_final_score": read_path(snapshot, "prior_thesis.final_score"),
             "prior_trend": TREND.get(read_path(snapshot, "prior_thesis.conviction"))}
    return [feature_row(label, facts, FEATURES)]


def comparable(output: dict) -> dict:
    """Scores only where they are numbers (a stored string conviction is the prior's trend)."""
    return {k: output.get(k) for k in TEXT_FIELDS} | {
        k: output.get(k) for k in ("final_score", "conviction") if is_number(output.get(k))}


# -- hidden rule of the synthetic corpus --------------------------------------------------------


def snapshot(rng: random.Random, day: dt.date, scope: str | None = None) -> dict:
    team, ticker = (scope or f"technology:{rng.choice(TICKERS)}").split(":")
    return {"team_id": team_of(team), "ticker": ticker, "run_date": day.isoformat(),
            "triggers": sorted(rng.sample(TRIGGERS, rng.randint(1, 3))),
            "prior_thesis": graph_thesis(rng, ticker, team),
            "news_data": {"articles": [{"headline": filler(rng, rng.randint(50, 87))}
                                       for _ in range(rng.randint(1, 3))],
                          "sentiment": round(clip(rng.gauss(0.05, 0.4), -0.9, 0.9), 3)},
            "analyst_data": {"consensus_rating": "buy", "num_analysts": 30,
                             "earnings_surprises": [{"date": "2026-04-24", "surprise_pct": round(rng.gauss(2, 4), 1)}]}}


def decide(snapshot: dict, rng: random.Random, noise: float) -> dict:
    sentiment = snapshot["news_data"]["sentiment"]
    surprise = snapshot["analyst_data"]["earnings_surprises"][-1]["surprise_pct"]
    trend = TREND[snapshot["prior_thesis"]["conviction"]]
    conviction = round(clip(52 + 25 * sentiment + 1.5 * surprise + 6 * trend + rng.gauss(0, 60 * noise), 0, 100))
    up = sentiment > 0
    return {
        "bull_case": "demand accelerating with margin expansion" if up else "valuation support with buybacks",
        "bear_case": filler(rng, rng.randint(80, 129)),
        "catalysts": phrases(rng, ("earnings", "guidance update", "buyback", "product launch"), 1, 3),
        "conviction": None if rng.random() < 0.04 else conviction,
        "conviction_rationale": pick_words(rng, "news", "flow", "earnings", "guidance", "raised" if up else "cut"),
        "risks": phrases(rng, ("valuation", "competition", "execution", "macro"), 1, 2),
        "thesis_summary": f"{snapshot['ticker']} thesis {'strengthened' if up else 'weakened'} on "
                          f"{', '.join(snapshot['triggers']).replace('_', ' ')}",
        "triggers_response": filler(rng, rng.randint(40, 91)),
    }


def post_process(raw: dict, snapshot: dict, run: Run, rng: random.Random) -> dict:
    """The prior thesis overwritten by the reply's non-empty fields (scores and rating carried over)."""
    filled = {k: v for k, v in raw.items() if v not in (None, "", [])}
    return snapshot["prior_thesis"] | filled | {"last_updated": run.day.isoformat(), "triggers": snapshot["triggers"],
                                                "stale_days": 0}


TEMPLATE = ("Update the {ticker} thesis after {triggers}.\nPrior: {prior_thesis}\n{news}\n"
            "Return HeldThesisUpdateLLMOutput.")
SYSTEM = ("You maintain the {team} sector team's thesis on a held name. Update it for the triggers, news and analyst "
          "data given; reply with conviction (0-100) and the revised prose fields.")

FAMILY = Family(
    name=NAME,
    rationales=("bull_case", "conviction_rationale", "thesis_summary", "triggers_response"),
    agent_ids=rf"{NAME}(:[\w.-]+){{0,2}}",
    decision=(AnyOf((Number("conviction", 0, 100), *(OfType(k, str) for k in TEXT_FIELDS))),
              StrList("catalysts", False), StrList("risks", False)),
    reply_model="HeldThesisUpdateLLMOutput",
    stored_at="agent_output (the prior thesis overwritten; final_score carried over)",
    from_output=comparable,
    from_reply=comparable,
    scorer=Scorer((Part("closeness", 0.6, MeanOf((Closeness("final_score", 0, 100), Closeness("conviction", 0, 100)))),
                   Part("text", 0.4, MeanOf(tuple(map(Tokens, TEXT_FIELDS))))), missing="renormalise"),
    fit=FitSpec("conviction bucket (low/mid/high), per artifact", "news sentiment, last earnings surprise, prior final "
                "score, prior conviction trend", fit_rows),
    rule=HiddenRule(snapshot, decide, post_process, GRAPH_MODEL,
                    system=lambda s: SYSTEM.format(team=s["team_id"]), template=TEMPLATE,
                    graph=("sector_team_node", "sector_team_thesis_update"),
                    agent_id=lambda s: f"{NAME}:{s['team_id']}:{s['ticker']}",
                    volume=(Volume("legacy", order=5, per_team=2, holding=True),)),
)
