"""thinktank_thesis — the think tank's thesis on one ticker (a live producer; docs/real-shapes.md §5).

Agent id exactly `thinktank_thesis`; run id `{12 hex}-{TICKER}-v{version}`; weekend runs are filed
in Friday's folder. Model `deepseek/deepseek-chat-v3.1` through an OpenAI-compatible router.
Raw reply (`CompanyThesisRatedLLM`, top level): `stance` ∈ attractive|neutral|avoid, `rating`
int 0–100 (required), `conviction` int 0–100, `risks`/`catalysts` lists of strings and prose.
Stored: the same object under `agent_output.thesis` (`rating` null on pre-2026-07-02 theses) plus
the producer's bookkeeping (version, dates, the board's attractiveness score, pillar assessment).
Scored: 0.4·[stance equal] + 0.3·mean closeness of rating and conviction + 0.3·mean word
similarity of the prose (lists joined), weights over the parts present. Kappa on the stance.
Fitted: the stance, per artifact, from the numeric facts the analyst saw: board_row.metrics, the
weekly signal (its stance as -1/0/1), the news aggregate and the prior thesis's stance and rating.
"""

import datetime as dt
import random

from alpha_replay_assets.family_spec.comparators import Categorical, Closeness, MeanOf, Part, Scorer, Tokens
from alpha_replay_assets.family_spec.family import Family, FitSpec, named_after
from alpha_replay_assets.family_spec.fields import Choice, Number, OfType, StrList
from alpha_replay_assets.family_spec.fitting import feature_row, read_path
from alpha_replay_assets.family_spec.rule import HiddenRule, Run, Volume
from alpha_replay_assets.family_spec.synthetic import SECTORS, TICKERS, clip, filler, phrases, pick_words

# The think tank's originals are low-cost router models (deepseek-chat-v3.1 at $0.60/$1.70 per MTok,
# qwen3-235b-a22b at $0.50/$3.00), which Haiku ($1/$5) costs more than: its cheap target is
# qwen3-30b-a3b-instruct ($0.08/$0.33, a tenth of either; `replay.rate_card.RATE_CARD`).
CHEAP_TARGET = "qwen/qwen3-30b-a3b-instruct-2507"
NAME = named_after(__name__)

STANCES = ("attractive", "neutral", "avoid")
PROSE = ("business_summary", "moat", "filings_review", "news_sentiment", "valuation", "market_dynamics", "summary",
         "rating_rationale")
LISTS = ("risks", "catalysts")
MODEL = "deepseek/deepseek-chat-v3.1"
RATING_SINCE = dt.date(2026, 7, 2)  # theses stored before this day have `rating: null`
SIDE = {"attractive": 1, "neutral": 0, "avoid": -1, "ENTER": 1, "HOLD": 0, "EXIT": -1}


def comparable(thesis) -> dict:
    """The decision fields of a thesis object (stored `thesis` or raw reply), lists as text."""
    thesis = thesis if isinstance(thesis, dict) else {}
    lists = {k: " ".join(v for v in thesis.get(k) or () if isinstance(v, str)) for k in LISTS}
    return {k: thesis.get(k) for k in ("stance", "rating", "conviction", *PROSE)} | lists


def from_output(output: dict) -> dict:
    return comparable(output.get("thesis"))


# Features: (path into `facts` below, default). Strings the analyst saw as labels are read as
# -1/0/1 (the weekly signal's ENTER/HOLD/EXIT, the prior stance).
FEATURES = {
    "pe_fwd": ("board_row.metrics.pe_fwd", 0.0),
    "ev_ebitda": ("board_row.metrics.ev_ebitda", 0.0),
    "rev_growth_yoy": ("board_row.metrics.rev_growth_yoy", 0.0),
    "vol_60d": ("board_row.metrics.vol_60d", 0.0),
    "signal_stance": ("weekly_signal.side", 0.0),
    "signal_score": ("weekly_signal.score", 50.0),
    "return_4w": ("weekly_signal.return_4w", 0.0),
    "news_sentiment": ("news_aggregate.lm_sentiment_mean", 0.0),
    "news_trusted_sentiment": ("news_aggregate.lm_sentiment_trusted_mean", 0.0),
    "news_articles": ("news_aggregate.n_articles", 0.0),
    "news_event_severity": ("news_aggregate.event_severity_max", 0.0),
    "prior_stance": ("prior.side", 0.0),
    "prior_rating": ("prior.rating", 50.0),
}


def fit_rows(snapshot: dict, output: dict) -> list[dict]:
    stance = read_path(output, "thesis.stance")
    if stance not in STANCES:
        return []
    signal, prior = snapshot.get("weekly_signal"), snapshot.get("prior_thesis")
    facts = {"board_row": snapshot.get("board_row"), "news_aggregate": snapshot.get("news_aggregate"),
             "weekly_signal": (signal if isinstance(signal, dict) else {})
             | {"side": SIDE.get(read_path(signal, "stance"))},
             "prior": {"side": SIDE.get(read_path(prior, "stance")), "rating": read_path(prior, "rating")}}
    return [feature_row(stance, facts, FEATURES)]


# -- hidden rule of the synthetic corpus --------------------------------------------------------

RISKS = ("execution risk on the new product cycle", "regulatory scrutiny of pricing", "customer concentration",
         "rising input costs", "leverage if rates stay high", "competitive pressure from larger peers",
         "currency translation headwinds", "slower enterprise spending")
CATALYSTS = ("next quarterly earnings", "investor day guidance update", "buyback authorisation",
             "product launch in the second half", "margin recovery as costs normalise", "index inclusion")
EVENTS = ("guidance raised after a strong quarter", "regulator opened an inquiry", "large contract win announced",
          "CFO departure announced", "acquisition of a smaller competitor")


def snapshot(rng: random.Random, day: dt.date, scope: str | None = None) -> dict:
    ticker, sector = rng.choice(TICKERS), rng.choice(SECTORS)
    reason = rng.choices(("initial", "event", "staleness_refresh"), (2, 3, 2))[0]
    momentum = rng.gauss(0, 1)
    prior = None if reason == "initial" else {
        **{k: filler(rng, rng.randint(150, 420)) for k in PROSE},
        "risks": phrases(rng, RISKS, 2, 4), "catalysts": phrases(rng, CATALYSTS, 1, 3),
        "stance": rng.choice(STANCES), "conviction": rng.randint(35, 85),
        "rating": None if rng.random() < 0.15 else rng.randint(25, 80)}  # older priors carry no rating
    categories = rng.sample(("earnings", "guidance", "legal", "m&a", "product", "regulatory"), rng.randint(0, 2))
    return {
        "ticker": ticker,
        "update_reason": reason,
        "event_context": rng.choice(EVENTS) if reason == "event" else None,
        "board_row": {"ticker": ticker, "sector": sector, "industry": f"{sector} / large cap",
                      "metrics": {"pe_fwd": round(rng.uniform(9, 45), 1), "ev_ebitda": round(rng.uniform(7, 29), 1),
                                  "rev_growth_yoy": round(rng.uniform(-0.05, 0.25), 3),
                                  "vol_60d": round(rng.uniform(0.16, 0.55), 3),
                                  "mkt_cap_bn": round(rng.lognormvariate(4.5, 1.0), 1)},
                      "tradeability": {"adv_usd_m": round(rng.uniform(120, 1900), 1),
                                       "spread_bps": round(rng.uniform(1.4, 8), 2)}},
        "weekly_signal": {"stance": "ENTER" if momentum > 0.6 else "EXIT" if momentum < -0.8 else "HOLD",
                          "score": round(clip(60 + 15 * momentum, 20, 95), 1),
                          "return_4w": round(clip(0.05 * momentum + rng.gauss(0, 0.02), -0.2, 0.2), 4),
                          "sector": sector},
        "news_aggregate": {"ticker": ticker, "aggregate_date": day.isoformat(), "n_articles": rng.randint(2, 40),
                           "lm_sentiment_mean": round(clip(rng.gauss(0.05, 0.4), -1, 1), 3),
                           "lm_sentiment_trusted_mean": round(clip(rng.gauss(0.05, 0.35), -1, 1), 3),
                           "event_count": len(categories), "event_severity_max": rng.randint(3, 80),
                           "event_categories": categories,
                           "top_event_descriptions": [filler(rng, rng.randint(60, 96)) for _ in categories]},
        "insider_transactions": {"insider_n_transactions_90d": rng.randint(0, 9),
                                 "insider_net_dollar_flow_90d": rng.randint(-3_500_000, 3_750_000)},
        "analyst_revisions": {"ticker": ticker, "mean_target_current": round(rng.uniform(50, 980), 2),
                              "mean_target_pct_change_30d": round(rng.uniform(-0.08, 0.065), 4),
                              "num_analysts_current": rng.randint(10, 45),
                              "consensus_rating_current": rng.choice(("buy", "hold", "overweight")),
                              "rating_changed_30d": rng.random() < 0.1},
        "inst_ownership": {"ticker": ticker, "quarter": "2026Q1", "n_funds_holding": rng.randint(830, 3930),
                           "shares_qoq_change": round(rng.uniform(-0.064, 0.056), 4)},
        # the bulk of a real thesis prompt: six filings excerpts of up to ~1.5 k chars
        "filings_excerpts": [filler(rng, rng.randint(1400, 1535)) for _ in range(6)],
        "macro_theme": filler(rng, rng.randint(400, 585)),
        "sector_theme": filler(rng, rng.randint(450, 690)),
        "prior_thesis": prior,
    }


def decide(snapshot: dict, rng: random.Random, noise: float) -> dict:
    metrics = snapshot["board_row"]["metrics"]
    signal, news = snapshot["weekly_signal"], snapshot["news_aggregate"]
    sentiment = news["lm_sentiment_trusted_mean"]
    if sentiment < -0.3 or (signal["stance"] == "EXIT" and metrics["rev_growth_yoy"] < 0.05):
        stance = "avoid"
    elif signal["stance"] == "ENTER" and metrics["pe_fwd"] < 35:
        stance = "attractive"
    else:
        stance = "neutral"
    if rng.random() < noise:
        stance = rng.choice(STANCES)
    rating = clip(45 + 0.6 * (signal["score"] - 60) + 25 * sentiment + 60 * metrics["rev_growth_yoy"]
                  + rng.gauss(0, 40 * noise), 0, 100)
    tone = {"attractive": "upside", "neutral": "a balanced range", "avoid": "downside"}[stance]
    return {
        "business_summary": f"{snapshot['ticker']} operates in {snapshot['board_row']['sector']}; "
                            f"{pick_words(rng, 'recurring', 'diversified', 'scaled', 'niche', 'global', 'regional')}.",
        "moat": f"The moat rests on {pick_words(rng, 'switching', 'costs', 'brand', 'network', 'scale', 'patents')}.",
        "filings_review": f"Revenue growth {metrics['rev_growth_yoy']:.1%}; "
                          f"{pick_words(rng, 'margin', 'cash', 'flow', 'guidance', 'backlog', 'inventory')}.",
        "news_sentiment": f"News flow over {news['n_articles']} articles is "
                          f"{'negative' if sentiment < 0 else 'positive'}; "
                          f"{pick_words(rng, 'analyst', 'upgrades', 'downgrades', 'product', 'launch', 'litigation')}.",
        "valuation": f"At {metrics['pe_fwd']}x forward earnings valuation leaves {tone}; "
                     f"{pick_words(rng, 'multiple', 'discount', 'premium', 'peers', 'history', 'yield')}.",
        "market_dynamics": f"The weekly signal says {signal['stance']}; "
                           f"{pick_words(rng, 'rotation', 'flows', 'breadth', 'rates', 'cycle', 'pricing')}.",
        "risks": phrases(rng, RISKS, 2, 4),
        "catalysts": phrases(rng, CATALYSTS, 1, 3),
        "stance": stance,
        "conviction": round(clip(55 + 20 * abs(sentiment) + abs(signal["score"] - 60) / 2 + rng.gauss(0, 60 * noise),
                                 0, 100)),
        "summary": f"{stance.capitalize()}: {tone} from here; "
                   f"{pick_words(rng, 'quality', 'growth', 'momentum', 'value', 'risk')}.",
        "rating": round(rating),
        "rating_rationale": f"Rated on the signal, news and growth; "
                            f"{pick_words(rng, 'signal', 'news', 'growth', 'valuation')}.",
    }


PILLARS = ("quality", "value", "momentum", "growth", "stewardship", "defensiveness")
SOURCES = ("universe_board", "weekly_signals", "news_aggregates", "insider_transactions", "analyst_revisions",
           "inst_ownership", "rag_filings")


def post_process(raw: dict, snapshot: dict, run: Run, rng: random.Random) -> dict:
    """The producer's thesis record: the reply nested under `thesis`, plus its bookkeeping and the
    second (pillar) call, whose cost makes `cost_usd` larger than the thesis call's."""
    thesis = dict(raw) | ({"rating": None} if run.day < RATING_SINCE else {})
    pillar = {p: {"pillar": p, "score": rng.randint(20, 90), "confidence": rng.choice(("low", "medium", "high")),
                  "quant_component": None, "qual_component": rng.randint(21, 90), "evidence": [filler(rng, 70)]}
              for p in PILLARS}
    pillar["quality_moat"] = {"primary_type": rng.choice(("cost_advantage", "intangibles", "network_effects", "none",
                                                          "switching_costs")),
                              "secondary_types": [], "width": rng.choice(("narrow", "none", "wide")),
                              "durability_years": rng.randint(0, 24),
                              "trend": rng.choice(("eroding", "stable", "widening")),
                              "evidence": [filler(rng, 75)]}
    pillar["catalyst_horizon_modulation"] = rng.randint(-5, 5)
    return {
        "schema_version": 2, "ticker": snapshot["ticker"],
        "version": 1 if snapshot["update_reason"] == "initial" else rng.randint(2, 4),
        "trading_day": run.filed.isoformat(), "calendar_date": run.day.isoformat(),
        "update_reason": snapshot["update_reason"], "thesis": thesis, "sector": snapshot["board_row"]["sector"],
        "attractiveness_score": round(rng.uniform(29, 87), 2), "attractiveness_rank": rng.randint(1, 150),
        "macro_theme_version": rng.randint(1, 4), "sector_theme_version": rng.randint(1, 2),
        "sources_used": sorted(rng.sample(SOURCES, rng.randint(3, 7))), "event_context": snapshot["event_context"],
        "model": MODEL, "tier": "thesis", "prompt_version": "0.3.0",
        "cost_usd": round(run.call_cost + rng.uniform(0.0022, 0.0027), 6), "pillar_assessment": pillar,
    }


SYSTEM = ("You are a buy-side equity analyst at an independent research think tank. Write the house thesis on "
          "one listed company from the evidence provided and nothing else. Be specific, quote the numbers you "
          "rely on, and keep stance, rating and conviction consistent with each other.")
TEMPLATE = """Company thesis request: {ticker}

Update reason: {update_reason}. Event context, if any, is given below. Read the scanner's board row
(facts only: valuation, growth, volatility, size and tradeability), the desk's weekly signal, the
news aggregate of the last week (sentiment is the Loughran-McDonald mean, trusted = reputable
outlets only), insider transactions, analyst revisions, institutional ownership and the filings
excerpts retrieved for this company. The current macro and sector themes of the think tank are
given as written by the strategists; the prior thesis, when there is one, is the version you are
updating.

Answer with: a business summary; the moat and whether it is widening; a review of what the filings
say about demand, margins, cash flow and guidance; the news sentiment and what drives it; the
valuation against peers and history; the market dynamics of the sector; two to four risks and one
to three catalysts (short phrases); a stance (attractive, neutral or avoid) for a three-to-six
month horizon; a conviction from 0 to 100 in that stance; a summary; and a rating from 0 to 100
with its rationale. Change the stance from the prior thesis only when the evidence crosses a
boundary, and say which one. No price targets, no advice language, no hedging phrases.

House style and calibration. The stance is the committee's instruction, the rating is your score
of the investment case and the conviction is how sure you are of the stance; keep the three
consistent (an avoid with a rating of 85 is sent back). Anchor the rating on the weekly signal's
score and the news tone, then adjust for growth and valuation; ratings above 80 need a catalyst
you can name and ratings below 20 a risk you can name. The filings excerpts are retrieved
passages, not the whole filing: quote what they say about direction (demand up or down, margins
expanding or compressing, guidance raised or cut), not their boilerplate. The news aggregate's
trusted sentiment weighs more than the overall mean: it counts reputable outlets only. A weekly
signal of EXIT on a slowing grower is a reason to avoid even when the business is good; an ENTER
on a reasonably valued name is a reason to find it attractive unless the news says otherwise.
Insider transactions, analyst revisions and institutional ownership are supporting evidence: they
can raise or lower conviction, rarely the stance. The themes are the house's current views of the
market and the sector; disagree with them only with evidence, and say so in market dynamics.

Evidence:
{ticker} {update_reason} {event_context} {board_row} {weekly_signal} {news_aggregate}
{insider_transactions} {analyst_revisions} {inst_ownership} {filings_excerpts} {macro_theme}
{sector_theme} {prior_thesis}"""

FAMILY = Family(
    name=NAME,
    cheap_target=CHEAP_TARGET,
    rationales=("thesis.summary", "thesis.rating_rationale"),
    agent_ids=rf"{NAME}",
    decision=(Choice("stance", STANCES), Number("rating", 0, 100, required=True), Number("conviction", 0, 100),
              *(StrList(k) for k in LISTS), *(OfType(k, str) for k in PROSE)),
    reply_model="CompanyThesisRatedLLM",
    stored_at="agent_output.thesis",
    from_output=from_output,
    from_reply=comparable,
    scorer=Scorer((Part("stance_match", 0.4, Categorical("stance")),
                   Part("closeness", 0.3, MeanOf((Closeness("rating", 0, 100), Closeness("conviction", 0, 100)))),
                   Part("narrative", 0.3, MeanOf(tuple(map(Tokens, PROSE + LISTS))))), missing="renormalise"),
    kappa_on="stance",
    fit=FitSpec("stance, per artifact", "board_row.metrics (pe_fwd, ev_ebitda, rev_growth_yoy, vol_60d), weekly "
                "signal (stance, score, 4-week return), news_aggregate (sentiment, trusted sentiment, articles, event "
                "severity), prior thesis (stance, rating)", fit_rows),
    rule=HiddenRule(snapshot, decide, post_process, MODEL, system=lambda s: SYSTEM, template=TEMPLATE, rendered=True,
                    run_suffix=lambda out: f"-{out['ticker']}-v{out['version']}", trading_day_filing=True,
                    # measured: 71 theses in 7 days (docs/domain.md §1.4), runs per weekday Mon..Sun
                    volume=(Volume("today", order=0, weekly=(10, 10, 10, 10, 11, 10, 10), producer="thinktank",
                                   at=(83_000, 3)),)),
)
