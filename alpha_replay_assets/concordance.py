"""`concordance`: replay each eligible artifact of a day under each cheap target model and score
how often it agrees with the original decision (docs/domain.md §2). The replays themselves (planning, the
call loop, the cache, claims, batches, prices) are the `replay` package's; this is the asset."""

import dagster as dg
import pandas as pd

from alpha_replay_assets.partitions import day_of
from alpha_replay_assets.paths import concordance_day_glob, concordance_key, target_slug
from alpha_replay_assets.replay.batches import prefill_with_batches
from alpha_replay_assets.replay.engine import (
    REPLAY_ASSET,
    DayReplay,
    ReplayConfig,
    replaying,
    require_day_index,
    require_target,
)
from alpha_replay_assets.replay.planning import PLAN_COLUMNS, plan
from alpha_replay_assets.replay.rows import REPLAY_ROW_COLUMNS, STRUCTURED, day_summary, mismatched_models, replay_frame
from alpha_replay_assets.replay.step import InFlight
from alpha_replay_assets.stubs import stub_result
from alpha_replay_assets.targets import rows_for_target
from resources.artifact_store import ArtifactStore
from resources.replay_model import ReplayModel
from resources.run_mode import RunMode


@dg.asset(
    **REPLAY_ASSET,
    description="Per day and cheap target model: one row per artifact of the families replayed under it "
                "with the replay outcome, agreement score, tokens, cost, latency and cache hit.",
)
def concordance(
    context: dg.AssetExecutionContext,
    config: ReplayConfig,
    store: ArtifactStore,
    replay_model: ReplayModel,
    run_mode: RunMode,
) -> dg.MaterializeResult:
    if run_mode.dry:
        return stub_result(context)
    targets = replay_model.all_targets
    for model in targets:
        require_target(model, config.prices, replay_model)

    def day_plans(key):  # (model, skipped rows, tasks) of one day; read again after a batch prefill
        index = require_day_index(store, key, PLAN_COLUMNS)
        for model in targets:  # each artifact under its family's targets only; a file per target, maybe empty
            yield model, *plan(rows_for_target(index, model, replay_model.targets_for), model,
                               replay_model.max_tokens, route=replay_model.address(model))

    batch = replay_model.batch_for(len(context.partition_keys))
    batched, interactive = prefill_with_batches(context, store, replay_model, config, (
        (day_of(key), model, tasks) for key in context.partition_keys
        for model, _, tasks in day_plans(key))) if batch else (0, [])
    in_flight = InFlight()
    for key in context.partition_keys:
        day = day_of(key)
        summaries, frames = [], []
        for model, skipped, tasks in day_plans(key):
            with replaying(key, model):
                rows = skipped + DayReplay(context, store, replay_model, config, day, model, in_flight,
                                           batch).run(tasks)
            frame = replay_frame(rows, day)
            summary = day_summary(frame) | {"day": key, "target_model": model}
            provider_failed = summary["transport_errors"] + summary["bad_responses"]
            attempted = summary["replayed"] + provider_failed
            if attempted and provider_failed / attempted > config.max_failure_rate:
                raise dg.Failure(
                    f"{key} {model}: {provider_failed} of {attempted} replays failed at the provider "
                    f"({summary['transport_errors']} transport errors, {summary['bad_responses']} bad responses; "
                    f"> {config.max_failure_rate:.0%}); replies received so far are cached",
                    metadata={k: v for k, v in summary.items() if isinstance(v, (int, float, str))},
                    allow_retries=False,  # a provider outage needs a person, not three more bursts
                )
            store.write_parquet(concordance_key(store, day, model), frame)
            summaries.append(summary)
            frames.append(frame)
        context.add_asset_metadata(_metadata(summaries, pd.concat(frames), store, day), partition_key=key)
    return dg.MaterializeResult(metadata={
        "dagster/column_schema": dg.TableSchema(columns=[dg.TableColumn(n, t) for n, t in REPLAY_ROW_COLUMNS.items()]),
        "batch_requests": batched, "rate_limited_429s": replay_model.rate_limited,  # this run's, every partition
        "interactive_backfill_models": dg.MetadataValue.json(interactive),
    })


def _metadata(summaries: list[dict], frame: pd.DataFrame, store: ArtifactStore, day) -> dict:
    """One day's replays, every target: counts, spend, and per family and target the mean
    agreement as a numeric series the UI plots over partitions."""
    table = pd.DataFrame(summaries)
    scored = frame[frame["outcome"] == STRUCTURED]
    stubs = frame[frame["outcome"] == "skipped_placeholder"].drop_duplicates("key")["agent_id_base"].value_counts()
    means = scored.groupby(["target_model", "agent_id_base"])["agreement_score"].mean().round(4)
    metadata = {
        "dagster/row_count": len(frame),
        "complete": bool(table["complete"].all()),
        "eligible": int(table["eligible"].sum()),
        "replayed": int(table["replayed"].sum()),
        "model_calls": int(table["model_calls"].sum()),
        "cache_hits": int(frame["cache_hit"].eq(True).fillna(False).sum()),
        "schema_errors": int(table["schema_errors"].sum()),
        "transport_errors": int(table["transport_errors"].sum()),
        "bad_responses": int(table["bad_responses"].sum()),
        "model_mismatches": int(table["model_mismatches"].sum()),
        "paid_twice": int(frame["paid_twice"].eq(True).fillna(False).sum()),
        "mismatched_models": dg.MetadataValue.json(mismatched_models(frame)),
        "budget_skipped": int(table["budget_skipped"].sum()),
        "usd_new": round(float(table["usd_new"].sum()), 6),
        "prompt_cache_read_tokens": int(frame["cache_read_tokens"].sum()),
        "prompt_cache_write_tokens": int(frame["cache_create_tokens"].sum()),
        "mean_agreement": float(scored["agreement_score"].mean()) if len(scored) else 0.0,
        "per_day": dg.MetadataValue.md(table.to_markdown(index=False)),
        "outcomes": dg.MetadataValue.json({k: int(v) for k, v in frame["outcome"].value_counts().items()}),
        "skipped_placeholder_per_family": dg.MetadataValue.json({k: int(v) for k, v in sorted(stubs.items())}),
        "uri": dg.MetadataValue.text(store.uri(concordance_day_glob(store, day))),
    }
    for (model, family), mean in means.items():
        metadata[f"concordance/{family}/{target_slug(model)}/mean"] = float(mean)
    return metadata
