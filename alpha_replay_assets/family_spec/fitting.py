"""Feature rows for the counterfactual rule fit (docs/domain.md §3): the pieces a family's `FitSpec.rows`
is built from. Pure functions of one artifact.

A row is ``{"label", "features", "all_default"}`` plus ``"defaulted"`` (the names of the features
that were absent and given their default) when any was, or ``{"label", "error"}`` when a value
cannot be read as a number, so bad inputs are counted, never guessed. `features` always holds every
declared feature, so a fit knows each one's coverage (the share of rows where it was present).
"""

import math
from collections.abc import Callable, Iterable
from typing import Any

# v2: macro features read from `macro_data` (v1, the system we replace, read keys the producer
# never writes, so every macro feature was its default and the tree predicted the majority).
# v3: every LLM family with a decision is fitted (the family registry), not only ic_cio and macro.
# v4: rows name their defaulted features (coverage per feature; a fit on absent inputs is `no_features`).
EXTRACTOR_VERSION = 4

# name -> (dotted path into the source object, default when absent)
Features = dict[str, tuple[str, float]]


class UnreadableFeature(ValueError):
    pass


def same_named(defaults: dict[str, float]) -> Features:
    """Features read from keys of the same name."""
    return {name: (name, default) for name, default in defaults.items()}


def read_path(source: Any, path: str) -> Any:
    for part in path.split("."):
        source = source.get(part) if isinstance(source, dict) else None
    return source


def _number(value: Any, default: float, name: str) -> tuple[float, bool]:
    """(value, was_default); bool and non-finite numbers are not features."""
    if value is None:
        return default, True
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UnreadableFeature(f"{name}={value!r:.40} is not a finite number")
    return float(value), False


def feature_row(label: str, source: Any, features: Features) -> dict:
    """One decision's row: `features` read from `source` (a dict; anything else reads as empty)."""
    values, defaulted = {}, []
    try:
        for name, (path, default) in features.items():
            values[name], was_default = _number(read_path(source, path), default, name)
            if was_default:
                defaulted.append(name)
    except UnreadableFeature as exc:
        return {"label": label, "error": str(exc)}
    row = {"label": label, "features": values, "all_default": len(defaulted) == len(features)}
    return row | {"defaulted": defaulted} if defaulted else row


def by_ticker(items: Any) -> dict[str, dict]:
    """ticker -> object, for a list of objects with a string ticker (others ignored)."""
    return {i["ticker"]: i for i in items or [] if isinstance(i, dict) and isinstance(i.get("ticker"), str)}


def candidate_rows(candidates: Any, label_of: Callable[[str], str], features: Features) -> list[dict]:
    """One row per candidate the agent saw (a list of objects with a ticker), labelled by what the
    agent did with that ticker (picked, accepted, ...)."""
    return [feature_row(label_of(ticker), candidate, features) for ticker, candidate in by_ticker(candidates).items()]


def bucket(value: Any, edges: Iterable[float], labels: tuple[str, ...]) -> str | None:
    """`labels[i]` for the first edge `value` is below (the last label above all edges); None
    for a non-number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    for edge, label in zip(edges, labels):
        if value < edge:
            return label
    return labels[-1]
