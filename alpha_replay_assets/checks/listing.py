"""Is each day's index still the day folder? Past folders change after the fact (late artifacts,
think-tank weekend runs filed under Friday), and an index that misses them is silently wrong."""

import dagster as dg

from alpha_replay_assets.checks.common import not_evaluated, result
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
def index_matches_listing(context: dg.AssetCheckExecutionContext, store: ArtifactStore,
                          run_mode: RunMode) -> dg.AssetCheckResult:
    if run_mode.dry:
        return not_evaluated("index_matches_listing")
    failures, drift_by_day = {}, {}
    for key in context.partition_keys:
        day = day_of(key)
        index = read_day_index(store, day, columns=["key", "etag"])
        if index is None:
            failures[key] = "no index for this day"
            continue
        listed = {o.key: o.etag for o in list_day(store, day)}
        drift = listing_drift(dict(zip(index["key"], index["etag"])), listed)
        if any(drift.values()):
            drift_by_day[key] = drift
            named = ", ".join((drift["missing"] + drift["changed"] + drift["deleted"])[:NAMED_KEYS])
            failures[key] = (f"folder changed after its index: {len(drift['missing'])} missing, "
                             f"{len(drift['changed'])} changed, {len(drift['deleted'])} deleted ({named})")
    return result(failures, {"drift": dg.MetadataValue.json(drift_by_day)} if drift_by_day else {})
