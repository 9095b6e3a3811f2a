"""Decision features for the counterfactual rule fit (domain §3), pure functions of one artifact.

Each extractor returns one dict per decision: ``{"label", "features", "all_default"}`` or
``{"error"}`` when a value cannot be read as a number, so bad rows are counted, never guessed.
"""


import math
from typing import Any

# v2: macro features read from `macro_data` (v1, the system we replace, read keys the producer
# never writes, so every macro feature was its default and the tree predicted the majority).
EXTRACTOR_VERSION = 2

IC_CIO_DEFAULTS = {
    "composite_score": 0.0,
    "quant_score": 0.0,
    "qual_score": 0.0,
    "conviction": 0.0,
    "sector_modifier": 1.0,
}
IC_CIO_LABELS = ("ADVANCE", "REJECT")

MACRO_DEFAULTS = {
    "vix": 0.0,
    "yield_curve_slope": 0.0,
    "sp500_30d_return": 0.0,
    "hy_credit_spread_oas": 0.0,
    "cpi_yoy": 0.0,
    "unemployment": 0.0,
    "treasury_10yr": 0.0,
    "fed_funds_rate": 0.0,
}
MACRO_REGIMES = ("bull", "neutral", "bear", "caution")


class UnreadableFeature(ValueError):
    pass


def _number(value: Any, default: float, name: str) -> tuple[float, bool]:
    """(value, was_default); bool and non-finite numbers are not features."""
    if value is None:
        return default, True
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UnreadableFeature(f"{name}={value!r:.40} is not a finite number")
    return float(value), False


def _features(source: dict, defaults: dict[str, float]) -> tuple[dict[str, float], bool]:
    values, all_default = {}, True
    for name, default in defaults.items():
        values[name], was_default = _number(source.get(name), default, name)
        all_default &= was_default
    return values, all_default


def _row(label: str, source: dict, defaults: dict[str, float]) -> dict:
    try:
        features, all_default = _features(source, defaults)
    except UnreadableFeature as exc:
        return {"label": label, "error": str(exc)}
    return {"label": label, "features": features, "all_default": all_default}


def ic_cio_rows(snapshot: dict, output: dict) -> list[dict]:
    """One row per ADVANCE/REJECT decision, features from the candidate with the same ticker."""
    candidates = {
        c.get("ticker"): c
        for c in snapshot.get("candidates") or []
        if isinstance(c, dict) and isinstance(c.get("ticker"), str)
    }
    decisions = output.get("ic_decisions", output.get("decisions")) or []
    rows = []
    for decision in decisions:
        if not isinstance(decision, dict) or decision.get("decision") not in IC_CIO_LABELS:
            continue
        candidate = candidates.get(decision.get("ticker"), {})
        rows.append(_row(decision["decision"], candidate, IC_CIO_DEFAULTS))
    return rows


def macro_economist_rows(snapshot: dict, output: dict) -> list[dict]:
    regime = output.get("market_regime")
    if regime not in MACRO_REGIMES:
        return []
    macro_data = snapshot.get("macro_data")
    return [_row(regime, macro_data if isinstance(macro_data, dict) else {}, MACRO_DEFAULTS)]


EXTRACTORS = {"ic_cio": ic_cio_rows, "macro_economist": macro_economist_rows}


def extract(family: str, snapshot: dict, output: dict) -> list[dict] | None:
    """Rows for a fitted family, or None when the family is not fitted."""
    extractor = EXTRACTORS.get(family)
    return None if extractor is None else extractor(snapshot, output)
