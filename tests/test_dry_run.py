"""A dry run touches nothing, whatever launches it: `dg launch` with a partition or a range (which
drops a job's default config), and any asset that forgets its guard (the resources refuse).
The GraphQL, backfill and schedule launch paths are proven against `dagster dev` in test_e2e_ui."""

import dagster as dg
import pytest
from dagster._core.instance.ref import InstanceRef

from helpers import DAY, snapshot
from jobs.catalog import ALL_ASSETS
from resources.artifact_store import ArtifactStore
from resources.metrics import CloudWatchMetrics
from resources.replay_model import ReplayModel
from resources.run_mode import DRY_RUN_TAG, DryRunViolation


@pytest.fixture
def real_data(all_resources, s3_client, bucket, seeded):
    """Two days indexed, replayed and judged for real: the data a dry run must not touch."""
    import datetime as dt

    days = seeded([DAY - dt.timedelta(days=1), DAY])
    with dg.instance_for_test() as instance:
        result = dg.materialize(ALL_ASSETS, resources=all_resources, instance=instance,
                                tags={"dagster/asset_partition_range_start": days[0].isoformat(),
                                      "dagster/asset_partition_range_end": days[-1].isoformat()})
    assert result.success
    return days


def _stub_materializations(dagster_home) -> list:
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance:
        [run] = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS and run.tags.get(DRY_RUN_TAG) == "true"
        return [e.asset_materialization for e in instance.all_logs(run.run_id)
                if e.is_dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"]


@pytest.mark.parametrize("partition_args, n_days", [
    pytest.param(lambda days: ["--partition", days[-1].isoformat()], 1, id="partition"),
    pytest.param(lambda days: ["--partition-range", f"{days[0]}...{days[-1]}"], 2, id="partition_range"),
])
def test_dg_launch_of_preflight_job_makes_zero_requests_and_changes_nothing(
        partition_args, n_days, real_data, dg_launch, dagster_home, s3_server, s3_client, bucket, model_server):
    before, model_calls = snapshot(s3_client, bucket), model_server.counts()["messages"]
    s3_server.reset_counts()
    done = dg_launch("--job", "preflight_job", *partition_args(real_data))
    assert done.returncode == 0, done.stderr[-3000:]
    assert s3_server.request_counts().get("total", 0) == 0  # no S3 or CloudWatch request at all
    assert model_server.counts()["messages"] == model_calls
    assert snapshot(s3_client, bucket) == before  # every real object byte-identical
    stubs = _stub_materializations(dagster_home)
    assert len(stubs) == len(ALL_ASSETS) * n_days and all(m.metadata["stub"].value is True for m in stubs)


class Touch(dg.Config):
    resource: str


@dg.asset
def careless(config: Touch, store: ArtifactStore, metrics: CloudWatchMetrics, replay_model: ReplayModel) -> None:
    """An asset that forgot its dry-run guard and goes straight for a client."""
    {"store": lambda: list(store.list_prefix("decision_artifacts/")),
     "metrics": lambda: metrics.put([]) or metrics.client,
     "replay_model": lambda: replay_model.create("claude-haiku-4-5", "system", "user")}[config.resource]()


@pytest.mark.parametrize("resource", ["store", "metrics", "replay_model"])
@pytest.mark.parametrize("how", [
    pytest.param({"tags": {DRY_RUN_TAG: "true"}}, id="tag"),
    pytest.param({"tags": {DRY_RUN_TAG: "True"}}, id="tag typed by hand"),  # was a real run: 101 S3 requests
    pytest.param({"resources": {"run_mode": {"config": {"dry_run": True}}}}, id="run_config"),
])
def test_resources_refuse_the_network_in_a_dry_run_even_when_an_asset_forgets(
        resource, how, all_resources, s3_server, model_server):
    s3_server.reset_counts()
    run_config = ({"ops": {"careless": {"config": {"resource": resource}}}}
                  | {k: v for k, v in how.items() if k != "tags"})
    with dg.instance_for_test() as instance:
        result = dg.materialize([careless], resources=all_resources, instance=instance, raise_on_error=False,
                                run_config=run_config, tags=how.get("tags"))
    assert not result.success
    [failure] = result.get_step_failure_events()
    assert DryRunViolation.__name__ in str(failure.event_specific_data.error)
    assert s3_server.request_counts().get("total", 0) == 0 and model_server.counts()["messages"] == 0


def test_the_same_careless_asset_does_reach_the_servers_in_a_real_run(all_resources, s3_server, model_server):
    """The refusal above is the dry run's doing, not a broken resource."""
    with dg.instance_for_test() as instance:
        result = dg.materialize([careless], resources=all_resources, instance=instance,
                                run_config={"ops": {"careless": {"config": {"resource": "replay_model"}}}})
    assert result.success and model_server.counts()["messages"] == 1
