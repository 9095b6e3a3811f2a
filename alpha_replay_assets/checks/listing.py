"""Is each day's index still the day folder? Past folders change after the fact (late artifacts,
think-tank weekend runs filed under Friday), and an index that misses them is silently wrong."""

import dagster as dg

from alpha_replay_assets.checks.common import Judgement, evaluate_partitions
from alpha_replay_assets.index import artifact_index, list_day, read_day_index
from alpha_replay_assets.partitions import DAILY, day_of
from resources.artifact_store import ArtifactStore
from resources.run_mode import RunMode

NAMED_KEYS = 10  # keys named in a failure's description; all of them are in its metadata


def listing_drift(indexed: dict[str, str], listed: dict[str, str]) -> dict[str, list[str]]:
    """key -> etag maps of the index and of the folder now: what the index misses or got wrong."""
    return {
        "missing": sorted(set(listed) - set(indexed)),
        "changed": sorted(k for k in set(listed) & set(indexed) if listed[k] != indexed[k]),
        "deleted": sorted(set(indexed) - set(listed)),
    }


@dg.asset_check(asset=artifact_index, partitions_def=DAILY,
                description="The day's index holds exactly the objects (keys and ETags) its folder holds now.")
def index_matches_listing(context: dg.AssetCheckExecutionContext, store: ArtifactStore, run_mode: RunMode) -> None:
    def judge(key: str) -> Judgement:
        day = day_of(key)
        index = read_day_index(store, day, columns=["key", "etag"])
        if index is None:
            return {key: "no index for this day"}, {}
        listed = {o.key: o.etag for o in list_day(store, day)}
        drift = listing_drift(dict(zip(index["key"], index["etag"])), listed)
        if not any(drift.values()):
            return {}, {"objects": len(listed)}
        named = ", ".join((drift["missing"] + drift["changed"] + drift["deleted"])[:NAMED_KEYS])
        return ({key: f"folder changed after its index: {len(drift['missing'])} missing, {len(drift['changed'])} "
                      f"changed, {len(drift['deleted'])} deleted ({named})"},
                {"objects": len(listed), "drift": dg.MetadataValue.json(drift)})
    evaluate_partitions(context, run_mode, judge)
