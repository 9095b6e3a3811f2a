"""Checks on `rationale_templates`: is every family's corpus in the window fresh (the original
metric kept emitting over a corpus no producer wrote any more), and which agents are templated?"""

import dagster as dg
from pydantic import Field

from alpha_replay_assets.checks.common import Judgement, evaluate_partitions
from alpha_replay_assets.partitions import DAILY, day_of
from alpha_replay_assets.paths import templates_key
from alpha_replay_assets.rationale_clusters import TEMPLATED
from alpha_replay_assets.rationale_templates import rationale_templates
from resources.artifact_store import ArtifactStore
from resources.run_mode import RunMode

COLUMNS = ["agent_id", "scope", "status", "reason", "n_rationales", "concentration", "largest_template"]


class ConcentrationCheckConfig(dg.Config):
    max_concentration: float = Field(default=TEMPLATED, ge=0, le=1, description="Share of rationales in the "
                                     "3 largest template clusters above which an agent is named as templated.")


def _table(store: ArtifactStore, key: str):
    return store.read_parquet(templates_key(store, day_of(key)), columns=COLUMNS)


@dg.asset_check(asset=rationale_templates, partitions_def=DAILY,
                description="Every family in the window still writes: a family whose newest artifact is older than "
                            "the staleness bound gets no datapoint, and is named here.")
def rationale_corpus_fresh(context: dg.AssetCheckExecutionContext, store: ArtifactStore, run_mode: RunMode) -> None:
    def judge(key: str) -> Judgement:
        table = _table(store, key)
        if table is None:
            return {key: "no result written"}, {}
        stale = table[table["status"] == "stale_input"]
        return dict(zip(stale["agent_id"], stale["reason"])), {"stale_agents": len(stale)}
    evaluate_partitions(context, run_mode, judge)


@dg.asset_check(asset=rationale_templates, partitions_def=DAILY,
                description="Agents whose rationales are one template with the numbers swapped (concentration above "
                            "the bound), each named with its largest template.")
def template_concentration_below_bound(context: dg.AssetCheckExecutionContext, config: ConcentrationCheckConfig,
                                       store: ArtifactStore, run_mode: RunMode) -> None:
    def judge(key: str) -> Judgement:
        table = _table(store, key)
        if table is None:
            return {key: "no result written"}, {}
        high = table[(table["status"] == "ok") & (table["concentration"] > config.max_concentration)]
        problems = {r.agent_id: (f"{r.concentration:.0%} of {r.n_rationales} rationales in its 3 largest template "
                                 f"clusters > {config.max_concentration:.0%}; "
                                 f"largest: {str(r.largest_template)[:120]!r}")
                    for r in high.itertuples()}
        return problems, {"templated_agents": dg.MetadataValue.json(sorted(problems))}
    evaluate_partitions(context, run_mode, judge, severity=dg.AssetCheckSeverity.WARN)


RATIONALE_CHECKS = [rationale_corpus_fresh, template_concentration_below_bound]
