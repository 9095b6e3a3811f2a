"""Planning a day's replays before any call: which index rows are replayed (and why not), one task
per request with its content address, and which of them the day's budget admits."""

import hashlib
import json
from collections import Counter
from dataclasses import dataclass

import pandas as pd

from alpha_replay_assets import families
from alpha_replay_assets.artifacts import OK
from alpha_replay_assets.replay.cache import request_hash
from alpha_replay_assets.replay.rate_card import Price, expected_tokens
from resources.prompt_cache import reaches_minimum

# What planning reads of a day's index.
PLAN_COLUMNS = ["key", "agent_id", "agent_id_base", "status", "is_llm", "is_placeholder", "is_truncated",
                "system_prompt", "user_prompt", "agent_output", "input_tokens", "output_tokens", "etag"]


def skip_reason(row: dict) -> str | None:
    """Why an index row is not replayed (recorded, no spend), or None when it is."""
    if row["status"] != OK:
        return "skipped_invalid"
    if not row["is_llm"]:
        return "skipped_deterministic"
    if row["is_placeholder"]:
        return "skipped_placeholder"
    if row["is_truncated"]:
        return "skipped_truncated"
    family = families.REGISTRY.get(row["agent_id_base"])
    if family is not None and not family.judged:  # registered without a decision; unregistered = structural
        return "skipped_unsupported_family"
    return None


def eligible_rows(index: pd.DataFrame) -> pd.DataFrame:
    """The index rows that are replayed (an empty index gives an empty frame with its columns)."""
    return index[pd.Series([skip_reason(r) is None for r in index.to_dict("records")], index=index.index, dtype=bool)]


def sample_rows(index: pd.DataFrame, per_family: int) -> pd.DataFrame:
    """A stable sample: per family, the eligible rows with the smallest key hashes (the same
    artifacts on every re-run, so the cache answers them)."""
    eligible = eligible_rows(index)
    ranked = eligible.assign(_rank=[hashlib.sha256(k.encode()).hexdigest() for k in eligible["key"]])
    return ranked.sort_values("_rank").groupby("agent_id_base").head(per_family).drop(columns="_rank")


@dataclass
class Task:
    key: str
    agent_id: str
    family: str
    system: str
    user: str
    original: dict
    digest: str
    sample: int
    expected_tokens: tuple[int, int]  # (input, output): what the budget plans with
    etag: str = ""  # the artifact's as indexed: a rewrite after the replay shows as another etag


def plan(index: pd.DataFrame, model: str, max_tokens: int, *, route: str,
         samples: int = 1) -> tuple[list[dict], list[Task]]:
    """Rows for what is not replayed (with the reason) and a task per replay of the rest, each
    addressed by its request and `route` (`ReplayModel.address`: the route, marked when simulated)."""
    skipped, tasks = [], []
    for row in index.to_dict("records"):
        if reason := skip_reason(row):
            skipped.append({"key": row["key"], "agent_id": row["agent_id"], "agent_id_base": row["agent_id_base"],
                            "target_model": model, "outcome": reason, "etag": row["etag"]})
            continue
        tokens = expected_tokens(row["system_prompt"], row["user_prompt"], row["input_tokens"], row["output_tokens"])
        for sample in range(samples):
            tasks.append(Task(row["key"], row["agent_id"], row["agent_id_base"], row["system_prompt"],
                              row["user_prompt"], json.loads(row["agent_output"]),
                              request_hash(model, row["system_prompt"], row["user_prompt"], max_tokens, sample, route),
                              sample, tokens, row["etag"]))
    return skipped, sorted(tasks, key=lambda t: (t.key, t.sample))


def admit_within(tasks: list[Task], price: Price, budget_usd: float, batch: bool) -> tuple[list[Task], list[Task]]:
    """The budget as a plan: tasks in key order while their expected cost (at standard or batch
    price, never discounted for caches) fits, cached or not. Which artifacts are replayed is
    then a function of the data and the configuration alone, never of timing or of what an
    earlier run happened to cache. Returns (admitted, over budget)."""
    admitted, over, planned = [], [], 0.0
    for task in tasks:
        cost = price.usd(*task.expected_tokens, batch=batch)
        if planned + cost > budget_usd:
            over.append(task)
        else:
            planned += cost
            admitted.append(task)
    return admitted, over


def shared_prefixes(tasks: list[Task], model: str) -> set[str]:
    """System prompts worth the provider's prompt cache: used by more than one distinct request (a
    prefix asked once only pays the 1.25x write; twins of one request make one call) and long enough
    for the model's minimum."""
    uses = Counter(system for system, _ in {(t.system, t.digest) for t in tasks})
    return {system for system, n in uses.items() if n > 1 and reaches_minimum(model, system)}
