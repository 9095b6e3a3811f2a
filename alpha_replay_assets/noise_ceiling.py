"""`noise_ceiling`: how well does the ORIGINAL model agree with itself?

Sampling parameters cannot be pinned with the current SDK, so even the expensive model does not
reproduce its own decisions exactly. For a sample of each family's artifacts a day, replay the
original model k times (cached like every replay) and score each reply against the stored
decision. A cheap model cannot be expected to beat that ceiling; `agent_verdicts` compares to it.
The original model is replayed through the route its id takes (`replay_model.provider`): the
think tank's router slugs through the OpenAI-compatible router, interactively even in a backfill.
"""


import dagster as dg
import pandas as pd
from pydantic import Field

from alpha_replay_assets.partitions import day_of
from alpha_replay_assets.paths import ceiling_key
from alpha_replay_assets.replay.batches import prefill_with_batches
from alpha_replay_assets.replay.engine import REPLAY_ASSET, DayReplay, ReplayConfig, replaying, require_day_index
from alpha_replay_assets.replay.planning import PLAN_COLUMNS, plan, sample_rows
from alpha_replay_assets.replay.rate_card import RateCard
from alpha_replay_assets.replay.rows import STRUCTURED, day_summary, replay_frame
from alpha_replay_assets.replay.step import InFlight
from alpha_replay_assets.stubs import stub_result
from resources.artifact_store import ArtifactStore
from resources.replay_model import ReplayModel
from resources.run_mode import RunMode


class CeilingConfig(ReplayConfig):
    samples_per_family: int = Field(default=10, ge=1, description="Artifacts per family and day.")
    replays_per_artifact: int = Field(default=2, ge=1, description="k replays of the original model each.")
    # At the original model's price a day's sample (10 per family, k=2) costs ~$4-13 once it holds
    # think-tank theses (tens of KB of filings) or the large news snapshots; $10 stopped mid-day.
    budget_usd: float = Field(default=25.0, ge=0, description="Max new spend per day, this run.")


@dg.asset(
    **REPLAY_ASSET,
    description="Per day: a stable sample of each family's artifacts replayed k times under the "
                "original model, scored against the stored decision (the model's own noise).",
)
def noise_ceiling(context: dg.AssetExecutionContext, config: CeilingConfig, store: ArtifactStore,
                  replay_model: ReplayModel, run_mode: RunMode) -> dg.MaterializeResult:
    if run_mode.dry:
        return stub_result(context)

    card = RateCard(config.prices)

    def day_plan(key) -> tuple[list, list[dict]]:
        """One read of a day's index: (original model, tasks) per routable, priced model, and a
        counted skip row per sampled artifact of a model with no route or no card (its ceiling is
        unknown until that is configured; the day does not fail, the metadata names the id). Read
        again after a batch prefill."""
        plans, skipped = [], []
        index = require_day_index(store, key, PLAN_COLUMNS + ["model_name"])
        for model, group in sample_rows(index, config.samples_per_family).groupby("model_name"):
            if problem := replay_model.route_problem(model):  # first: a price would not make it replayable
                outcome, error = "skipped_unroutable_model", problem
            elif not card.priced(model):
                outcome, error = "skipped_unpriced_model", card.unpriced_message(model)
            else:
                plans.append((model, plan(group, model, replay_model.max_tokens, route=replay_model.address(model),
                                          samples=config.replays_per_artifact)[1]))
                continue
            skipped += [{"key": r["key"], "agent_id": r["agent_id"], "agent_id_base": r["agent_id_base"],
                         "target_model": model, "outcome": outcome, "error": error} for r in group.to_dict("records")]
        return plans, skipped

    batch = replay_model.batch_for(len(context.partition_keys))
    batched, interactive = prefill_with_batches(context, store, replay_model, config, (
        (day_of(key), model, tasks) for key in context.partition_keys
        for model, tasks in day_plan(key)[0])) if batch else (0, [])
    in_flight = InFlight()
    for key in context.partition_keys:
        day = day_of(key)
        plans, skipped = day_plan(key)
        rows = []
        for model, tasks in plans:
            with replaying(key, model):
                rows += DayReplay(context, store, replay_model, config, day, model, in_flight, batch,
                                  "noise_ceiling").run(tasks)
        frame = replay_frame(rows + skipped, day)
        for line in unpriced_models(frame).values():
            context.log.warning(f"{key}: {line}")
        store.write_parquet(ceiling_key(store, day), frame)
        context.add_asset_metadata(_metadata(frame), partition_key=key)
    return dg.MaterializeResult(metadata={  # this run's, every partition
        "batch_requests": batched, "interactive_backfill_models": dg.MetadataValue.json(interactive)})


def unpriced_models(frame: pd.DataFrame) -> dict[str, str]:
    """Original model id without a card -> one line: its skipped sample and the nearest priced ids."""
    skipped = frame[frame["outcome"] == "skipped_unpriced_model"].groupby("target_model")["error"]
    return {model: f"{n} sampled artifacts not replayed: {why}"
            for (model, n), why in zip(skipped.size().items(), skipped.first())}


def _metadata(frame: pd.DataFrame) -> dict:
    """One day's ceiling: per family the original model's agreement with itself, plotted by the UI;
    the original models it could not price, named."""
    scored = frame[frame["outcome"] == STRUCTURED]
    summary = day_summary(frame)
    metadata = {
        "dagster/row_count": len(frame),
        "replayed": summary["replayed"],
        "model_calls": summary["model_calls"],
        "usd_new": summary["usd_new"],
        "skipped_unpriced_model": int((frame["outcome"] == "skipped_unpriced_model").sum()),
        "unpriced_models": dg.MetadataValue.json(unpriced_models(frame)),
        "skipped_unroutable_model": int((frame["outcome"] == "skipped_unroutable_model").sum()),
    }
    for family, mean in scored.groupby("agent_id_base")["agreement_score"].mean().items():
        metadata[f"self_agreement/{family}"] = float(mean)
    return metadata
