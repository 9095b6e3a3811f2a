"""WARN checks on `artifact_index` for what the day layout leaves out (`alpha_replay_assets.layout`):
objects under the capture prefix outside any day folder, and artifacts whose timestamp is far from
their folder's day or in the future. Neither blocks: the objects are named so someone moves them,
the artifacts stay indexed (flagged on their rows)."""

import dagster as dg

from alpha_replay_assets.checks.common import Judgement, evaluate_partitions
from alpha_replay_assets.index import artifact_index, read_day_index
from alpha_replay_assets.layout import off_layout_near
from alpha_replay_assets.partitions import DAILY, day_of
from resources.artifact_store import ArtifactStore
from resources.run_mode import RunMode

NAMED = 5  # entries named in a description; all of them are in the metadata


@dg.asset_check(asset=artifact_index, partitions_def=DAILY,
                description="No object under the capture prefix sits outside the day layout near this day "
                            "(`2026/12/2/`, `2026-12-02/`, a day folder missing a segment): such objects are in "
                            "no index. WARN: they are counted and named here.")
def capture_layout(context: dg.AssetCheckExecutionContext, store: ArtifactStore, run_mode: RunMode) -> None:
    def judge(key: str) -> Judgement:
        found = off_layout_near(store, day_of(key))
        named = {f.path: f.objects for f in found}
        if not found:
            return {}, {"off_layout_objects": 0}
        return ({key: f"{sum(named.values())} objects outside the day layout, in no index: "
                      + ", ".join(f"{p} ({n})" for p, n in list(named.items())[:NAMED])},
                {"off_layout_objects": sum(named.values()), "off_layout": dg.MetadataValue.json(named)})
    evaluate_partitions(context, run_mode, judge, severity=dg.AssetCheckSeverity.WARN)


@dg.asset_check(asset=artifact_index, partitions_def=DAILY,
                description="Artifact timestamps lie within 2 days of their folder's day and not in the future. "
                            "WARN: the artifacts stay indexed, flagged on their rows (`timestamp_flag`).")
def timestamps_in_range(context: dg.AssetCheckExecutionContext, store: ArtifactStore, run_mode: RunMode) -> None:
    def judge(key: str) -> Judgement:
        index = read_day_index(store, day_of(key), columns=["key", "timestamp", "timestamp_flag"])
        if index is None:
            return {key: "no index for this day"}, {}
        flagged = index[index["timestamp_flag"].notna()]
        counts = {k: int(v) for k, v in flagged["timestamp_flag"].value_counts().items()}
        if not counts:
            return {}, {"timestamps_out_of_range": 0}
        examples = ", ".join(f"{k} ({t}, {f})" for k, t, f in flagged.head(NAMED).itertuples(index=False))
        return ({key: f"{len(flagged)} artifacts with a timestamp out of range: {examples}"},
                {"timestamps_out_of_range": len(flagged), "by_flag": dg.MetadataValue.json(counts)})
    evaluate_partitions(context, run_mode, judge, severity=dg.AssetCheckSeverity.WARN)


LAYOUT_CHECKS = [capture_layout, timestamps_in_range]
