"""Late weekend runs are replayed and never over-reported: think-tank runs that land in a day's
folder after its replays ran are re-indexed by the sensor; until they are replayed the
`replay_complete` check and the window summary say how many are missing, and the sensor's next
tick asks for the day's replays (`daily_job`), after which the day is complete again."""

from contextlib import contextmanager

import dagster as dg
from test_checks import run_checks
from test_orchestration import definitions

from alpha_replay_assets.checks.replay import replay_complete
from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.concordance_summary import concordance_summary
from alpha_replay_assets.index import artifact_index, read_day_index
from alpha_replay_assets.paths import concordance_key, summary_key
from alpha_replay_assets.sample import corpus
from helpers import DAY, pinned
from jobs.sensors import new_artifacts_sensor

MODEL = "claude-haiku-4-5"
WEEKEND_RUNS = pinned(mix="today", seed=99, bad_fraction=0)  # think-tank runs: a new key per run


def _land_weekend_runs(s3_client, bucket, known: set[str], n: int = 3) -> list[str]:
    late = [(k, b) for k, b in corpus.day_objects(DAY, "decision_artifacts", WEEKEND_RUNS) if k not in known][:n]
    for key, body in late:
        s3_client.put_object(Bucket=bucket, Key=key, Body=body)
    return [k for k, _ in late]


class _Day:
    """One day of a test instance: materialise assets, evaluate `replay_complete`, tick the sensor."""

    def __init__(self, resources, instance, day: str):
        self.resources, self.instance, self.day = resources, instance, day
        self.defs = definitions(resources)

    def materialize(self, *assets):
        assert dg.materialize(list(assets), resources=self.resources, instance=self.instance,
                              partition_key=self.day).success

    def complete(self):
        [evaluation] = run_checks(self.resources, self.instance, [replay_complete]).get_asset_check_evaluations()
        return evaluation

    def tick(self):
        with dg.build_sensor_context(instance=self.instance, resources=self.resources,
                                     definitions=self.defs) as context:
            return [r for r in new_artifacts_sensor.evaluate_tick(context).run_requests
                    if r.partition_key == self.day]

    def follow_up(self):
        """The sensor's next request for the day, run as its `daily_job`; the day is complete after it."""
        [request] = self.tick()
        assert request.job_name == "daily_job" and request.run_key.startswith(f"replay:{self.day}:")
        assert self.defs.resolve_job_def("daily_job").execute_in_process(
            instance=self.instance, partition_key=self.day, tags=request.tags).success
        assert self.complete().passed


@contextmanager
def _replayed_day(resources, seeded):
    """DAY seeded, indexed and replayed (complete) in a test instance."""
    seeded()
    with dg.instance_for_test() as instance:
        harness = _Day(resources, instance, DAY.isoformat())
        harness.materialize(artifact_index, concordance)
        assert harness.complete().passed
        yield harness


def test_late_weekend_runs_are_counted_missing_then_replayed_by_the_sensors_follow_up(all_resources, store, s3_client,
                                                                                     bucket, seeded):
    with _replayed_day(all_resources, seeded) as harness:
        materialize, complete, tick = harness.materialize, harness.complete, harness.tick
        late = _land_weekend_runs(s3_client, bucket, set(read_day_index(store, DAY)["key"]))
        [reindex] = tick()
        assert reindex.job_name == "index_job"
        materialize(artifact_index)  # the sensor's re-index: the index gained the weekend runs

        evaluation = complete()
        assert not evaluation.passed and "3 indexed after the replays ran" in evaluation.description
        assert evaluation.metadata["not_replayed_yet"].value == {MODEL: 3}
        materialize(concordance_summary)
        summary = store.read_json(summary_key(store, DAY, MODEL))
        assert summary["n_artifacts_not_replayed_yet"] == 3 and not summary["complete"]
        assert summary["n_artifacts_replayed"] <= summary["n_artifacts_candidate"] - 3  # never over-reported

        harness.follow_up()
        replayed = set(store.read_parquet(concordance_key(store, DAY, MODEL), columns=["key"])["key"])
        assert set(late) <= replayed
        assert tick() == []  # current: nothing more to ask for


def test_artifacts_rewritten_or_deleted_after_their_replay_are_not_reported_replayed(all_resources, store, s3_client,
                                                                                    bucket, seeded):
    """Compared by content, not by key alone: a rewritten artifact (another etag) is replayed again by the
    sensor's follow-up, and one deleted after its replay is no longer counted replayed."""
    with _replayed_day(all_resources, seeded) as harness:
        materialize, complete, tick = harness.materialize, harness.complete, harness.tick
        replayed = store.read_parquet(concordance_key(store, DAY, MODEL))
        rewritten, deleted = sorted(replayed[replayed["outcome"] == "structured"]["key"])[:2]
        body = s3_client.get_object(Bucket=bucket, Key=rewritten)["Body"].read()
        s3_client.put_object(Bucket=bucket, Key=rewritten, Body=body + b"\n")  # same key, new content (etag)
        s3_client.delete_object(Bucket=bucket, Key=deleted)
        [reindex] = tick()
        assert reindex.job_name == "index_job"
        materialize(artifact_index)

        evaluation = complete()
        assert not evaluation.passed, evaluation.description
        assert "1 rewritten since their replay" in evaluation.description
        assert "1 replayed but gone from the index since" in evaluation.description
        assert evaluation.metadata["not_replayed_yet"].value == {MODEL: 1}
        assert evaluation.metadata["not_current"].value == {MODEL: {"rewritten": 1, "gone": 1}}
        materialize(concordance_summary)
        summary = store.read_json(summary_key(store, DAY, MODEL))
        assert summary["n_artifacts_not_replayed_yet"] == 1 and not summary["complete"]
        assert summary["n_artifacts_replayed"] == summary["n_artifacts_candidate"] - 1  # the deleted one not counted

        harness.follow_up()  # the rewritten artifact is asked for again
        keys = set(store.read_parquet(concordance_key(store, DAY, MODEL), columns=["key"])["key"])
        assert rewritten in keys and deleted not in keys
        assert tick() == []


def test_a_target_with_no_eligible_artifact_that_day_has_nothing_late():
    """A replay file under a target none of the day's families is replayed under: nothing late, no crash
    (an empty list as a row mask would have selected no columns)."""
    import pandas as pd

    from alpha_replay_assets.replay_currency import INDEX_COLUMNS, compare

    index = pd.DataFrame([{"key": "k1", "etag": "e1", "agent_id_base": "ic_cio", "status": "ok", "is_llm": True,
                           "is_placeholder": False, "is_truncated": False}], columns=INDEX_COLUMNS)
    replayed = pd.DataFrame({"key": ["k0"], "etag": ["e0"]})
    currency = compare(index, replayed, "qwen/qwen3-30b-a3b-instruct-2507", lambda family: ["claude-haiku-4-5"])
    assert currency.late.empty and "key" in currency.late.columns
    assert currency.gone == frozenset({"k0"})
