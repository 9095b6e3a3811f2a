"""What a reply must carry: the decision fields a family declares (each checks its value's type and
says what is wrong), and getting the JSON object out of a model's raw text. Pure: no Dagster, no I/O.
"""

import json
from dataclasses import dataclass

from alpha_replay_assets.family_spec.comparators import is_number


class SchemaError(ValueError):
    """A reply without the family's decision fields: a `schema_error` row, never retried."""


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
