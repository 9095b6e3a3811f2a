"""`counterfactual_fits`: per agent family, can a depth-3 rule on its inputs reproduce its
decisions over the trailing window? (docs/domain.md §3) Reads one index object per window day.

Every LLM family with a decision is fitted on what its module declares (`Family.fit`). Granularity:
each family always gets one roll-up fit over all its agent ids (`scope = family`: what verdicts
and the per-family metric use); a family with several agent ids (`sector_quant:technology`, ...)
also gets one fit per agent id that has at least `min_rows_per_agent` decision rows in the window
(`scope = agent`); agent ids below that (e.g. the per-ticker `thesis_update:*` ids) are covered
by the roll-up only. Families without a decision (executors, unregistered families) get a row
saying why they are not fitted.
"""

import datetime as dt
import json
import math
from collections import Counter

import dagster as dg
import numpy as np
import pandas as pd
from pydantic import Field

from alpha_replay_assets import artifact_json
from alpha_replay_assets.artifacts import OK
from alpha_replay_assets.families import REGISTRY, judged_families
from alpha_replay_assets.family_spec.fitting import EXTRACTOR_VERSION
from alpha_replay_assets.index import artifact_index, read_day_index
from alpha_replay_assets.partitions import DAILY, OWNERS, WEEKLY_DEADLINE, day_of, freshness_policy
from alpha_replay_assets.paths import fit_agent_key, fit_agent_latest_key, fits_key
from alpha_replay_assets.rule_fit import MIN_FEATURE_COVERAGE, MIN_SAMPLES, fit_rule, missing_features, rule_stability
from alpha_replay_assets.stubs import stub_result
from alpha_replay_assets.windows import (
    MAX_WINDOW_DAYS,
    WindowConfig,
    emit_window_metrics,
    load_windows,
    metric_pair,
    publish_per_agent,
    window_dependency,
)
from resources.artifact_store import ArtifactStore
from resources.metrics import CloudWatchMetrics, Datapoint
from resources.run_mode import RunMode

METRIC = "agent_counterfactual_rule_fit"
METRIC_N = "agent_counterfactual_rule_fit_n_samples"
MIN_ROWS_PER_AGENT = 50
UNREGISTERED = "unregistered family: no declared decision to fit (judged by replay concordance only)"
WINDOW_COLUMNS = ["agent_id", "agent_id_base", "status", "decision_features"]  # what a fit reads of a day
FIT_COLUMNS = ["agent_id_base", "agent_id", "scope", "status", "reason", "target", "n_samples", "match_rate",
               "heldout_accuracy", "heldout_ci_low", "heldout_ci_high", "baseline", "lift", "feature_coverage",
               "rows_excluded", "rule_stable", "rule_same_features", "rule_max_threshold_delta",
               "rule_prediction_agreement", "tree_text", "tree_json", "missing_features", "coverage_by_feature"]
JSON_COLUMNS = ("tree_json", "missing_features", "coverage_by_feature")  # stored as JSON text in the table


class FitConfig(WindowConfig):
    window_days: int = Field(default=28, ge=1, le=MAX_WINDOW_DAYS, description="Trailing days per window.")
    stability_lag_days: int = Field(default=7, ge=1, description="Compare the rule with the window ending "
                                    "this many days earlier.")
    min_rows_per_agent: int = Field(default=MIN_ROWS_PER_AGENT, ge=MIN_SAMPLES,
                                    description="A family with several agent ids also gets a fit per agent id "
                                                "with at least this many decision rows (the roll-up always runs).")


FEATURE = "feature:"  # prefix of the feature columns of a decision table
PRESENT = "present:"  # prefix of its presence columns: was the feature read, not defaulted?
DECISION_COLUMNS = ["agent_id", "label", "error"]  # and the features and their presence


def _presence(rows: list[dict], names: dict[str, None]) -> dict[str, np.ndarray]:
    """Per feature, was it read (not defaulted) in each row? (An index row of extractor v3 and
    older only says whether all its features were defaulted.) One pass over the features each row
    has, not one lookup per (row, declared feature): a 56-day window has ~600k of those."""
    present = {name: np.zeros(len(rows), dtype=bool) for name in names}
    for i, row in enumerate(rows):
        if not row.get("all_default"):
            defaulted = row.get("defaulted", ())
            for name in row.get("features", ()):
                if name not in defaulted:
                    present[name][i] = True
    return present


def decision_tables(index: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], Counter]:
    """Index rows (WINDOW_COLUMNS) as decision tables per family, and the valid artifacts per
    family. A table has one row per decision: agent_id, label, error (why the row is unreadable,
    else missing), a float column per feature (`feature:<name>`, NaN where a row lacks it) and a
    bool column per feature (`present:<name>`, False where it was defaulted). A day is parsed
    once, as it is read: a window at 16x volume holds millions of decisions, which as JSON or
    dicts would not fit in memory, and as columns do."""
    ok = index[index["status"] == OK]
    tables = {}
    for family, group in ok.dropna(subset=["decision_features"]).groupby("agent_id_base"):
        cells = [artifact_json.loads_written(cell) for cell in group["decision_features"]]
        rows = [row for decoded in cells for row in decoded]
        values = [row.get("features") or {} for row in rows]
        names = dict.fromkeys(name for features in values for name in features)
        tables[family] = pd.DataFrame({
            "agent_id": pd.Categorical([agent for agent, decoded in zip(group["agent_id"], cells) for _ in decoded]),
            "label": pd.Categorical([row["label"] for row in rows]),
            "error": pd.Categorical([row.get("error") for row in rows]),
            **{FEATURE + name: np.array([features.get(name, math.nan) for features in values], dtype=float)
               for name in names},
            **{PRESENT + name: present for name, present in _presence(rows, names).items()},
        })
    return tables, Counter(ok["agent_id_base"].dropna())


class Decisions:
    """A window's decision tables, day by day (`decision_tables`), joined one family at a time."""

    def __init__(self, days: dict[dt.date, tuple[dict[str, pd.DataFrame], Counter]]):
        self.days = days
        self.artifacts = sum((artifacts for _, artifacts in days.values()), Counter())  # valid, per family

    def family(self, name: str) -> pd.DataFrame:
        """The family's decisions over the window, each with its `day`."""
        parts = [tables[name].assign(day=day.isoformat()) for day, (tables, _) in self.days.items() if name in tables]
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[*DECISION_COLUMNS, "day"])


def features_of(table: pd.DataFrame) -> pd.DataFrame:
    """A decision table's feature columns, by feature name (those no row has are left out)."""
    features = table.filter(like=FEATURE).dropna(axis=1, how="all")
    return features.rename(columns=lambda c: c.removeprefix(FEATURE))


def coverage_of(rows: pd.DataFrame) -> dict[str, float]:
    """Each declared feature's share of `rows` where it was present, not defaulted."""
    presence = rows.filter(like=PRESENT)
    return {name: float(presence[PRESENT + name].mean()) for name in features_of(rows).columns}


def _reason(fit: dict, coverage: dict[str, float]) -> str | None:
    """Why a fit gave no metric (or what it went without), in numbers."""
    missing = missing_features(coverage)
    absent = ", ".join(f"{name} {coverage[name]:.0%}" for name in missing)
    if fit["status"] == "thin_sample":
        return f"{fit['n_samples']} decisions < {MIN_SAMPLES}"
    if fit["status"] == "no_features":
        if not coverage:
            return "no declared feature in any decision"
        return (f"{len(missing)} of {len(coverage)} declared features absent (present in < "
                f"{MIN_FEATURE_COVERAGE:.0%} of {fit['n_samples']} decisions): {absent}")
    if fit["status"] == "single_class":
        return f"all {fit['n_samples']} decisions are {next(iter(fit['class_counts']))!r}"
    if fit["status"] == "constant_features":
        return f"no feature varies over the {fit['n_samples']} decisions: no split, nothing learned beyond the baseline"
    if fit["status"] == "fitted" and missing:
        return f"fitted without the features absent in most decisions: {absent}"
    return fit.get("error")


def fit_rows(agent: str, rows: pd.DataFrame, excluded: Counter, previous_tree: dict | None = None,
             previous_end: str | None = None) -> dict:
    """Fit one set of decision rows (a decision table with `day`), record each feature's coverage
    and the exclusions, and compare the rule with the previous window's. `feature_coverage` is
    the mean coverage over the declared features (the share of feature values read, not defaulted)."""
    coverage = coverage_of(rows)
    features = features_of(rows)
    try:  # the labels' own strings, not copies
        fit = fit_rule(rows["label"].to_numpy(dtype=object).tolist(), features, coverage)
    except Exception as exc:  # one agent's fit error must not lose the others
        fit = {"status": "fit_error", "error": f"{type(exc).__name__}: {exc}"[:300], "n_samples": len(rows)}
    if fit["status"] == "fitted" and previous_tree is not None:
        fit |= rule_stability(fit["tree_json"], previous_tree, features[(rows["day"] <= previous_end).to_numpy()])
    return fit | {"agent_id": agent, "reason": _reason(fit, coverage),
                  "feature_coverage": sum(coverage.values()) / len(coverage) if coverage else None,
                  "coverage_by_feature": coverage, "missing_features": missing_features(coverage),
                  "rows_excluded": sum(excluded.values()), "excluded_reasons": dict(excluded)}


def fit_family(family: str, table: pd.DataFrame, previous: dict[str, dict] | None = None,
               previous_end: str | None = None, min_rows_per_agent: int = MIN_ROWS_PER_AGENT) -> list[dict]:
    """The family's roll-up fit, then one fit per agent id with enough rows (when it has several)."""
    previous = previous or {}
    unreadable = table["error"].notna()
    rows, bad = (table[~unreadable], table[unreadable]) if unreadable.any() else (table, table.iloc[0:0])
    excluded = Counter(zip(bad["agent_id"].astype(str), bad["error"].astype(str).str.split("=").str[0]))
    by_feature = Counter()
    for (_, feature), n in excluded.items():
        by_feature[feature] += n
    base = {"agent_id_base": family, "target": REGISTRY[family].fit.target}
    results = [base | {"scope": "family"} | fit_rows(family, rows, by_feature, previous.get(family), previous_end)]
    agents = rows["agent_id"].astype(str)
    for agent, agent_rows in rows.groupby(agents, sort=True) if agents.nunique() > 1 else ():
        if len(agent_rows) >= min_rows_per_agent:
            mine = Counter({feature: n for (a, feature), n in excluded.items() if a == agent})
            results.append(base | {"scope": "agent"} | fit_rows(agent, agent_rows, mine, previous.get(agent),
                                                                previous_end))
    return results


def fit_window(decisions: Decisions, previous: dict[str, dict] | None = None, previous_end: str | None = None,
               min_rows_per_agent: int = MIN_ROWS_PER_AGENT) -> list[dict]:
    """One result per family seen or judged (never omitted: the rest say why not), plus the per-agent
    fits. `previous` maps agent id (a family's own name for its roll-up) -> the previous window's tree."""
    seen = decisions.artifacts
    results = []
    for family in sorted(set(seen) | set(judged_families())):
        spec = REGISTRY.get(family)
        row = {"agent_id_base": family, "agent_id": family, "scope": "family", "n_samples": seen[family]}
        if spec is None:
            results.append(row | {"status": "unsupported", "reason": UNREGISTERED})
        elif spec.fit is None:
            results.append(row | {"status": "unsupported", "reason": spec.unsupported_reason})
        elif family not in seen:
            results.append(row | {"status": "no_input", "reason": "no valid artifact in the window",
                                  "target": spec.fit.target})
        else:
            results += fit_family(family, decisions.family(family), previous, previous_end, min_rows_per_agent)
    return results


def previous_trees(store: ArtifactStore, end: dt.date) -> dict[str, dict]:
    """agent id -> tree of the window ending `end` (the comparison point for stability)."""
    table = store.read_parquet(fits_key(store, end), columns=["agent_id_base", "agent_id", "tree_json"])
    if table is None:
        return {}
    agents = table["agent_id"] if "agent_id" in table else table["agent_id_base"]  # written before per-agent fits
    return {a: json.loads(t) for a, t in zip(agents, table["tree_json"]) if isinstance(t, str)}


def _datapoints(results: list[dict], end: dt.date) -> list[Datapoint]:
    return [
        dp for r in results if r["status"] == "fitted"
        for dp in metric_pair((METRIC, METRIC_N), r["match_rate"], r["n_samples"], end,
                              {"judged_agent_id": r["agent_id"]})
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
    windows = load_windows([day_of(k) for k in context.partition_keys], config.window_days,
                           lambda d: read_day_index(store, d, columns=WINDOW_COLUMNS), Decisions, decision_tables)
    for key, window in zip(context.partition_keys, windows):
        end = window.end
        previous_end = end - dt.timedelta(days=config.stability_lag_days)
        results = fit_window(window.data, previous_trees(store, previous_end), previous_end.isoformat(),
                             config.min_rows_per_agent)
        coverage = window.coverage_metadata()

        stamp = {"extractor_version": EXTRACTOR_VERSION, "computed_at": now.isoformat(), "run_id": context.run.run_id}
        publish_per_agent(store, {r["agent_id"]: r | coverage | stamp for r in results}, end, fit_agent_key,
                          fit_agent_latest_key)
        table = pd.DataFrame(results).reindex(columns=FIT_COLUMNS)
        for column in JSON_COLUMNS:
            table[column] = [json.dumps(v) if isinstance(v, (dict, list)) else None for v in table[column]]
        store.write_parquet(fits_key(store, end), table.assign(window_end=key, **{
            "days_present": coverage["days_present"], "window_days": config.window_days}))
        emitted = emit_window_metrics(metrics, run_mode, _datapoints(results, end), end, now)
        context.add_asset_metadata(_metadata(results, table, window, emitted, store.uri(fits_key(store, end))),
                                   partition_key=key)
        context.log.info(f"window ending {key}: {len(results)} agents, {emitted} datapoints emitted")
    return dg.MaterializeResult()


def _metadata(results: list[dict], table: pd.DataFrame, window, emitted: int, uri: str) -> dict:
    """One window's metadata: per agent, held-out accuracy next to its majority baseline (and the
    in-sample match rate) as numeric series the UI plots over partitions, and the rule itself."""
    metadata = {
        **window.ui_metadata(),
        "dagster/row_count": len(table),
        "datapoints_emitted": emitted,
        "uri": dg.MetadataValue.url(uri),
        "fits": dg.MetadataValue.md(table.drop(columns=["tree_text", "tree_json", "coverage_by_feature"])
                                    .round(4).to_markdown(index=False)),
    }
    for r in results:
        if r["status"] == "fitted":
            series = f"fit/{r['agent_id']}"
            metadata |= {f"{series}/match_rate": r["match_rate"], f"{series}/baseline": r["baseline"],
                         f"{series}/n": r["n_samples"]}
            if r.get("heldout_accuracy") is not None:
                metadata[f"{series}/heldout_accuracy"] = r["heldout_accuracy"]
            metadata[f"{series}/rule"] = dg.MetadataValue.md(f"```\n{r['tree_text']}```")
    return metadata
