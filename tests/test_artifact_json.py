"""The fast JSON reader (orjson where it is the same language) against the standard library's, on
adversarial texts and on a day of real-shaped artifacts: same documents, same bad-row messages."""

import datetime as dt
import json
import re

import pytest

from alpha_replay_assets import artifact_json, artifacts
from alpha_replay_assets.sample import corpus
from helpers import DAY, pinned

GOOD = {"schema_version": 2, "agent_id": "ic_cio", "n": 1, "x": 0.1, "s": "chart \U0001F4C8"}
ADVERSARIAL = {
    "malformed": b'{"a": 1,',
    "trailing garbage": b'{"a": 1} x',
    "trailing comma": b"[1,]",
    "empty": b"",
    "whitespace only": b"   ",
    "control character in a string": b'{"a": "x\x01"}',
    "leading zero": b'{"a": 01}',
    "lone surrogate": b'{"a": "evil\\ud800"}',
    "lone low surrogate": b'{"a": "\\udc00x"}',
    "valid surrogate pair": b'{"a": "\\ud83d\\udcc8"}',
    "2**64": b'{"a": 18446744073709551616}',
    "below int64": b'{"a": -9223372036854775809}',
    "int64 max": b'{"a": 9223372036854775807}',
    "uint64 range, 19 digits": b'{"a": 9999999999999999999}',
    "2**70 token count": b'{"n": 1180591620717411303424}',
    "an int of 5,000 digits": b'{"a": ' + b"9" * 5000 + b"}",
    "NaN": b'{"a": NaN}',
    "Infinity": b'{"a": Infinity}',
    "-Infinity": b'{"a": -Infinity}',
    "1e400": b'{"a": 1e400}',
    "denormal": b'{"a": 5e-324}',
    "negative zero": b'{"a": -0, "b": -0.0}',
    "duplicate keys": b'{"b": 1, "a": 2, "b": 3}',
    "nested 300 deep": b'{"a": ' + b"[" * 300 + b"]" * 300 + b"}",
    "nested 600 deep": b'{"a": ' + b"[" * 600 + b"]" * 600 + b"}",
    "nested 1,020 deep (orjson's limit is 1,024)": b"[" * 1020 + b"]" * 1020,
    "nested 100,000 deep": b"[" * 100_000 + b"]" * 100_000,
    "BOM": b'\xef\xbb\xbf{"a": 1}',
    "NUL escape": b'{"a": "\\u0000"}',
    "a valid artifact": json.dumps(GOOD).encode(),
    "the same, unescaped": json.dumps(GOOD, ensure_ascii=False).encode(),
}


def outcome(read, *args) -> tuple[str, str]:
    """What a reader made of a text, with ints and floats told apart (repr) and key order kept."""
    try:
        return "ok", repr(read(*args))
    except artifact_json.Malformed as exc:
        return "malformed", str(exc)


@pytest.mark.parametrize("body", ADVERSARIAL.values(), ids=ADVERSARIAL.keys())
def test_the_fast_reader_reads_every_text_as_the_standard_library_does(body):
    text = body.decode("utf-8")
    assert outcome(artifact_json.loads, body, text) == outcome(artifact_json.loads_stdlib, text)


def test_values_orjson_would_change_are_read_by_the_standard_library():
    assert artifact_json.loads(ADVERSARIAL["2**64"], ADVERSARIAL["2**64"].decode()) == {"a": 2**64}
    assert type(artifact_json.loads(b'{"a": -9223372036854775809}', '{"a": -9223372036854775809}')["a"]) is int
    with pytest.raises(artifact_json.Malformed, match="lone UTF-16 surrogate"):
        artifact_json.loads(ADVERSARIAL["lone surrogate"], ADVERSARIAL["lone surrogate"].decode())


def test_real_shaped_artifacts_take_the_fast_path_and_read_the_same():
    spec = pinned(per_day=80, sizes="production", bad_fraction=0.1, large_fraction=0.1)
    bodies = [body for _, body in corpus.day_objects(DAY, "decision_artifacts", spec)]
    decodable = [body for body in bodies if _utf8(body)]
    fast = [body for body in decodable if artifact_json._fast_path(body)]
    assert len(fast) >= 0.85 * len(bodies)  # the speed is real: nearly every artifact is read by orjson
    for body in decodable:
        assert outcome(artifact_json.loads, body, body.decode()) == outcome(artifact_json.loads_stdlib, body.decode())


@pytest.mark.parametrize("body", [b"1" * 18, b"1" * 19, b"x" + b"9" * 19 + b"x", b"123456789 1234567890123",
                                  b"\xd9\xa3" * 30, b'"' + b"0" * 18 + b'"' + b"1" * 18, b"", b"\x00" * 40])
def test_long_digit_runs_are_found_as_the_regex_finds_them(body):
    """The translated substring search refuses exactly the bodies `\\d{19}` (on bytes: ASCII digits) matches."""
    assert artifact_json._fast_path(body) == (re.search(rb"\d{19}", body) is None)


def test_rows_of_undecodable_and_bom_bodies_keep_their_reasons():
    listed = artifacts.ListedObject(f"decision_artifacts/{DAY:%Y/%m/%d}/ic_cio/r1.json", "e", 10,
                                    dt.datetime(2026, 7, 8, tzinfo=dt.UTC))
    assert artifacts.index_row(listed, b'{"a": "\xff"}', "decision_artifacts", 10**6)["status"] == "not_utf8"
    bom = artifacts.index_row(listed, ADVERSARIAL["BOM"], "decision_artifacts", 10**6)
    assert bom["status"] == "malformed_json" and "BOM" in bom["error"]


def _utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
