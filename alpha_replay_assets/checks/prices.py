"""Check on `artifact_index`: does the rate card price every model the producers use?

An id without a card is not replayed by the noise ceiling and its artifacts' cost is unknown when
they record none: say so per day, naming the id, its artifact count and the nearest priced ids.
"""

import dagster as dg
from pydantic import Field

from alpha_replay_assets.artifacts import OK
from alpha_replay_assets.checks.common import Judgement, evaluate_partitions
from alpha_replay_assets.index import artifact_index, read_day_index
from alpha_replay_assets.partitions import DAILY, day_of
from alpha_replay_assets.replay.rate_card import PRICES_HELP, RateCard, unpriced_ids
from resources.artifact_store import ArtifactStore
from resources.run_mode import RunMode


class PriceCheckConfig(dg.Config):
    prices: dict[str, list[float]] = Field(default={}, description=PRICES_HELP)


@dg.asset_check(asset=artifact_index, partitions_def=DAILY,
                description="Every model id of the day's valid LLM artifacts has a rate card (a dated snapshot id "
                            "resolves to its model's card): an unpriced id is named with its artifact count.")
def unpriced_model_seen(context: dg.AssetCheckExecutionContext, config: PriceCheckConfig, store: ArtifactStore,
                        run_mode: RunMode) -> None:
    card = RateCard(config.prices)

    def judge(key: str) -> Judgement:
        frame = read_day_index(store, day_of(key), columns=["status", "model_name"])
        if frame is None:
            return {key: "no index for this day"}, {}
        volume = unpriced_ids(frame.loc[frame["status"] == OK, "model_name"], card)
        problems = {model: f"{n} artifacts; {card.unpriced_message(model)}" for model, n in volume.items()}
        return problems, {"unpriced_artifacts": dg.MetadataValue.json(volume)}
    # WARN: the day's data is fine; its ceiling and costs for that id wait for a price.
    evaluate_partitions(context, run_mode, judge, severity=dg.AssetCheckSeverity.WARN)


PRICE_CHECKS = [unpriced_model_seen]
