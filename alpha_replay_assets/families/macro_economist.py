"""macro_economist — reads the macro tape: a market regime and per-sector modifiers.

Decision: `market_regime` ∈ bull|neutral|bear|caution, `sector_modifiers{sector: 0.70..1.30}`.
Scored: 0.6·[regimes equal] + 0.4·max(0, Pearson of the modifiers over common sectors).
Kappa on the regime. Fitted: the regime per artifact, from `input_data_snapshot.macro_data`.
"""

import random

from alpha_replay_assets.families.comparators import Categorical, Part, PearsonMap, Scorer
from alpha_replay_assets.families.fitting import feature_row, same_named
from alpha_replay_assets.families.spec import Choice, Family, FitSpec, HiddenRule, NumberMap
from alpha_replay_assets.families.synthetic import SECTORS, clip

REGIMES = ("bull", "neutral", "bear", "caution")
# Fixed (domain §3): the old extractor read keys the producer never writes.
FEATURES = same_named({"vix": 0.0, "yield_curve_slope": 0.0, "sp500_30d_return": 0.0, "hy_credit_spread_oas": 0.0,
                       "cpi_yoy": 0.0, "unemployment": 0.0, "treasury_10yr": 0.0, "fed_funds_rate": 0.0})


def fit_rows(snapshot: dict, output: dict) -> list[dict]:
    regime = output.get("market_regime")
    return [feature_row(regime, snapshot.get("macro_data"), FEATURES)] if regime in REGIMES else []


# -- hidden rule of the synthetic corpus --------------------------------------------------------


def snapshot(rng: random.Random) -> dict:
    return {"macro_data": {
        "fed_funds_rate": round(rng.uniform(0.5, 5.5), 2), "treasury_2yr": round(rng.uniform(1, 5), 2),
        "treasury_10yr": round(rng.uniform(1.5, 5), 2), "yield_curve_slope": round(rng.uniform(-1, 2), 2),
        "vix": round(rng.uniform(11, 38), 2), "unemployment": round(rng.uniform(3.4, 7), 2),
        "cpi_yoy": round(rng.uniform(1, 6), 2), "consumer_sentiment": round(rng.uniform(50, 100), 1),
        "initial_claims": rng.randint(180, 320) * 1000, "hy_credit_spread_oas": round(rng.uniform(2.5, 7), 2),
        "sp500_close": round(rng.uniform(4000, 7000), 1), "sp500_30d_return": round(rng.uniform(-0.09, 0.08), 4),
        "qqq_30d_return": round(rng.uniform(-0.1, 0.1), 4), "iwm_30d_return": round(rng.uniform(-0.1, 0.1), 4),
        "oil_wti": round(rng.uniform(55, 95), 2), "gold": round(rng.uniform(1800, 2900), 1),
        "copper": round(rng.uniform(3.2, 5.1), 2)},
        "sector_returns": {s: round(rng.uniform(-0.08, 0.08), 4) for s in SECTORS}}


def decide(snapshot: dict, rng: random.Random, noise: float) -> dict:
    m = snapshot["macro_data"]
    if m["vix"] > 28:
        regime = "bear"
    elif m["vix"] > 20 and m["sp500_30d_return"] < 0:
        regime = "caution"
    elif m["sp500_30d_return"] > 0.02 and m["vix"] < 18:
        regime = "bull"
    else:
        regime = "neutral"
    if rng.random() < noise:
        regime = rng.choice(REGIMES)
    modifiers = {s: round(clip(1 + 3 * r + rng.gauss(0, 0.03), 0.7, 1.3), 3) for s, r in snapshot["sector_returns"].items()}
    return {"market_regime": regime, "sector_modifiers": modifiers,
            "sector_ratings": {s: ("overweight" if v > 1.05 else "underweight" if v < 0.95 else "neutral")
                               for s, v in modifiers.items()},
            "macro_report": f"Regime {regime}: VIX {m['vix']}, S&P 30d {m['sp500_30d_return']:+.2%}."}


FAMILY = Family(
    name="macro_economist",
    agent_ids=r"macro_economist",
    decision=(Choice("market_regime", REGIMES), NumberMap("sector_modifiers")),
    scorer=Scorer((Part("regime_match", 0.6, Categorical("market_regime")),
                   Part("modifier_pearson", 0.4, PearsonMap("sector_modifiers")))),
    kappa_on="market_regime",
    fit=FitSpec("market regime, per artifact", "macro_data: " + ", ".join(FEATURES), fit_rows),
    rule=HiddenRule(snapshot, decide, '{"market_regime", "sector_modifiers": {sector: 0.7..1.3}, "macro_report"}',
                    production_bytes=(20_000, 50_000)),
)
