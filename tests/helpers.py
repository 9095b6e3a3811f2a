"""What tests share besides fixtures: the pinned days and corpus specs, and small helpers (waiting,
snapshots, ports, the environment a user's shell would have). Fixtures live in conftest.py."""

import datetime as dt
import os
import socket
import time
from pathlib import Path

import pytest

from alpha_replay_assets.sample import corpus

# The day most tests seed and materialise: recent (CloudWatch takes points up to 14 days old), and
# always the same weekday as PINNED_DAY, whose random draws it is seeded with (`pinned`): a test's
# data never depends on the date it runs on.
PINNED_DAY = dt.date(2026, 7, 8)  # a Wednesday
DAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)
DAY -= dt.timedelta(days=(DAY - PINNED_DAY).days % 7)


def pinned(**fields) -> corpus.CorpusSpec:
    """A corpus spec whose days draw as the same days relative to PINNED_DAY, whatever today is.
    Graph-era prompts are rendered unless a test asks for the producers' stubs (`graph_prompts="stub"`,
    the corpus default): the replay machinery's tests need graph artifacts that are replayed."""
    return corpus.CorpusSpec(draw_offset_days=(PINNED_DAY - DAY).days, **{"graph_prompts": "rendered"} | fields)


SMALL = pinned(per_day=60, bad_fraction=0.12, large_bytes=20_000, oversized_bytes=300_000)


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def server_env(s3_endpoint: str, bucket: str, model_url: str, dagster_home, scratch) -> dict[str, str]:
    """The environment a user's shell would have: the code location pointed at the loopback
    servers (S3 + CloudWatch on moto, the Messages API) and a DAGSTER_HOME of its own; every family
    under the one default target, like `make_replay_model`."""
    return os.environ | {
        "ALPHA_REPLAY_S3_ENDPOINT_URL": s3_endpoint,
        "ALPHA_REPLAY_CLOUDWATCH_ENDPOINT_URL": s3_endpoint,
        "ALPHA_REPLAY_BUCKET": bucket,
        "ALPHA_REPLAY_ANTHROPIC_BASE_URL": model_url,
        "ANTHROPIC_API_KEY": "test-key",
        "ANTHROPIC_CONFIG_DIR": str(Path(scratch) / "anthropic"),
        "ALPHA_REPLAY_TARGET_MODELS_BY_FAMILY": "{}",
        "DAGSTER_HOME": str(dagster_home),
    }


def wait_for(predicate, timeout: float, what: str, interval: float = 1.0):
    """Poll `predicate` until it returns something truthy (returned); fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
    return value


def snapshot(client, bucket) -> dict[str, bytes]:
    """Every object of a bucket, key -> bytes (to prove what a run did or did not change)."""
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])]
    return {k: client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def check_evaluations(instance, run_id) -> list:
    """Every asset check evaluation a run recorded, from the instance: a blocking check that
    failed its step logged its evaluations there, not in the in-process result's step events."""
    from dagster._core.events import DagsterEventType

    logs = instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    return [e.dagster_event.event_specific_data for e in logs]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
