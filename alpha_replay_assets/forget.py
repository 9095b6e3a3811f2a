"""Forget cached replies: the remedy for a bad afternoon at the provider.

Every reply is cached under its content address and never asked again, which is what keeps
re-runs free. The price: replies received during a provider fault (schema errors from a broken
deployment of the model, say) are kept forever, and the days they belong to stay above the
replay failure bound. `plan_forget` finds the cached replies of a period, target and outcome
from the concordance (or noise-ceiling) partitions; `forget` deletes them and leaves an audit
object naming each one, so the next materialisation of those days asks the provider again.
"""

import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from alpha_replay_assets.paths import ceiling_key, concordance_key, forget_audit_key, index_key, replay_cache_key
from alpha_replay_assets.replay.cache import request_hash
from alpha_replay_assets.replay.rows import REPLAYED
from resources.artifact_store import ArtifactStore

# What `--outcome` selects: rows answered by a cached reply (`structured`, `schema_error`), and the
# stuck bad replies: `bad_response` rows read from the cache (an entry that is no reply, or carries
# impossible numbers: every run fails on it until it goes) and `model_mismatch` rows (a reply naming
# another model than the one asked for).
CACHED_OUTCOMES = (*REPLAYED, "bad_response", "model_mismatch")


def selected(frame: pd.DataFrame, outcomes: list[str]) -> pd.Series:
    """The rows of `frame` whose cached reply `outcomes` names."""
    def column(name: str) -> pd.Series:  # absent from files written before it existed
        return frame[name].eq(True).fillna(False) if name in frame else pd.Series(False, index=frame.index)

    mask = frame["outcome"].isin([o for o in outcomes if o in REPLAYED])
    if "bad_response" in outcomes:
        mask |= frame["outcome"].eq("bad_response") & column("cache_hit")
    if "model_mismatch" in outcomes:
        mask |= column("model_mismatch")
    return mask


@dataclass
class ForgetPlan:
    target: str
    outcomes: list[str]
    days: list[dt.date]
    cache_keys: list[str] = field(default_factory=list)
    per_day: dict[str, int] = field(default_factory=dict)
    days_without_results: list[str] = field(default_factory=list)


def _digests(store: ArtifactStore, day: dt.date, rows: pd.DataFrame, model: str, max_tokens: int) -> list[str]:
    """The rows' request digests; rows written before the digest was recorded get it recomputed
    from the day's index (the same prompts, so the same content address)."""
    known = rows["request_digest"].dropna().tolist() if "request_digest" in rows else []
    missing = rows if "request_digest" not in rows else rows[rows["request_digest"].isna()]
    if len(missing):
        columns = ["key", "system_prompt", "user_prompt"]
        index = store.read_parquet(index_key(store, day), columns=columns).set_index("key")
        known += [request_hash(model, index.loc[r.key, "system_prompt"], index.loc[r.key, "user_prompt"], max_tokens,
                               int(r.sample)) for r in missing.itertuples()]
    return known


def plan_forget(store: ArtifactStore, start: dt.date, end: dt.date, target: str, outcomes: list[str],
                max_tokens: int, ceiling: bool = False) -> ForgetPlan:
    """What `forget` would delete: the cached replies behind the rows of `outcomes` for `target`
    (a cheap target's concordance, or with `ceiling` the original model's noise-ceiling replays)."""
    unknown = set(outcomes) - set(CACHED_OUTCOMES)
    if unknown:
        raise ValueError(f"{sorted(unknown)} rows have no cached reply; choose from {CACHED_OUTCOMES}")
    days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    plan = ForgetPlan(target, list(outcomes), days)
    for day in days:
        frame = store.read_parquet(ceiling_key(store, day) if ceiling else concordance_key(store, day, target),
                                   columns=["key", "target_model", "outcome", "sample", "request_digest",
                                            "cache_hit", "model_mismatch"])
        if frame is None:
            plan.days_without_results.append(day.isoformat())
            continue
        rows = frame[(frame["target_model"] == target) & selected(frame, outcomes)]
        keys = sorted({replay_cache_key(store, target, d) for d in _digests(store, day, rows, target, max_tokens)})
        plan.cache_keys += keys
        plan.per_day[day.isoformat()] = len(keys)
    plan.cache_keys = sorted(set(plan.cache_keys))
    return plan


def forget(store: ArtifactStore, plan: ForgetPlan, now: dt.datetime, reason: str) -> str:
    """Write the audit object first (what is about to go, and why), then delete; returns its key."""
    key = forget_audit_key(store, now)
    store.write_json(key, {
        "at": now.isoformat(), "reason": reason, "target_model": plan.target, "outcomes": plan.outcomes,
        "from": plan.days[0].isoformat(), "to": plan.days[-1].isoformat(), "per_day": plan.per_day,
        "removed": plan.cache_keys,
    })
    store.delete(plan.cache_keys)
    return key


def contiguous_runs(days: list[str]) -> list[tuple[str, str]]:
    """(first, last) of each run of consecutive days: a re-run launch per run never names a day
    without results (it has no index partition, so a range through it fails at once)."""
    runs: list[tuple[str, str]] = []
    for day in sorted(days):
        if runs and dt.date.fromisoformat(day) - dt.date.fromisoformat(runs[-1][1]) == dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def relaunch_commands(plan: ForgetPlan, asset: str) -> list[str]:
    """`dg launch` commands that replay what `plan` forgot: the days that had results, one command
    per contiguous run of them."""
    return [f"dg launch --assets {asset} --partition {a}" if a == b else
            f"dg launch --assets {asset} --partition-range {a}...{b}"
            for a, b in contiguous_runs([d for d, n in plan.per_day.items() if n])]
