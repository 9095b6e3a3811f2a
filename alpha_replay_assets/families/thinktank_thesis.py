"""thinktank_thesis — the think tank's thesis on one ticker (a live producer, domain §1.4).

One artifact per (ticker, thesis version); agent id exactly `thinktank_thesis`; run id
`{base_run_id}-{TICKER}-v{version}`; weekend runs are filed in Friday's folder.
Decision: `stance` ∈ bullish|neutral|bearish, `rating` 0–100 (the analyst's own score; it never
sees the scanner's composite), `conviction` 0–100, and narrative sections.
Scored: 0.4·[stance equal] + 0.3·mean closeness of rating and conviction + 0.3·mean word
similarity of the narrative sections (weights over the parts present). Kappa on the stance.
Fitted: the stance, per artifact, from the board row (attractiveness), the weekly signal and
the news aggregates.
"""

import random

from alpha_replay_assets.families.comparators import Categorical, Closeness, MeanOf, Part, Scorer, Tokens
from alpha_replay_assets.families.fitting import feature_row
from alpha_replay_assets.families.spec import Choice, Family, FitSpec, HiddenRule, Number, OfType
from alpha_replay_assets.families.synthetic import SECTORS, STANCES, TICKERS, clip, filler, pick_words

SECTIONS = ("business_summary", "moat", "filings_review", "news_sentiment", "valuation", "market_dynamics",
            "risks", "catalysts")  # the narrative; NARRATIVE below writes them for the synthetic corpus
FEATURES = {
    "attractiveness_score": ("board_row.attractiveness_score", 50.0),
    "quant_score": ("board_row.quant_score", 50.0),
    "signal_score": ("weekly_signal.score", 0.0),
    "return_4w": ("weekly_signal.return_4w", 0.0),
    "news_sentiment": ("news_aggregates.sentiment_mean", 0.0),
    "news_negative_share": ("news_aggregates.negative_share", 0.0),
    "news_articles_7d": ("news_aggregates.articles_7d", 0.0),
}


def fit_rows(snapshot: dict, output: dict) -> list[dict]:
    stance = output.get("stance")
    return [feature_row(stance, snapshot, FEATURES)] if stance in STANCES else []


# -- hidden rule of the synthetic corpus --------------------------------------------------------


def snapshot(rng: random.Random) -> dict:
    ticker, sector, version = rng.choice(TICKERS), rng.choice(SECTORS), rng.randint(1, 9)
    forms = ("10-K", "10-Q", "8-K")
    return {
        "ticker": ticker,
        "thesis_version": version,
        "board_row": {"ticker": ticker, "sector": sector, "attractiveness_score": round(rng.uniform(20, 95), 1),
                      "quant_score": round(rng.uniform(20, 99), 1), "momentum_rank": rng.randint(1, 500),
                      "price": round(rng.uniform(8, 900), 2), "market_cap_bn": round(rng.lognormvariate(3, 1.2), 1)},
        "weekly_signal": {"score": round(rng.uniform(-1, 1), 3), "return_4w": round(rng.gauss(0, 0.08), 4),
                          "rsi_14": round(rng.uniform(20, 80), 1), "volume_z": round(rng.gauss(0, 1), 2)},
        "news_aggregates": {"articles_7d": rng.randint(0, 60), "sentiment_mean": round(clip(rng.gauss(0.1, 0.35), -1, 1), 3),
                            "sentiment_std": round(rng.uniform(0.05, 0.5), 3),
                            "negative_share": round(rng.uniform(0, 0.6), 3)},
        # the bulk of a real thesis prompt: tens of KB of filings text
        "filings_excerpts": [{"form": rng.choice(forms), "section": rng.choice(("Risk Factors", "MD&A", "Business")),
                              "text": filler(rng, rng.randint(3000, 7000))} for _ in range(rng.randint(3, 5))],
        "macro_theme_summary": f"Macro stance {rng.choice(STANCES)}; {pick_words(rng, *SECTORS)} lead.",
        "prior_thesis": None if version == 1 else {
            "version": version - 1, "stance": rng.choice(STANCES), "rating": round(rng.uniform(20, 90)),
            "conviction": round(rng.uniform(20, 90))},
    }


def decide(snapshot: dict, rng: random.Random, noise: float) -> dict:
    board, signal, news = snapshot["board_row"], snapshot["weekly_signal"], snapshot["news_aggregates"]
    sentiment, score, attractiveness = news["sentiment_mean"], signal["score"], board["attractiveness_score"]
    if sentiment < -0.25:
        stance = "bearish"
    elif score > 0.1 and attractiveness >= 55:
        stance = "bullish"
    else:
        stance = "neutral"
    if rng.random() < noise:
        stance = rng.choice(STANCES)
    rating = clip(35 + 0.4 * attractiveness + 25 * score + 20 * sentiment + rng.gauss(0, 40 * noise), 0, 100)
    tone = {"bullish": ("accelerating", "expanding", "upside"), "neutral": ("steady", "balanced", "range"),
            "bearish": ("slowing", "compressing", "downside")}[stance]
    facts = {"ticker": snapshot["ticker"], "sector": board["sector"], "demand": tone[0], "trend": tone[1],
             "valuation": tone[2], "news": "negative" if sentiment < 0 else "positive", "articles": news["articles_7d"]}
    return {
        "ticker": snapshot["ticker"],
        "stance": stance,
        "rating": round(rating),
        "conviction": round(clip(40 + 50 * abs(score) + rng.gauss(0, 60 * noise), 0, 100)),
        **{section: f"{opening.format(**facts)} {pick_words(rng, *pool)}." for section, (opening, pool) in NARRATIVE.items()},
    }


# section -> (what the facts say, words the writer picks four of): two theses on the same inputs
# share the facts and most, not all, of the words.
NARRATIVE = {
    "business_summary": ("{ticker} is a {sector} business; revenue is", ("recurring", "diversified", "scaled", "niche",
                                                                          "global", "regional")),
    "moat": ("The moat rests on", ("switching", "costs", "brand", "network", "effects", "scale", "patents")),
    "filings_review": ("Filings show {demand} demand;", ("margin", "cash", "flow", "guidance", "backlog", "inventory")),
    "news_sentiment": ("News flow is {news} over {articles} articles;", ("analyst", "upgrades", "downgrades", "product",
                                                                          "launch", "litigation")),
    "valuation": ("Valuation leaves {valuation};", ("multiple", "discount", "premium", "peers", "history", "yield")),
    "market_dynamics": ("{sector} momentum is {trend};", ("rotation", "flows", "breadth", "rates", "cycle", "pricing")),
    "risks": ("Risks:", ("execution", "regulation", "competition", "leverage", "macro", "currency")),
    "catalysts": ("Catalysts:", ("earnings", "buyback", "launch", "guidance", "investor", "day")),
}


FAMILY = Family(
    name="thinktank_thesis",
    agent_ids=r"thinktank_thesis",
    decision=(Choice("stance", STANCES), Number("rating", 0, 100, required=True), Number("conviction", 0, 100),
              *(OfType(s, str) for s in SECTIONS)),
    scorer=Scorer((Part("stance_match", 0.4, Categorical("stance")),
                   Part("closeness", 0.3, MeanOf((Closeness("rating", 0, 100), Closeness("conviction", 0, 100)))),
                   Part("narrative", 0.3, MeanOf(tuple(map(Tokens, SECTIONS))))), missing="renormalise"),
    kappa_on="stance",
    fit=FitSpec("stance, per artifact", "board row (attractiveness, quant score), weekly signal (score, 4-week "
                "return), news aggregates (sentiment, negative share, volume)", fit_rows),
    rule=HiddenRule(snapshot, decide, '{"ticker", "stance": "bullish"|"neutral"|"bearish", "rating": 0..100, '
                    '"conviction": 0..100, ' + ", ".join(f'"{s}"' for s in SECTIONS) + "}",
                    run_suffix=lambda s: f"-{s['ticker']}-v{s['thesis_version']}", trading_day_filing=True),
)
