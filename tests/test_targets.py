"""Cheap targets per family (docs/domain.md §1.4): each family is replayed and judged under its own targets,
a target no cheaper than the family's original is flagged instead of judged a saving, and the
noise ceiling replays every LLM family's original through the provider serving it (a model no
provider serves is a counted, named skip the verdict mentions)."""

import datetime as dt

import dagster as dg
import pandas as pd
import pytest

from alpha_replay_assets.families import declared_targets
from alpha_replay_assets.families.thinktank_thesis import CHEAP_TARGET as THINK_TANK_TARGET
from alpha_replay_assets.paths import ceiling_key, concordance_key, summary_key, verdicts_key
from alpha_replay_assets.replay.rate_card import RateCard
from alpha_replay_assets.sample import corpus
from alpha_replay_assets.targets import ceiling_skip_note, target_cost_ratio
from alpha_replay_assets.verdict_rules import VerdictConfig, decide
from helpers import DAY, pinned
from jobs.catalog import ALL_ASSETS, ALL_CHECKS, PARTITION_CHECKS
from jobs.schedules import range_tags
from resources.replay_model import ReplayModel

HAIKU = "claude-haiku-4-5"
THINK_TANK = ("thinktank_thesis", "thinktank_theme")
WEEK = [DAY - dt.timedelta(days=n) for n in reversed(range(7))]


def test_each_family_has_its_targets_and_the_think_tank_defaults_are_cheaper_than_its_originals():
    model = ReplayModel(target_models_by_family=declared_targets())  # as the definitions build it
    assert model.targets_for("ic_cio") == [HAIKU] and model.targets_for("mystery_agent") == [HAIKU]
    assert all(model.targets_for(f) == [THINK_TANK_TARGET] for f in THINK_TANK)
    assert model.all_targets == [HAIKU, THINK_TANK_TARGET]
    card, today = RateCard(), dt.date(2026, 11, 28)
    for original in ("deepseek/deepseek-chat-v3.1", "qwen/qwen3-235b-a22b-instruct"):  # the think tank's
        calls = pd.DataFrame({"model_name": [original], "input_tokens": [3500], "output_tokens": [900]})
        assert target_cost_ratio(calls, THINK_TANK_TARGET, card, today)[0] < 0.2
        assert target_cost_ratio(calls, HAIKU, card, today)[0] > 1  # what the one global list judged it with
    with pytest.raises(ValueError, match="at least one model id"):
        ReplayModel(target_models_by_family={"ic_cio": []})


def test_a_family_module_declares_its_cheap_target_so_a_copy_keeps_it_and_the_env_map_replaces_it(monkeypatch):
    from alpha_replay_assets.families import REGISTRY
    from resources.environment import resources_from_env

    assert declared_targets() == {f: [THINK_TANK_TARGET] for f in THINK_TANK}  # the resource names no family
    assert all(REGISTRY[f].cheap_target == THINK_TANK_TARGET for f in THINK_TANK)
    copy = {"thinktank_copy": [THINK_TANK_TARGET]}  # what a copied module's declaration adds to the map
    assert ReplayModel(target_models_by_family=declared_targets() | copy).targets_for("thinktank_copy") == [
        THINK_TANK_TARGET]
    monkeypatch.setenv("ALPHA_REPLAY_TARGET_MODELS_BY_FAMILY", '{"ic_cio": ["claude-haiku-4-5"]}')
    assert resources_from_env(declared_targets())["replay_model"].target_models_by_family == {"ic_cio": [HAIKU]}
    monkeypatch.delenv("ALPHA_REPLAY_TARGET_MODELS_BY_FAMILY")
    assert resources_from_env(declared_targets())["replay_model"].target_models_by_family == declared_targets()


def test_no_cheaper_target_sits_after_the_stable_rule_and_before_any_call_on_paired_replays():
    config, end = VerdictConfig(), dt.date(2026, 11, 28)
    e = {"n_artifacts": 40, "last_seen": end.isoformat(), "n_paired": 40, "cheap_agreement": 0.9,
         "ceiling_agreement": 0.9, "diff": 0.0, "diff_ci_low": -0.01, "diff_ci_high": 0.01, "ratio_ci_low": 0.97,
         "ratio_ci_high": 1.03, "target_model": HAIKU, "original_models": "deepseek/deepseek-chat-v3.1"}
    assert decide("thinktank_thesis", e, end, config)[0] == "demote_candidate"  # no ratio known: judged
    status, reason = decide("thinktank_thesis", e | {"target_cost_ratio": 2.4}, end, config)
    assert status == "no_cheaper_target" and reason.startswith("no cheaper target: claude-haiku-4-5 costs 2.40x")
    assert decide("thinktank_thesis", e | {"target_cost_ratio": 1.0}, end, config)[0] == "no_cheaper_target"  # at
    assert decide("thinktank_thesis", e | {"target_cost_ratio": 0.15}, end, config)[0] == "demote_candidate"
    rule = {"rule_heldout": 0.95, "rule_baseline": 0.5, "rule_stable": True, "target_cost_ratio": 2.4}
    assert decide("thinktank_thesis", e | rule, end, config)[0] == "demote_candidate"  # a rule needs no target


def test_the_ceiling_skips_are_named_with_their_count_and_reason():
    ceiling = pd.DataFrame({"target_model": ["gpt-4o", "gpt-4o", "claude-sonnet-4-6"],
                            "outcome": ["skipped_unroutable_model"] * 2 + ["structured"],
                            "error": ["no route for model 'gpt-4o': neither ...", "same", None]})
    assert ceiling_skip_note(ceiling) == ("; noise ceiling not measured for 2 sampled artifacts of 'gpt-4o': "
                                          "no route for model 'gpt-4o': neither ...")
    assert ceiling_skip_note(ceiling.iloc[2:]) == ""


@pytest.fixture
def default_targets(make_replay_model, model_server):
    """The shipped targets (the think tank under its router target) with both loopback routes."""
    return make_replay_model(target_models_by_family=declared_targets(),
                             openai_compat_base_url=model_server.router_url, openai_compat_api_key="router-test-key")


def _week(all_resources, replay_model, s3_client, bucket, ceiling_model=None):
    """Seed a week of today's producers (the think tank on its router slugs, executors, an
    unregistered family) and run the whole graph over it with 7-day verdicts."""
    corpus.seed(s3_client, bucket, WEEK, pinned(mix="today"))
    # one family's original becomes a model no provider serves, all week (a model change mid-window would be
    # a new series: docs/versions.md)
    for day in WEEK if ceiling_model else []:
        for key in [o["Key"] for o in s3_client.list_objects_v2(
                Bucket=bucket, Prefix=f"decision_artifacts/{day:%Y/%m/%d}/mystery_agent/").get("Contents", [])]:
            body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
            s3_client.put_object(Bucket=bucket, Key=key, Body=body.replace('"claude-sonnet-4-5"', f'"{ceiling_model}"'))
    with dg.instance_for_test() as instance:
        return dg.materialize(ALL_ASSETS + ALL_CHECKS, resources=all_resources | {"replay_model": replay_model},
                              instance=instance, selection=dg.AssetSelection.assets(*ALL_ASSETS).without_checks()
                              | dg.AssetSelection.checks(*PARTITION_CHECKS),
                              tags=range_tags(WEEK[0].isoformat(), WEEK[-1].isoformat()),
                              run_config={"ops": {"agent_verdicts": {"config": {"window_days": 7}}}})


def test_a_week_of_the_think_tank_is_judged_under_its_own_target_with_a_real_ceiling_on_both_routes(
        all_resources, default_targets, store, model_server, s3_client, bucket):
    result = _week(all_resources, default_targets, s3_client, bucket)
    assert result.success
    # concordance: a file per target, each holding only the families replayed under it
    cheap = {m: pd.concat([store.read_parquet(concordance_key(store, d, m)) for d in WEEK]) for m in (HAIKU,
                                                                                                    THINK_TANK_TARGET)}
    assert set(cheap[THINK_TANK_TARGET]["agent_id_base"]) == set(THINK_TANK)
    assert not set(THINK_TANK) & set(cheap[HAIKU]["agent_id_base"]) and "mystery_agent" in set(cheap[HAIKU][
        "agent_id_base"])
    ceiling = pd.concat([store.read_parquet(ceiling_key(store, d)) for d in WEEK])
    assert not ceiling["outcome"].str.startswith("skipped_").any()  # every original routed and priced

    # each paid call went to the provider serving its model, counted on its loopback endpoint
    frames = [*cheap.values(), ceiling]
    paid = pd.concat(f[f["cache_hit"].eq(False).fillna(False)] for f in frames)
    on_router = paid["target_model"].str.contains("/")
    counts = model_server.counts()
    assert counts["chat_completions"] == on_router.sum() > 0 and counts["messages"] == (~on_router).sum() > 0
    assert set(paid.loc[on_router, "target_model"]) == {THINK_TANK_TARGET, "deepseek/deepseek-chat-v3.1",
                                                        "qwen/qwen3-235b-a22b-instruct"}

    verdicts = store.read_parquet(verdicts_key(store, DAY))
    think_tank = verdicts[verdicts["agent_id_base"].isin(THINK_TANK)].set_index("agent_id_base")
    assert (think_tank["target_model"] == THINK_TANK_TARGET).all() and len(think_tank) == 2  # never under Haiku
    assert (think_tank["target_cost_ratio"] < 1).all() and (think_tank["usd_saving_per_week"] > 0).all()
    thesis = think_tank.loc["thinktank_thesis"]  # decided by the evidence, not by missing pairs
    assert thesis["n_paired"] >= 10 and thesis["status"] in ("keep", "demote_candidate", "insufficient_evidence")
    assert "paired cheap/ceiling replays (<" not in thesis["reason"]
    assert "cheap" in thesis["reason"] or thesis["reason"].startswith("its rationales are one template")
    # 12 themes a week, 3 of this week's not replayable (truncated, invalid): the ceiling samples every
    # other one (10 a day > 4), and 9 pairs stay short of min_paired
    themes = cheap[THINK_TANK_TARGET].query("agent_id_base == 'thinktank_theme' and outcome == 'structured'")
    assert think_tank.loc["thinktank_theme", "n_paired"] == len(themes) == 9
    summary = store.read_json(summary_key(store, DAY, THINK_TANK_TARGET))
    assert {a["agent_id_base"] for a in summary["per_agent"]} == set(THINK_TANK)
    assert "thinktank_thesis" not in store.read_json(summary_key(store, DAY, HAIKU))["agents_not_replayed"]
    checks = {(e.asset_key.to_user_string(), e.check_name, e.partition): e.passed
              for e in result.get_asset_check_evaluations()}
    assert checks["agent_verdicts", "every_family_has_a_row", DAY.isoformat()]


def test_an_original_no_provider_serves_is_a_counted_ceiling_skip_the_verdict_names(
        all_resources, default_targets, store, s3_client, bucket):
    result = _week(all_resources, default_targets, s3_client, bucket, ceiling_model="gpt-4o")
    assert result.success
    ceiling = store.read_parquet(ceiling_key(store, DAY))
    assert set(ceiling.loc[ceiling["outcome"] == "skipped_unroutable_model", "target_model"]) == {"gpt-4o"}
    [mat] = [m for m in result.asset_materializations_for_node("noise_ceiling") if m.partition == DAY.isoformat()]
    assert mat.metadata["skipped_unroutable_model"].value == (ceiling["outcome"] == "skipped_unroutable_model").sum()
    week = pd.concat([store.read_parquet(ceiling_key(store, d)) for d in WEEK])
    skipped = week[week["outcome"] == "skipped_unroutable_model"]  # the window's, which the verdict counts
    assert len(skipped) >= 1
    verdicts = store.read_parquet(verdicts_key(store, DAY)).set_index("agent_id_base")
    assert (f"noise ceiling not measured for {len(skipped)} sampled artifacts of 'gpt-4o': no route for model "
            "'gpt-4o'") in verdicts.loc["mystery_agent", "reason"]
    assert "noise ceiling not measured" not in verdicts.loc["thinktank_thesis", "reason"]
