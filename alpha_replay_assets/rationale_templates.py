"""`rationale_templates`: per agent family (and agent id), how much of its prose is one template
with the numbers swapped? (docs/domain.md §3b, the third signal of the original triple.) Reads the
`rationales` column of one index object per window day, never the raw artifacts and no cap.

The original job kept emitting freshly stamped datapoints over a corpus no producer wrote any
more. Here a family whose newest artifact is `stale_days` or more before the window end is
`stale_input`: its row and analysis say what the window held, and no datapoint is emitted.
"""

import datetime as dt
import json

import dagster as dg
import pandas as pd
from pydantic import Field

from alpha_replay_assets.artifacts import OK
from alpha_replay_assets.families import REGISTRY
from alpha_replay_assets.index import artifact_index, read_day_index
from alpha_replay_assets.partitions import DAILY, OWNERS, WEEKLY_DEADLINE, day_of, freshness_policy
from alpha_replay_assets.paths import templates_agent_key, templates_agent_latest_key, templates_key
from alpha_replay_assets.rationale_clusters import MIN_RATIONALES, TEMPLATED, cluster
from alpha_replay_assets.segments import split
from alpha_replay_assets.stubs import stub_result
from alpha_replay_assets.windows import (
    WindowConfig,
    concat_days,
    emit_window_metrics,
    load_windows,
    metric_pair,
    publish_per_agent,
    window_dependency,
)
from resources.artifact_store import ArtifactStore
from resources.metrics import CloudWatchMetrics, Datapoint
from resources.run_mode import RunMode

METRIC = "agent_rationale_template_concentration"
METRIC_N = "agent_rationale_template_concentration_n_rationales"
STALE_DAYS = 3
MIN_RATIONALES_PER_AGENT = 50
# what a window reads of a day: the prose, and what splits a family at its versions (docs/domain.md §3c)
WINDOW_COLUMNS = ["agent_id", "agent_id_base", "status", "rationales", "key", "is_llm", "prompt_version", "model_name",
                  "timestamp"]
VERSION_COLUMNS = ["key", "is_llm", "prompt_version", "model_name", "timestamp"]
TEMPLATE_COLUMNS = {"agent_id_base": "str", "agent_id": "str", "scope": "str", "status": "str", "reason": "str",
                    "n_artifacts": "int64", "n_rationales": "int64", "concentration": "float64",
                    "n_clusters": "int64", "top_sizes": "str", "largest_template": "str", "last_seen": "str",
                    "prompt_version": "str", "original_model": "str", "segment_start": "str", "segment_end": "str"}


class TemplatesConfig(WindowConfig):
    stale_days: int = Field(default=STALE_DAYS, ge=1, description="A family (or agent id) whose newest artifact "
                            "is this many days before the window end is stale: no datapoint.")
    min_rationales_per_agent: int = Field(default=MIN_RATIONALES_PER_AGENT, ge=MIN_RATIONALES,
                                          description="A family with several agent ids also gets a row per agent id "
                                                      "with at least this many rationales (the roll-up always runs).")


def day_rows(index: pd.DataFrame) -> pd.DataFrame:
    """A day's valid artifacts with their rationales decoded (a list per row; empty when none)."""
    ok = index[index["status"] == OK].dropna(subset=["agent_id_base"])
    cells = ok["rationales"] if "rationales" in ok else pd.Series(index=ok.index, dtype="str")
    return pd.DataFrame({"agent_id": ok["agent_id"].astype(str), "agent_id_base": ok["agent_id_base"].astype(str),
                         "rationales": [json.loads(c) if isinstance(c, str) else [] for c in cells],
                         **{c: ok[c].to_numpy() for c in VERSION_COLUMNS if c in ok}})


EMPTY = pd.DataFrame({"agent_id": pd.Series(dtype="str"), "agent_id_base": pd.Series(dtype="str"),
                      "rationales": pd.Series(dtype="object"),
                      **{c: pd.Series(dtype="object") for c in VERSION_COLUMNS}})


def judge(agent_id_base: str, agent_id: str, scope: str, rows: pd.DataFrame, end: dt.date,
          config: TemplatesConfig) -> tuple[dict, dict]:
    """(table row, analysis document) of one agent's rationales over the window: status first that
    holds `no_input`, `stale_input` (clustered, never emitted), `thin_sample`, `ok`."""
    texts = [t for cell in rows["rationales"] for t in cell]
    last_seen = rows["day"].max() if len(rows) else None
    row = {"agent_id_base": agent_id_base, "agent_id": agent_id, "scope": scope, "n_artifacts": len(rows),
           "n_rationales": len(texts), "last_seen": last_seen}
    if not len(rows):
        return row | {"status": "no_input", "reason": "no valid artifact in the window"}, {}
    clusters = cluster(texts)
    silent = (end - dt.date.fromisoformat(last_seen)).days
    largest = clusters.members[0][0] if clusters.members else None
    row |= {"concentration": clusters.concentration, "n_clusters": len(clusters.sizes),
            "top_sizes": json.dumps(clusters.sizes[:10]), "largest_template": largest}
    if silent >= config.stale_days:
        row |= {"status": "stale_input", "reason": f"last artifact on {last_seen}, {silent} days before the window "
                                                   "end: producer down? (no datapoint over a stale corpus)"}
    elif clusters.concentration is None:
        row |= {"status": "thin_sample", "reason": f"{len(texts)} rationales < {MIN_RATIONALES}"}
    else:
        share = f"the 3 largest of {len(clusters.sizes)} clusters hold {clusters.concentration:.0%}"
        row |= {"status": "ok", "reason": f"templated: {share}" if clusters.concentration > TEMPLATED else share}
    return row, {"cluster_sizes": clusters.sizes, "clusters": clusters.representatives()}


def templates_window(frame: pd.DataFrame, end: dt.date, config: TemplatesConfig) -> list[tuple[dict, dict]]:
    """One result per family that declares rationales or was seen (never omitted: the rest say why
    not), plus one per agent id with enough rationales of a family with several."""
    results = []
    declared = {name for name, family in REGISTRY.items() if family.rationales}
    for family in sorted(declared | set(frame["agent_id_base"])):
        spec = REGISTRY.get(family)
        rows = frame[frame["agent_id_base"] == family]
        if spec is None or not spec.rationales:
            why = "unregistered family" if spec is None else "the family declares no rationale fields"
            results.append(({"agent_id_base": family, "agent_id": family, "scope": "family", "status": "unsupported",
                              "reason": why, "n_artifacts": len(rows), "n_rationales": 0}, {}))
            continue
        results.append(judge(family, family, "family", rows, end, config))
        results += segment_results(family, rows, end, config)
        if rows["agent_id"].nunique() > 1:
            for agent, mine in rows.groupby("agent_id", sort=True):
                if sum(map(len, mine["rationales"])) >= config.min_rationales_per_agent:
                    results.append(judge(family, agent, "agent", mine, end, config))
    return results


def segment_results(family: str, rows: pd.DataFrame, end: dt.date, config: TemplatesConfig) -> list[tuple[dict, dict]]:
    """A family whose window holds several prompt versions / models: one result per segment
    (`scope = segment`, agent id `family@<segment tag>`), an older one judged as of its own last day."""
    if "prompt_version" not in rows:
        return []
    segments = split(rows[rows["is_llm"].fillna(False).astype(bool)])
    results = []
    for s in segments if len(segments) > 1 else ():
        day = end if s is segments[-1] else dt.date.fromisoformat(s.end)
        row, analysis = judge(family, f"{family}@{s.tag}", "segment", rows[rows["key"].isin(s.keys)],
                              day, config)
        results.append((row | {"prompt_version": s.prompt_version, "original_model": s.original_model,
                               "segment_start": s.start, "segment_end": s.end}, analysis))
    return results


def _datapoints(rows: list[dict], end: dt.date) -> list[Datapoint]:
    """The contract's series: one per family and agent id (a segment's numbers are metadata only)."""
    return [dp for r in rows if r["status"] == "ok" and r["scope"] != "segment"
            for dp in metric_pair((METRIC, METRIC_N), r["concentration"], r["n_rationales"], end,
                                  {"judged_agent_id": r["agent_id"]})]


@dg.asset(
    partitions_def=DAILY,
    freshness_policy=freshness_policy(WEEKLY_DEADLINE),
    deps=[window_dependency(artifact_index)],
    group_name="counterfactual",
    owners=OWNERS,
    kinds={"scikitlearn", "s3", "cloudwatch"},
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="Window ending on the partition day (default 56 days, no cap): per agent family and agent id, "
                "single-linkage clusters of its rationales (char 3-5-gram TF-IDF, cosine >= 0.75) and the "
                "share of the 3 largest (> 0.7 = templated); stale, thin and unsupported say so.",
)
def rationale_templates(
    context: dg.AssetExecutionContext, config: TemplatesConfig, store: ArtifactStore, metrics: CloudWatchMetrics,
    run_mode: RunMode,
) -> dg.MaterializeResult:
    if run_mode.dry:
        return stub_result(context)
    now = dt.datetime.now(dt.UTC)
    windows = load_windows([day_of(k) for k in context.partition_keys], config.window_days,
                           lambda d: read_day_index(store, d, columns=WINDOW_COLUMNS), concat_days(EMPTY), day_rows)
    for key, window in zip(context.partition_keys, windows):
        end = window.end
        results = templates_window(window.data, end, config)
        coverage = window.coverage_metadata()

        stamp = {"computed_at": now.isoformat(), "run_id": context.run.run_id}
        publish_per_agent(store, {row["agent_id"]: row | analysis | coverage | stamp for row, analysis in results},
                          end, templates_agent_key, templates_agent_latest_key)
        rows = [row for row, _ in results]
        table = pd.DataFrame(rows, columns=list(TEMPLATE_COLUMNS)).astype(
            {c: t for c, t in TEMPLATE_COLUMNS.items() if t == "str"})
        store.write_parquet(templates_key(store, end), table.assign(
            window_end=key, days_present=coverage["days_present"], window_days=config.window_days))
        emitted = emit_window_metrics(metrics, run_mode, _datapoints(rows, end), end, now)
        context.add_asset_metadata(_metadata(results, table, window, emitted, store.uri(templates_key(store, end))),
                                   partition_key=key)
        context.log.info(f"window ending {key}: {len(rows)} agents, {emitted} datapoints emitted")
    return dg.MaterializeResult()


def _metadata(results: list[tuple[dict, dict]], table: pd.DataFrame, window, emitted: int, uri: str) -> dict:
    """Per agent, the concentration and its n as numeric series the UI plots over partitions, and
    the largest cluster's representatives."""
    metadata = {
        **window.ui_metadata(),
        "dagster/row_count": len(table),
        "datapoints_emitted": emitted,
        "uri": dg.MetadataValue.url(uri),
        "templates": dg.MetadataValue.md(table.drop(columns=["top_sizes"]).round(4).to_markdown(index=False)),
    }
    for row, analysis in results:
        if row["status"] != "ok":
            continue
        series = f"templates/{row['agent_id']}"
        metadata |= {f"{series}/concentration": float(row["concentration"]), f"{series}/n": int(row["n_rationales"]),
                     f"{series}/clusters": int(row["n_clusters"])}
        largest = analysis["clusters"][0]
        metadata[f"{series}/largest"] = dg.MetadataValue.md(
            f"{largest['size']} of {row['n_rationales']} rationales:\n\n"
            + "\n".join(f"- {text}" for text in largest["representatives"]))
    return metadata
