"""A replay row (one artifact replayed once under one target): its schema, its outcomes, and the
day counts every reader of replay rows shares (concordance and noise-ceiling partitions alike)."""

import pandas as pd

from alpha_replay_assets.family_spec.family import SCORER_VERSION

STRUCTURED, SCHEMA_ERROR = "structured", "schema_error"
REPLAYED = (STRUCTURED, SCHEMA_ERROR)  # outcomes with a model reply (paid for)
# The provider failed us: nothing usable came back (never cached, so a re-run asks again).
PROVIDER_FAILED = ("transport_error", "request_error", "bad_response")
FAILED = (SCHEMA_ERROR, *PROVIDER_FAILED)

REPLAY_ROW_COLUMNS = {
    "day": "str", "key": "str", "agent_id": "str", "agent_id_base": "str", "target_model": "str",
    "outcome": "str", "agreement_score": "float64", "diagnostics": "str", "scorer_version": "int64",
    "input_tokens": "Int64", "output_tokens": "Int64", "cache_read_tokens": "Int64",
    "cache_create_tokens": "Int64", "cost_usd": "float64", "latency_ms": "float64", "cache_hit": "boolean",
    "batch": "boolean", "error": "str", "label_pairs": "str", "sample": "int64", "scorer": "str",
    "request_digest": "str", "priced_on": "str", "reply_model": "str", "model_mismatch": "boolean",
    "paid_twice": "boolean", "etag": "str",  # the artifact's etag as replayed (`replay_currency`)
}


def replay_frame(rows: list[dict], day) -> pd.DataFrame:
    """A day's replay rows as the stored table (`replay_frame([], "")`: an empty one with its schema)."""
    frame = pd.DataFrame(rows, columns=list(REPLAY_ROW_COLUMNS))
    frame = frame.assign(day=str(day), scorer_version=SCORER_VERSION, sample=frame["sample"].fillna(0))
    return frame.sort_values(["key", "target_model", "sample"], ignore_index=True).astype(REPLAY_ROW_COLUMNS)


def day_summary(frame: pd.DataFrame) -> dict:
    """Counts that decide completeness and failure: shared by the asset metadata and its checks.
    `failure_rate` is the provider's share of the eligible replays (transport and request errors,
    bad responses): it blocks the day. Schema errors are counted but are the family's own trouble
    (`unusable_replies`), never the day's."""
    outcomes = frame["outcome"].value_counts()
    eligible = int(len(frame) - outcomes.filter(like="skipped_").sum() + outcomes.get("skipped_budget", 0))
    replayed = int(sum(outcomes.get(o, 0) for o in REPLAYED))
    transport = int(outcomes.get("transport_error", 0) + outcomes.get("request_error", 0))
    bad = int(outcomes.get("bad_response", 0))
    called = frame["cache_hit"].eq(False).fillna(False)
    return {
        "eligible": eligible,
        "replayed": replayed,
        "structured": int(outcomes.get("structured", 0)),
        "schema_errors": int(outcomes.get("schema_error", 0)),
        "transport_errors": transport,
        "bad_responses": bad,
        "budget_skipped": int(outcomes.get("skipped_budget", 0)),
        "complete": replayed == eligible,
        # files written before the column existed have none
        "model_mismatches": int(frame.reindex(columns=["model_mismatch"])["model_mismatch"].eq(True).sum()),
        "failure_rate": round((transport + bad) / eligible, 4) if eligible else 0.0,
        "model_calls": int(called.sum()),
        "usd_new": round(float(frame.loc[called, "cost_usd"].sum()), 6),
    }


def mismatched_models(frame: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Asked model -> {model the replies named instead: how many}."""
    mismatched = frame[frame["model_mismatch"].eq(True).fillna(False)]
    counts = mismatched.groupby(["target_model", mismatched["reply_model"].fillna("").replace("", "(none)")]).size()
    result: dict[str, dict[str, int]] = {}
    for (asked, reported), n in counts.items():
        result.setdefault(asked, {})[reported] = int(n)
    return result
