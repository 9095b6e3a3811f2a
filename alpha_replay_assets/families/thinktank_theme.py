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
from alpha_replay_assets.families.synthetic import SECTORS, STANCES, TICKERS, clip, pick_words

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
                    run_suffix=lambda s: f"-{s['kind']}-{s['key']}-v{s['theme_version']}", trading_day_filing=True),
)
