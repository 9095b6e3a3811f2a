"""Replay replies: find the JSON in a model's text and check it has the family's decision fields.

The model is asked for the family's *raw* output shape; a reply in the producer's post-processed
shape is accepted too (a reply may legitimately repeat the original). Validation is one pass,
no retry: a reply that does not validate is a `schema_error` row (domain §2).
"""

import json
from typing import Any

IC_DECISIONS = ("ADVANCE", "REJECT", "NO_ADVANCE_DEADLOCK", "ADVANCE_FORCED")
REGIMES = ("bull", "neutral", "bear", "caution")


class SchemaError(ValueError):
    pass


def extract_json(text: str) -> dict:
    """The first JSON object in `text`: bare, fenced in ```json, or wrapped in prose."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start >= 0:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    raise SchemaError("no JSON object in the reply")


def _list_of_tickers(reply: dict, *names: str) -> list[dict]:
    name = next((n for n in names if n in reply), None)
    if name is None:
        raise SchemaError(f"missing {' or '.join(names)}")
    items = reply[name]
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("ticker"), str) for i in items):
        raise SchemaError(f"{name} must be a list of objects with a string ticker")
    return items


def _number(reply: dict, name: str) -> None:
    value = reply.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise SchemaError(f"{name} must be a number")


def validate(family: str, reply: Any) -> dict:
    """Return `reply` if it carries every field the family's scorer reads; else SchemaError."""
    if not isinstance(reply, dict):
        raise SchemaError("reply is not a JSON object")
    if family == "sector_quant":
        _list_of_tickers(reply, "ranked_picks")
    elif family == "sector_qual":
        _list_of_tickers(reply, "assessments")
    elif family == "sector_peer_review":
        _list_of_tickers(reply, "selected_decisions", "recommendations")
        accepted = reply.get("additional_accepted", [])
        if not isinstance(accepted, list):
            raise SchemaError("additional_accepted must be a list")
    elif family == "macro_economist":
        if reply.get("market_regime") not in REGIMES:
            raise SchemaError(f"market_regime must be one of {REGIMES}")
        modifiers = reply.get("sector_modifiers")
        if not isinstance(modifiers, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in modifiers.values()
        ):
            raise SchemaError("sector_modifiers must map sector -> number")
    elif family == "ic_cio":
        for item in _list_of_tickers(reply, "decisions", "ic_decisions"):
            if item.get("decision") not in IC_DECISIONS:
                raise SchemaError(f"decision must be one of {IC_DECISIONS}")
    elif family == "thesis_update":
        _number(reply, "final_score")
        _number(reply, "conviction")
        if reply.get("final_score") is None and reply.get("conviction") is None:
            raise SchemaError("neither final_score nor conviction")
    return reply


def parse_reply(family: str, text: str) -> dict:
    return validate(family, extract_json(text))
