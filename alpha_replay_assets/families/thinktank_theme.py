"""thinktank_theme — the think tank's macro or sector theme (a live producer, domain §1.4).

One artifact per (kind, key, version), kind ∈ macro|sector, key = `macro` or a sector; agent id
exactly `thinktank_theme`; run id `{base}-{kind}-{key}-v{version}`; weekend runs are filed in
Friday's folder. Decision: `stance`, `conviction` 0–100, scored `dimensions` (1–10) and a
narrative. Scored: 0.4·[stance equal] + 0.2·conviction closeness + 0.2·mean closeness of the
dimensions + 0.2·narrative word similarity (weights over the parts present). The producer's
exact field names are not known from the original, so an original without `stance` is scored by
the structural scorer instead. Kappa on the stance. Fitted: the stance, per artifact, from the
theme's indicators.
"""

import random

from alpha_replay_assets.families.comparators import Categorical, Closeness, ClosenessMap, Part, Scorer, Tokens
from alpha_replay_assets.families.fitting import feature_row
from alpha_replay_assets.families.spec import Choice, Family, FitSpec, HiddenRule, Number, OfType
from alpha_replay_assets.families.synthetic import SECTORS, STANCES, TICKERS, clip, pick_words, worked_examples

KINDS = ("macro", "sector")
INDICATORS = ("breadth", "momentum_4w", "earnings_revisions", "valuation_z", "volatility")
FEATURES = {name: (f"indicators.{name}", 0.0) for name in INDICATORS}


def fit_rows(snapshot: dict, output: dict) -> list[dict]:
    stance = output.get("stance")
    return [feature_row(stance, snapshot, FEATURES)] if stance in STANCES else []


# -- hidden rule of the synthetic corpus --------------------------------------------------------


def snapshot(rng: random.Random) -> dict:
    kind = rng.choice(KINDS)
    return {
        "kind": kind,
        "key": "macro" if kind == "macro" else rng.choice(SECTORS),
        "theme_version": rng.randint(1, 6),
        "indicators": {"breadth": round(rng.uniform(0.2, 0.9), 3), "momentum_4w": round(rng.uniform(-0.08, 0.08), 4),
                       "earnings_revisions": round(rng.uniform(-1, 1), 3), "valuation_z": round(rng.gauss(0, 1), 2),
                       "volatility": round(rng.uniform(0.1, 0.45), 3)},
        "constituent_signals": [{"ticker": t, "weekly_signal": round(rng.uniform(-1, 1), 3)}
                                for t in rng.sample(TICKERS, 6)],
        "prior_theme": {"stance": rng.choice(STANCES), "conviction": rng.randint(20, 90)},
    }


def decide(snapshot: dict, rng: random.Random, noise: float) -> dict:
    ind = snapshot["indicators"]
    if ind["momentum_4w"] < -0.03:
        stance = "bearish"
    elif ind["breadth"] > 0.6 and ind["earnings_revisions"] > 0:
        stance = "bullish"
    else:
        stance = "neutral"
    if rng.random() < noise:
        stance = rng.choice(STANCES)
    jitter = lambda: rng.gauss(0, 10 * noise)  # noqa: E731
    dimensions = {
        "growth": round(clip(5.5 + 4 * ind["earnings_revisions"] + jitter(), 1, 10), 1),
        "valuation": round(clip(5.5 - 2 * ind["valuation_z"] + jitter(), 1, 10), 1),
        "momentum": round(clip(5.5 + 50 * ind["momentum_4w"] + jitter(), 1, 10), 1),
        "risk": round(clip(1 + 20 * ind["volatility"] + jitter(), 1, 10), 1),
    }
    leaders = sorted(snapshot["constituent_signals"], key=lambda c: -c["weekly_signal"])[:3]
    return {
        "kind": snapshot["kind"], "key": snapshot["key"], "stance": stance,
        "conviction": round(clip(30 + 60 * abs(ind["breadth"] - 0.5) + 300 * abs(ind["momentum_4w"])
                                 + rng.gauss(0, 60 * noise), 0, 100)),
        "dimensions": dimensions,
        "top_tickers": [c["ticker"] for c in leaders],
        "narrative": (f"The {snapshot['key']} theme is {stance}: breadth {ind['breadth']:.0%}, "
                      f"{pick_words(rng, 'revisions', 'rates', 'liquidity', 'earnings', 'positioning', 'flows')}."),
    }


# The think tank's theme playbook, the bulk of its production system prompt (with worked
# examples, past the 4,096-token minimum of Haiku 4.5's prompt cache).
PLAYBOOK = """Theme playbook (standing instructions for every macro and sector theme)

1. Your role. A theme is the think tank's view of the market as a whole (kind macro, key macro)
or of one sector (kind sector, key the sector). Theses on single companies are written against
the current themes, so a theme that flips without cause moves a hundred theses with it. Be
deliberate: a theme changes when its indicators change, not when the mood does.

2. Your inputs. The input snapshot holds:
- kind and key: what the theme is about, and theme_version, the version you are writing.
- indicators: breadth (share of constituents above their 50-day average, 0..1); momentum_4w
  (the 4-week return of the equal-weighted constituents); earnings_revisions (the net share of
  upward minus downward analyst revisions over 4 weeks, -1..1); valuation_z (the forward
  multiple's z-score against its 10-year history); volatility (annualised, of the constituents).
- constituent_signals: the desk's weekly signal (-1..1) of a sample of constituents.
- prior_theme: the previous version's stance and conviction.

3. The stance, for a 1-3 month horizon:
- bearish when 4-week momentum is below -3%: a falling tape overrides good fundamentals;
- bullish when breadth is above 60% and earnings revisions are net positive: broad participation
  confirmed by fundamentals;
- neutral otherwise. Narrow rallies (breadth at or below 60%) are neutral however strong the
  leaders look, and so are broad rallies on falling revisions.

4. The conviction (0-100) measures how far the evidence is from the boundaries of section 3:
start from 30, add 60 times the distance of breadth from 50%, add 300 times the absolute 4-week
momentum, and round. A theme sitting on a boundary gets about 30; a decisive one 80 or more.

5. The dimensions, each scored 1 (weak) to 10 (strong), one decimal:
- growth: 5.5 plus 4 times the earnings revisions balance;
- valuation: 5.5 minus 2 times the valuation z-score (cheap scores high);
- momentum: 5.5 plus 50 times the 4-week momentum;
- risk: 1 plus 20 times the volatility (a high score is a high risk).
Clip each to 1..10. The dimensions describe the evidence; they do not have to agree with the
stance (a bullish theme can carry a high risk score).

6. top_tickers: the three constituents with the strongest weekly signal, strongest first.

7. The narrative: one or two sentences that state the stance and the indicator that decides it
(quote breadth as a percentage), then what would change the view. No forecasts of index levels,
no advice language, no hedging phrases.

8. Sector playbooks: what usually drives each sector theme, to read the indicators in context.
- technology: earnings revisions and rates. Long-duration cash flows make the sector sensitive
  to real yields; breadth matters because index weights are concentrated in a few names.
- healthcare: defensive; revisions and policy risk dominate. Momentum is a weak signal here,
  except around drug-pricing and reimbursement news, which moves the whole sector at once.
- financials: the yield curve and credit. A steepening curve helps net interest margins; rising
  credit spreads or deposit outflows override it. Volatility spikes are usually funding scares.
- energy: the commodity. Momentum follows crude and gas prices; revisions lag them by a quarter,
  so trust momentum over revisions when they disagree.
- industrials: the cycle. Order backlogs and purchasing-manager surveys lead revisions; breadth
  confirms a cyclical upturn only when small and mid caps join.
- consumer: real incomes and credit. Discretionary and staples diverge; read the constituent
  signals to see which side leads before trusting a sector-wide breadth number.
- utilities: rates and regulation. A bond proxy: falling yields lift the sector, and valuation
  matters more than momentum because growth is regulated.
- macro: the aggregate of all of the above. Weigh breadth most: broad markets are healthy
  markets, and narrow leadership has preceded most drawdowns of the last decade.

9. Checklist: the stance follows section 3; conviction and dimensions follow sections 4 and 5;
top_tickers follows section 6; kind and key are copied from the input; the reply is one JSON
object with exactly the fields asked for and nothing else.
"""

FAMILY = Family(
    name="thinktank_theme",
    agent_ids=r"thinktank_theme",
    decision=(Choice("stance", STANCES), Number("conviction", 0, 100), OfType("narrative", str)),
    scorer=Scorer((Part("stance_match", 0.4, Categorical("stance")),
                   Part("conviction", 0.2, Closeness("conviction", 0, 100)),
                   Part("dimensions", 0.2, ClosenessMap("dimensions", 1, 10)),
                   Part("narrative", 0.2, Tokens("narrative"))), missing="renormalise"),
    kappa_on="stance",
    fit=FitSpec("stance, per artifact", "theme indicators: " + ", ".join(INDICATORS), fit_rows),
    structural_fallback=True,
    rule=HiddenRule(snapshot, decide, '{"kind", "key", "stance": "bullish"|"neutral"|"bearish", "conviction": 0..100, '
                    '"dimensions": {"growth", "valuation", "momentum", "risk"}: 1..10, "top_tickers", "narrative"}',
                    instructions=PLAYBOOK + "\n" + worked_examples(snapshot, decide, 16, "thinktank_theme"),
                    run_suffix=lambda s: f"-{s['kind']}-{s['key']}-v{s['theme_version']}", trading_day_filing=True),
)
