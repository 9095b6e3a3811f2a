"""Each check passes on healthy data and fails on a crafted unhealthy case."""

import datetime as dt

import dagster as dg
import pandas as pd

from alpha_replay_assets.checks.capture import CAPTURE_CHECKS, silent_families, unregistered_volume, volume_drop
from alpha_replay_assets.checks.replay import zero_scoring_families
from alpha_replay_assets.checks.windows import WINDOW_CHECKS, stale_series
from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.concordance_summary import METRIC, concordance_summary
from alpha_replay_assets.counterfactual import counterfactual_fits
from alpha_replay_assets.index import artifact_index, read_day_index
from alpha_replay_assets.paths import summary_key
from alpha_replay_assets.replay.planning import eligible_rows
from alpha_replay_assets.sample import corpus, schedule
from alpha_replay_assets.windows import window_end_timestamp
from helpers import DAY, SMALL, check_evaluations, pinned
from jobs.catalog import ALL_ASSETS, ALL_CHECKS
from resources.metrics import Datapoint

ASSETS = ALL_ASSETS
CHECKS = ALL_CHECKS


def evaluations(result) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def run(resources, instance, selection, partition=DAY, run_config=None):
    return dg.materialize(ASSETS + CHECKS, selection=selection, resources=resources, instance=instance,
                          partition_key=partition.isoformat(), run_config=run_config or {}, raise_on_error=False)


def run_checks(resources, instance, checks, partition=DAY, run_config=None):
    """Evaluate checks alone, as the UI's "execute checks" does (no materialisation)."""
    defs = dg.Definitions(assets=ASSETS, asset_checks=CHECKS, resources=resources,
                          jobs=[dg.define_asset_job("checks_only", selection=dg.AssetSelection.checks(*checks))])
    return defs.resolve_job_def("checks_only").execute_in_process(
        instance=instance, tags={"dagster/partition": partition.isoformat()}, raise_on_error=False,
        run_config=run_config or {})


def test_pure_helpers():
    assert volume_drop(100, [200, 210, 190], 0.5) is None
    assert "trailing median 200" in volume_drop(90, [200, 210, 190], 0.5)
    assert volume_drop(5, [], 0.5) is None
    earlier = [pd.DataFrame({"agent_id_base": ["ic_cio", "macro_economist"], "status": ["ok", "ok"]})]
    recent = [pd.DataFrame({"agent_id_base": ["ic_cio", "macro_economist", "thinktank_thesis"],
                            "status": ["ok", "malformed_json", "ok"]})]
    assert silent_families(recent, earlier) == ["macro_economist"]  # a bad row is not a sign of life
    assert silent_families(recent, []) == []  # never seen in the lookback: not watched
    frame = pd.DataFrame({"agent_id": ["mystery_agent", "mystery_agent", "ic_cio", "thinktank_thesis:AAPL", "x"],
                          "agent_id_base": ["mystery_agent", "mystery_agent", "ic_cio", "thinktank_thesis", "x"],
                          "status": ["ok", "ok", "ok", "ok", "malformed_json"]})
    assert unregistered_volume(frame) == {"mystery_agent": 2, "thinktank_thesis": 1}
    assert unregistered_volume(frame.iloc[:0]) == {}  # an empty day (an index with no rows)
    frame = pd.DataFrame({"agent_id_base": ["a"] * 5 + ["b"] * 5, "outcome": ["structured"] * 10,
                          "agreement_score": [0.0] * 5 + [0.0, 0.0, 0.0, 0.0, 0.1]})
    assert zero_scoring_families(frame, 5) == ["a"]


def test_capture_checks_pass_on_healthy_days_and_catch_a_dead_family_and_a_volume_drop(all_resources, s3_client,
                                                                                        bucket):
    days = [DAY - dt.timedelta(days=n) for n in range(4, -1, -1)]
    corpus.seed(s3_client, bucket, days[:-1], SMALL)
    # the last day: a capture outage (10% of the volume) and ic_cio stopped producing
    for key, body in corpus.day_objects(days[-1], "decision_artifacts", pinned(per_day=60, bad_fraction=0)):
        if "/ic_cio/" not in key and hash(key) % 10 == 0:
            s3_client.put_object(Bucket=bucket, Key=key, Body=body)
    selection = dg.AssetSelection.assets(artifact_index)  # with its checks
    with dg.instance_for_test() as instance:
        for day in days[:-1]:
            healthy = evaluations(run(all_resources, instance, selection, day))
            assert healthy["bad_row_rate_below_bound"].passed is False  # SMALL has 12% bad rows
            assert healthy["volume_vs_trailing_median"].passed
        freshness = {"artifact_index_family_input_freshness": {"config": {"family_freshness_days": 1}}}
        sick = run(all_resources, instance, selection, days[-1], run_config={"ops": freshness})
        checks = evaluations(sick)
    assert not checks["volume_vs_trailing_median"].passed
    assert checks["volume_vs_trailing_median"].severity == dg.AssetCheckSeverity.WARN
    assert not checks["family_input_freshness"].passed
    assert "ic_cio" in checks["family_input_freshness"].description
    assert checks["family_input_freshness"].partition == days[-1].isoformat()


def test_family_freshness_watches_families_seen_in_the_lookback_and_lets_a_gone_corpus_go(all_resources, s3_client,
                                                                                          bucket):
    days = [DAY - dt.timedelta(days=n) for n in range(7, -1, -1)]
    legacy, today = pinned(per_day=40, bad_fraction=0, mix="legacy"), pinned(mix="today")
    corpus.seed(s3_client, bucket, days[:3], legacy)  # the six graph families stop ...
    corpus.seed(s3_client, bucket, days[3:], today)  # ... and the think tank carries on
    freshness = "artifact_index_family_input_freshness"
    with dg.instance_for_test() as instance:
        dg.materialize([artifact_index], resources=all_resources, instance=instance, tags={
            "dagster/asset_partition_range_start": days[0].isoformat(),
            "dagster/asset_partition_range_end": days[-1].isoformat()})
        dead = evaluations(run_checks(all_resources, instance, [CAPTURE_CHECKS[2]], days[-1]))["family_input_freshness"]
        gone = evaluations(run_checks(all_resources, instance, [CAPTURE_CHECKS[2]], days[-1], run_config={
            "ops": {freshness: {"config": {"family_watch_days": 2}}}}))["family_input_freshness"]
    assert not dead.passed  # silent for 5 days after producing: loud, each one named
    graph_only = {f for f, _ in schedule.volumes("legacy")} - {f for f, _ in schedule.volumes("today")}
    assert set(dead.metadata["failures"].value) == graph_only
    assert {"ic_cio", "executor"} <= set(dead.metadata["families_watched"].value)
    assert gone.passed  # once outside the watch lookback, an intentionally gone corpus stops failing
    assert "executor" in gone.metadata["families_watched"].value
    assert "ic_cio" not in gone.metadata["families_watched"].value


def test_unregistered_family_seen_passes_on_a_clean_corpus_and_names_the_family(all_resources, s3_client, bucket):
    # no large snapshots: rendered into their prompts too, they pass the test store's 256 KB bound and are
    # oversized (bad) rows, which would fail the bad-row bound before any unregistered row is added
    corpus.seed(s3_client, bucket, [DAY], pinned(per_day=40, bad_fraction=0.05, unregistered_per_day=0,
                                                 large_fraction=0.0))
    selection = dg.AssetSelection.assets(artifact_index)
    with dg.instance_for_test() as instance:
        clean = evaluations(run(all_resources, instance, selection))
        assert clean["unregistered_family_seen"].passed  # bad rows are not unregistered families
        corpus.seed(s3_client, bucket, [DAY], pinned(per_day=0, mix="legacy", unregistered_per_day=4,
                                                     large_fraction=0.0))
        seen = evaluations(run(all_resources, instance, selection))
    check = seen["unregistered_family_seen"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert "4 valid artifacts of unregistered family 'mystery_agent'" in check.description
    assert check.metadata["unregistered_artifacts"].value == {"mystery_agent": 4}
    assert seen["bad_row_rate_below_bound"].passed  # the new family's rows are ok rows, not bad ones


def test_replay_checks_catch_an_incomplete_replay(all_resources, seeded):
    seeded(spec=pinned(per_day=60, bad_fraction=0.0))
    selection = dg.AssetSelection.assets(artifact_index, concordance)
    with dg.instance_for_test() as instance:
        healthy = evaluations(run(all_resources, instance, selection))
        assert healthy["replay_failure_rate"].passed and healthy["replay_complete"].passed
        assert healthy["scorer_fields_readable"].passed
        starved = evaluations(run(all_resources, instance, dg.AssetSelection.assets(concordance),
                                  run_config={"ops": {"concordance": {"config": {"budget_usd": 0.01}}}}))
    # the budget is a plan over the data: cached replies count too, so the same artifacts are
    # left out whether or not an earlier run replayed them
    assert not starved["replay_complete"].passed and "stopped by budget" in starved["replay_complete"].description
    assert starved["replies_fit_family_schema"].passed  # a budget stop is not a reply that did not fit


def test_unusable_replies_are_a_warn_per_family_and_provider_failures_block(all_resources, store, model_server,
                                                                           seeded):
    """Issue 17: replies that never fit (every reply without its family's fields) name each family
    in a WARN and block nothing; transport errors block the summary through `replay_failure_rate`."""
    seeded(spec=pinned(per_day=20, mix="legacy", bad_fraction=0.0, unregistered_per_day=0))
    selection = dg.AssetSelection.assets(artifact_index, concordance, concordance_summary)
    with dg.instance_for_test() as instance:
        run(all_resources, instance, dg.AssetSelection.assets(artifact_index).without_checks())
        model_server.inject(*["schema"] * len(eligible_rows(read_day_index(store, DAY))))  # one per replay
        unusable = run(all_resources, instance, selection)
        assert unusable.success and unusable.asset_materializations_for_node("concordance_summary")
        checks = evaluations(unusable)
        assert checks["replay_failure_rate"].passed  # the old check failed here at 100%
        warn = checks["replies_fit_family_schema"]
        assert not warn.passed and warn.severity == dg.AssetCheckSeverity.WARN and not warn.blocking
        assert "ic_cio under claude-haiku-4-5: " in warn.description
        assert "did not fit the family's schema" in warn.description
        assert warn.metadata["unusable_rate"].value["claude-haiku-4-5/ic_cio"] == 1.0

        # ask the provider again
        store.delete([o["Key"] for o in store.list_prefix(store.analytics_key("replay_cache"))])
        model_server.inject(*["500"] * 2000)  # every attempt of every replay: transport errors after retries
        failing = run(all_resources, instance, selection,
                      run_config={"ops": {"concordance": {"config": {"max_failure_rate": 1.0}}}})
        [blocked] = [e for e in check_evaluations(instance, failing.run_id) if e.check_name == "replay_failure_rate"]
    assert not failing.success and not failing.asset_materializations_for_node("concordance_summary")
    assert not blocked.passed and blocked.blocking and "provider failure rate 100.0% > 10%" in blocked.description


def test_window_checks_read_cloudwatch_back_and_flag_stale_series(all_resources, store, metrics, seeded):
    seeded()
    with dg.instance_for_test() as instance:
        run(all_resources, instance, dg.AssetSelection.assets(artifact_index, concordance).without_checks())
        result = run(all_resources, instance, dg.AssetSelection.assets(concordance_summary, counterfactual_fits),
                     run_config={"resources": {"run_mode": {"config": {"emit_metrics": False}}}})
        checks = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
        # computed and stored, but not emitted: every expected series is missing, and that fails
        assert not checks["concordance_summary", "metrics_fresh"].passed
        assert "no datapoint" in checks["concordance_summary", "metrics_fresh"].description
        assert not checks["concordance_summary", "window_coverage"].passed  # 1 of 56 days
        assert not checks["counterfactual_fits", "window_coverage"].passed  # 1 of 28 days
        assert checks["concordance_summary", "inputs_current"].passed
        assert checks["counterfactual_fits", "inputs_current"].passed

        # every series the summary says it published fresh (stamped at the window's end, as emitted)
        # except one, whose newest point is 9 days older
        stamp = window_end_timestamp(DAY)
        summary = store.read_json(summary_key(store, DAY, "claude-haiku-4-5"))
        published = [a["agent_id_base"] for a in summary["per_agent"]]
        assert {"thesis_update", "sector_quant", "thinktank_thesis", "mystery_agent"} <= set(published)
        assert "ic_cio" in summary["agents_skipped_thin_sample"]  # one committee a day: no series expected
        points = [Datapoint(m, 0.5, "None", stamp, {"judged_agent_id": f, "target_model": "claude-haiku-4-5"})
                  for m in (METRIC, METRIC + "_n_observations") for f in published if f != "thesis_update"]
        points.append(Datapoint(METRIC, 0.5, "None", stamp - dt.timedelta(days=9),
                                {"judged_agent_id": "thesis_update", "target_model": "claude-haiku-4-5"}))
        points.append(Datapoint(METRIC + "_n_observations", 5, "Count", stamp,
                                {"judged_agent_id": "thesis_update", "target_model": "claude-haiku-4-5"}))
        metrics.put(points)
        check = evaluations(run_checks(all_resources, instance, WINDOW_CHECKS[:1]))
        stale = check["metrics_fresh"]
        assert not stale.passed
        assert list(stale.metadata["failures"].value) == [
            f"{METRIC}{{judged_agent_id=thesis_update,target_model=claude-haiku-4-5}}"]

        # re-index a day inside the window: the window results are now older than their input
        run(all_resources, instance, dg.AssetSelection.assets(artifact_index).without_checks())
        result = run_checks(all_resources, instance, WINDOW_CHECKS)
        current = {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()
                   if e.check_name == "inputs_current"}
        assert not current["counterfactual_fits"].passed
        assert current["concordance_summary"].passed  # concordance itself did not change


def test_capture_checks_on_a_day_never_indexed_fail_with_a_reason(all_resources):
    with dg.instance_for_test() as instance:
        checks = evaluations(run_checks(all_resources, instance, CAPTURE_CHECKS[:2]))
    for name in ("bad_row_rate_below_bound", "volume_vs_trailing_median"):
        assert not checks[name].passed and "no index for this day" in checks[name].description


def test_a_backfilled_windows_metric_is_judged_against_its_own_end(metrics):
    """Found by an attacker: every backfilled window older than 8 days failed `metrics_fresh` (ERROR)."""
    end = DAY - dt.timedelta(days=10)
    dims = {"judged_agent_id": "ic_cio", "target_model": "claude-haiku-4-5"}
    metrics.put([Datapoint(METRIC, 0.7, "None", window_end_timestamp(end), dims)])
    now, eight_days = dt.datetime.now(dt.UTC), dt.timedelta(days=8)
    assert stale_series(metrics, [METRIC], [dims], eight_days, now, as_of=window_end_timestamp(end)) == {}
    series = f"{METRIC}{{judged_agent_id=ic_cio,target_model=claude-haiku-4-5}}"
    assert "older than 8 days" in stale_series(metrics, [METRIC], [dims], eight_days, now)[series]
    later = window_end_timestamp(end + dt.timedelta(days=9))  # a window 9 days later with no newer point
    assert stale_series(metrics, [METRIC], [dims], eight_days, now, as_of=later)
    earlier = window_end_timestamp(end - dt.timedelta(days=3))  # a later window's point is not its own
    assert list(stale_series(metrics, [METRIC], [dims], eight_days, now, as_of=earlier).values()) == ["no datapoint"]
