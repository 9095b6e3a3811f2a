"""executor — the order executors (`executor:position_sizer`, `executor:risk_guard`,
`executor:entry_triggers`, `executor:exit_rules`).

Deterministic rules, no LLM (`model_metadata` and `full_prompt_context` null): indexed and
counted, never replayed, scored or fitted; their verdict row says `unsupported` with that reason.
Run id `{run_date}_{TICKER}_{8 hex}`; every snapshot names its `_producer`.
"""

import datetime as dt
import random

from alpha_replay_assets.family_spec.family import Family, named_after
from alpha_replay_assets.family_spec.rule import HiddenRule, Run, Volume
from alpha_replay_assets.family_spec.synthetic import SECTORS, TICKERS

NAME = named_after(__name__)

EXECUTORS = ("position_sizer", "risk_guard", "entry_triggers", "exit_rules")
THRESHOLDS = {"max_position_pct": 0.05, "max_sector_pct": 0.25, "drawdown_halt_pct": 0.08, "pullback_pct": 0.02,
              "vwap_discount": 0.005, "support_pct": 0.01, "expiry_time": "15:30", "min_score_to_enter": 70}


def snapshot(rng: random.Random, day: dt.date, scope: str | None = None) -> dict:
    kind, ticker, price = scope or rng.choice(EXECUTORS), rng.choice(TICKERS), round(rng.uniform(60, 790), 2)
    common = {"_producer": f"executor.{kind}", "_producer_version": "1.0.0", "ticker": ticker}
    if kind == "position_sizer":
        return common | {"signal": {"score": round(rng.uniform(64, 89), 1),
                                    "conviction": rng.choice(("rising", "stable")),
                                    "sector": rng.choice(SECTORS), "rating": None, "price_target_upside": None},
                         "portfolio_nav": 1e6, "current_price": price, "atr_pct": round(rng.uniform(1, 3.6), 2)}
    if kind == "risk_guard":
        return common | {"action": "ENTER", "dollar_size": 25000.0, "sector": rng.choice(SECTORS),
                         "existing_sector_exposure": float(rng.choice((0, 10000, 40000, 260000))), "portfolio_nav": 1e6,
                         "drawdown_fraction": round(rng.uniform(0, 0.1), 4), "thresholds": dict(THRESHOLDS)}
    if kind == "entry_triggers":
        return common | {"current_price": price, "vwap": round(price * rng.uniform(0.99, 1.01), 2),
                         "day_low": round(price * 0.985, 2), "day_high": round(price * 1.02, 2),
                         "support_level": round(price * 0.98, 2), "now_et": f"{day.isoformat()}T11:05:00-04:00",
                         "thresholds": dict(THRESHOLDS)}
    entry = round(price * rng.uniform(0.8, 1.2), 2)
    return common | {"entry_price": entry, "current_price": price, "gain_pct": round(price / entry - 1, 4),
                     "days_held": rng.randint(1, 40), "evaluation_layer": rng.choice(("daemon_intraday", "planner")),
                     "shares_held": rng.randint(20, 60), "thresholds": dict(THRESHOLDS)}


def decide(snapshot: dict, rng: random.Random, noise: float) -> dict:
    kind = snapshot["_producer"].split(".")[1]
    if kind == "position_sizer":
        shares = int(0.025 * snapshot["portfolio_nav"] * snapshot["signal"]["score"] / 80 // snapshot["current_price"])
        return {"shares": shares, "dollar_size": round(shares * snapshot["current_price"], 1),
                "sized_outcome": "sized" if shares else "zero_size", "atr_adj": None, "conviction_adj": None,
                "dd_multiplier": None, "position_pct": None}
    if kind == "risk_guard":
        over = snapshot["existing_sector_exposure"] + snapshot["dollar_size"] > 0.25 * snapshot["portfolio_nav"]
        return {"outcome": "vetoed" if over else "approved", "reason": "sector cap" if over else "within limits",
                "events": [], "vetoed_rule": "max_sector_pct" if over else None}
    if kind == "entry_triggers":
        pulled_back = snapshot["current_price"] <= snapshot["day_high"] * 0.98
        return {"fired_trigger": "pullback 2%" if pulled_back else "time expiry",
                "trigger_kind": "pullback" if pulled_back else "time_expiry", "fill_price": snapshot["current_price"],
                "captured_at_fill_attempt": True}
    rule = ("profit take +18%" if snapshot["gain_pct"] > 0.18 else
            "time decay 30d" if snapshot["days_held"] > 30 else "ATR trailing stop hit")
    return {"outcome": "fired", "action": "EXIT", "fired_rule": rule, "fired_rule_key": "research_exit",
            "fired_rule_kind": "unknown", "actual_shares_exited": snapshot["shares_held"]}


def post_process(raw: dict, snapshot: dict, run: Run, rng: random.Random) -> dict:
    return dict(raw)


FAMILY = Family(
    name=NAME,
    agent_ids=rf"{NAME}(:[\w-]+)?",
    is_llm=False,
    unsupported_reason="deterministic executor (no LLM decision): indexed and counted, never replayed or fitted",
    rule=HiddenRule(snapshot, decide, post_process, model="", system=lambda s: "", template="",
                    agent_id=lambda s: f"{NAME}:{s['_producer'].split('.')[1]}",
                    # one per sector team in the graph era; 16 a day today, by the executor process
                    volume=(Volume("legacy", order=6, per_team=1, kinds=EXECUTORS),
                            Volume("today", order=2, per_day=16, producer="executors", at=(50_700, 600),
                                   kinds=EXECUTORS))),
)
