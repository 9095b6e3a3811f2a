"""What an agent family is: one frozen declaration holding everything alpha-replay knows about it.

A `Family` says which agent ids it writes under, which decision fields a reply must carry (and
their types), how an original and a reply are made comparable and scored (a `Scorer` composed
of typed comparators), which labels Cohen's kappa is computed on, what the counterfactual fit
predicts from which inputs, and the synthetic corpus's hidden rule for it. Pure: no Dagster, no I/O.
"""

import datetime as dt
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


JSON_TYPES = {list: "list", str: "string", dict: "object", bool: "bool"}


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
class Flag:
    """A boolean field (JSON true/false)."""
    name: str
    required: bool = True

    def check(self, obj: dict) -> None:
        if self.name not in obj and not self.required:
            return
        if not isinstance(obj.get(self.name), bool):
            raise SchemaError(f"{self.name} must be true or false")

    def __str__(self) -> str:
        return f"{self.name}: bool"


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
class StrList:
    """A list of strings (`risks`, `catalysts`, `drivers`, `selected_tickers`), required unless said."""
    name: str
    required: bool = True

    def check(self, obj: dict) -> None:
        if self.name not in obj and not self.required:
            return
        value = obj.get(self.name)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SchemaError(f"{self.name} must be a list of strings")

    def __str__(self) -> str:
        return f"{self.name}: [string]"


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


@dataclass(frozen=True)
class OneOf:
    """One of several response models (a producer whose captured call can be either): the reply
    must satisfy every field of at least one."""
    schemas: tuple[tuple, ...]

    def check(self, obj: dict) -> None:
        errors = []
        for schema in self.schemas:
            try:
                for f in schema:
                    f.check(obj)
                return
            except SchemaError as exc:
                errors.append(str(exc))
        raise SchemaError(" / ".join(errors))

    def __str__(self) -> str:
        return " or ".join("{" + "; ".join(map(str, schema)) + "}" for schema in self.schemas)


# -- the counterfactual fit and the corpus's hidden rule ---------------------------------------


@dataclass(frozen=True)
class FitSpec:
    """Domain §3: one row per decision with its label and its inputs as numeric features."""
    target: str  # what the tree predicts
    inputs: str  # from what
    rows: Callable[[dict, dict], list[dict]]  # (input snapshot, agent output) -> feature rows (see fitting)


@dataclass(frozen=True)
class Run:
    """What the corpus tells a hidden rule about the run an artifact comes from."""
    day: dt.date  # the run's own (calendar) day
    filed: dt.date  # the day folder it lands in (the think tank files weekend runs under Friday)
    call_cost: float  # model_metadata.cost_usd of the captured call


@dataclass(frozen=True)
class HiddenRule:
    """How the synthetic corpus makes this family's artifacts in the producer's real shapes, and
    how the loopback model answers its prompts: the same rule on the same snapshot with different
    noise (`noise` = the probability of flipping a decision). Lives beside the family; `sample/`
    only calls it."""
    # (rng, run day, scope) -> input_data_snapshot with the producer's keys; scope = what the
    # corpus fixes for one agent id of a day (a team, "team:TICKER", an executor), or None
    snapshot: Callable[[random.Random, dt.date, str | None], dict]
    # (the prompt's data, rng, noise) -> the model's raw reply (the producer's response model);
    # reads only the snapshot keys the rendered user prompt carries (`sections`)
    decide: Callable[[dict, random.Random, float], dict]
    # (raw reply, snapshot, run, rng) -> the stored agent_output (the producer's post-processing)
    post_process: Callable[[dict, dict, Run, random.Random], dict]
    model: str  # model_metadata.model_name the producer records
    # The producer's prompts: its system prompt for a snapshot, and its user template. The think
    # tank and macro/ic_cio render the template with `sections` of the snapshot; the other graph
    # families captured the template unrendered (`{slot}` fields, no data).
    system: Callable[[dict], str]
    template: str
    sections: tuple[str, ...] | None = None  # snapshot keys the rendered user prompt embeds (None: all)
    rendered: bool = False  # the producer captured the rendered user prompt
    # research-graph families: (node_name, prompt_id) of model_metadata; the graph's cost tracker
    # captured a placeholder system prompt for all of them. None: the think tank (real prompts).
    graph: tuple[str, str] | None = None
    agent_id: Callable[[dict], str] | None = None  # from the snapshot; None = the family name
    run_suffix: Callable[[dict], str] | None = None  # think tank: appended to the run's base id (from the output)
    trading_day_filing: bool = False  # weekend runs are filed in Friday's folder
    # (low, high) bytes of a production artifact, when its snapshot carries bulk text the rule
    # itself does not make: a `sizes="production"` corpus pads up to a size drawn from this range.
    production_bytes: tuple[int, int] | None = None


def strings_at(value: Any, path: list[str]) -> list[str]:
    """The strings at a rationale path (`name`, or `name[]` for each item of a list); anything
    else on the way (a missing key, another type) yields nothing: outputs are free-form."""
    if not path:
        return [value] if isinstance(value, str) else []
    name, rest = path[0], path[1:]
    if not isinstance(value, dict):
        return []
    if name.endswith("[]"):
        items = value.get(name[:-2])
        return [s for item in items for s in strings_at(item, rest)] if isinstance(items, list) else []
    return strings_at(value.get(name), rest)


def _same(output: dict) -> dict:
    return output


@dataclass(frozen=True)
class Family:
    """One agent family. Its decision lives in two places: the stored `agent_output` (the
    producer's post-processed object, `stored_at`) and the raw reply a model answering the
    captured prompt returns (the producer's response model `reply_model`, `reply_at`). Replies are
    validated against the raw schema (`decision`); `from_output` and `from_reply` bring each side
    into one comparable form, which the scorer and kappa read."""
    name: str
    agent_ids: str  # regex, full match: the agent ids this family writes under
    decision: tuple = ()  # the raw reply's decision fields (above) a reply must carry
    reply_model: str = ""  # the producer's response model the raw reply follows
    stored_at: str = "agent_output"  # where the decision lives in the stored artifact
    reply_at: str = "top level"  # where it lives in the raw reply
    from_output: Callable[[dict], dict] = _same  # stored agent_output -> comparable form
    from_reply: Callable[[dict], dict] = _same  # raw reply -> comparable form
    scorer: Scorer | None = None  # over the comparable forms; None = not replayed
    kappa_on: str | None = None  # comparable field with categorical labels (a value or a key -> label map)
    fit: FitSpec | None = None
    is_llm: bool = True
    rule: HiddenRule | None = None
    unsupported_reason: str = "no decision field to replay or fit"
    # agent_output field with the artifact's total cost (all its calls); used when it is at least
    # model_metadata.cost_usd (a total includes that call). None: model_metadata's cost is all.
    total_cost_field: str | None = TOTAL_COST_FIELD
    # Where its prose rationales live in agent_output (domain §3b): dotted paths, `[]` for every
    # item of a list (`ranked_picks[].rationale`). Indexed per artifact, clustered for templates.
    rationales: tuple[str, ...] = ()

    def rationale_texts(self, output: dict) -> list[str]:
        """The non-blank strings at the declared rationale paths of a stored agent_output."""
        return [text for path in self.rationales for text in strings_at(output, path.split("."))
                if text.strip()]

    @property
    def judged(self) -> bool:
        """Replayed, scored and given a keep/demote verdict."""
        return self.is_llm and self.scorer is not None

    def matches(self, agent_id: str) -> bool:
        return re.fullmatch(self.agent_ids, agent_id) is not None

    def validate(self, reply: Any, original: dict | None = None) -> dict:
        """`reply` if it carries every decision field of the raw reply schema; else SchemaError.
        (`original` is unused here; the structural judge needs it.)"""
        if not isinstance(reply, dict):
            raise SchemaError("reply is not a JSON object")
        for f in self.decision:
            f.check(reply)
        return reply

    def score(self, original: dict, reply: dict) -> Agreement:
        """Agreement of a raw reply with the stored output, over their comparable forms."""
        score, diagnostics = self.scorer(self.from_output(original), self.from_reply(reply))
        return Agreement(score, diagnostics, self.name)

    def label_pairs(self, original: dict, reply: dict) -> list[list[str]]:
        """(original, reply) label pairs for Cohen's kappa: one per common key of a label map,
        or one for a single categorical field; none when the family has no labels."""
        if self.kappa_on is None:
            return []
        a, b = self.from_output(original).get(self.kappa_on), self.from_reply(reply).get(self.kappa_on)
        if isinstance(a, dict) and isinstance(b, dict):
            pairs = [[a[k], b[k]] for k in sorted(set(a) & set(b))]
        else:
            pairs = [[a, b]]
        return [p for p in pairs if all(isinstance(x, str) for x in p)]
