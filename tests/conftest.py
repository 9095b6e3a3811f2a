"""Real servers for the tests: moto's S3/CloudWatch server over HTTP on loopback (one process
for the session, a fresh bucket per test) and, for replay tests, the loopback Messages API."""

import getpass
import os
import shutil
import subprocess
import tempfile
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
    MOTO_ALLOW_NONEXISTENT_REGION="true",  # the server (started below) inherits it: a region per test
)

from alpha_replay_assets.sample import corpus, local_s3  # noqa: E402
from helpers import DAY, ROOT, SMALL, free_port, server_env  # noqa: E402
from resources.artifact_store import ArtifactStore  # noqa: E402
from resources.run_mode import RunMode  # noqa: E402


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


@pytest.fixture
def metrics(s3_server):
    """A CloudWatch of the test's own. moto's get_metric_data drops the namespace filter when
    dimensions are given, and keeps one CloudWatch per region, so each test gets a region no other
    test uses (a fixed list of real regions wrapped round after 15 tests and leaked datapoints)."""
    from resources.metrics import CloudWatchMetrics

    tag = uuid.uuid4().hex[:8]
    return CloudWatchMetrics(namespace=f"AlphaEngine/Test{tag}", endpoint_url=s3_server.endpoint_url,
                             region_name=f"test-{tag}-1", aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def all_resources(replay_resources, metrics):
    return replay_resources | {"metrics": metrics}


@pytest.fixture
def dagster_home(tmp_path):
    import dagster as dg

    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    # the SQLite schema now: a launcher (or daemon) and the test opening an empty home at the same moment both
    # migrate it, leaving two alembic heads, and the run never starts
    with dg.DagsterInstance.from_config(str(home)):
        pass
    return home


@pytest.fixture
def launch_env(s3_server, bucket, model_server, dagster_home, tmp_path):
    return server_env(s3_server.endpoint_url, bucket, model_server.base_url, dagster_home, tmp_path)


@pytest.fixture
def dg_launch(launch_env):
    """`dg launch ARGS...` as a user runs it: a subprocess in the project directory."""
    def launch(*args, env=None, timeout=600):
        return subprocess.run(["dg", "launch", *args], cwd=ROOT, env=env or launch_env, capture_output=True,
                              text=True, timeout=timeout)
    return launch


MATRIX_HEADER = ("| fault | where | outcome | data state | what the user sees |\n"
                 "|---|---|---|---|---|\n")


def pytest_addoption(parser):
    parser.addoption("--fault-matrix", default=None, metavar="PATH",
                     help="write the fault matrix measured by tests/test_faults.py to PATH")
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
