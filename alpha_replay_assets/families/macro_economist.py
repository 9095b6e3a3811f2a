"""macro_economist — reads the macro tape: a market regime and per-sector modifiers.

A research-graph family: agent id exactly `macro_economist`, run id = the run date,
`claude-sonnet-4-6`, stub system prompt and the *rendered* `macro_agent` user prompt (macro_data,
the prior report and its date). Raw reply (`MacroEconomistRawOutput`): `market_regime` ∈
bull|neutral|bear, `sector_modifiers{SECTOR: number}`, `report_md`, `sector_ratings`,
`key_theme`, `material_changes[]`. Stored: `market_regime` after a guardrail that can only
escalate to bear, `sector_modifiers`, `sector_ratings` derived from the modifiers, `macro_report`.
Scored: 0.6·[regimes equal] + 0.4·max(0, Pearson of the modifiers over common sectors).
Kappa on the regime. Fitted: the regime per artifact, from `input_data_snapshot.macro_data`.
"""

import datetime as dt
import random

from alpha_replay_assets.family_spec.comparators import Categorical, Part, PearsonMap, Scorer
from alpha_replay_assets.family_spec.family import Family, FitSpec, named_after
from alpha_replay_assets.family_spec.fields import Choice, NumberMap, OfType
from alpha_replay_assets.family_spec.fitting import feature_row, same_named
from alpha_replay_assets.family_spec.rule import HiddenRule, Run, Volume
from alpha_replay_assets.family_spec.synthetic import GRAPH_LEAD_MODEL, SECTORS, clip, filler, pick_words

NAME = named_after(__name__)

REGIMES = ("bull", "neutral", "bear")  # a fourth class was retired 2026-05-29
FEATURES = same_named({"vix": 0.0, "yield_curve_slope": 0.0, "sp500_30d_return": 0.0, "hy_credit_spread_oas": 0.0,
                       "cpi_yoy": 0.0, "unemployment": 0.0, "treasury_10yr": 0.0, "fed_funds_rate": 0.0})
GUARDRAIL_VIX = 32  # the producer's guardrail: a tape this stressed is bear whatever the model said


def comparable(output: dict) -> dict:
    return {"market_regime": output.get("market_regime"), "sector_modifiers": output.get("sector_modifiers")}


def fit_rows(snapshot: dict, output: dict) -> list[dict]:
    regime = output.get("market_regime")
    return [feature_row(regime, snapshot.get("macro_data"), FEATURES)] if regime in REGIMES else []


# -- hidden rule of the synthetic corpus --------------------------------------------------------


def snapshot(rng: random.Random, day: dt.date, scope: str | None = None) -> dict:
    ten, two = round(rng.uniform(3.6, 5.0), 2), round(rng.uniform(3.4, 5.2), 2)
    return {"run_date": day.isoformat(), "macro_data": {
        "fed_funds_rate": round(rng.uniform(3.5, 5.5), 2), "treasury_2yr": two, "treasury_10yr": ten,
        "yield_curve_slope": round(100 * (ten - two), 1), "vix": round(rng.uniform(11, 38), 2),
        "unemployment": round(rng.uniform(3.6, 5.5), 1), "cpi_yoy": round(rng.uniform(2, 4.5), 1),
        "consumer_sentiment": round(rng.uniform(55, 80), 1), "initial_claims": rng.randint(190, 300) * 1000,
        "hy_credit_spread_oas": round(rng.uniform(280, 600), 1), "sp500_close": round(rng.uniform(5600, 6600), 2),
        "sp500_30d_return": round(rng.uniform(-8, 6), 2), "qqq_30d_return": round(rng.uniform(-9, 7), 2),
        "iwm_30d_return": round(rng.uniform(-9, 6), 2), "oil_wti": round(rng.uniform(58, 90), 2),
        "gold": round(rng.uniform(2900, 3400), 1), "copper": round(rng.uniform(4.2, 5.0), 2),
        "fetched_at": f"{day.isoformat()}T10:05:00+00:00"},
        "prior_macro_report": filler(rng, rng.randint(500, 730)),
        "prior_date": (day - dt.timedelta(days=7)).isoformat(), "prior_snapshots_count": 1, "regime_substrate": None}


def decide(snapshot: dict, rng: random.Random, noise: float) -> dict:
    m = snapshot["macro_data"]
    if m["vix"] > 27 or m["hy_credit_spread_oas"] > 520:
        regime = "bear"
    elif m["sp500_30d_return"] > 1.5 and m["vix"] < 19:
        regime = "bull"
    else:
        regime = "neutral"
    if rng.random() < noise:
        regime = rng.choice(REGIMES)
    tilt = {"Energy": (m["oil_wti"] - 74) / 200, "Financial": m["yield_curve_slope"] / 2000,
            "Technology": m["qqq_30d_return"] / 100, "Utilities": -(m["treasury_10yr"] - 4.3) / 10,
            "Real Estate": -(m["treasury_10yr"] - 4.3) / 8, "Materials": (m["copper"] - 4.6) / 5,
            "Consumer Discretionary": (m["consumer_sentiment"] - 67) / 300}
    modifiers = {s: round(clip(1 + tilt.get(s, 0.0) + rng.gauss(0, 0.01 + 0.05 * noise), 0.85, 1.15), 2)
                 for s in SECTORS}
    return {"key_theme": filler(rng, 40), "market_regime": regime,
            "material_changes": [filler(rng, 30) for _ in range(rng.randint(1, 2))],
            "report_md": f"Regime {regime}: VIX {m['vix']}, S&P 30d {m['sp500_30d_return']:+.2f}%; "
                         f"{pick_words(rng, 'rates', 'credit', 'growth', 'inflation', 'liquidity', 'earnings')}.",
            "sector_modifiers": modifiers,
            "sector_ratings": {s: {"rating": rating(v), "rationale": filler(rng, 40)} for s, v in modifiers.items()}}


def rating(modifier: float) -> str:
    return "overweight" if modifier >= 1.03 else "underweight" if modifier <= 0.97 else "market_weight"


def post_process(raw: dict, snapshot: dict, run: Run, rng: random.Random) -> dict:
    """The guardrail escalates a stressed tape to bear (never the other way); ratings follow the modifiers."""
    regime = "bear" if snapshot["macro_data"]["vix"] > GUARDRAIL_VIX else raw["market_regime"]
    return {"macro_report": raw["report_md"], "sector_modifiers": raw["sector_modifiers"],
            "sector_ratings": {s: {"rating": rating(v), "rationale": filler(rng, 38)}
                               for s, v in raw["sector_modifiers"].items()},
            "market_regime": regime}


SYSTEM = ("You are the research desk's macro economist. From the macro data and your prior report, set the market "
          "regime (bull, neutral or bear) and a modifier per sector (1.0 neutral); write the report in markdown.")
TEMPLATE = """Macro review for {run_date}.

Macro data (latest prints, rounded):
{macro_data}

Your prior report ({prior_date}):
{prior_macro_report}

Return MacroEconomistRawOutput: market_regime, sector_modifiers, sector_ratings, report_md, key_theme,
material_changes."""

FAMILY = Family(
    name=NAME,
    rationales=("macro_report",),
    agent_ids=rf"{NAME}",
    decision=(Choice("market_regime", REGIMES), NumberMap("sector_modifiers"), OfType("report_md", str)),
    reply_model="MacroEconomistRawOutput",
    stored_at="agent_output.market_regime (after the bear guardrail), agent_output.sector_modifiers",
    from_output=comparable,
    from_reply=comparable,
    scorer=Scorer((Part("regime_match", 0.6, Categorical("market_regime")),
                   Part("modifier_pearson", 0.4, PearsonMap("sector_modifiers")))),
    kappa_on="market_regime",
    fit=FitSpec("market regime, per artifact", "macro_data: " + ", ".join(FEATURES), fit_rows),
    rule=HiddenRule(snapshot, decide, post_process, GRAPH_LEAD_MODEL, system=lambda s: SYSTEM, template=TEMPLATE,
                    sections=("run_date", "macro_data", "prior_macro_report", "prior_date"), rendered=True,
                    graph=("macro_economist_node", "macro_agent"), production_bytes=(20_000, 50_000),
                    volume=(Volume("legacy", order=0, per_day=1),)),
)
