"""Checks on the window assets: are the published metrics fresh, is the window covered, and
were the results computed after their newest inputs? (docs/domain.md §5: items 2, 4 and 6)"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
from pydantic import Field

from alpha_replay_assets import concordance_summary as summary_module
from alpha_replay_assets import counterfactual as fits_module
from alpha_replay_assets import paths
from alpha_replay_assets import rationale_templates as templates_module
from alpha_replay_assets.checks.common import Judgement, evaluate_partitions, latest_real_materialization
from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.index import artifact_index
from alpha_replay_assets.partitions import DAILY, day_of, trailing_days
from alpha_replay_assets.windows import MAX_WINDOW_DAYS, window_end_timestamp
from resources.artifact_store import ArtifactStore
from resources.metrics import CloudWatchMetrics
from resources.replay_model import ReplayModel
from resources.run_mode import RunMode


class WindowCheckConfig(dg.Config):
    max_metric_age_days: float = Field(default=8.0, description="Newest datapoint older than this = stale.")
    min_coverage: float = Field(default=0.9, ge=0, le=1, description="Share of window days present.")


@dataclass(frozen=True)
class WindowAsset:
    asset: dg.AssetsDefinition
    metrics: tuple[str, ...]
    input_asset: dg.AssetsDefinition
    # (store, replay_model, window end) -> the dimension sets of every series the asset's result for
    # that window says it published (None: no result written). Which families must be alive is
    # the capture checks' question (family_input_freshness), not a fixed list here.
    expected_series: Callable[[ArtifactStore, ReplayModel, dt.date], list[dict[str, str]] | None]
    # (store, replay_model, window end) -> [(days_present, window_days)] of what was written
    coverage: Callable[[ArtifactStore, ReplayModel, dt.date], list[tuple[int, int] | None]]


def _summary_coverage(store, replay_model, end):
    docs = [store.read_json(paths.summary_key(store, end, m)) for m in replay_model.all_targets]
    return [None if d is None else (d["days_present"], d["days_present"] + len(d["days_missing"])) for d in docs]


def _summary_series(store, replay_model, end):
    docs = {m: store.read_json(paths.summary_key(store, end, m)) for m in replay_model.all_targets}
    if any(d is None for d in docs.values()):
        return None
    return [{"judged_agent_id": a["agent_id_base"], "target_model": m} for m, d in docs.items() for a in d["per_agent"]]


def _fits_series(store, replay_model, end):
    table = store.read_parquet(paths.fits_key(store, end), columns=["agent_id_base", "agent_id", "status"])
    if table is None:
        return None
    agents = table["agent_id"] if "agent_id" in table else table["agent_id_base"]
    return [{"judged_agent_id": a} for a, status in zip(agents, table["status"]) if status == "fitted"]


def _fits_coverage(store, replay_model, end):
    table = store.read_parquet(paths.fits_key(store, end), columns=["days_present", "window_days"])
    return [None if table is None else (int(table["days_present"].iloc[0]), int(table["window_days"].iloc[0]))]


def _templates_series(store, replay_model, end):
    table = store.read_parquet(paths.templates_key(store, end), columns=["agent_id", "status"])
    if table is None:
        return None
    return [{"judged_agent_id": a} for a, status in zip(table["agent_id"], table["status"]) if status == "ok"]


def _templates_coverage(store, replay_model, end):
    table = store.read_parquet(paths.templates_key(store, end), columns=["days_present", "window_days"])
    return [None if table is None else (int(table["days_present"].iloc[0]), int(table["window_days"].iloc[0]))]


WINDOW_ASSETS = (
    WindowAsset(
        summary_module.concordance_summary, (summary_module.METRIC, summary_module.METRIC_N), concordance,
        _summary_series, _summary_coverage,
    ),
    WindowAsset(
        fits_module.counterfactual_fits, (fits_module.METRIC, fits_module.METRIC_N), artifact_index,
        _fits_series, _fits_coverage,
    ),
    WindowAsset(
        templates_module.rationale_templates, (templates_module.METRIC, templates_module.METRIC_N), artifact_index,
        _templates_series, _templates_coverage,
    ),
)


def stale_series(metrics: CloudWatchMetrics, names, expected, max_age: dt.timedelta, now: dt.datetime,
                 as_of: dt.datetime | None = None) -> dict:
    """series -> reason, for every expected series whose newest datapoint is missing or older than
    `max_age` before `as_of` (default now; a backfilled window's own end)."""
    as_of = as_of or now
    stale = {}
    for name in names:
        for dims in expected:
            # only points up to the window's own end count: a later window's point is not this one's
            newest = metrics.newest(name, dims, lookback=max(max_age * 4, dt.timedelta(days=14)),
                                    now=min(now, as_of + dt.timedelta(hours=1)))
            label = f"{name}{{{','.join(f'{k}={v}' for k, v in sorted(dims.items()))}}}"
            if newest is None:
                stale[label] = "no datapoint"
            elif as_of - newest[0] > max_age:
                stale[label] = f"newest datapoint {newest[0]:%Y-%m-%d %H:%M} is older than {max_age.days} days"
    return stale


def build_window_checks(spec: WindowAsset) -> list[dg.AssetChecksDefinition]:
    @dg.asset_check(asset=spec.asset, name="metrics_fresh", partitions_def=DAILY,
                    description=f"Every {', '.join(spec.metrics)} series the result says it published has a "
                                "datapoint in CloudWatch no older than the max age before the window's end (read "
                                "back, not assumed): now for the current window, the window's own end for a backfill.")
    def metrics_fresh(context: dg.AssetCheckExecutionContext, config: WindowCheckConfig, store: ArtifactStore,
                      metrics: CloudWatchMetrics, replay_model: ReplayModel, run_mode: RunMode) -> None:
        def judge(key: str) -> Judgement:
            series = spec.expected_series(store, replay_model, day_of(key))
            if series is None:
                return {key: "no result written"}, {}
            now = dt.datetime.now(dt.UTC)
            stale = stale_series(metrics, spec.metrics, series, dt.timedelta(days=config.max_metric_age_days), now,
                                 as_of=min(now, window_end_timestamp(day_of(key))))
            return stale, {"series_checked": len(spec.metrics) * len(series)}
        evaluate_partitions(context, run_mode, judge)

    @dg.asset_check(asset=spec.asset, name="window_coverage", partitions_def=DAILY,
                    description="The window's days are present (indexed / replayed) above the bound.")
    def window_coverage(context: dg.AssetCheckExecutionContext, config: WindowCheckConfig, store: ArtifactStore,
                        replay_model: ReplayModel, run_mode: RunMode) -> None:
        def judge(key: str) -> Judgement:
            problems, metadata = {}, {}
            for i, cov in enumerate(spec.coverage(store, replay_model, day_of(key))):
                if cov is None:
                    problems[f"result {i}"] = "no result written"
                    continue
                metadata[f"days_present/{i}"], metadata[f"window_days/{i}"] = cov
                if cov[0] / cov[1] < config.min_coverage:
                    problems[f"result {i}"] = f"{cov[0]}/{cov[1]} window days present < {config.min_coverage:.0%}"
            return problems, metadata
        evaluate_partitions(context, run_mode, judge, severity=dg.AssetCheckSeverity.WARN)

    @dg.asset_check(asset=spec.asset, name="inputs_current", partitions_def=DAILY,
                    description="Results were computed after the newest materialisation of every input "
                                "partition in their window (no metric over a stale corpus).")
    def inputs_current(context: dg.AssetCheckExecutionContext, run_mode: RunMode) -> None:
        instance = context.instance

        def judge(key: str) -> Judgement:
            computed = latest_real_materialization(instance, spec.asset.key, key)
            if computed is None:
                return {key: "never computed from real data"}, {}
            for day in trailing_days(day_of(key), MAX_WINDOW_DAYS):
                updated = latest_real_materialization(instance, spec.input_asset.key, day.isoformat())
                if updated is not None and updated > computed:
                    return {key: f"{spec.input_asset.key.to_user_string()} {day} changed after this window "
                                 "was computed"}, {}
            return {}, {}
        evaluate_partitions(context, run_mode, judge)

    return [metrics_fresh, window_coverage, inputs_current]


WINDOW_CHECKS = [check for spec in WINDOW_ASSETS for check in build_window_checks(spec)]
