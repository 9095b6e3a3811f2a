"""`concordance_summary`: the trailing window of `concordance` partitions, aggregated per
(agent family, target model), emitted to CloudWatch and written as the legacy summary JSON.

A family whose replies do not fit its schema is a row of its own (`replies_unusable`, no metric:
a mean over only the replies that fit would flatter it); every other family is published."""

import datetime as dt
import json
import statistics

import dagster as dg
import pandas as pd

from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.families import judged_families
from alpha_replay_assets.index import artifact_index, read_day_index
from alpha_replay_assets.partitions import DAILY, OWNERS, WEEKLY_DEADLINE, day_of, freshness_policy
from alpha_replay_assets.paths import concordance_key, summary_key, summary_latest_key, target_slug
from alpha_replay_assets.replay.rows import FAILED, REPLAYED, STRUCTURED, replay_frame
from alpha_replay_assets.replay_currency import NOT_REPLAYED, currency_on, current_rows
from alpha_replay_assets.segment_verdicts import SPLIT_COLUMNS, segment_scores
from alpha_replay_assets.stats import bootstrap_mean_ci
from alpha_replay_assets.stubs import stub_result
from alpha_replay_assets.targets import TargetsFor
from alpha_replay_assets.unusable_replies import REPLIES_UNUSABLE, UnusableRepliesConfig, reply_fit
from alpha_replay_assets.windows import (
    WindowConfig,
    concat_days,
    emit_window_metrics,
    load_windows,
    metric_pair,
    window_dependency,
    write_latest_pointer,
)
from resources.artifact_store import ArtifactStore
from resources.metrics import CloudWatchMetrics
from resources.replay_model import ReplayModel
from resources.run_mode import RunMode

MIN_OBSERVATIONS = 3
SUMMARY_SCHEMA_VERSION = 2
METRIC = "agent_cheap_model_concordance"
METRIC_N = "agent_cheap_model_concordance_n_observations"
# What a window reads of each day's concordance (no diagnostics, label pairs, digests).
READ_COLUMNS = ["key", "agent_id_base", "target_model", "outcome", "agreement_score", "error", "input_tokens",
                "output_tokens", "cost_usd"]


class SummaryConfig(UnusableRepliesConfig, WindowConfig):
    """The window and the bound on unusable replies."""


SUMMARY_COLUMNS = {"agent_id_base": "str", "target_model": "str", "status": "str", "n": "int64", "eligible": "int64",
                   "mean": "float64", "min": "float64", "max": "float64", "stdev": "float64", "ci_low": "float64",
                   "ci_high": "float64", "failures": "int64", "skips": "int64", "thin": "bool", "replies": "int64",
                   "unusable": "int64", "unusable_rate": "float64", "reason": "str"}


# A family that is never replayed (deterministic, or registered without a decision) is `unsupported`
# here as in the verdict table: one label per situation.
NEVER_REPLAYED = ("skipped_deterministic", "skipped_unsupported_family")


def _nothing_eligible(group: pd.DataFrame) -> str:
    """Why a family had nothing to replay: no artifact, or what every artifact was skipped for."""
    if not len(group):
        return "no artifact in the window"
    return "nothing eligible: " + ", ".join(f"{n} {o}" for o, n in group["outcome"].value_counts().items())


def summarise(frame: pd.DataFrame, families: list[str], models: list[str],
              bounds: UnusableRepliesConfig = UnusableRepliesConfig(),
              targets_for: TargetsFor | None = None) -> pd.DataFrame:
    """One row per (agent family, target model) of `families` x their targets among `models`
    (`targets_for`; default: all of `models`) and any pair seen: observations are structured
    replays' scores. Status, first that holds: `unsupported` (never replayed: no LLM decision),
    `no_input` (nothing eligible), `replies_unusable` (more of its replies than its bound did not
    fit its schema), `thin_sample` (< MIN_OBSERVATIONS), `ok` (published). Never a gap."""
    groups = dict(list(frame.groupby(["agent_id_base", "target_model"], sort=True)))
    expected = {(f, m) for f in families for m in models if targets_for is None or m in targets_for(f)}
    rows = []
    for family, model in sorted(set(groups) | expected):
        group = groups.get((family, model), frame.iloc[0:0])
        scores = group.loc[group["outcome"] == STRUCTURED, "agreement_score"].tolist()
        ci = bootstrap_mean_ci(scores)
        skips = int(group["outcome"].str.startswith("skipped_").sum())
        eligible = len(group) - skips
        thin = len(scores) < MIN_OBSERVATIONS
        fit = reply_fit(group["outcome"])
        status, reason = (
            ("unsupported", "no LLM decision: never replayed") if len(group) and group["outcome"].isin(
                NEVER_REPLAYED).all()
            else ("no_input", _nothing_eligible(group)) if not eligible
            else (REPLIES_UNUSABLE, f"{fit.phrase()} > {bounds.bound(family):.0%}") if bounds.unusable(family, fit)
            else ("thin_sample", f"{len(scores)} observations < {MIN_OBSERVATIONS}") if thin
            else ("ok", ""))
        rows.append({
            "agent_id_base": family, "target_model": model, "status": status,
            "n": len(scores), "eligible": eligible,
            "mean": statistics.fmean(scores) if scores else None,
            "min": min(scores, default=None), "max": max(scores, default=None),
            "stdev": statistics.stdev(scores) if len(scores) > 1 else None,
            "ci_low": ci[0] if ci else None, "ci_high": ci[1] if ci else None,
            "failures": int(group["outcome"].isin(FAILED).sum()),
            "skips": skips,
            "thin": thin,
            "replies": fit.replies, "unusable": fit.unusable, "unusable_rate": fit.rate, "reason": reason,
        })
    return pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS)).astype(SUMMARY_COLUMNS)


def summary_document(window, per_group: pd.DataFrame, model: str, run_id: str) -> dict:
    groups = per_group[per_group["target_model"] == model]
    rows = window.data[window.data["target_model"] == model]
    skipped = rows["outcome"].str.startswith("skipped_")
    candidate = rows[~skipped | (rows["outcome"] == "skipped_budget")]
    failures = rows[rows["outcome"].isin(FAILED)]
    replayed = rows[rows["outcome"].isin(REPLAYED)]
    ok = groups[groups["status"] == "ok"]
    unusable = groups[groups["status"] == REPLIES_UNUSABLE]
    return {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        **window.coverage_metadata(),
        "agent_filter": None,
        "target_model": model,
        "complete": not window.missing and len(candidate) == len(replayed),
        "n_artifacts_candidate": len(candidate),
        "n_artifacts_replayed": len(replayed),
        "n_artifacts_not_replayed_yet": int((rows["outcome"] == NOT_REPLAYED).sum()),
        "per_agent": ok[["agent_id_base", "n", "mean", "min", "max", "stdev", "ci_low", "ci_high"]].to_dict("records"),
        "agents_skipped_thin_sample": groups.loc[groups["status"] == "thin_sample", "agent_id_base"].tolist(),
        "agents_not_replayed": groups.loc[groups["status"] == "no_input", "agent_id_base"].tolist(),
        "agents_unsupported": groups.loc[groups["status"] == "unsupported", "agent_id_base"].tolist(),
        "agents_replies_unusable": unusable[["agent_id_base", "replies", "unusable", "unusable_rate", "reason"]
                                            ].to_dict("records"),
        "replay_failures": [{"key": r.key, "stage": r.outcome, "error": str(r.error)[:200]}
                            for r in failures.itertuples()],
        "replay_skips": [{"key": r.key, "reason": r.outcome} for r in rows[skipped].itertuples()],
        "cost": {"input_tokens": int(rows["input_tokens"].sum()), "output_tokens": int(rows["output_tokens"].sum()),
                 "usd": round(float(rows["cost_usd"].sum()), 6)},
        "computed_at": dt.datetime.now(dt.UTC).isoformat(),
        "run_id": run_id,
    }


@dg.asset(
    partitions_def=DAILY,
    freshness_policy=freshness_policy(WEEKLY_DEADLINE),
    deps=[window_dependency(concordance), window_dependency(artifact_index)],
    group_name="concordance",
    owners=OWNERS,
    kinds={"s3", "cloudwatch"},
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="Window ending on the partition day: per (agent family, target) n, mean, min, max, "
                "stdev, bootstrap 95% CI, failures and skips; CloudWatch metrics and summary JSON.",
)
def concordance_summary(
    context: dg.AssetExecutionContext, config: SummaryConfig, store: ArtifactStore, replay_model: ReplayModel,
    metrics: CloudWatchMetrics, run_mode: RunMode,
) -> dg.MaterializeResult:
    if run_mode.dry:
        return stub_result(context)
    now = dt.datetime.now(dt.UTC)

    targets = replay_model.all_targets

    def read_day(day):  # as the day's current index sees them (`replay_currency`)
        frames = {m: f for m in targets
                  if (f := store.read_parquet(concordance_key(store, day, m), columns=READ_COLUMNS)) is not None}
        if not frames:
            return None
        currencies = currency_on(store, day, targets, replay_model.targets_for)
        return pd.concat([current_rows(f, currencies.get(m)) for m, f in frames.items()], ignore_index=True)

    ends = [day_of(k) for k in context.partition_keys]
    windows = load_windows(ends, config.window_days, read_day, concat_days(replay_frame([], "")[READ_COLUMNS]))
    indexes = load_windows(ends, config.window_days, lambda d: read_day_index(store, d, columns=SPLIT_COLUMNS),
                           concat_days(pd.DataFrame(columns=SPLIT_COLUMNS)))
    for key, window, index in zip(context.partition_keys, windows, indexes):
        end = window.end
        per_group = summarise(window.data, judged_families(), targets, config, replay_model.targets_for)
        per_segment = segment_scores(window.data, index.data)
        datapoints = [
            dp for row in per_group[per_group["status"] == "ok"].itertuples()
            for dp in metric_pair((METRIC, METRIC_N), row.mean, row.n, end,
                                  {"judged_agent_id": row.agent_id_base, "target_model": row.target_model})
        ]
        emitted = emit_window_metrics(metrics, run_mode, datapoints, end, now)
        for model in targets:
            document = summary_document(window, per_group, model, context.run.run_id) | {
                "per_segment": json.loads(per_segment[per_segment["target_model"] == model].to_json(orient="records"))}
            key_out = summary_key(store, end, model)
            store.write_json(key_out, document)
            write_latest_pointer(store, summary_latest_key(store, model), key_out, end)
        context.add_asset_metadata(_metadata(window, per_group, emitted, run_mode.emit_metrics)
                                   | _segment_metadata(per_segment), partition_key=key)
        context.log.info(f"window ending {key}: {len(per_group)} groups, {emitted} datapoints emitted")
    return dg.MaterializeResult()


def _metadata(window, per_group: pd.DataFrame, emitted: int, emit_metrics: bool) -> dict:
    """One window's metadata: per (family, target) mean with its 95% CI and n as numeric series,
    which the UI plots over partitions (each window end its own point)."""
    metadata = {
        **window.ui_metadata(),
        "groups": len(per_group),
        "thin_groups": int(per_group["thin"].sum()),
        "replies_unusable_groups": int((per_group["status"] == REPLIES_UNUSABLE).sum()),
        "datapoints_emitted": emitted,
        "emit_metrics": emit_metrics,
        "total_usd": round(float(window.data["cost_usd"].sum()), 6),
        "summary": dg.MetadataValue.md(per_group.round(4).to_markdown(index=False) if len(per_group) else "(empty)"),
    }
    for row in per_group[per_group["status"] == "ok"].itertuples():
        series = f"concordance/{row.agent_id_base}/{target_slug(row.target_model)}"
        metadata |= {f"{series}/mean": float(row.mean), f"{series}/n": int(row.n)}
        if pd.notna(row.ci_low):
            metadata |= {f"{series}/ci_low": float(row.ci_low), f"{series}/ci_high": float(row.ci_high)}
    return metadata


def _segment_metadata(per_segment: pd.DataFrame) -> dict:
    """A family whose window holds several prompt versions / models (docs/domain.md §3c): its agreement per
    segment, each segment a series of its own (a version change starts a new line), and the table."""
    if not len(per_segment):
        return {}
    metadata = {"segments": dg.MetadataValue.md(per_segment.round(4).to_markdown(index=False))}
    for row in per_segment.itertuples():
        series = f"concordance/{row.agent_id_base}/{target_slug(row.target_model)}/{row.segment}"
        metadata |= {f"{series}/mean": float(row.mean), f"{series}/n": int(row.n)}
    return metadata
