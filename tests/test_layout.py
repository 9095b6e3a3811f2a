"""Off-layout objects and out-of-range timestamps are named, through `dg launch` of the day's index:
objects under the capture prefix outside every day folder are counted and named by the WARN check
`capture_layout`; artifacts whose timestamp is far from their folder's day, or in the future, stay
indexed, flagged on their rows (`timestamp_flag`) and counted by the WARN check `timestamps_in_range`."""

import datetime as dt
import json

import dagster as dg
from dagster._core.instance.ref import InstanceRef

from alpha_replay_assets.index import read_day_index
from alpha_replay_assets.layout import loose_day
from alpha_replay_assets.sample import corpus
from helpers import DAY, check_evaluations, pinned

CAPTURE = "decision_artifacts"


def _an_llm_artifact() -> tuple[str, dict]:
    for key, body in corpus.day_objects(DAY, CAPTURE, pinned(per_day=20, bad_fraction=0)):
        doc = json.loads(body)
        if doc.get("model_metadata"):
            return key, doc
    raise AssertionError("the corpus has no LLM artifact")


def test_loose_days():
    assert loose_day("2026/12/2/a/b.json") == dt.date(2026, 12, 2) == loose_day("2026-12-02/x")
    assert loose_day("20261202/x") == dt.date(2026, 12, 2)
    assert loose_day("2026/12/thinktank_thesis/run.json") is None and loose_day("2026/13/40/") is None


def test_dg_launch_of_an_index_names_off_layout_objects_and_flags_far_timestamps(dg_launch, dagster_home, s3_client,
                                                                                bucket, store, seeded):
    seeded()
    key, doc = _an_llm_artifact()
    folder, agent = key.rsplit("/", 2)[0], doc["agent_id"]
    misplaced = [f"{DAY:%Y-%m-%d}/{agent}/late.json", f"{DAY:%Y%m%d}/{agent}/late.json",
                 f"{DAY:%Y/%m}/{agent}/late.json"]  # dashes, no separators, a day folder missing a segment
    for path in misplaced:
        s3_client.put_object(Bucket=bucket, Key=f"{CAPTURE}/{path}", Body=json.dumps(doc).encode())
    stamps = {"future": dt.datetime.now(dt.UTC) + dt.timedelta(days=30), "past": dt.datetime.combine(
        DAY - dt.timedelta(days=10), dt.time(12), dt.UTC)}
    for name, stamp in stamps.items():
        s3_client.put_object(Bucket=bucket, Key=f"{folder}/{agent}/{name}.json",
                             Body=json.dumps(doc | {"timestamp": stamp.isoformat()}).encode())

    done = dg_launch("--assets", "artifact_index", "--partition", DAY.isoformat())
    assert done.returncode == 0, done.stderr[-3000:]
    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home))) as instance:
        [run] = instance.get_runs()
        evaluations = {e.asset_check_key.name: e for e in check_evaluations(instance, run.run_id)}
    layout, stamps_check = evaluations["capture_layout"], evaluations["timestamps_in_range"]
    assert not layout.passed and layout.severity == dg.AssetCheckSeverity.WARN
    assert layout.metadata["off_layout_objects"].value == 3
    assert set(layout.metadata["off_layout"].value) == {p.rsplit("/", 2)[0] + "/" for p in misplaced[:2]} | {
        misplaced[2].rsplit("/", 1)[0] + "/"}
    assert not stamps_check.passed and stamps_check.metadata["by_flag"].value == {"future": 1, "far_from_day": 1}
    index = read_day_index(store, DAY)
    flagged = dict(zip(index["key"], index["timestamp_flag"]))
    assert flagged[f"{folder}/{agent}/future.json"] == "future"
    assert flagged[f"{folder}/{agent}/past.json"] == "far_from_day"
    assert (index.loc[index["key"].str.endswith(("future.json", "past.json")), "status"] == "ok").all()  # kept
    assert index["timestamp_flag"].isna().sum() == len(index) - 2


def test_a_mistyped_year_folder_is_named_and_meta_prefixes_are_not(store, s3_client, bucket, seeded):
    from alpha_replay_assets.layout import off_layout_near

    seeded()
    for key in (f"{CAPTURE}/2062/12/02/thinktank_thesis/r.json", f"{CAPTURE}/1999/12/02/thinktank_thesis/r.json",
                f"{CAPTURE}/_inbox/2026-12-02/thinktank_thesis/r.json"):
        s3_client.put_object(Bucket=bucket, Key=key, Body=b"{}")
    named = {found.path: found.objects for found in off_layout_near(store, DAY)}
    assert named == {"2062/": 1, "1999/": 1}, named  # `_inbox/`: a meta-prefix by contract, never reported
