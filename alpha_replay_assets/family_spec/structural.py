"""The structural scorer: agreement of two JSON values of a family nobody declared (docs/domain.md §1.4).

Recursive over the JSON, every leaf carries a weight (its share of its parent) and a score:

* objects by key: each key of either side an equal share; a key on one side only scores 0;
* lists of objects that share an id-like field (`ticker`, `symbol`, `id`, ...) are matched by
  that id (an id on one side only scores 0); other lists of objects pair by position; lists of
  scalars compare as sets (Jaccard);
* numbers by relative closeness 1 − |a − b| / max(|a|, |b|); booleans and nulls by equality;
* short strings (≤ 4 words) by case-insensitive equality, longer ones by word-set similarity;
* anything else (a type mismatch) scores 0; two empty containers agree.

The score is Σ weight · score ∈ [0, 1]; the diagnostics say which fields carried the weight and
where the agreement was lost, so a reader can see what drove it.
"""

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from alpha_replay_assets.family_spec.comparators import is_number, jaccard, text_similarity, words
from alpha_replay_assets.family_spec.family import Agreement
from alpha_replay_assets.family_spec.fields import SchemaError

NAME = "structural"
ID_FIELDS = ("ticker", "symbol", "id", "key", "name", "sector")
SHORT_WORDS = 4
TOP_LOSSES = 5


@dataclass(frozen=True)
class Leaf:
    path: str
    weight: float
    score: float


def _id_field(a: list, b: list) -> str | None:
    items = a + b
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    return next((f for f in ID_FIELDS if all(isinstance(i.get(f), (str, int)) for i in items)), None)


def _scalar(a: Any, b: Any) -> float:
    if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
        return float(a == b and type(a) is type(b))
    if is_number(a) and is_number(b):
        scale = max(abs(a), abs(b))
        return 1.0 if scale == 0 else max(0.0, 1 - abs(a - b) / scale)
    if isinstance(a, str) and isinstance(b, str):
        if max(len(words(a)), len(words(b))) > SHORT_WORDS:
            return text_similarity(a, b)
        return float(a.strip().lower() == b.strip().lower())
    return 0.0


def _hashable(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _walk(a: Any, b: Any, path: str, weight: float, leaves: list[Leaf]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b))
        if not keys:
            leaves.append(Leaf(path, weight, 1.0))
        for key in keys:
            child = f"{path}.{key}" if path else key
            if key in a and key in b:
                _walk(a[key], b[key], child, weight / len(keys), leaves)
            else:
                leaves.append(Leaf(child, weight / len(keys), 0.0))
    elif isinstance(a, list) and isinstance(b, list):
        if not a and not b:
            leaves.append(Leaf(path, weight, 1.0))
        elif (field := _id_field(a, b)) is not None:
            x = {i[field]: i for i in reversed(a)}  # the first of duplicate ids wins
            y = {i[field]: i for i in reversed(b)}
            ids = sorted(set(x) | set(y), key=str)
            for i in ids:
                child = f"{path}[{field}={i}]"
                if i in x and i in y:
                    _walk(x[i], y[i], child, weight / len(ids), leaves)
                else:
                    leaves.append(Leaf(child, weight / len(ids), 0.0))
        elif not any(isinstance(v, (dict, list)) for v in a + b):
            leaves.append(Leaf(path, weight, jaccard({_hashable(v) for v in a}, {_hashable(v) for v in b})))
        else:
            n = max(len(a), len(b))
            for i in range(n):
                if i < len(a) and i < len(b):
                    _walk(a[i], b[i], f"{path}[{i}]", weight / n, leaves)
                else:
                    leaves.append(Leaf(f"{path}[{i}]", weight / n, 0.0))
    elif isinstance(a, (dict, list)) or isinstance(b, (dict, list)):
        leaves.append(Leaf(path, weight, 0.0))
    else:
        leaves.append(Leaf(path, weight, _scalar(a, b)))


def _top(path: str) -> str:
    return path.split(".", 1)[0].split("[", 1)[0] or "$"


def structural(original: Any, reply: Any) -> Agreement:
    """Agreement of two JSON values, with what drove it: per top-level field its weight and score,
    and the leaves where the most weight was lost."""
    leaves: list[Leaf] = []
    _walk(original, reply, "", 1.0, leaves)
    weight, scored = defaultdict(float), defaultdict(float)  # per top-level field
    for leaf in leaves:
        weight[_top(leaf.path)] += leaf.weight
        scored[_top(leaf.path)] += leaf.weight * leaf.score
    losses = sorted((leaf for leaf in leaves if leaf.score < 1), key=lambda leaf: -leaf.weight * (1 - leaf.score))
    score = min(1.0, sum(scored.values()))
    return Agreement(score, {
        "leaves": len(leaves),
        "fields": {name: {"weight": round(w, 4), "score": round(scored[name] / w, 4) if w else None}
                   for name, w in sorted(weight.items())},
        "lost": [{"path": leaf.path, "weight": round(leaf.weight, 4), "score": round(leaf.score, 4)}
                 for leaf in losses[:TOP_LOSSES]],
    }, NAME)


class Structural:
    """The judge of unregistered families (and of declared ones whose original lacks the declared
    fields): any JSON object that shares a top-level key with the original is an answer."""

    name = NAME

    def validate(self, reply: Any, original: dict | None = None) -> dict:
        if not isinstance(reply, dict) or not reply:
            raise SchemaError("reply is not a non-empty JSON object")
        if original and not set(reply) & set(original):
            fields = ", ".join(sorted(original))[:120]
            raise SchemaError(f"reply shares no top-level field with the original ({fields})")
        return reply

    def score(self, original: dict, reply: dict) -> Agreement:
        return structural(original, reply)

    def label_pairs(self, original: dict, reply: dict) -> list[list[str]]:
        return []


STRUCTURAL = Structural()
