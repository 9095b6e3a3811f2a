from importlib.metadata import version

import dagster as dg

from jobs.definitions import defs


def test_dagster_family_versions_agree():
    core = version("dagster")
    assert core == "1.13.27"
    for lib in ("dagster-webserver", "dagster-graphql", "dagster-dg-cli"):
        assert version(lib) == core, lib
    # integrations are versioned 0.(N+16).P against core 1.N.P
    assert version("dagster-aws") == "0.29." + core.split(".")[2]


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)
    assert {a.key.to_user_string() for a in defs.resolve_all_asset_specs()} >= {"artifact_index"}
    defs.resolve_job_def("daily_job")
    for job in ("index_job", "window_job", "weekly_job", "preflight_job", "freshness_checks_job"):
        defs.resolve_job_def(job)
    defs.resolve_schedule_def("weekly_schedule")
    for sensor in ("new_artifacts_sensor", "check_alert_sensor", "run_failure_alert_sensor"):
        defs.resolve_sensor_def(sensor)


def test_layering_points_one_way():
    """resources <- alpha_replay_assets <- jobs: a lower layer never imports a higher one."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parent.parent
    forbidden = {"resources": ("alpha_replay_assets", "jobs"), "alpha_replay_assets": ("jobs",)}
    for package, uppers in forbidden.items():
        for path in (root / package).rglob("*.py"):
            imports = re.findall(r"^\s*(?:from|import)\s+(\w+)", path.read_text(), flags=re.M)
            assert not set(imports) & set(uppers), f"{path} imports {set(imports) & set(uppers)}"
