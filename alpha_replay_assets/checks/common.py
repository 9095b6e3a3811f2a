"""What every check shares: one evaluation per partition (range runs included), the dry-run
answer, and the instance look-ups that ignore stubs."""

from collections.abc import Callable

import dagster as dg

# Not exported by dagster 1.13, yet the only way to tie a check evaluation to the materialisation it judged.
from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)

from alpha_replay_assets.stubs import is_stub
from resources.run_mode import RunMode

# A partition's judgement: problems (what -> why; none = passed) and metadata for the UI.
Judgement = tuple[dict[str, str], dict]
MAX_DESCRIPTION = 1000


def _target(instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition: str):
    """The materialisation of `partition` the evaluation judged (the UI ties them together)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition]), limit=1).records
    if not records:
        return None
    return AssetCheckEvaluationTargetMaterializationData(
        storage_id=records[0].storage_id, run_id=records[0].run_id, timestamp=records[0].timestamp)


def evaluate_partitions(context: dg.AssetCheckExecutionContext, run_mode: RunMode,
                        judge: Callable[[str], Judgement],
                        severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR) -> None:
    """Judge each partition of the run and record one evaluation per partition.

    Dagster 1.13 ties a returned `AssetCheckResult` to a partition only in a single-partition run;
    a range run (the weekly tick, `dg launch --partition-range`, a UI backfill of these single-run
    assets) records one evaluation without a partition and leaves every planned partition
    "Skipped" in the UI. An `AssetCheckEvaluation` logged per partition fills each one in, red or
    green, and the alert sensor names the day. A blocking check then fails its own step when any
    partition failed at ERROR, as Dagster does for a failed blocking result: downstream steps of
    the run do not run. In a dry run nothing is read: every partition says "not evaluated"
    (WARN, marked stub; the alert sensor ignores it).
    """
    [spec] = context.check_specs
    failed = []
    for key in context.partition_keys:
        if run_mode.dry:
            problems, metadata = {}, {"stub": True}
            passed, level = False, dg.AssetCheckSeverity.WARN
            description = f"dry run: {spec.name} was not evaluated (no data was read)"
        else:
            problems, metadata = judge(key)
            passed, level = not problems, severity
            description = "; ".join(f"{what}: {why}" for what, why in problems.items()) if problems else "ok"
            if problems:
                metadata = metadata | {"failures": dg.MetadataValue.json(problems)}
        context.op_execution_context.log_event(dg.AssetCheckEvaluation(
            asset_key=spec.asset_key, check_name=spec.name, partition=key, passed=passed, severity=level,
            description=description[:MAX_DESCRIPTION], metadata=metadata, blocking=spec.blocking,
            target_materialization_data=_target(context.instance, spec.asset_key, key)))
        if not passed and level == dg.AssetCheckSeverity.ERROR:
            failed.append(f"{key}: {description}")
    if spec.blocking and failed:
        raise dg.Failure(f"blocking check {spec.name} failed for {len(failed)} partition(s): "
                         + "; ".join(failed)[:MAX_DESCRIPTION], allow_retries=False)


def latest_real_materialization(instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition: str) -> float | None:
    """Timestamp of the newest materialisation of one partition that was not a dry-run stub."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition]), limit=20
    ).records
    return next((r.timestamp for r in records if not is_stub(r.asset_materialization)), None)
