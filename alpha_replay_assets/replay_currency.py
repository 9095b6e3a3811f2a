"""Are a day's replays current with its index?

The think tank files weekend runs under the previous Friday after the Saturday tick replayed it;
the sensor re-indexes Friday, and the index gains rows its replay files have no row for. Nothing
may then say "all replayed": the day's eligible index rows are compared with the keys of its replay
file per target (`unreplayed`), and the `replay_complete` check, the window summary and the sensor
(which asks for the day's replays again) all read this one comparison.
"""

import datetime as dt

import pandas as pd

from alpha_replay_assets.index import read_day_index
from alpha_replay_assets.paths import concordance_key
from alpha_replay_assets.replay.planning import eligible_rows
from alpha_replay_assets.targets import TargetsFor, rows_for_target
from resources.artifact_store import ArtifactStore

# What the comparison reads of an index: the keys and what decides eligibility.
INDEX_COLUMNS = ["key", "agent_id_base", "status", "is_llm", "is_placeholder", "is_truncated"]


NOT_REPLAYED = "not_replayed_yet"  # the outcome of an indexed artifact its day's replay file has no row for


def unreplayed(index: pd.DataFrame, replayed_keys: pd.Series, model: str, targets_for: TargetsFor) -> pd.DataFrame:
    """The eligible index rows of the families replayed under `model` that have no row in the replay file."""
    expected = eligible_rows(rows_for_target(index, model, targets_for))
    return expected[~expected["key"].isin(set(replayed_keys))].sort_values("key")


def unreplayed_on(store: ArtifactStore, day: dt.date, targets: list[str],
                  targets_for: TargetsFor) -> dict[str, pd.DataFrame]:
    """Target -> index rows of `day` indexed after its replays under that target ran (a target never
    replayed on that day, or a day without an index, is someone else's report: left out)."""
    index = read_day_index(store, day, columns=INDEX_COLUMNS)
    if index is None:
        return {}
    missing = {}
    for model in targets:
        frame = store.read_parquet(concordance_key(store, day, model), columns=["key"])
        if frame is not None and len(rows := unreplayed(index, frame["key"], model, targets_for)):
            missing[model] = rows
    return missing


def pending_rows(store: ArtifactStore, day: dt.date, targets: list[str], targets_for: TargetsFor) -> pd.DataFrame:
    """`unreplayed_on` as replay rows (outcome `not_replayed_yet`): a window counts them as candidates
    never replayed, so its summary cannot report more replayed than were."""
    missing = unreplayed_on(store, day, targets, targets_for)
    return pd.DataFrame([{"key": key, "agent_id_base": family, "target_model": model, "outcome": NOT_REPLAYED,
                          "error": "indexed after the day's replays ran"}
                         for model, rows in missing.items() for key, family in zip(rows["key"], rows["agent_id_base"])],
                        columns=["key", "agent_id_base", "target_model", "outcome", "error"])
