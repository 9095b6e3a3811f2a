"""The hidden rules behind the synthetic corpus, shared by the corpus generator (the "expensive"
model that produced the originals) and the loopback model server (the "cheap" replay model).

Both apply the same rule to the same input snapshot with *different* noise, so replay
concordance is high but below 1, and the counterfactual fit finds real signal.
`decide` returns the model's raw reply shape; `post_process` turns it into the stored
`agent_output` shape, which differs for ic_cio and sector_peer_review exactly as in production.
"""


import json
import random
import re

SECTORS = ("technology", "healthcare", "financials", "energy", "industrials", "consumer", "utilities")
TICKERS = tuple(
    f"{a}{b}{c}" for a in "ABCDEFGHKLMNPRSTVW" for b in "AEIOU" for c in "XYZ"
)  # 270 fake tickers
REGIMES = ("bull", "neutral", "bear", "caution")

SYSTEM_PROMPT = (
    "You are the {family} agent of a quantitative research desk. Decide from the input "
    "snapshot only. Reply with one JSON object and nothing else, shaped as: {shape}"
)
REPLY_SHAPES = {
    "sector_quant": '{"ranked_picks": [{"ticker", "quant_score", "rationale"}]}',
    "sector_qual": '{"assessments": [{"ticker", "qual_score", "conviction", "bull_case", "bear_case"}]}',
    "sector_peer_review": '{"selected_decisions": [{"ticker", "rationale"}], "peer_review_rationale"}',
    "macro_economist": '{"market_regime", "sector_modifiers": {sector: 0.7..1.3}, "macro_report"}',
    "ic_cio": '{"decisions": [{"ticker", "decision": "ADVANCE"|"REJECT", "conviction", "rationale"}]}',
    "thesis_update": '{"final_score", "conviction", "bull_case", "conviction_rationale", "thesis_summary"}',
    "thinktank_thesis": '{"thesis", "horizon"}',
    "thinktank_theme": '{"theme", "tickers"}',
}
SNAPSHOT_OPEN, SNAPSHOT_CLOSE = "<input_snapshot>", "</input_snapshot>"
FAMILY_PATTERN = re.compile(r"You are the ([a-z_]+) agent")


def system_prompt(family: str) -> str:
    return SYSTEM_PROMPT.format(family=family, shape=REPLY_SHAPES[family])


def user_prompt(snapshot: dict) -> str:
    return f"Input snapshot:\n{SNAPSHOT_OPEN}\n{json.dumps(snapshot, sort_keys=True)}\n{SNAPSHOT_CLOSE}"


def parse_prompt(system: str, user: str) -> tuple[str, dict] | None:
    """(family, snapshot) recovered from a prompt built above, or None for any other prompt."""
    match = FAMILY_PATTERN.search(system)
    start, end = user.find(SNAPSHOT_OPEN), user.find(SNAPSHOT_CLOSE)
    if match is None or start < 0 or end < start:
        return None
    try:
        return match.group(1), json.loads(user[start + len(SNAPSHOT_OPEN) : end])
    except json.JSONDecodeError:
        return None


def _clip(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def _words(rng: random.Random, *pool: str) -> str:
    return " ".join(rng.sample(pool, k=min(len(pool), 4)))


# -- snapshots (what each agent saw) ------------------------------------------------------------


def make_snapshot(family: str, rng: random.Random) -> dict:
    tickers = rng.sample(TICKERS, 14)
    if family == "sector_quant":
        return {"sector": rng.choice(SECTORS), "universe": [
            {"ticker": t, "momentum": round(rng.gauss(0, 1), 3), "value": round(rng.gauss(0, 1), 3),
             "quality": round(rng.gauss(0, 1), 3)} for t in tickers]}
    if family == "sector_qual":
        return {"sector": rng.choice(SECTORS), "candidates": [
            {"ticker": t, "news_sentiment": round(rng.uniform(-1, 1), 3), "moat": round(rng.uniform(0, 1), 3)}
            for t in tickers[:10]]}
    if family == "sector_peer_review":
        return {"proposals": [
            {"ticker": t, "quant_score": round(rng.uniform(20, 95), 1), "qual_score": round(rng.uniform(20, 95), 1)}
            for t in tickers[:8]]}
    if family == "macro_economist":
        vix = round(rng.uniform(11, 38), 2)
        return {"macro_data": {
            "fed_funds_rate": round(rng.uniform(0.5, 5.5), 2), "treasury_2yr": round(rng.uniform(1, 5), 2),
            "treasury_10yr": round(rng.uniform(1.5, 5), 2), "yield_curve_slope": round(rng.uniform(-1, 2), 2),
            "vix": vix, "unemployment": round(rng.uniform(3.4, 7), 2), "cpi_yoy": round(rng.uniform(1, 6), 2),
            "consumer_sentiment": round(rng.uniform(50, 100), 1), "initial_claims": rng.randint(180, 320) * 1000,
            "hy_credit_spread_oas": round(rng.uniform(2.5, 7), 2), "sp500_close": round(rng.uniform(4000, 7000), 1),
            "sp500_30d_return": round(rng.uniform(-0.09, 0.08), 4), "qqq_30d_return": round(rng.uniform(-0.1, 0.1), 4),
            "iwm_30d_return": round(rng.uniform(-0.1, 0.1), 4), "oil_wti": round(rng.uniform(55, 95), 2),
            "gold": round(rng.uniform(1800, 2900), 1), "copper": round(rng.uniform(3.2, 5.1), 2)},
            "sector_returns": {s: round(rng.uniform(-0.08, 0.08), 4) for s in SECTORS}}
    if family == "ic_cio":
        return {"candidates": [
            {"ticker": t, "composite_score": round(rng.uniform(30, 95), 1), "quant_score": round(rng.uniform(20, 99), 1),
             "qual_score": round(rng.uniform(20, 99), 1), "conviction": round(rng.uniform(10, 95), 1),
             "sector_modifier": round(rng.uniform(0.7, 1.3), 2), "sector": rng.choice(SECTORS)}
            for t in tickers[: rng.randint(5, 10)]]}
    if family == "thesis_update":
        return {"ticker": tickers[0], "prior_score": round(rng.uniform(30, 80), 1),
                "news_delta": round(rng.uniform(-1, 1), 3), "earnings_surprise": round(rng.gauss(0, 0.05), 4)}
    return {"topic": rng.choice(SECTORS), "signals": [round(rng.gauss(0, 1), 3) for _ in range(5)]}


# -- the hidden rules (what the model decides), with noise --------------------------------------


def decide(family: str, snapshot: dict, rng: random.Random, noise: float) -> dict:
    """Raw reply for `snapshot` under the family's hidden rule; `noise` is the flip probability."""
    flip = lambda: rng.random() < noise  # noqa: E731
    if family == "sector_quant":
        scored = [(50 + 15 * (u["momentum"] + 0.6 * u["value"] + 0.4 * u["quality"]) + rng.gauss(0, 6 * noise * 10),
                   u["ticker"]) for u in snapshot["universe"]]
        scored.sort(reverse=True)
        return {"ranked_picks": [
            {"ticker": t, "quant_score": round(_clip(s, 0, 100), 1), "rationale": "momentum and value lead",
             "key_metrics": {"score": round(s, 2)}} for s, t in scored[:10]]}
    if family == "sector_qual":
        keep = [c for c in snapshot["candidates"] if (c["news_sentiment"] + c["moat"] > 0.6) != flip()]
        return {"assessments": [
            {"ticker": c["ticker"], "qual_score": round(_clip(50 + 40 * c["news_sentiment"], 0, 100), 1),
             "conviction": round(100 * c["moat"]), "bull_case": "durable moat", "bear_case": "valuation",
             "catalysts": ["earnings"], "risks": ["macro"]} for c in keep], "additional_candidate": None}
    if family == "sector_peer_review":
        keep = [p for p in snapshot["proposals"] if ((p["quant_score"] + p["qual_score"]) / 2 > 60) != flip()]
        return {"selected_decisions": [{"ticker": p["ticker"], "rationale": "scores agree"} for p in keep],
                "peer_review_rationale": "kept proposals whose quant and qual scores agree"}
    if family == "macro_economist":
        m = snapshot["macro_data"]
        if m["vix"] > 28:
            regime = "bear"
        elif m["vix"] > 20 and m["sp500_30d_return"] < 0:
            regime = "caution"
        elif m["sp500_30d_return"] > 0.02 and m["vix"] < 18:
            regime = "bull"
        else:
            regime = "neutral"
        if flip():
            regime = rng.choice(REGIMES)
        modifiers = {s: round(_clip(1 + 3 * r + rng.gauss(0, 0.03), 0.7, 1.3), 3)
                     for s, r in snapshot["sector_returns"].items()}
        return {"market_regime": regime, "sector_modifiers": modifiers,
                "sector_ratings": {s: ("overweight" if v > 1.05 else "underweight" if v < 0.95 else "neutral")
                                   for s, v in modifiers.items()},
                "macro_report": f"Regime {regime}: VIX {m['vix']}, S&P 30d {m['sp500_30d_return']:+.2%}."}
    if family == "ic_cio":
        decisions = []
        for c in snapshot["candidates"]:
            advance = (c["composite_score"] * c["sector_modifier"] > 65 and c["conviction"] > 30) != flip()
            decisions.append({"ticker": c["ticker"], "decision": "ADVANCE" if advance else "REJECT",
                              "conviction": round(c["conviction"]), "score": c["composite_score"],
                              "rationale": "composite and sector tailwind" if advance else "insufficient edge"})
        return {"decisions": decisions}
    if family == "thesis_update":
        score = _clip(snapshot["prior_score"] + 20 * snapshot["news_delta"] + rng.gauss(0, 40 * noise), 0, 100)
        up = snapshot["news_delta"] > 0
        return {"final_score": round(score, 1), "conviction": round(_clip(score + rng.gauss(0, 5), 0, 100), 1),
                "bull_case": "demand accelerating with margin expansion" if up else "valuation support with buybacks",
                "conviction_rationale": _words(rng, "news", "flow", "earnings", "guidance", "raised" if up else "cut"),
                "thesis_summary": f"{snapshot['ticker']} thesis {'strengthened' if up else 'weakened'} on news"}
    if family == "thinktank_thesis":
        return {"thesis": f"{snapshot['topic']} leadership rotates", "horizon": rng.choice(["1m", "3m", "6m"])}
    if family == "thinktank_theme":
        return {"theme": snapshot["topic"], "tickers": rng.sample(TICKERS, 3)}
    raise ValueError(f"no rule for family {family!r}")


def post_process(family: str, raw: dict) -> dict:
    """The stored `agent_output`: what the producer made of the raw reply."""
    if family == "ic_cio":
        decisions = raw["decisions"]
        advanced = [d["ticker"] for d in decisions if d["decision"] == "ADVANCE"]
        return {"ic_decisions": decisions, "advanced_tickers": advanced,
                "entry_theses": {t: "enter on weakness" for t in advanced}}
    if family == "sector_peer_review":
        tickers = [d["ticker"] for d in raw["selected_decisions"]]
        return {"recommendations": [{"ticker": t, "action": "accept"} for t in tickers[:3]],
                "additional_accepted": tickers[3:], "peer_review_rationale": raw["peer_review_rationale"]}
    return raw
