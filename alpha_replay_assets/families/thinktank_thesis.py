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
from alpha_replay_assets.families.synthetic import SECTORS, STANCES, TICKERS, clip, filler, pick_words, worked_examples

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


# The think tank's analyst handbook, the bulk of its production system prompt (with a worked
# example, well past the 4,096-token minimum of Haiku 4.5's prompt cache).
HANDBOOK = """Analyst handbook (standing instructions for every thesis)

1. Your role. You write the house thesis on one listed company for the investment committee. The
committee reads about a hundred theses a week and acts on the stance, the rating and the
conviction; the narrative sections are how it checks your reasoning. Write for a portfolio
manager who knows the sector but has not read the filings this week.

2. Your inputs. The input snapshot holds, for one ticker and one thesis version:
- board_row: the scanner's row for the ticker (sector, attractiveness_score 0-100, quant_score
  0-100, momentum_rank among ~500 names, price, market_cap_bn). The attractiveness score is a
  blend of quality, value and momentum factors; treat it as a prior, not as a conclusion.
- weekly_signal: the desk's weekly composite signal (score -1..1), the 4-week return, RSI(14) and
  the volume z-score. A score above 0.1 is a positive signal; below -0.1 a negative one.
- news_aggregates: articles in the last 7 days, the mean and dispersion of article sentiment
  (-1..1) and the share of negative articles. Sentiment below -0.25 is a red flag whatever the
  other inputs say: it usually precedes guidance cuts, litigation or a failed launch.
- filings_excerpts: passages of the latest 10-K, 10-Q and 8-K filings (Risk Factors, MD&A,
  Business). Read them for demand, margins, liquidity, guidance and anything material.
- macro_theme_summary: the think tank's current macro stance and the leading sectors.
- prior_thesis: the previous version's stance, rating and conviction (absent for version 1).

3. The stance. One of bullish, neutral or bearish, for a 3-6 month horizon.
- bearish: news sentiment is clearly negative (mean below -0.25), or the filings show a
  deterioration the market has not priced (guidance cut, covenant pressure, impairment).
- bullish: the weekly signal is positive (score above 0.1) AND the business is attractive
  (attractiveness 55 or more), with nothing in the filings that contradicts it.
- neutral: everything else, including mixed evidence. Neutral is not a failure to decide; it
  says the evidence does not justify a position change.
Do not move the stance away from the prior thesis on one week of noise: change it when the
inputs above clearly cross a boundary, and say which one in the rationale of the section it
concerns.

4. The rating (0-100) is your independent score of the investment case; you never see the
scanner's composite score and must not reconstruct it. Anchor it as follows: start from 35; add
0.4 points per point of attractiveness; add up to 25 points for a strong weekly signal and
subtract up to 25 for a weak one; add up to 20 points for positive news sentiment and subtract
up to 20 for negative sentiment. Round to an integer and keep it within 0-100. Ratings above 80
are rare and need a catalyst you can name; ratings below 20 need a risk you can name.

5. The conviction (0-100) is how sure you are of the stance, not how good the company is.
It rises with the strength of the weekly signal in either direction (40 for no signal, up to 90
for a signal of magnitude 1) and falls when the inputs disagree with each other. A bearish
thesis can carry high conviction.

6. The narrative sections, in this order, each one to three sentences, concrete and specific:
- business_summary: what the company sells, to whom, and how revenue recurs. Name the sector.
- moat: what protects returns (switching costs, brand, network effects, scale, patents) and
  whether the filings show it widening or narrowing.
- filings_review: what the latest filings say about demand, margins, cash flow, guidance,
  backlog and inventory. Quote the direction, not the boilerplate.
- news_sentiment: the tone of the news flow and its volume (state the article count), and the
  one or two stories that drive it (analyst changes, product launches, litigation).
- valuation: where the multiple sits against peers and history and what that leaves (upside,
  a balanced range, or downside).
- market_dynamics: sector momentum, flows and rotation, breadth, rates and where the cycle is.
- risks: the two or three things that would make the thesis wrong (execution, regulation,
  competition, leverage, macro, currency).
- catalysts: dated or datable events that could move the stock (earnings, buybacks, launches,
  guidance updates, investor days).

7. Style. No hedging phrases ("it remains to be seen", "time will tell"). No price targets. No
advice language ("investors should"). Numbers from the snapshot are quoted as given. Every
section must be consistent with the stance; a bullish thesis with a risks section that reads
like a bearish thesis will be sent back.

8. Checklist before you answer: the stance follows section 3; the rating follows section 4 and
is an integer; the conviction follows section 5; all eight sections are present, non-empty and
in order; the reply is one JSON object with exactly the fields asked for, and nothing else
(no prose before or after it, no comments inside it).

9. Common mistakes the committee has flagged: copying the attractiveness score as the rating;
a bullish stance on a negative weekly signal because the company is "high quality"; a neutral
stance with a rating of 85; ignoring a negative news cluster because the filings look fine;
repeating the filings boilerplate instead of saying what changed.
"""

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
                    instructions=HANDBOOK + "\n" + worked_examples(snapshot, decide, 1, "thinktank_thesis"),
                    run_suffix=lambda s: f"-{s['ticker']}-v{s['thesis_version']}", trading_day_filing=True),
)
