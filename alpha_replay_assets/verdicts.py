"""`agent_verdicts`: per agent family, keep the expensive model, demote it, or say there is not
enough evidence — with the numbers behind the call.

Evidence: cheap-model agreement next to the original model's own agreement with itself (the
noise ceiling) with a paired bootstrap CI; Cohen's kappa for categorical decisions; the rule
fit's held-out accuracy and its stability across windows; and what the family costs per week
now versus under the cheap model; and how templated its rationales are (`rationale_templates`).
"""

from functools import partial

import dagster as dg
import pandas as pd

from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.counterfactual import counterfactual_fits
from alpha_replay_assets.index import artifact_index, read_day_index
from alpha_replay_assets.noise_ceiling import noise_ceiling
from alpha_replay_assets.partitions import DAILY, OWNERS, WEEKLY_DEADLINE, day_of, freshness_policy
from alpha_replay_assets.paths import (
    ceiling_key,
    concordance_key,
    fits_key,
    target_slug,
    templates_key,
    verdicts_key,
    version_shifts_key,
)
from alpha_replay_assets.rationale_templates import rationale_templates
from alpha_replay_assets.replay.rate_card import COST_COLUMNS
from alpha_replay_assets.segment_verdicts import (
    SEGMENT_INDEX_COLUMNS,
    segmented_verdicts,
    segments_metadata,
    shifts_frame,
)
from alpha_replay_assets.stubs import stub_result
from alpha_replay_assets.verdict_rules import STATUSES, VerdictConfig, build_verdicts, report_markdown
from alpha_replay_assets.windows import concat_days, load_windows, replay_windows, window_dependency
from resources.artifact_store import ArtifactStore
from resources.replay_model import ReplayModel
from resources.run_mode import RunMode

# What a window reads of each day: the index, the cheap and ceiling replays, the fit roll-ups.
INDEX_WINDOW_COLUMNS = ["agent_id_base", "status", "is_llm", "is_placeholder", *COST_COLUMNS]
REPLAY_WINDOW_COLUMNS = ["key", "agent_id_base", "target_model", "outcome", "error", "agreement_score", "scorer",
                         "label_pairs", "input_tokens", "output_tokens", "cache_read_tokens", "cache_create_tokens"]
FIT_COLUMNS = ["agent_id_base", "scope", "status", "reason", "heldout_accuracy", "baseline", "rule_stable"]
TEMPLATE_COLUMNS = ["agent_id_base", "scope", "status", "concentration", "n_rationales"]


@dg.asset(
    partitions_def=DAILY,
    freshness_policy=freshness_policy(WEEKLY_DEADLINE),
    deps=[window_dependency(artifact_index), window_dependency(concordance), window_dependency(noise_ceiling),
          counterfactual_fits, rationale_templates],
    group_name="verdicts",
    owners=OWNERS,
    kinds={"s3", "parquet"},
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="Window ending on the partition day: per agent family and each of its cheap targets, keep / "
                "demote_candidate / insufficient_evidence / no_input / stale_input / replies_unusable / "
                "no_cheaper_target / unsupported, with the reason.",
)
def agent_verdicts(context: dg.AssetExecutionContext, config: VerdictConfig, store: ArtifactStore,
                   replay_model: ReplayModel, run_mode: RunMode) -> dg.MaterializeResult:
    if run_mode.dry:
        return stub_result(context)
    ends, models = [day_of(k) for k in context.partition_keys], replay_model.all_targets
    index_columns = INDEX_WINDOW_COLUMNS + SEGMENT_INDEX_COLUMNS
    indexes = load_windows(ends, config.window_days, lambda d: read_day_index(store, d, columns=index_columns),
                           concat_days(pd.DataFrame(columns=index_columns)))
    n_days, columns = config.window_days, REPLAY_WINDOW_COLUMNS
    ceilings = replay_windows(store, ends, n_days, lambda d: ceiling_key(store, d), columns)
    cheap = [replay_windows(store, ends, n_days, lambda d, m=m: concordance_key(store, d, m), columns) for m in models]
    for key, index, ceiling, *per_model in zip(context.partition_keys, indexes, ceilings, *cheap):
        end = index.end
        fits = store.read_parquet(fits_key(store, end), columns=FIT_COLUMNS)
        templates = store.read_parquet(templates_key(store, end), columns=TEMPLATE_COLUMNS)
        judged = [segmented_verdicts(build_verdicts(index.data, replays.data, ceiling.data, fits, end, model, config,
                                                    config.prices, templates, replay_model.targets_for),
                                     index.data, replays.data, ceiling.data, end, model,
                                     partial(build_verdicts, model=model, config=config, prices=config.prices,
                                             targets_for=replay_model.targets_for), config.min_segment_artifacts)
                  for model, replays in zip(models, per_model)]
        table, shifts = pd.concat([t for t, _ in judged], ignore_index=True), [s for _, ss in judged for s in ss]
        store.write_parquet(verdicts_key(store, end), table)
        store.write_parquet(version_shifts_key(store, end), shifts_frame(shifts))
        report = report_markdown(table, end)
        store.put_bytes(verdicts_key(store, end, "report.md"), report.encode(), "text/markdown")
        context.add_asset_metadata(_metadata(table, index, report, store.uri(verdicts_key(store, end, "report.md")))
                                   | segments_metadata(table, shifts), partition_key=key)
    return dg.MaterializeResult()


# What the UI's verdict table shows per agent: the call, why in a phrase (the reason up to its
# numbers, which the columns carry; the whole reason is in `report` and the Parquet), and the numbers.
# Readable at 1600 px: the agent, its call and why (short) first, then the numbers, the target and
# the scorer last.
TABLE_COLUMNS = {"agent_id_base": "string", "status": "string", "why": "string", "segment": "string",
                 "n_paired": "int", "cheap_agreement": "float", "ceiling_agreement": "float", "kappa": "float",
                 "rule_heldout": "float",
                 "usd_per_week_now": "float", "usd_saving_per_week": "float", "target_model": "string",
                 "scorer": "string"}


def _cell(value, kind: str):
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return round(float(value), 4) if kind == "float" else int(value) if kind == "int" else str(value)


def verdict_table(table: pd.DataFrame) -> dg.TableMetadataValue:
    return dg.MetadataValue.table(
        records=[dg.TableRecord({c: _cell(row.get(c), kind) for c, kind in TABLE_COLUMNS.items()})
                 for row in table.assign(why=table["reason"].str.split(": ", n=1).str[0]).to_dict("records")],
        schema=dg.TableSchema(columns=[dg.TableColumn(c, kind) for c, kind in TABLE_COLUMNS.items()]),
    )


def _metadata(table: pd.DataFrame, window, report: str, report_uri: str) -> dict:
    """One window's verdicts: the table (one row per agent and target), the report, status counts,
    and per agent the agreements and dollars as numeric series the UI plots over partitions."""
    counts = table["status"].value_counts()
    metadata = {
        **window.ui_metadata(),
        "dagster/row_count": len(table),
        "verdict_table": verdict_table(table),
        "report": dg.MetadataValue.md(report),
        "report_uri": dg.MetadataValue.url(report_uri),
        **{f"verdicts/{status}": int(counts.get(status, 0)) for status in STATUSES},
    }
    for row in table.itertuples():
        series = f"{row.agent_id_base}/{target_slug(row.target_model)}"
        for name in ("cheap_agreement", "ceiling_agreement", "usd_per_week_now", "usd_per_week_cheap",
                     "usd_saving_per_week"):
            value = getattr(row, name)
            if pd.notna(value):
                metadata[f"{name}/{series}"] = float(value)
    return metadata
