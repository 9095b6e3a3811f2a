"""The asset graph as reviewable text: assets, checks, partitions, jobs, schedules and sensors.
A change to the graph changes `tests/snapshots/asset_graph.txt`, so it shows up in review.
After an intended change: `python -m pytest tests/test_graph_snapshot.py --update-graph-snapshot`."""

from pathlib import Path

from jobs.asset_jobs import ALL_JOBS
from jobs.catalog import ALL_CHECKS
from jobs.definitions import defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.txt"


def _names(keys) -> str:
    return ", ".join(sorted(k.to_user_string() for k in keys)) or "-"


def graph_text() -> str:
    graph = defs.resolve_asset_graph()
    lines = ["# assets: key | group | partitions | deps | kinds"]
    for spec in sorted(defs.resolve_all_asset_specs(), key=lambda s: s.key.to_user_string()):
        lines.append(f"{spec.key.to_user_string()} | {spec.group_name} | {spec.partitions_def or 'unpartitioned'}"
                     f" | {_names(d.asset_key for d in spec.deps)} | {', '.join(sorted(spec.kinds)) or '-'}")
    lines.append("# checks: asset:check | blocking")
    specs = [spec for checks in ALL_CHECKS for spec in checks.check_specs]
    for spec in sorted(specs, key=lambda s: (s.asset_key.to_user_string(), s.name)):
        lines.append(f"{spec.asset_key.to_user_string()}:{spec.name} | {'blocking' if spec.blocking else '-'}")
    lines.append("# jobs: name | assets | checks")
    for job in sorted(ALL_JOBS, key=lambda j: j.name):
        checks = sorted(f"{k.asset_key.to_user_string()}:{k.name}" for k in job.selection.resolve_checks(graph))
        lines.append(f"{job.name} | {_names(job.selection.resolve(graph))} | {', '.join(checks) or '-'}")
    lines.append("# schedules: name | cron | timezone | job | default status")
    for schedule in sorted(defs.schedules, key=lambda s: s.name):
        lines.append(f"{schedule.name} | {schedule.cron_schedule} | {schedule.execution_timezone} | "
                     f"{schedule.job_name} | {schedule.default_status.value}")
    lines.append("# sensors: name | kind | minimum interval s | default status")
    for sensor in sorted(defs.sensors, key=lambda s: s.name):
        lines.append(f"{sensor.name} | {type(sensor).__name__} | {sensor.minimum_interval_seconds} | "
                     f"{sensor.default_status.value}")
    return "\n".join(lines) + "\n"


def test_the_asset_graph_matches_its_reviewed_snapshot(request):
    text = graph_text()
    if request.config.getoption("--update-graph-snapshot"):
        SNAPSHOT.write_text(text)
    assert SNAPSHOT.read_text() == text, (
        "the asset graph changed: review the diff, then run "
        "`python -m pytest tests/test_graph_snapshot.py --update-graph-snapshot` and commit the snapshot")


def test_the_snapshot_sees_a_changed_graph():
    """The comparison can fail: a check added to the graph changes the text."""
    import dagster as dg

    @dg.asset_check(asset="artifact_index")
    def probe_check():
        return dg.AssetCheckResult(passed=True)

    before = graph_text()
    ALL_CHECKS.append(probe_check)
    try:
        assert graph_text() != before and "artifact_index:probe_check" in graph_text()
    finally:
        ALL_CHECKS.remove(probe_check)
