"""An artifact's text to a JSON document, with the standard library's outcome on every input.

orjson parses the real shapes 2.2x faster than `json` (bench/results/json_parsers.json), but it
is not the same language on every input: it rejects NaN, Infinity, 1e400 and lone surrogates
(which `json` accepts), turns integers beyond 64 bits into floats (which `json` keeps exact), and
nests 1,024 levels where `json` stops at the interpreter's recursion limit. So orjson only reads
texts where none of that can happen (no run of 19+ digits, fewer brackets than any recursion limit)
and `json` decides every text orjson refuses: the document, or the bad-row message, is the same.
"""

import json
import re
from typing import Any

import orjson

# A JSON escape of a lone UTF-16 surrogate (\ud800-\udfff) parses into a string no UTF-8 writer accepts.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
# An integer literal orjson may not keep exact (2**63 has 19 digits); digits in strings only cost speed.
# Found as a substring of the body with every ASCII digit made "0" and every other byte "x": C speed,
# where the regex `\d{19}` (the same set of bodies) tried a match at every digit (~0.6 ms an artifact).
LONG_DIGITS = b"0" * 19
DIGITS_AS_ZERO = bytes(ord("0") if chr(byte) in "0123456789" else ord("x") for byte in range(256))
# Nesting depth cannot exceed the bracket count; this many is far below `json`'s recursion limit.
FAST_MAX_BRACKETS = 400


class Malformed(ValueError):
    """Not a JSON text (the message is the bad row's `error`)."""


def _fast_path(body: bytes) -> bool:
    return body.count(b"[") + body.count(b"{") < FAST_MAX_BRACKETS and LONG_DIGITS not in body.translate(DIGITS_AS_ZERO)


def _has_lone_surrogate(text: str, doc: Any) -> bool:
    if not SURROGATE_ESCAPE.search(text):
        return False
    try:
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False  # only valid surrogate pairs


def loads(body: bytes, text: str) -> Any:
    """The document of `body` (whose UTF-8 decoding is `text`), exactly as `loads_stdlib(text)`
    reads it, or the same `Malformed`."""
    if _fast_path(body):
        try:
            return orjson.loads(body)  # orjson never returns a lone surrogate
        except orjson.JSONDecodeError:
            pass  # NaN, 1e400, a lone surrogate, or not JSON: `json` decides, and words the error
    return loads_stdlib(text)


def loads_stdlib(text: str) -> Any:
    """The standard library's reading: the document, or `Malformed` for what is not JSON text,
    lone surrogates included."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, and ints past Python's 4,300 digits
        raise Malformed(f"malformed JSON: {exc}"[:200]) from exc
    if _has_lone_surrogate(text, doc):
        raise Malformed("a \\u escape of a lone UTF-16 surrogate (not text)")
    return doc


def loads_written(text: str) -> Any:
    """JSON the index writer wrote (`json.dumps`), read by orjson (3x faster) unless it holds what
    only `json` reads (NaN, Infinity: a feature of 1e400)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
