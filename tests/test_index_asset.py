import dagster as dg
import pandas as pd

from alpha_replay_assets import artifacts
from alpha_replay_assets.index import artifact_index, read_day_index
from alpha_replay_assets.paths import index_key
from alpha_replay_assets.sample import corpus
from helpers import DAY, SMALL
from resources.artifact_store import ArtifactStore


def n_objects(day):
    return sum(1 for _ in corpus.day_objects(day, "decision_artifacts", SMALL))


def _materialize(resources, **kwargs):
    with dg.instance_for_test() as instance:
        result = dg.materialize([artifact_index], resources=resources, instance=instance, **kwargs)
        assert result.success
        return result.asset_materializations_for_node("artifact_index")


def test_one_row_per_object_bad_ones_included(resources, store, s3_client, bucket, seeded):
    seeded()
    listed = s3_client.list_objects_v2(Bucket=bucket, Prefix=f"decision_artifacts/{DAY:%Y/%m/%d}/")["Contents"]
    [mat] = _materialize(resources, partition_key=DAY.isoformat())

    frame = read_day_index(store, DAY)
    assert sorted(frame["key"]) == sorted(o["Key"] for o in listed)
    assert len(frame) == n_objects(DAY)
    statuses = set(frame["status"])
    assert {"ok", "malformed_json", "not_utf8", "missing_field", "wrong_type", "bad_key", "oversized"} <= statuses
    bad = frame[frame["status"] != "ok"]
    assert bad["error"].notna().all() and (bad["error"].str.len() > 0).all()
    unregistered = frame[frame["agent_id_base"] == "mystery_agent"]
    assert len(unregistered) == SMALL.unregistered_per_day  # valid data of an unknown family, not bad rows
    assert (unregistered["status"] == "ok").all() and not unregistered["family_registered"].any()
    assert frame.loc[frame["status"] == "ok"].drop(unregistered.index)["family_registered"].all()
    assert mat.metadata["dagster/row_count"].value == n_objects(DAY)
    assert mat.metadata["bad_rows"].value == len(bad)
    assert sum(mat.metadata["bad_rows_by_reason"].value.values()) == len(bad)
    assert mat.metadata["rows/ic_cio"].value == int((frame["agent_id_base"] == "ic_cio").sum())
    ok = frame[frame["status"] == "ok"]
    assert set(ok["agent_id_base"]) >= {"sector_quant", "ic_cio", "macro_economist", "executor", "mystery_agent"}
    # the oversized object was judged on its listing and never downloaded
    assert mat.metadata["bytes_read"].value < sum(o["Size"] for o in listed)


def test_rematerialisation_is_idempotent(resources, store, seeded):
    seeded()
    _materialize(resources, partition_key=DAY.isoformat())
    first = store.get_bytes(index_key(store, DAY))
    _materialize(resources, partition_key=DAY.isoformat())
    assert store.get_bytes(index_key(store, DAY)) == first


def test_range_run_writes_one_file_per_day(resources, store, seeded):
    days = seeded(days=[DAY - pd.Timedelta(days=n) for n in (2, 1, 0)])
    mats = _materialize(resources, tags={
        "dagster/asset_partition_range_start": days[0].isoformat(),
        "dagster/asset_partition_range_end": days[-1].isoformat(),
    })
    assert sorted(m.partition for m in mats) == [d.isoformat() for d in days]
    for day in days:
        frame = read_day_index(store, day)
        assert len(frame) == n_objects(day)
        assert set(frame["key"].str.slice(19, 29)) == {f"{day:%Y/%m/%d}"}


def test_empty_day_is_an_empty_index(resources, store):
    [mat] = _materialize(resources, partition_key=DAY.isoformat())
    frame = read_day_index(store, DAY)
    assert len(frame) == 0 and list(frame.columns) == list(artifacts.INDEX_COLUMNS)
    assert mat.metadata["dagster/row_count"].value == 0


def test_s3_error_fails_the_partition_loudly(resources, store):
    broken = resources | {"store": ArtifactStore(s3=store.s3, bucket="no-such-bucket-here")}
    with dg.instance_for_test() as instance:
        result = dg.materialize([artifact_index], resources=broken, instance=instance,
                                partition_key=DAY.isoformat(), raise_on_error=False)
    assert not result.success
    [failure] = result.get_step_failure_events()
    assert "NoSuchBucket" in str(failure.event_specific_data.error)


def test_an_index_built_under_a_per_run_size_bound_is_rebuilt_by_the_next_normal_run(resources, store, seeded):
    """Found by an attacker: `max_object_bytes: 2048` for one run left most rows `oversized` for good
    (the next run saw an unchanged listing and skipped the day)."""
    seeded()
    _materialize(resources, partition_key=DAY.isoformat(), run_config={
        "resources": {"store": {"config": {"max_object_bytes": 2048}}},
        "ops": {"artifact_index": {"config": {"force": True}}}})
    assert (read_day_index(store, DAY)["status"] == "oversized").sum() > n_objects(DAY) // 2
    [mat] = _materialize(resources, partition_key=DAY.isoformat())
    assert mat.metadata["rebuilt"].value is True
    frame = read_day_index(store, DAY)
    assert (frame["status"] == "oversized").sum() <= 1  # the seeded oversized object, as in any index
