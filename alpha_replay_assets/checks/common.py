"""What every check shares: the dry-run answer and the instance look-ups that ignore stubs."""

import dagster as dg

from alpha_replay_assets.run_modes import is_stub


def not_evaluated(check_context_name: str) -> dg.AssetCheckResult:
    """A dry run reads nothing, so it cannot vouch for anything: a visible WARN, marked stub."""
    return dg.AssetCheckResult(
        passed=False, severity=dg.AssetCheckSeverity.WARN, metadata={"stub": True},
        description=f"dry run: {check_context_name} was not evaluated (no data was read)",
    )


def latest_real_materialization(instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition: str) -> float | None:
    """Timestamp of the newest materialisation of one partition that was not a dry-run stub."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition]), limit=20
    ).records
    return next((r.timestamp for r in records if not is_stub(r.asset_materialization)), None)


def result(failures: dict[str, str], metadata: dict, severity=dg.AssetCheckSeverity.ERROR,
           ok: str = "ok") -> dg.AssetCheckResult:
    """Pass when `failures` (partition or series -> reason) is empty; otherwise say which and why."""
    return dg.AssetCheckResult(
        passed=not failures, severity=severity,
        metadata=metadata | {"failures": dg.MetadataValue.json(failures)} if failures else metadata,
        description="; ".join(f"{k}: {v}" for k, v in failures.items())[:1000] if failures else ok,
    )
