"""`counterfactual_fits`: per agent family, can a depth-3 rule on its inputs reproduce its
decisions over the trailing window? (domain §3) Reads one index object per window day."""

import datetime as dt
import json
from collections import Counter

import dagster as dg
import pandas as pd
from pydantic import Field

from alpha_replay_assets.artifacts import OK
from alpha_replay_assets.families import CANONICAL_FAMILIES, FITTED_FAMILIES
from alpha_replay_assets.features import EXTRACTOR_VERSION
from alpha_replay_assets.index import artifact_index, read_day_index
from alpha_replay_assets.partitions import DAILY, OWNERS, WEEKLY_DEADLINE, day_of, freshness_policy
from alpha_replay_assets.rule_fit import fit_rule, rule_stability
from alpha_replay_assets.run_modes import stub_result
from alpha_replay_assets.windows import (
    MAX_WINDOW_DAYS,
    emit_window_metrics,
    load_window,
    metric_pair,
    window_dependency,
    write_latest_pointer,
)
from resources.artifact_store import ArtifactStore
from resources.metrics import CloudWatchMetrics, Datapoint
from resources.run_mode import RunMode

METRIC = "agent_counterfactual_rule_fit"
METRIC_N = "agent_counterfactual_rule_fit_n_samples"
WINDOW_COLUMNS = ["key", "agent_id_base", "status", "decision_features"]
FIT_COLUMNS = ["agent_id_base", "status", "n_samples", "match_rate", "heldout_accuracy", "heldout_ci_low",
               "heldout_ci_high", "baseline", "lift", "feature_coverage", "rows_excluded", "rule_stable",
               "rule_same_features", "rule_max_threshold_delta", "rule_prediction_agreement", "tree_text",
               "tree_json"]


class FitConfig(dg.Config):
    window_days: int = Field(default=28, ge=1, le=MAX_WINDOW_DAYS, description="Trailing days per window.")
    stability_lag_days: int = Field(default=7, ge=1, description="Compare the rule with the window ending "
                                    "this many days earlier.")


def fits_key(store: ArtifactStore, end: dt.date) -> str:
    return store.analytics_key("counterfactual_fits", f"dt={end.isoformat()}", "fits.parquet")


def agent_key(store: ArtifactStore, family: str, end: dt.date) -> str:
    return f"{store.capture_prefix}/_counterfactual/{family}/{end:%y%m%d}0000.json"


def agent_latest_key(store: ArtifactStore, family: str) -> str:
    return f"{store.capture_prefix}/_counterfactual/{family}/latest.json"


def fit_family(family: str, rows_frame: pd.DataFrame, previous_tree: dict | None = None,
               previous_end: str | None = None) -> dict:
    """Parse the window's feature rows for one family (columns day, decision_features), count
    exclusions and defaults, fit, and compare the rule with the previous window's."""
    rows, excluded = [], Counter()
    for day, cell in rows_frame[["day", "decision_features"]].dropna().itertuples(index=False):
        for row in json.loads(cell):
            if "error" in row:
                excluded[row["error"].split("=")[0]] += 1  # the feature name
            else:
                rows.append(row | {"day": day})
    coverage = 1 - sum(r["all_default"] for r in rows) / len(rows) if rows else None
    try:
        fit = fit_rule([r["label"] for r in rows], [r["features"] for r in rows])
    except Exception as exc:  # one agent's fit error must not lose the others
        fit = {"status": "fit_error", "error": f"{type(exc).__name__}: {exc}"[:300], "n_samples": len(rows)}
    if fit["status"] == "fitted" and previous_tree is not None:
        shared = [r for r in rows if r["day"] <= previous_end]
        fit |= rule_stability(fit["tree_json"], previous_tree, shared)
    return fit | {"agent_id_base": family, "feature_coverage": coverage,
                  "rows_excluded": sum(excluded.values()), "excluded_reasons": dict(excluded)}


def fit_window(frame: pd.DataFrame, previous: dict[str, dict] | None = None, previous_end: str | None = None) -> list[dict]:
    """One result per family: fitted families are fitted, the rest say why not — never omitted.
    `previous` maps family -> the previous window's tree, for rule stability."""
    ok = frame[frame["status"] == OK]
    seen = set(ok["agent_id_base"].dropna())
    results = []
    for family in sorted(seen | set(CANONICAL_FAMILIES)):
        if family not in seen:
            results.append({"agent_id_base": family, "status": "no_input", "n_samples": 0})
        elif family not in FITTED_FAMILIES:
            results.append({"agent_id_base": family, "status": "unsupported",
                            "n_samples": int((ok["agent_id_base"] == family).sum())})
        else:
            results.append(fit_family(family, ok[ok["agent_id_base"] == family],
                                      (previous or {}).get(family), previous_end))
    return results


def previous_trees(store: ArtifactStore, end: dt.date) -> dict[str, dict]:
    """family -> tree of the window ending `end` (the comparison point for stability)."""
    table = store.read_parquet(fits_key(store, end), columns=["agent_id_base", "tree_json"])
    if table is None:
        return {}
    return {r.agent_id_base: json.loads(r.tree_json) for r in table.itertuples() if isinstance(r.tree_json, str)}


def _datapoints(results: list[dict], end: dt.date) -> list[Datapoint]:
    return [
        dp for r in results if r["status"] == "fitted"
        for dp in metric_pair((METRIC, METRIC_N), r["match_rate"], r["n_samples"], end,
                              {"judged_agent_id": r["agent_id_base"]})
    ]


@dg.asset(
    partitions_def=DAILY,
    freshness_policy=freshness_policy(WEEKLY_DEADLINE),
    deps=[window_dependency(artifact_index)],
    group_name="counterfactual",
    owners=OWNERS,
    kinds={"scikitlearn", "s3", "cloudwatch"},
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="Window ending on the partition day: per agent family, a depth-3 decision tree on "
                "(inputs -> decision): in-sample match rate, held-out accuracy with 95% CI vs the "
                "majority baseline, the rule text; thin/single-class/unsupported/no-input say so.",
)
def counterfactual_fits(
    context: dg.AssetExecutionContext, config: FitConfig, store: ArtifactStore, metrics: CloudWatchMetrics,
    run_mode: RunMode,
) -> dg.MaterializeResult:
    if run_mode.dry:
        return stub_result(context)
    now = dt.datetime.now(dt.UTC)
    for key in context.partition_keys:
        end = day_of(key)
        window = load_window(end, config.window_days, lambda d: read_day_index(store, d, columns=WINDOW_COLUMNS),
                             empty=pd.DataFrame(columns=WINDOW_COLUMNS))
        previous_end = end - dt.timedelta(days=config.stability_lag_days)
        results = fit_window(window.frame, previous_trees(store, previous_end), previous_end.isoformat())
        coverage = window.coverage_metadata()
        for r in results:
            document = r | coverage | {"extractor_version": EXTRACTOR_VERSION, "computed_at": now.isoformat(),
                                       "run_id": context.run.run_id}
            store.write_json(agent_key(store, r["agent_id_base"], end), document)
            write_latest_pointer(store, agent_latest_key(store, r["agent_id_base"]),
                                 agent_key(store, r["agent_id_base"], end), end)
        table = pd.DataFrame(results).reindex(columns=FIT_COLUMNS)
        table["tree_json"] = [json.dumps(t) if isinstance(t, dict) else None for t in table["tree_json"]]
        store.write_parquet(fits_key(store, end), table.assign(window_end=key, **{
            "days_present": coverage["days_present"], "window_days": config.window_days}))
        emitted = emit_window_metrics(metrics, run_mode, _datapoints(results, end), end, now)
        context.log.info(f"window ending {key}: {len(results)} agents, {emitted} datapoints emitted")
    return dg.MaterializeResult(metadata=_metadata(results, table, window, emitted, store.uri(fits_key(store, end))))


def _metadata(results: list[dict], table: pd.DataFrame, window, emitted: int, uri: str) -> dict:
    """Metadata of the newest window in the run: numeric per-agent entries are plotted by the UI."""
    coverage = window.coverage_metadata()
    metadata = {
        **{k: v for k, v in coverage.items() if k != "days_missing"},
        "days_missing": dg.MetadataValue.json(coverage["days_missing"]),
        "dagster/row_count": len(table),
        "datapoints_emitted": emitted,
        "uri": dg.MetadataValue.url(uri),
        "fits": dg.MetadataValue.md(table.drop(columns=["tree_text", "tree_json"]).round(4).to_markdown(index=False)),
    }
    for r in results:
        if r["status"] == "fitted":
            family = r["agent_id_base"]
            metadata[f"match_rate/{family}"] = r["match_rate"]
            metadata[f"n/{family}"] = r["n_samples"]
            if r.get("heldout_accuracy") is not None:
                metadata[f"heldout_accuracy/{family}"] = r["heldout_accuracy"]
            metadata[f"rule/{family}"] = dg.MetadataValue.md(f"```\n{r['tree_text']}```")
    return metadata
