"""deploy/: the production instance configs validate against the installed Dagster, and the
Postgres storage works for real against a PostgreSQL server on loopback."""

import importlib
from pathlib import Path

import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config

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
