"""Real servers for the tests: moto's S3/CloudWatch server over HTTP on loopback (one process
for the session, a fresh bucket per test) and, for replay tests, the loopback Messages API."""

import datetime as dt
import getpass
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config as BotoConfig
from dagster_aws.s3 import S3Resource

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_EC2_METADATA_DISABLED="true",
)

from alpha_replay_assets.sample import corpus, local_s3  # noqa: E402
from resources.artifact_store import ArtifactStore  # noqa: E402
from resources.run_mode import RunMode  # noqa: E402

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


@pytest.fixture(scope="session")
def s3_server():
    server = local_s3.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_client(s3_server):
    return boto3.client("s3", endpoint_url=s3_server.endpoint_url, region_name="us-east-1",
                        config=BotoConfig(max_pool_connections=32))


@pytest.fixture
def bucket(s3_client):
    name = f"t-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def store(s3_server, bucket):
    s3 = S3Resource(endpoint_url=s3_server.endpoint_url, region_name="us-east-1",
                    aws_access_key_id="testing", aws_secret_access_key="testing", max_attempts=2)
    return ArtifactStore(s3=s3, bucket=bucket, max_workers=8, max_object_bytes=256 * 1024)


@pytest.fixture
def resources(store):
    return {"store": store, "run_mode": RunMode()}


# Small, fast corpora: every kind of artifact, bad ones included.
SMALL = pinned(per_day=60, bad_fraction=0.12, large_bytes=20_000, oversized_bytes=300_000)


@pytest.fixture
def seeded(s3_client, bucket):
    """Seed `days` (default: DAY) and return their dates."""
    def seed(days=(DAY,), spec=SMALL):
        corpus.seed(s3_client, bucket, list(days), spec)
        return list(days)
    return seed


@pytest.fixture
def model_server(tmp_path, monkeypatch):
    """The loopback Messages API; the SDK's profile lookup is pointed at an empty dir."""
    from alpha_replay_assets.sample.model_server import ModelServer

    monkeypatch.setenv("ANTHROPIC_CONFIG_DIR", str(tmp_path / "anthropic"))
    server = ModelServer()
    yield server
    server.stop()


@pytest.fixture
def make_replay_model(model_server):
    """A ReplayModel on the loopback server; keyword arguments override the test defaults. Every
    family replays under the one default target (no router key needed) unless a test gives
    `target_models_by_family` (tests/test_targets.py runs the per-family defaults)."""
    from resources.replay_model import ReplayModel

    def make(**overrides):
        settings = dict(api_key="test-key", base_url=model_server.base_url, max_retries=3, max_concurrency=4,
                        timeout_s=2.0, batch_poll_interval_s=0.01, target_models_by_family={})
        return ReplayModel(**settings | overrides)
    return make


@pytest.fixture
def replay_model(make_replay_model):
    return make_replay_model()


@pytest.fixture
def replay_resources(resources, replay_model):
    return resources | {"replay_model": replay_model}


# moto's get_metric_data drops the namespace filter when dimensions are given, so tests are
# isolated by region (moto keeps one CloudWatch per region) as well as by namespace.
REGIONS = itertools.cycle(["us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3",
                           "eu-central-1", "eu-north-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2",
                           "ap-southeast-1", "ap-southeast-2", "ca-central-1", "sa-east-1"])


@pytest.fixture
def metrics(s3_server):
    from resources.metrics import CloudWatchMetrics

    return CloudWatchMetrics(namespace=f"AlphaEngine/Test{uuid.uuid4().hex[:8]}", endpoint_url=s3_server.endpoint_url,
                             region_name=next(REGIONS), aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def all_resources(replay_resources, metrics):
    return replay_resources | {"metrics": metrics}


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def dagster_home(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return home


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


@pytest.fixture
def launch_env(s3_server, bucket, model_server, dagster_home, tmp_path):
    return server_env(s3_server.endpoint_url, bucket, model_server.base_url, dagster_home, tmp_path)


def wait_for(predicate, timeout: float, what: str, interval: float = 1.0):
    """Poll `predicate` until it returns something truthy (returned); fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
    return value


@pytest.fixture
def dg_launch(launch_env):
    """`dg launch ARGS...` as a user runs it: a subprocess in the project directory."""
    def launch(*args, env=None, timeout=600):
        return subprocess.run(["dg", "launch", *args], cwd=ROOT, env=env or launch_env, capture_output=True,
                              text=True, timeout=timeout)
    return launch


def snapshot(client, bucket) -> dict[str, bytes]:
    """Every object of a bucket, key -> bytes (to prove what a run did or did not change)."""
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            for o in page.get("Contents", [])]
    return {k: client.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


MATRIX_HEADER = ("| fault | where | outcome | data state | what the user sees |\n"
                 "|---|---|---|---|---|\n")
MATRIX_MARKERS = ("<!-- fault-matrix:start -->", "<!-- fault-matrix:end -->")


def pytest_addoption(parser):
    parser.addoption("--fault-matrix", default=None, metavar="PATH",
                     help="write the fault matrix measured by tests/test_faults.py to PATH and into README.md")
    parser.addoption("--update-graph-snapshot", action="store_true",
                     help="rewrite tests/snapshots/asset_graph.txt from the current definitions")


@pytest.fixture(scope="session")
def fault_matrix(request):
    """Rows recorded by the fault scenarios; written out at the end when --fault-matrix is given."""
    rows: list[dict] = []
    yield rows
    path = request.config.getoption("--fault-matrix")
    if path and rows:
        table = MATRIX_HEADER + "".join(
            f"| {r['fault']} | {r['where']} | {r['outcome']} | {r['data']} | {r['user_sees']} |\n" for r in rows)
        with open(path, "w") as out:
            out.write(f"<!-- written by: python -m pytest tests/test_faults.py --fault-matrix {path} -->\n" + table)
        readme_path = os.path.join(ROOT, "README.md")
        readme = open(readme_path).read()
        start, end = MATRIX_MARKERS
        if start in readme and end in readme:
            head, rest = readme.split(start, 1)
            with open(readme_path, "w") as out:
                out.write(head + start + "\n" + table + end + rest.split(end, 1)[1])


def check_evaluations(instance, run_id) -> list:
    """Every asset check evaluation a run recorded, from the instance: a blocking check that
    failed its step logged its evaluations there, not in the in-process result's step events."""
    from dagster._core.events import DagsterEventType

    return [e.dagster_event.event_specific_data for e in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def postgres():
    """A throwaway PostgreSQL cluster on 127.0.0.1 (Debian's server package; .ci/run installs it).
    As root, the server runs as the `postgres` user, in a directory that user owns."""
    bindir = next(Path("/usr/lib/postgresql").glob("*/bin"), None)
    assert bindir is not None, "PostgreSQL server binaries missing: apt-get install postgresql"
    root, port = Path(tempfile.mkdtemp(prefix="alpha-replay-pg-")), free_port()
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


# Files that take a minute or more, slowest first: the workers start them before the short ones,
# so no worker is left running one alone at the end (`--dist loadfile` hands out files in order).
LONG_FILES = ["test_production_topology", "test_e2e_ui", "test_determinism", "test_demo", "test_faults",
              "test_dry_run", "test_checks", "test_family_copy", "test_index_currency", "test_killed_launcher"]


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        module = item.module.__name__.rsplit(".", 1)[-1]
        return LONG_FILES.index(module) if module in LONG_FILES else len(LONG_FILES)
    items.sort(key=rank)  # stable: each file's tests keep their order
