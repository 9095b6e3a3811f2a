"""An index never goes backwards: a stale run cannot overwrite a fresher index, and a folder that
changed after its index is named by a check."""

import dagster as dg
from dagster._core.instance.ref import InstanceRef
from test_checks import run_checks

from alpha_replay_assets.checks.listing import index_matches_listing
from alpha_replay_assets.index import FINGERPRINT_META, artifact_index, list_day, listing_fingerprint, read_day_index
from alpha_replay_assets.paths import index_key
from alpha_replay_assets.sample import corpus
from alpha_replay_assets.sample.fault_proxy import FaultProxy
from helpers import DAY, pinned

# a think-tank thesis (a new key per run and version); a graph artifact of the day would overwrite the
# seeded one (its run id is the date): a changed object, not one that arrived
LATE_SPEC = pinned(mix="today", seed=99, bad_fraction=0)


def _late_artifact(s3_client, bucket) -> str:
    key, body = next(corpus.day_objects(DAY, "decision_artifacts", LATE_SPEC))
    s3_client.put_object(Bucket=bucket, Key=key, Body=body)
    return key


def test_a_stale_index_run_cannot_overwrite_a_fresher_one(s3_server, s3_client, bucket, store, seeded, launch_env,
                                                          dagster_home):
    """Run A lists the day, an artifact arrives, run B indexes one more, then A's PUT lands.
    Both runs are real `dg launch` processes; A's PUT is held at a proxy until B is done."""
    import subprocess

    from helpers import ROOT

    seeded()
    listed = len(list_day(store, DAY))
    command = ["dg", "launch", "--assets", "artifact_index", "--partition", DAY.isoformat()]
    with FaultProxy(s3_server.endpoint_url) as proxy:
        env = launch_env | {"ALPHA_REPLAY_S3_ENDPOINT_URL": proxy.url}
        proxy.hold("PUT", rf"artifact_index/dt(=|%3D){DAY}/index\.parquet", timeout_s=600)
        run_a = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert proxy.wait_until_held(timeout=300), "run A never wrote its index"
            late = _late_artifact(s3_client, bucket)
            run_b = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
            assert run_b.returncode == 0, run_b.stderr[-3000:]
            assert len(read_day_index(store, DAY)) == listed + 1
        finally:
            proxy.release()
            _, err = run_a.communicate(timeout=600)
        assert run_a.returncode == 0, err[-3000:]

    index = read_day_index(store, DAY)
    assert len(index) == listed + 1 and late in set(index["key"])  # nothing lost to the stale run
    assert store.head(index_key(store, DAY))[1][FINGERPRINT_META] == listing_fingerprint(list_day(store, DAY))
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance:
        [latest] = instance.fetch_materializations(artifact_index.key, limit=1).records
        assert latest.asset_materialization.metadata["dagster/row_count"].value == listed + 1
        assert len(instance.get_runs()) == 2 and all(r.status == dg.DagsterRunStatus.SUCCESS
                                                     for r in instance.get_runs())


def test_index_matches_listing_names_what_arrived_after_the_index(all_resources, store, s3_client, bucket, seeded):
    seeded()
    resources = all_resources
    with dg.instance_for_test() as instance:
        def check():
            [evaluation] = run_checks(resources, instance, [index_matches_listing]).get_asset_check_evaluations()
            return evaluation

        dg.materialize([artifact_index], resources=resources, instance=instance, partition_key=DAY.isoformat())
        assert check().passed
        late = _late_artifact(s3_client, bucket)
        evaluation = check()
        assert not evaluation.passed and evaluation.partition == DAY.isoformat()
        assert late in evaluation.description and "1 missing" in evaluation.description
        assert evaluation.metadata["drift"].value["missing"] == [late]

        dg.materialize([artifact_index], resources=resources, instance=instance, partition_key=DAY.isoformat())
        assert check().passed  # re-indexed: current again


def test_an_unchanged_folder_is_not_read_again(resources, store, seeded, s3_server):
    seeded()
    with dg.instance_for_test() as instance:
        def index(**config):
            result = dg.materialize([artifact_index], resources=resources, instance=instance,
                                    partition_key=DAY.isoformat(),
                                    run_config={"ops": {"artifact_index": {"config": config}}})
            return result.asset_materializations_for_node("artifact_index")[0].metadata

        first = index()
        s3_server.reset_counts()
        second = index()
        capture_gets = s3_server.request_counts().get("GET capture", 0)
        assert second["days_unchanged"].value == 1 and second["bytes_read"].value == 0
        assert capture_gets == 0  # listed, never fetched
        assert second["dagster/row_count"].value == first["dagster/row_count"].value
        forced = index(force=True)
        assert forced["days_rebuilt"].value == 1 and forced["bytes_read"].value > 0
