"""Turn one decision artifact (key + bytes) into one index row (docs/domain.md §1.2).

Pure: no S3, no Dagster. Every input yields exactly one row; anything wrong with it becomes a
`status` plus an `error` message, so a bad artifact is counted and visible, never dropped.
"""


import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from alpha_replay_assets import artifact_json, families
from alpha_replay_assets.family_spec.family import TOTAL_COST_FIELD
from alpha_replay_assets.family_spec.fitting import EXTRACTOR_VERSION
from alpha_replay_assets.layout import timestamp_flag
from alpha_replay_assets.paths import BadKey, agent_id_base, parse_key
from alpha_replay_assets.segments import prompt_version
from alpha_replay_assets.stub_prompts import is_placeholder

OK = "ok"
# Bad-row statuses, most fundamental first. A valid artifact of a family nobody registered is
# not one of them: it is `ok` with `family_registered = false` (judged by the structural scorer).
BAD_STATUSES = (
    "bad_key",
    "oversized",
    "not_utf8",
    "malformed_json",
    "missing_field",
    "wrong_type",
    "key_mismatch",
)
# Bump when a row of the same artifact would come out differently: older indexes get rebuilt.
PARSER_VERSION = 8
# 2: huge ints and deep nesting, lone surrogates, out-of-range counts and costs, wrong family shapes are
# bad rows; ids outside a registered pattern are their own agent; 3: provider_reported_cost_usd and total_cost_usd;
# 4: the graph's stub prompts (cost-tracker placeholders, unrendered user templates) are placeholders;
# 5: `rationales`, the prose at the family's declared rationale paths (docs/domain.md §3b); 6: `prompt_version`
# and `input_hash` (versions are series boundaries, docs/domain.md §3c); 7: `timestamp_flag`; 8: a `prompt_version`
# over 64 characters is a prefix and a hash of the whole (was cut at 200)

# The order is the storage layout. Windows read a few small columns of each day with range GETs
# (the footer, then their column chunks; `resources.parquet_ranges`), so the big columns only
# replay reads (prompts, original output: ~90% of the bytes) come first, and the ones windows and
# checks read come last, the smallest and most read next to the footer, where the first (tail)
# GET already holds them.
INDEX_COLUMNS = {
    "system_prompt": "str",
    "user_prompt": "str",
    "agent_output": "str",
    "key": "str",
    "etag": "str",
    "size": "int64",
    "last_modified": "datetime64[us, UTC]",
    "run_id": "str",
    "timestamp": "str",
    "timestamp_flag": "str",  # `layout.timestamp_flag`: future, far_from_day, or None (kept, flagged)
    "schema_version": "Int64",
    "model_name": "str",
    "prompt_version": "str",  # the producer's template hash, else its declared version, else `unknown`
    "input_hash": "str",  # sha256 of the input snapshot: the same inputs under two prompt versions pair up
    "input_tokens": "Int64",
    "output_tokens": "Int64",
    "cache_read_tokens": "Int64",
    "cache_create_tokens": "Int64",
    "prompt_hash": "str",
    "extractor_version": "Int64",
    "error": "str",
    "rationales": "str",  # JSON list of the family's rationale strings; read by `rationale_templates`
    "decision_features": "str",
    "is_placeholder": "boolean",
    "is_truncated": "boolean",
    "cost_usd": "float64",
    "provider_reported_cost_usd": "float64",
    "total_cost_usd": "float64",
    "is_llm": "boolean",
    "family_registered": "boolean",
    "agent_id": "str",
    "agent_id_base": "str",
    "status": "str",
}


@dataclass(frozen=True)
class ListedObject:
    key: str
    etag: str
    size: int
    last_modified: dt.datetime


class Invalid(ValueError):
    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


def _field(obj: dict, name: str, types: type | tuple, *, required: bool = True, where: str = ""):
    if name not in obj:
        if required:
            raise Invalid("missing_field", f"missing field {where}{name}")
        return None
    value = obj[name]
    if value is None and not required:
        return None
    # bool is an int subclass; a JSON true is never a token count or a schema version.
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
        raise Invalid("wrong_type", f"{where}{name} is {type(value).__name__}, expected {_names(types)}")
    return value


def _as_tuple(types) -> tuple:
    return types if isinstance(types, tuple) else (types,)


def _names(types) -> str:
    return "|".join(t.__name__ for t in _as_tuple(types))


# Counts and dollars beyond these are not real (and a count over int64 cannot be stored).
MAX_COUNT = 2**53
MAX_COST_USD = 1e6


def _nonneg_int(obj: dict, name: str, where: str) -> int | None:
    value = _field(obj, name, int, required=False, where=where)
    if value is not None and not 0 <= value <= MAX_COUNT:
        raise Invalid("wrong_type", f"{where}{name} is out of range [0, 2**53]")
    return value


def _cost(obj: dict, where: str, name: str = "cost_usd") -> float | None:
    cost = _field(obj, name, (int, float), required=False, where=where)
    if cost is not None and not 0 <= cost <= MAX_COST_USD:  # also NaN and infinities
        raise Invalid("wrong_type", f"{where}{name} {cost!r} is not a dollar amount in [0, {MAX_COST_USD:g}]")
    return None if cost is None else float(cost)


def _total_cost(output: dict, name: str | None, cost: float | None) -> float | None:
    """agent_output's total of all the artifact's calls, when it is one: a dollar amount at least
    model_metadata's cost (which it includes). agent_output is free-form: anything else is ignored."""
    value = output.get(name) if name else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_COST_USD:
        return None
    return float(value) if cost is None or value >= cost else None


def has_truncation_marker(value: Any) -> bool:
    if isinstance(value, dict):
        return value.get("_truncated") is True or any(map(has_truncation_marker, value.values()))
    if isinstance(value, list):
        return any(map(has_truncation_marker, value))
    return False


def prompt_hash(system_prompt: str, user_prompt: str) -> str:
    return hashlib.sha256(json.dumps([system_prompt, user_prompt]).encode()).hexdigest()


def _parse_document(doc: Any, key_agent_id: str) -> dict:
    if not isinstance(doc, dict):
        raise Invalid("wrong_type", f"artifact is {type(doc).__name__}, expected object")
    schema_version = _field(doc, "schema_version", int)
    if schema_version not in (1, 2):
        raise Invalid("wrong_type", f"unsupported schema_version {schema_version}")
    run_id = _field(doc, "run_id", str)
    timestamp = _field(doc, "timestamp", str)
    try:
        dt.datetime.fromisoformat(timestamp)
    except ValueError as exc:
        raise Invalid("wrong_type", f"timestamp {timestamp[:40]!r} is not ISO-8601") from exc
    agent_id = _field(doc, "agent_id", str)
    if agent_id != key_agent_id:
        raise Invalid("key_mismatch", f"agent_id {agent_id[:80]!r} does not match the key")
    metadata = _field(doc, "model_metadata", dict, required=False)
    if "model_metadata" not in doc:
        raise Invalid("missing_field", "missing field model_metadata")
    prompt_context = _field(doc, "full_prompt_context", dict, required=False)
    if (metadata is None) != (prompt_context is None):
        raise Invalid("wrong_type", "full_prompt_context must be null iff model_metadata is null")
    snapshot = _field(doc, "input_data_snapshot", dict)
    output = _field(doc, "agent_output", dict)
    truncated_at = _nonneg_int(doc, "input_data_truncated_at", "")
    if schema_version == 1 and metadata is None:
        raise Invalid("wrong_type", "schema_version 1 does not allow deterministic artifacts")

    row: dict[str, Any] = {
        "agent_id": agent_id,
        "agent_id_base": agent_id_base(agent_id),
        "run_id": run_id,
        "timestamp": timestamp,
        "schema_version": schema_version,
        "is_llm": metadata is not None,
        "is_truncated": truncated_at is not None or has_truncation_marker(snapshot),
        "agent_output": json.dumps(output, sort_keys=True),
        "prompt_version": prompt_version(metadata, prompt_context, output),
        "input_hash": hashlib.sha256(json.dumps(snapshot, sort_keys=True).encode()).hexdigest(),
    }
    if metadata is not None:
        where = "model_metadata."
        row["model_name"] = _field(metadata, "model_name", str, where=where)
        for name in ("input_tokens", "output_tokens"):
            row[name] = _nonneg_int(metadata, name, where)
        row["cache_read_tokens"] = _nonneg_int(metadata, "cache_read_tokens", where)
        row["cache_create_tokens"] = _nonneg_int(metadata, "cache_create_tokens", where)
        row["cost_usd"] = _cost(metadata, where)
        row["provider_reported_cost_usd"] = _cost(metadata, where, "provider_reported_cost_usd")
        where = "full_prompt_context."
        system_prompt = _field(prompt_context, "system_prompt", str, where=where)
        user_prompt = _field(prompt_context, "user_prompt", str, where=where)
        row.update(
            system_prompt=system_prompt,
            user_prompt=user_prompt,
            prompt_hash=prompt_hash(system_prompt, user_prompt),
            is_placeholder=is_placeholder(system_prompt, user_prompt),
        )
    family = families.lookup(agent_id)
    row["family_registered"] = family is not None
    if metadata is not None:
        row["total_cost_usd"] = _total_cost(output, family.total_cost_field if family else TOTAL_COST_FIELD,
                                            row["cost_usd"])
    if family is None and row["agent_id_base"] in families.REGISTRY:
        # an id outside a registered family's pattern is another agent: judged on its own, never
        # pooled into (or scored as) the family whose name it borrows
        row["agent_id_base"] = agent_id
    if family is not None and family.rationales:
        row["rationales"] = json.dumps(family.rationale_texts(output))
    if family is not None and family.fit is not None:
        try:
            features = family.fit.rows(snapshot, output)
        except (TypeError, ValueError, AttributeError, KeyError) as exc:  # the family's fields, wrong shapes
            raise Invalid("wrong_type", f"agent_output does not have the {family.name} shape: {exc}") from exc
        row["decision_features"] = json.dumps(features, sort_keys=True)
        row["extractor_version"] = EXTRACTOR_VERSION
    return row


def index_row(listed: ListedObject, body: bytes | None, capture_prefix: str, max_bytes: int) -> dict:
    """One index row for one listed object. `body` is None when the object was not fetched."""
    row: dict[str, Any] = {
        "key": listed.key,
        "etag": listed.etag,
        "size": listed.size,
        "last_modified": listed.last_modified,
        "status": OK,
        "error": None,
    }
    try:
        parsed_key = parse_key(capture_prefix, listed.key)
    except BadKey as exc:
        return row | {"status": "bad_key", "error": str(exc)}
    row.update(agent_id=parsed_key.agent_id, agent_id_base=parsed_key.agent_id_base, run_id=parsed_key.run_id)
    if listed.size > max_bytes or (body is not None and len(body) > max_bytes):
        return row | {"status": "oversized", "error": f"{listed.size} bytes > limit {max_bytes}"}
    if body is None:
        raise ValueError(f"{listed.key}: a fetchable artifact needs its body")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return row | {"status": "not_utf8", "error": f"not UTF-8 at byte {exc.start}"}
    try:
        doc = artifact_json.loads(body, text)
    except artifact_json.Malformed as exc:
        return row | {"status": "malformed_json", "error": str(exc)}
    try:
        row.update(_parse_document(doc, parsed_key.agent_id))
    except Invalid as exc:
        return row | {"status": exc.status, "error": str(exc)[:200]}
    except RecursionError:  # JSON nested deeper than the document walks can follow
        return row | {"status": "malformed_json", "error": "nested too deep to read"}
    return row | {"timestamp_flag": timestamp_flag(row["timestamp"], parsed_key.day, dt.datetime.now(dt.UTC))}


def to_frame(rows: list[dict]) -> pd.DataFrame:
    """Rows in key order with a fixed schema, so a re-index of the same objects is identical."""
    frame = pd.DataFrame(rows, columns=list(INDEX_COLUMNS)).sort_values("key", ignore_index=True)
    return frame.astype(INDEX_COLUMNS)


def needs_body(listed: ListedObject, capture_prefix: str, max_bytes: int) -> bool:
    """Only well-placed, bounded objects are downloaded; the rest are judged on their listing."""
    try:
        parse_key(capture_prefix, listed.key)
    except BadKey:
        return False
    return listed.size <= max_bytes
