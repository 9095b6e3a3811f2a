"""The rate card: model ids as the producers write them (dated snapshot ids, router slugs) are
priced per (model, route) at the rate in force on a date; overrides in the old and new form; an
artifact's own record of its cost (the provider's bill first, the think tank's both calls); an id
without a card named with the nearest priced ids, in the ceiling, the estimate and a WARN check."""

import datetime as dt
import json

import dagster as dg
import pandas as pd
import pytest
from test_artifacts import good, row

from alpha_replay_assets import artifacts
from alpha_replay_assets.checks.prices import unpriced_model_seen
from alpha_replay_assets.families import REGISTRY
from alpha_replay_assets.index import artifact_index
from alpha_replay_assets.noise_ceiling import noise_ceiling
from alpha_replay_assets.paths import ceiling_key
from alpha_replay_assets.replay.rate_card import (
    ANTHROPIC,
    ROUTER,
    Price,
    RateCard,
    UnpricedModel,
    artifact_costs,
    card_id,
    price_for,
    recorded_usd,
    route_of,
    today,
)
from alpha_replay_assets.replay.spend_plan import estimate_spend
from alpha_replay_assets.sample.model_state import ROUTER_USD_PER_MTOK
from alpha_replay_assets.verdict_rules import VerdictConfig, build_verdicts, dollars
from helpers import DAY
from jobs.maintenance import price_overrides, print_estimate

DEEPSEEK, QWEN = "deepseek/deepseek-chat-v3.1", "qwen/qwen3-235b-a22b-instruct"
HAIKU_SNAPSHOT = "claude-haiku-4-5-20251001"
BEFORE, AFTER = dt.date(2026, 6, 30), dt.date(2026, 7, 1)  # the built-in card's deepseek price change


def test_dated_snapshot_ids_resolve_to_their_models_card():
    card = RateCard()
    assert card_id(HAIKU_SNAPSHOT) == "claude-haiku-4-5" and card_id("claude-sonnet-4-6") == "claude-sonnet-4-6"
    assert card.price(HAIKU_SNAPSHOT, DAY) == card.price("claude-haiku-4-5", DAY) == Price(1.0, 5.0)
    assert card.price("claude-sonnet-4-6", DAY) == Price(3.0, 15.0)
    # the graph families' recorded costs are these prices: 833 in + 89 out at $1/$5
    assert card.price(HAIKU_SNAPSHOT, AFTER).usd(833, 89) == pytest.approx(0.001278)
    assert card_id("claude-haiku-4-5-2025") == "claude-haiku-4-5-2025"  # only a full -YYYYMMDD is a snapshot date
    assert not card.priced("claude-haiku-4-5-2025")


def test_router_slugs_are_priced_on_the_router_route():
    card = RateCard()
    assert route_of(DEEPSEEK) == route_of(QWEN) == ROUTER and route_of(HAIKU_SNAPSHOT) == ANTHROPIC
    assert card.rate(DEEPSEEK, AFTER).route == ROUTER
    # the think tank's tracker charged July-2026 theses and themes at these rates (recorded cost_usd)
    assert card.price(DEEPSEEK, AFTER).usd(3454, 833) == pytest.approx(0.003489, abs=1e-6)
    assert card.price(QWEN, AFTER).usd(1202, 264) == pytest.approx(0.001393, abs=1e-6)
    # cheaper router models are there as targets: cheaper than the originals on both token kinds
    for cheap in ("qwen/qwen3-30b-a3b-instruct-2507", "meta-llama/llama-3.1-8b-instruct", "openai/gpt-oss-20b"):
        price = card.price(cheap, AFTER)
        assert price.input < card.price(QWEN, AFTER).input and price.output < card.price(DEEPSEEK, AFTER).output


def test_the_rate_in_force_switches_on_effective_from():
    card = RateCard()
    assert card.rate(DEEPSEEK, BEFORE).price == Price(0.20, 0.80)
    assert card.rate(DEEPSEEK, AFTER).price == Price(0.60, 1.70)
    assert card.rate(DEEPSEEK, dt.date(2020, 1, 1)).price == Price(0.20, 0.80)  # before the card: its first entry
    assert price_for(DEEPSEEK, day=BEFORE) == Price(0.20, 0.80) and price_for(DEEPSEEK) == card.price(DEEPSEEK, today())


def test_overrides_in_the_old_form_replace_the_card_and_in_the_new_form_add_a_dated_entry():
    old = RateCard({DEEPSEEK: [0.3, 1.2], "claude-opus-5": [4, 20]})
    assert old.price(DEEPSEEK, BEFORE) == old.price(DEEPSEEK, AFTER) == Price(0.3, 1.2)  # at all times
    assert old.price("claude-opus-5-20261101", AFTER) == Price(4, 20)  # its snapshots too
    new = RateCard({"claude-haiku-4-5@2026-12-01": [0.5, 2.5], "claude-opus-5@2026-11-01": [4, 20]})
    assert new.price(HAIKU_SNAPSHOT, dt.date(2026, 11, 30)) == Price(1.0, 5.0)  # the built-in entry still holds
    assert new.price(HAIKU_SNAPSHOT, dt.date(2026, 12, 1)) == Price(0.5, 2.5)
    assert new.price("claude-opus-5", dt.date(2026, 11, 1)) == Price(4, 20)
    # both forms for one id: the undated price until the dated one
    both = RateCard({"claude-haiku-4-5": [0.9, 4.5], "claude-haiku-4-5@2026-12-01": [0.5, 2.5]})
    assert both.price(HAIKU_SNAPSHOT, dt.date(2026, 11, 30)) == Price(0.9, 4.5)
    assert both.price(HAIKU_SNAPSHOT, dt.date(2026, 12, 2)) == Price(0.5, 2.5)
    assert RateCard().price("claude-haiku-4-5", AFTER) == Price(1.0, 5.0)  # overrides never leak into the card
    for bad in ({"claude-haiku-4-5@2026-13-01": [1, 5]}, {"claude-haiku-4-5": [1]}, {"m": [-1, 5]},
                {"@2026-01-01": [1, 5]}):
        with pytest.raises(ValueError, match="prices"):
            RateCard(bad)


def test_an_unknown_id_is_named_with_the_nearest_priced_ids():
    with pytest.raises(UnpricedModel) as caught:
        price_for("claude-opus-5-20261101")
    message = str(caught.value)
    assert message.startswith("no price for 'claude-opus-5-20261101' (anthropic route, card 'claude-opus-5')")
    assert "nearest priced ids: claude-opus-4-5, claude-opus-4-1" in message and "\n" not in message
    qwen = RateCard().unpriced_message("qwen/qwen3-235b-a22b-2507")
    assert "(router route" in qwen and "nearest priced ids: qwen/qwen3-235b-a22b-instruct" in qwen


def test_the_providers_bill_is_preferred_and_the_think_tanks_total_covers_both_calls():
    assert recorded_usd(0.0035) == 0.0035
    assert recorded_usd(0.0035, provider_reported_usd=0.0040) == 0.0040  # the billed truth
    assert recorded_usd(0.0035, total_usd=0.0061) == 0.0061  # thesis + pillar assessment
    # billed thesis call + the pillar call as recorded (total - thesis)
    assert recorded_usd(0.0035, provider_reported_usd=0.0040, total_usd=0.0061) == pytest.approx(0.0066)
    assert recorded_usd(None) is None and recorded_usd(float("nan"), None, float("nan")) is None


def test_an_artifact_without_a_recorded_cost_is_priced_at_its_capture_date():
    index = pd.DataFrame({
        "model_name": [DEEPSEEK, DEEPSEEK, DEEPSEEK, "claude-mystery", None],
        "timestamp": ["2026-06-30T23:30:00+00:00", "2026-06-30T22:00:00-04:00", "2026-07-10T12:00:00+00:00",
                      "2026-07-10T12:00:00+00:00", "2026-07-10T12:00:00+00:00"],
        "input_tokens": [1_000_000] * 5, "output_tokens": [1_000_000] * 5,
        "cost_usd": [None, None, 0.5, None, None],
    })
    costs = artifact_costs(index, RateCard(), AFTER)
    assert costs[0] == pytest.approx(0.20 + 0.80)  # captured before the price change
    assert costs[1] == pytest.approx(0.60 + 1.70)  # 22:00 at -04:00 is July 1st, UTC
    assert costs[2] == 0.5  # recorded: the record wins over the card
    assert pd.isna(costs[3]) and costs[4] == 0.0  # no record, no card: unknown; deterministic: free
    nullable = pd.DataFrame({"model_name": ["claude-haiku-4-5"], "input_tokens": pd.array([None], dtype="Int64"),
                             "output_tokens": pd.array([1_000_000], dtype="Int64")})
    assert artifact_costs(nullable, RateCard(), AFTER).tolist() == [5.0]  # the index's nullable counts


def _thesis(cost=0.0035, total=0.0061, billed=None):
    """A think-tank thesis artifact (the corpus's, as test_artifacts builds it) with its costs set."""
    doc = good("thinktank_thesis")
    doc["model_metadata"] |= {"model_name": DEEPSEEK, "cost_usd": cost, "provider_reported_cost_usd": billed}
    doc["agent_output"]["cost_usd"] = total
    return row(doc, doc["agent_id"])


def test_the_index_records_the_providers_bill_and_the_think_tanks_total():
    assert REGISTRY["thinktank_thesis"].total_cost_field == "cost_usd"
    row = _thesis(billed=0.0041)
    assert row["status"] == "ok" and row["family_registered"], row.get("error")
    assert row["provider_reported_cost_usd"] == 0.0041 and row["total_cost_usd"] == 0.0061
    assert _thesis(total=0.001)["total_cost_usd"] is None  # smaller than the thesis call: not a total
    assert _thesis(total="n/a")["total_cost_usd"] is None  # agent_output is free-form
    assert _thesis(billed=-1.0)["status"] == "wrong_type"  # model_metadata's dollars are checked
    frame = artifacts.to_frame([_thesis(billed=0.0041), _thesis()])
    assert frame["total_cost_usd"].tolist() == [0.0061, 0.0061]


def test_usd_per_week_now_is_the_think_tanks_full_cost_and_names_unpriced_ids():
    index = pd.DataFrame({"key": ["a", "b", "c"], "agent_id_base": "thinktank_thesis", "status": "ok",
                          "is_llm": True, "is_placeholder": False, "day": AFTER.isoformat(), "model_name": DEEPSEEK,
                          "timestamp": "2026-07-01T15:00:00+00:00", "input_tokens": 3454, "output_tokens": 833,
                          "cost_usd": [0.0035, 0.0035, 0.0035], "total_cost_usd": [0.0061, 0.0061, None],
                          "provider_reported_cost_usd": [None, 0.0040, None]})
    cheap = pd.DataFrame({"key": ["a"], "agent_id_base": "thinktank_thesis", "outcome": "structured",
                          "agreement_score": 0.9, "label_pairs": None, "input_tokens": 1000, "output_tokens": 100,
                          "cache_read_tokens": 0, "cache_create_tokens": 0, "day": AFTER.isoformat()})
    target = "qwen/qwen3-30b-a3b-instruct-2507"
    money = dollars(index, cheap, target, {}, AFTER)
    assert money["usd_per_week_now"] == pytest.approx(0.0061 + (0.0040 + 0.0026) + 0.0035)
    assert money["usd_per_week_cheap"] == pytest.approx(3 * (1000 * 0.08 + 100 * 0.33) / 1e6)
    # the cheap model at its rate in force on the window end
    later = dollars(index, cheap, target, {f"{target}@2026-07-01": [0.16, 0.66]}, AFTER)
    assert later["usd_per_week_cheap"] == pytest.approx(2 * money["usd_per_week_cheap"])
    unknown = index.assign(model_name="claude-mystery", cost_usd=None, total_cost_usd=None,
                           provider_reported_cost_usd=None)
    money = dollars(unknown, cheap, target, {}, AFTER)
    assert money["usd_per_week_now"] is None and money["usd_saving_per_week"] is None
    assert money["unpriced_now"] == {"claude-mystery": 3}
    table = build_verdicts(unknown, cheap, cheap.iloc[:0], None, AFTER, target, VerdictConfig(), {})
    reason = table.set_index("agent_id_base").loc["thinktank_thesis", "reason"]
    assert "usd_per_week_now unknown: no recorded cost and no price for 'claude-mystery' (3 artifacts)" in reason


def test_estimate_prices_snapshots_and_slugs_and_names_an_unpriced_id(capsys):
    models = [HAIKU_SNAPSHOT, DEEPSEEK, "claude-opus-5"]
    index = pd.DataFrame({"key": [f"k{i}" for i in range(3)], "agent_id": ["a", "b", "c"],
                          "agent_id_base": ["a", "b", "c"], "status": "ok", "is_llm": True, "is_placeholder": False,
                          "is_truncated": False, "model_name": models, "system_prompt": "s", "user_prompt": "u",
                          "input_tokens": 1_000_000, "output_tokens": 1_000_000})
    table = estimate_spend(index, ["claude-haiku-4-5"], samples_per_family=10, replays_per_artifact=2)
    ceiling = table[table["purpose"].str.startswith("noise_ceiling")].set_index("model")
    assert ceiling.loc[HAIKU_SNAPSHOT, "usd"] == pytest.approx(2 * 6.0)
    assert ceiling.loc[DEEPSEEK, "route"] == ROUTER and ceiling.loc[DEEPSEEK, "usd"] == pytest.approx(2 * 2.30)
    assert ceiling.loc[DEEPSEEK, "rate"].startswith(f"{DEEPSEEK} from 2026-07-01")
    assert ceiling.loc["claude-opus-5", "purpose"] == "noise_ceiling (no price: skipped)"
    print_estimate(table, [])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("unpriced:")]
    assert len(lines) == 1 and lines[0].startswith("unpriced: claude-opus-5: 2 replays not estimated; no price for")
    assert "nearest priced ids: claude-opus-4-5" in lines[0]
    priced = estimate_spend(index, ["claude-haiku-4-5"], 10, 2, price_overrides('{"claude-opus-5": [5, 25]}'))
    assert priced.set_index(["model", "purpose"]).loc[("claude-opus-5", "noise_ceiling"), "usd"] == pytest.approx(60)
    with pytest.raises(Exception, match="not a prices object"):
        price_overrides('{"claude-opus-5": "cheap"}')


def _copy_as(s3_client, bucket, model: str, run_id: str) -> str:
    prefix = f"decision_artifacts/{DAY:%Y/%m/%d}/mystery_agent/"
    source = s3_client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"][0]["Key"]
    doc = json.loads(s3_client.get_object(Bucket=bucket, Key=source)["Body"].read())
    doc["run_id"] = run_id
    doc["model_metadata"]["model_name"] = model
    s3_client.put_object(Bucket=bucket, Key=f"{prefix}{run_id}.json", Body=json.dumps(doc).encode())
    return f"{prefix}{run_id}.json"


def test_ceiling_replays_snapshots_and_slugs_and_names_the_unpriced_id(replay_resources, make_replay_model, store,
                                                                          s3_client, bucket, model_server, seeded):
    seeded()
    keys = {model: _copy_as(s3_client, bucket, model, f"as-{i}")
            for i, model in enumerate([HAIKU_SNAPSHOT, DEEPSEEK, "claude-opus-5"])}
    resources = replay_resources | {"replay_model": make_replay_model(  # the slug's route: the loopback router
        openai_compat_base_url=model_server.router_url, openai_compat_api_key="router-test-key")}
    with dg.instance_for_test() as instance:
        result = dg.materialize([artifact_index, noise_ceiling, unpriced_model_seen], resources=resources,
                                instance=instance, partition_key=DAY.isoformat(),
                                run_config={"ops": {"noise_ceiling": {"config": {"samples_per_family": 100}}}})
        priced = dg.materialize([artifact_index, unpriced_model_seen], resources=resources, instance=instance,
                                partition_key=DAY.isoformat(), run_config={"ops": {
                                    "artifact_index_unpriced_model_seen": {"config": {"prices": {
                                        "claude-opus-5@2026-01-01": [5, 25]}}}}})
    assert priced.get_asset_check_evaluations()[0].passed  # priced by the check's own `prices`
    frame = store.read_parquet(ceiling_key(store, DAY)).set_index("key")
    # priced ids are replayed k times on the run's day: the snapshot id at its model's card, the slug
    # at the router's bill (`usage.cost`, the billed truth; the card only admits it)
    for model, price in ((HAIKU_SNAPSHOT, RateCard().price(HAIKU_SNAPSHOT, today())),
                         (DEEPSEEK, Price(*ROUTER_USD_PER_MTOK))):
        mine = frame.loc[[keys[model]]]
        assert len(mine) == 2 and mine["outcome"].isin(["structured", "schema_error"]).all()
        expected = [price.usd(r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_create_tokens)
                    for r in mine.itertuples()]
        assert mine["cost_usd"].tolist() == pytest.approx(expected, abs=1e-9)
        assert (mine["priced_on"] == today().isoformat()).all()
    assert frame.loc[keys["claude-opus-5"], "outcome"] == "skipped_unpriced_model"
    [mat] = result.asset_materializations_for_node("noise_ceiling")
    named = mat.metadata["unpriced_models"].value
    assert list(named) == ["claude-opus-5"] and named["claude-opus-5"].startswith(
        "1 sampled artifacts not replayed: no price for 'claude-opus-5'")
    assert "nearest priced ids: claude-opus-4-5" in named["claude-opus-5"]
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "unpriced_model_seen" and not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.description.startswith("claude-opus-5: 1 artifacts; no price for 'claude-opus-5'")
    assert check.metadata["unpriced_artifacts"].value == {"claude-opus-5": 1}
