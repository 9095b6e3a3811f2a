"""Typed pieces a family's agreement scorer is composed of (docs/domain.md §2.1), and the composition.

Each comparator reads one field of the *normalised* original and reply and returns a value in
[0, 1], or None when it cannot say (a field missing or of the wrong type); the `Scorer` weighs
them. Two fixes over the system we replace live here:

* both-empty Jaccard: "both picked nothing" is agreement (1.0), not 0;
* shape mismatch: each family normalises both sides (raw reply, post-processed original) into one
  comparable form before any comparator runs (see the family modules).
"""

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

WORD = re.compile(r"[a-z]+")


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def jaccard(a: set, b: set) -> float:
    """|A∩B| / |A∪B|; two empty sets agree (1.0) — fixed on purpose, see module docstring."""
    union = a | b
    return 1.0 if not union else len(a & b) / len(union)


def words(text: str) -> set[str]:
    return set(WORD.findall(text.lower()))


def text_similarity(a: str, b: str) -> float:
    """Jaccard of the lowercase `[a-z]+` word sets."""
    return jaccard(words(a), words(b))


def pearson(xs: list[float], ys: list[float]) -> float | None:
    """None for n < 2, unequal lengths or zero variance."""
    if len(xs) != len(ys) or len(xs) < 2:
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / math.sqrt(sxx * syy)


def closeness(a: Any, b: Any, span: float) -> float | None:
    """max(0, 1 − |a − b| / span) for two numbers, else None."""
    return max(0.0, 1 - abs(a - b) / span) if is_number(a) and is_number(b) else None


def tickers(items: Any) -> list[str]:
    """The string tickers of a list of objects, in order (a normaliser's usual first step)."""
    return [i["ticker"] for i in items or [] if isinstance(i, dict) and isinstance(i.get("ticker"), str)]


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


# -- comparators: (normalised original, normalised reply) -> value | None -----------------------


@dataclass(frozen=True)
class Categorical:
    """1 when both values are equal and not null, else 0."""
    field: str

    def __call__(self, a: dict, b: dict) -> float:
        return float(a.get(self.field) is not None and a.get(self.field) == b.get(self.field))

    def __str__(self) -> str:
        return f"[{self.field} equal]"


@dataclass(frozen=True)
class Same:
    """1 when both values are equal, 0 when not, None when either side lacks the field (a part
    only one of a producer's response models carries, e.g. a yes/no verdict)."""
    field: str

    def __call__(self, a: dict, b: dict) -> float | None:
        x, y = a.get(self.field), b.get(self.field)
        return None if x is None or y is None else float(x == y)

    def __str__(self) -> str:
        return f"[{self.field} same]"


@dataclass(frozen=True)
class CategoricalMap:
    """Share of the keys both maps have whose values are equal; None without a common key."""
    field: str

    def __call__(self, a: dict, b: dict) -> float | None:
        x, y = _mapping(a.get(self.field)), _mapping(b.get(self.field))
        common = set(x) & set(y)
        return sum(x[k] == y[k] for k in common) / len(common) if common else None

    def __str__(self) -> str:
        return f"share of common keys with equal {self.field}"


@dataclass(frozen=True)
class Closeness:
    """Bounded numeric closeness: max(0, 1 − |a − b| / (hi − lo))."""
    field: str
    lo: float
    hi: float

    def __call__(self, a: dict, b: dict) -> float | None:
        return closeness(a.get(self.field), b.get(self.field), self.hi - self.lo)

    def __str__(self) -> str:
        return f"closeness({self.field}, {self.lo:g}–{self.hi:g})"


@dataclass(frozen=True)
class ClosenessMap:
    """Mean bounded closeness over the keys both maps give a number for."""
    field: str
    lo: float
    hi: float

    def __call__(self, a: dict, b: dict) -> float | None:
        x, y = _mapping(a.get(self.field)), _mapping(b.get(self.field))
        values = [c for k in sorted(set(x) & set(y)) if (c := closeness(x[k], y[k], self.hi - self.lo)) is not None]
        return sum(values) / len(values) if values else None

    def __str__(self) -> str:
        return f"mean closeness({self.field}.*, {self.lo:g}–{self.hi:g})"


@dataclass(frozen=True)
class TickerSet:
    """Jaccard of two ticker sets; `top_k` reads a ranked list and keeps its first k. None when
    either side has no such list at all (an empty one is a list)."""
    field: str
    top_k: int | None = None

    def __call__(self, a: dict, b: dict) -> float | None:
        if a.get(self.field) is None or b.get(self.field) is None:
            return None
        x, y = list(a[self.field]), list(b[self.field])
        if self.top_k is not None:
            x, y = x[: self.top_k], y[: self.top_k]
        return jaccard(set(x), set(y))

    def __str__(self) -> str:
        return f"Jaccard({self.field}" + (f", top {self.top_k})" if self.top_k else ")")


@dataclass(frozen=True)
class Tokens:
    """Word-set similarity of two texts; None unless both are strings."""
    field: str

    def __call__(self, a: dict, b: dict) -> float | None:
        x, y = a.get(self.field), b.get(self.field)
        return text_similarity(x, y) if isinstance(x, str) and isinstance(y, str) else None

    def __str__(self) -> str:
        return f"tokens({self.field})"


@dataclass(frozen=True)
class PearsonMap:
    """Pearson correlation of two maps over their common numeric keys (raw r; the scorer floors
    a negative correlation at 0)."""
    field: str

    def __call__(self, a: dict, b: dict) -> float | None:
        x, y = _mapping(a.get(self.field)), _mapping(b.get(self.field))
        common = [k for k in sorted(set(x) & set(y)) if is_number(x[k]) and is_number(y[k])]
        return pearson([float(x[k]) for k in common], [float(y[k]) for k in common])

    def __str__(self) -> str:
        return f"max(0, Pearson({self.field}))"


@dataclass(frozen=True)
class MeanOf:
    """Mean of the parts that can be computed; None when none can."""
    parts: tuple

    def __call__(self, a: dict, b: dict) -> float | None:
        values = [v for p in self.parts if (v := p(a, b)) is not None]
        return sum(values) / len(values) if values else None

    def __str__(self) -> str:
        first = self.parts[0]
        if len({type(p) for p in self.parts}) == 1 and hasattr(first, "field"):
            # one comparator over several fields reads as one: "mean closeness(a, b, 0–100)"
            name, rest = str(first).split(f"({first.field}", 1)
            return f"mean {name}({', '.join(p.field for p in self.parts)}{rest}"
        return f"mean({', '.join(map(str, self.parts))})"


# -- the composition --------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    name: str  # its key in the row's diagnostics
    weight: float
    compare: Callable[[dict, dict], float | None]


@dataclass(frozen=True)
class Scorer:
    """Σ weight · max(0, part). `missing` says what a part that cannot be computed does:
    `zero` scores it 0; `renormalise` weighs only the parts that exist (none: 0)."""
    parts: tuple[Part, ...]
    missing: str = "zero"

    def __call__(self, a: dict, b: dict) -> tuple[float, dict]:
        values = {p.name: p.compare(a, b) for p in self.parts}
        weighted = [(p.weight, max(0.0, values[p.name])) for p in self.parts if values[p.name] is not None]
        if self.missing == "zero":
            score = sum(w * v for w, v in weighted)
        elif len(weighted) == 1:
            score = weighted[0][1]
        else:
            score = sum(w * v for w, v in weighted) / sum(w for w, _ in weighted) if weighted else 0.0
        return score, values

    def __str__(self) -> str:
        if len(self.parts) > 1:
            terms = " + ".join(f"{p.weight:g}·{p.compare}" for p in self.parts)
        else:
            terms = str(self.parts[0].compare)
        if self.missing == "renormalise" and len(self.parts) > 1:
            terms += " (weights over the parts present)"
        return terms
