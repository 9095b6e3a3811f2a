"""thesis_update — updates one ticker's thesis after news (one agent id per sector and ticker).

Decision: `final_score`, `conviction` (numbers) and the texts `bull_case`, `conviction_rationale`,
`thesis_summary`. Scored: 0.6·mean closeness of the scores (0–100) + 0.4·mean word similarity of
the texts (whichever exists when one is missing). Fitted: the final score's bucket (low < 40 ≤
mid < 60 ≤ high), from the prior score, the news delta and the earnings surprise.
"""

import random

from alpha_replay_assets.families.comparators import Closeness, MeanOf, Part, Scorer, Tokens
from alpha_replay_assets.families.fitting import bucket, feature_row, same_named
from alpha_replay_assets.families.spec import AnyOf, Family, FitSpec, HiddenRule, Number
from alpha_replay_assets.families.synthetic import SECTORS, TICKERS, clip, pick_words

TEXT_FIELDS = ("bull_case", "conviction_rationale", "thesis_summary")
FEATURES = same_named({"prior_score": 0.0, "news_delta": 0.0, "earnings_surprise": 0.0})
BUCKETS = ((40, 60), ("low", "mid", "high"))


def fit_rows(snapshot: dict, output: dict) -> list[dict]:
    label = bucket(output.get("final_score"), *BUCKETS)
    return [] if label is None else [feature_row(label, snapshot, FEATURES)]


# -- hidden rule of the synthetic corpus --------------------------------------------------------


def snapshot(rng: random.Random) -> dict:
    return {"ticker": rng.choice(TICKERS), "sector": rng.choice(SECTORS), "prior_score": round(rng.uniform(30, 80), 1),
            "news_delta": round(rng.uniform(-1, 1), 3), "earnings_surprise": round(rng.gauss(0, 0.05), 4)}


def decide(snapshot: dict, rng: random.Random, noise: float) -> dict:
    score = clip(snapshot["prior_score"] + 20 * snapshot["news_delta"] + rng.gauss(0, 40 * noise), 0, 100)
    up = snapshot["news_delta"] > 0
    return {"final_score": round(score, 1), "conviction": round(clip(score + rng.gauss(0, 5), 0, 100), 1),
            "bull_case": "demand accelerating with margin expansion" if up else "valuation support with buybacks",
            "conviction_rationale": pick_words(rng, "news", "flow", "earnings", "guidance", "raised" if up else "cut"),
            "thesis_summary": f"{snapshot['ticker']} thesis {'strengthened' if up else 'weakened'} on news"}


FAMILY = Family(
    name="thesis_update",
    agent_ids=r"thesis_update(:[\w.-]+){0,2}",
    decision=(AnyOf((Number("final_score"), Number("conviction"))),),
    scorer=Scorer((Part("closeness", 0.6, MeanOf((Closeness("final_score", 0, 100), Closeness("conviction", 0, 100)))),
                   Part("text", 0.4, MeanOf(tuple(map(Tokens, TEXT_FIELDS))))), missing="renormalise"),
    fit=FitSpec("final score bucket (low/mid/high), per artifact", "prior score, news delta, earnings surprise",
                fit_rows),
    rule=HiddenRule(snapshot, decide, '{"final_score", "conviction", "bull_case", "conviction_rationale", '
                    '"thesis_summary"}', agent_id=lambda s: f"thesis_update:{s['sector'][:4]}:{s['ticker']}"),
)
