"""What an agent family is: one frozen declaration holding everything alpha-replay knows about it.

A `Family` says which agent ids it writes under, which decision fields a reply must carry (and
their types), how an original and a reply are made comparable and scored (a `Scorer` composed
of typed comparators), which labels Cohen's kappa is computed on, what the counterfactual fit
predicts from which inputs, and the synthetic corpus's hidden rule for it. Pure: no Dagster, no I/O.
"""

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alpha_replay_assets.families.comparators import Scorer, is_number

# Recorded on every concordance row so series before and after a scorer change stay comparable.
# 1 = the legacy scorer (both-empty = 0, no shape normalisation); 2 = both fixed (see comparators).
# Unchanged by the family registry: the six graph families' scorers give the same numbers, and the
# families scored for the first time (think tank, structural) are told apart by the `scorer` column.
SCORER_VERSION = 2
# Where a family's agent_output records the total cost of all of an artifact's calls, when the
# producer made more calls than model_metadata prices (the think tank's thesis: its pillar
# assessment). Read by every family unless it declares otherwise; see `Family.total_cost_field`.
TOTAL_COST_FIELD = "cost_usd"


class SchemaError(ValueError):
    """A reply without the family's decision fields: a `schema_error` row, never retried."""


@dataclass(frozen=True)
class Agreement:
    score: float
    diagnostics: dict = field(default_factory=dict)
    scorer: str = ""  # the family name, or `structural`


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


# -- decision fields: what a reply must carry, with its type ------------------------------------
# Each has `check(reply)` (raises SchemaError saying what is wrong) and reads as its README cell.


JSON_TYPES = {list: "list", str: "string", dict: "object"}


def _names(spelling: str) -> tuple[str, ...]:
    return tuple(spelling.split("|"))


@dataclass(frozen=True)
class Choice:
    """A categorical field: one of `values`."""
    name: str
    values: tuple[str, ...]
    required: bool = True

    def check(self, obj: dict) -> None:
        if self.name not in obj and not self.required:
            return
        if obj.get(self.name) not in self.values:
            raise SchemaError(f"{self.name} must be one of {self.values}")

    def __str__(self) -> str:
        return f"{self.name} ∈ {'|'.join(self.values)}"


@dataclass(frozen=True)
class Number:
    """A number (never a bool), optionally bounded; absent is fine unless required."""
    name: str
    lo: float | None = None
    hi: float | None = None
    required: bool = False

    def check(self, obj: dict) -> None:
        value = obj.get(self.name)
        if value is None and not self.required:
            return
        if not is_number(value):
            raise SchemaError(f"{self.name} must be a number")
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise SchemaError(f"{self.name} must be within {self.lo}..{self.hi}")

    def __str__(self) -> str:
        bounds = f" {self.lo:g}–{self.hi:g}" if self.lo is not None and self.hi is not None else ""
        return f"{self.name}: number{bounds}"


@dataclass(frozen=True)
class NumberMap:
    """An object mapping keys to numbers."""
    name: str

    def check(self, obj: dict) -> None:
        value = obj.get(self.name)
        if not isinstance(value, dict) or not all(map(is_number, value.values())):
            raise SchemaError(f"{self.name} must map key -> number")

    def __str__(self) -> str:
        return f"{self.name}: {{key: number}}"


@dataclass(frozen=True)
class TickerList:
    """A list of objects with a string `ticker` under one of the `|`-separated names (raw shape
    first, post-processed shape second); `item` checks a field of every element."""
    names: str
    item: Choice | None = None

    def check(self, obj: dict) -> None:
        names = _names(self.names)
        name = next((n for n in names if n in obj), None)
        if name is None:
            raise SchemaError(f"missing {' or '.join(names)}")
        items = obj[name]
        if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("ticker"), str)
                                                  for i in items):
            raise SchemaError(f"{name} must be a list of objects with a string ticker")
        for element in items if self.item else ():
            self.item.check(element)

    def __str__(self) -> str:
        item = f", {self.item}" if self.item else ""
        return f"{' or '.join(_names(self.names))}: [{{ticker{item}}}]"


@dataclass(frozen=True)
class OfType:
    """A field of one JSON type (`list`, `str`), if present."""
    name: str
    type: type

    def check(self, obj: dict) -> None:
        if self.name in obj and not isinstance(obj[self.name], self.type):
            raise SchemaError(f"{self.name} must be a {JSON_TYPES[self.type]}")

    def __str__(self) -> str:
        return f"{self.name}: {JSON_TYPES[self.type]}"


@dataclass(frozen=True)
class AnyOf:
    """At least one of `fields` present (each checked)."""
    fields: tuple

    def check(self, obj: dict) -> None:
        for f in self.fields:
            f.check(obj)
        if all(obj.get(f.name) is None for f in self.fields):
            raise SchemaError(f"neither {' nor '.join(f.name for f in self.fields)}")

    def __str__(self) -> str:
        return " and/or ".join(map(str, self.fields))


# -- the counterfactual fit and the corpus's hidden rule ---------------------------------------


@dataclass(frozen=True)
class FitSpec:
    """Domain §3: one row per decision with its label and its inputs as numeric features."""
    target: str  # what the tree predicts
    inputs: str  # from what
    rows: Callable[[dict, dict], list[dict]]  # (input snapshot, agent output) -> feature rows (see fitting)


def _same(output: dict) -> dict:
    return output


@dataclass(frozen=True)
class HiddenRule:
    """How the synthetic corpus makes this family's artifacts, and how the loopback model answers
    its prompts: the same rule on the same snapshot, with different noise (`noise` = the
    probability of flipping a decision). Lives beside the family; `sample/` only calls it."""
    snapshot: Callable[[random.Random], dict]
    decide: Callable[[dict, random.Random, float], dict]  # -> the model's raw reply
    reply_shape: str  # the shape the system prompt asks for
    # The standing instructions after the system prompt's first lines: a handbook and worked
    # examples where production's prompt has them (long enough for the prompt cache), else "".
    instructions: str = ""
    post_process: Callable[[dict], dict] = _same  # raw reply -> the stored agent_output
    agent_id: Callable[[dict], str] | None = None  # from the snapshot; None = the family name
    run_suffix: Callable[[dict], str] | None = None  # appended to the pipeline's run id
    trading_day_filing: bool = False  # weekend runs are filed in Friday's folder
    # (low, high) bytes of a production artifact, when its snapshot carries bulk text (news, filings,
    # data series) the rule itself does not make: a `sizes="production"` corpus pads up to a size
    # drawn from this range. None: the rule's own snapshot is production-sized.
    production_bytes: tuple[int, int] | None = None


@dataclass(frozen=True)
class Family:
    name: str
    agent_ids: str  # regex, full match: the agent ids this family writes under
    decision: tuple = ()  # decision fields (above) a reply must carry
    normalise: Callable[[dict], dict] = _same  # either shape (raw reply, stored output) -> one form
    scorer: Scorer | None = None  # over the normalised forms; None = not replayed
    kappa_on: str | None = None  # normalised field with categorical labels (a value or a key -> label map)
    fit: FitSpec | None = None
    is_llm: bool = True
    # The original's field names are not known for sure: an original without the declared
    # decision fields is scored by the structural scorer instead of failing every reply.
    structural_fallback: bool = False
    rule: HiddenRule | None = None
    unsupported_reason: str = "no decision field to replay or fit"
    # agent_output field with the artifact's total cost (all its calls); used when it is at least
    # model_metadata.cost_usd (a total includes that call). None: model_metadata's cost is all.
    total_cost_field: str | None = TOTAL_COST_FIELD

    @property
    def judged(self) -> bool:
        """Replayed, scored and given a keep/demote verdict."""
        return self.is_llm and self.scorer is not None

    def matches(self, agent_id: str) -> bool:
        return re.fullmatch(self.agent_ids, agent_id) is not None

    def validate(self, reply: Any, original: dict | None = None) -> dict:
        """`reply` if it carries every decision field; else SchemaError. (`original` is unused
        here; the structural judge needs it.)"""
        if not isinstance(reply, dict):
            raise SchemaError("reply is not a JSON object")
        for f in self.decision:
            f.check(reply)
        return reply

    def declares(self, output: dict) -> bool:
        """Does `output` carry this family's declared decision fields?"""
        try:
            self.validate(output)
        except SchemaError:
            return False
        return True

    def score(self, original: dict, reply: dict) -> Agreement:
        score, diagnostics = self.scorer(self.normalise(original), self.normalise(reply))
        return Agreement(score, diagnostics, self.name)

    def label_pairs(self, original: dict, reply: dict) -> list[list[str]]:
        """(original, reply) label pairs for Cohen's kappa: one per common key of a label map,
        or one for a single categorical field; none when the family has no labels."""
        if self.kappa_on is None:
            return []
        a, b = self.normalise(original).get(self.kappa_on), self.normalise(reply).get(self.kappa_on)
        if isinstance(a, dict) and isinstance(b, dict):
            pairs = [[a[k], b[k]] for k in sorted(set(a) & set(b))]
        else:
            pairs = [[a, b]]
        return [p for p in pairs if all(isinstance(x, str) for x in p)]
