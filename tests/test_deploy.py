"""deploy/: the production instance configs validate against the installed Dagster, and the
Postgres storage works for real against a PostgreSQL server on loopback."""

import getpass
import importlib
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config

from alpha_replay_assets.index import artifact_index
from conftest import DAY
from jobs.catalog import ALL_CHECKS

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
PG_URL = "postgresql+psycopg2://postgres@127.0.0.1:{port}/dagster"


@pytest.mark.parametrize("name", ["dagster.yaml", "dagster.ecs.yaml", "dagster.k8s.yaml"])
def test_instance_configs_validate(name, monkeypatch):
    monkeypatch.setenv("DAGSTER_PG_URL", PG_URL.format(port=5432))
    config, _ = dagster_instance_config(str(DEPLOY), config_filename=name)
    assert config["storage"]["postgres"]["postgres_url"] == {"env": "DAGSTER_PG_URL"}
    launcher = yaml.safe_load((DEPLOY / name).read_text()).get("run_launcher")
    if launcher:  # the launcher's own schema, from the installed integration
        cls = getattr(importlib.import_module(launcher["module"]), launcher["class"])
        outcome = validate_config(cls.config_type(), launcher["config"])
        assert outcome.success, outcome.errors


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres():
    """A throwaway PostgreSQL cluster on 127.0.0.1 (Debian's server package; .ci/run installs it).
    As root, the server runs as the `postgres` user, in a directory that user owns."""
    bindir = next(Path("/usr/lib/postgresql").glob("*/bin"), None)
    assert bindir is not None, "PostgreSQL server binaries missing: apt-get install postgresql"
    root, port = Path(tempfile.mkdtemp(prefix="alpha-replay-pg-")), _free_port()
    data = root / "data"
    data.mkdir()
    as_user = ["runuser", "-u", "postgres", "--"] if getpass.getuser() == "root" else []
    if as_user:
        for path in (root, data):
            shutil.chown(path, "postgres")
    subprocess.run([*as_user, bindir / "initdb", "-D", data, "-U", "postgres", "--auth=trust"], check=True,
                   capture_output=True)
    subprocess.run([*as_user, bindir / "pg_ctl", "-D", data, "-w", "-l", data / "log", "-o",
                    f"-p {port} -k {data} -c listen_addresses=127.0.0.1", "start"], check=True, capture_output=True)
    try:
        subprocess.run([*as_user, bindir / "createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                        "dagster"], check=True, capture_output=True)
        yield port
    finally:
        subprocess.run([*as_user, bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def test_postgres_storage_records_partitioned_materialisations_and_checks(postgres, all_resources, seeded,
                                                                          monkeypatch, tmp_path):
    monkeypatch.setenv("DAGSTER_PG_URL", PG_URL.format(port=postgres))
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    seeded()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        result = dg.materialize([artifact_index, *ALL_CHECKS], resources=all_resources, instance=instance,
                                partition_key=DAY.isoformat(),
                                selection=dg.AssetSelection.assets(artifact_index).without_checks()
                                | dg.AssetSelection.checks(*[c for c in ALL_CHECKS if c.check_keys and
                                                             next(iter(c.check_keys)).name == "bad_row_rate_below_bound"]))
        assert result.success
        [record] = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=artifact_index.key, asset_partitions=[DAY.isoformat()]), limit=5).records
        assert record.partition_key == DAY.isoformat()
        key = dg.AssetCheckKey(artifact_index.key, "bad_row_rate_below_bound")
        [check] = instance.event_log_storage.get_asset_check_execution_history(key, limit=5)
        assert check.partition == DAY.isoformat() and check.event is not None
