"""A per-run resource override changes exactly the field it names: the endpoints, keys, bucket and
target models bound from the environment stay (they used to fall back to None, sending replays
to the public API)."""

import json

import dagster as dg
import pytest

from helpers import DAY
from resources.environment import resources_from_env

# Every resource setting the README documents as per-run, with a value different from its default.
PER_RUN_SETTINGS = [
    ("store", "max_workers", 3), ("store", "max_object_bytes", 2048), ("store", "read_attempts", 2),
    ("store", "capture_prefix", "other_artifacts"), ("store", "analytics_prefix", "other_artifacts/_x"),
    ("replay_model", "timeout_s", 3.0), ("replay_model", "max_retries", 1), ("replay_model", "max_concurrency", 2),
    ("replay_model", "use_batches", True), ("replay_model", "max_tokens", 512),
    ("replay_model", "batch_poll_interval_s", 1.0), ("replay_model", "target_models", ["claude-sonnet-4-5"]),
    ("replay_model", "target_models_by_family", {"ic_cio": ["claude-sonnet-4-5"]}),
    ("replay_model", "batch_threshold_days", 56), ("replay_model", "prompt_caching", False),
    ("metrics", "namespace", "AlphaEngine/Other"), ("notifier", "ui_base_url", "http://ui.example"),
    ("run_mode", "emit_metrics", False), ("run_mode", "dry_run", True),
]
ENVIRONMENT = {
    "ALPHA_REPLAY_S3_ENDPOINT_URL": "http://127.0.0.1:9", "ALPHA_REPLAY_CLOUDWATCH_ENDPOINT_URL": "http://127.0.0.1:8",
    "ALPHA_REPLAY_BUCKET": "bucket-from-env", "AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "key-from-env",
    "AWS_SECRET_ACCESS_KEY": "secret-from-env", "ALPHA_REPLAY_ANTHROPIC_BASE_URL": "http://127.0.0.1:7",
    "ANTHROPIC_API_KEY": "anthropic-key-from-env", "ALPHA_REPLAY_TARGET_MODELS": "claude-haiku-4-5,claude-sonnet-4-5",
    "ALPHA_REPLAY_TARGET_MODELS_BY_FAMILY": '{"thinktank_thesis": [" google/gemini-2.5-flash-lite "]}',
    "ALPHA_REPLAY_ALERT_SNS_TOPIC_ARN": "arn:aws:sns:eu-west-1:1:t", "ALPHA_REPLAY_SNS_ENDPOINT_URL": "http://127.0.0.1:6",
}


def _settings(resource) -> dict:
    """Every field of a built resource, nested resources flattened (`s3.endpoint_url`)."""
    values = {}
    for name in type(resource).model_fields:
        value = getattr(resource, name)
        if isinstance(value, dg.ConfigurableResource):
            values |= {f"{name}.{k}": v for k, v in _settings(value).items()}
        else:
            values[name] = value
    return values


@pytest.fixture
def bound(monkeypatch):
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    return resources_from_env()


@pytest.mark.parametrize("resource, field, value", PER_RUN_SETTINGS, ids=[f"{r}.{f}" for r, f, _ in PER_RUN_SETTINGS])
def test_a_per_run_setting_applied_alone_changes_only_itself(bound, resource, field, value):
    with dg.build_resources({resource: bound[resource]}) as built:
        before = _settings(getattr(built, resource))
    override = {resource: {"config": {field: value}}}
    with dg.build_resources({resource: bound[resource]}, resource_config=override) as built:
        after = _settings(getattr(built, resource))
    assert after[field] == value != before[field]
    assert {k: v for k, v in after.items() if k != field} == {k: v for k, v in before.items() if k != field}


def test_env_bound_values_reach_the_resources(bound):
    with dg.build_resources({k: bound[k] for k in ("store", "replay_model", "metrics")}) as built:
        assert built.store.bucket == "bucket-from-env" and built.store.s3.endpoint_url == "http://127.0.0.1:9"
        assert built.replay_model.base_url == "http://127.0.0.1:7"
        assert built.replay_model.api_key == "anthropic-key-from-env"
        assert built.replay_model.target_models == ["claude-haiku-4-5", "claude-sonnet-4-5"]
        # the variable replaces the built-in map: the theme family is back on the default list
        assert built.replay_model.target_models_by_family == {"thinktank_thesis": ["google/gemini-2.5-flash-lite"]}
        assert built.replay_model.targets_for("thinktank_theme") == ["claude-haiku-4-5", "claude-sonnet-4-5"]
        assert built.metrics.endpoint_url == "http://127.0.0.1:8" and built.metrics.region_name == "eu-west-1"


def test_dg_launch_with_a_timeout_override_still_replays_against_the_configured_endpoint(
        dg_launch, seeded, model_server, store):
    seeded()
    done = dg_launch("--assets", "artifact_index,concordance", "--partition", DAY.isoformat(), "--config-json",
                     json.dumps({"resources": {"replay_model": {"config": {"timeout_s": 30}}}}))
    assert done.returncode == 0, done.stderr[-3000:]
    assert model_server.counts()["messages"] > 0  # the loopback endpoint from the environment, not the public API
