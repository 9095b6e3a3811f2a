"""The weekly spend ledger: what the replays paid (standard, batch, cached input) per purpose, model
and family, what they would have cost at standard price without the prompt cache, and the saving;
each request counted once."""

import datetime as dt

import dagster as dg
import pytest

from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.index import artifact_index
from alpha_replay_assets.noise_ceiling import noise_ceiling
from alpha_replay_assets.paths import ceiling_key, concordance_key, ledger_key
from alpha_replay_assets.replay.rows import replay_frame
from alpha_replay_assets.spend_ledger import LEDGER_COLUMNS, ledger_table, spend_ledger
from helpers import DAY

HAIKU = "claude-haiku-4-5"


def _row(family, digest, outcome="structured", fresh=100, read=0, written=0, out=50, batch=False, model=HAIKU):
    return {"key": f"k-{digest}", "agent_id": family, "agent_id_base": family, "target_model": model,
            "outcome": outcome, "input_tokens": fresh, "cache_read_tokens": read, "cache_create_tokens": written,
            "output_tokens": out, "batch": batch, "request_digest": digest, "sample": 0}


def test_ledger_prices_each_request_once_and_splits_standard_batch_and_cached_input():
    rows = replay_frame([
        _row("ic_cio", "a", written=4000),  # the prefix's first call writes the cache
        _row("ic_cio", "b", read=4000),  # the others read it
        _row("ic_cio", "b", read=4000),  # the same request again (a duplicate artifact): paid once
        _row("ic_cio", "c", read=4000, batch=True),
        _row("ic_cio", "d", outcome="transport_error", fresh=None, out=None),  # nothing came back: unpaid
        _row("sector_quant", "e", outcome="schema_error"),  # a reply that failed validation was paid
    ], DAY).assign(purpose="concordance")
    table = ledger_table(rows, {}).set_index("agent_id_base")
    ic = table.loc["ic_cio"]
    assert ic["calls"] == 3 and ic["cache_read_tokens"] == 8000 and ic["cache_create_tokens"] == 4000
    standard = (100 + 4000 * 1.25 + 250) + (100 + 400 + 250)  # USD per MTok at $1 in / $5 out
    batch = (100 + 400 + 250) * 0.5
    assert ic["usd_standard"] == pytest.approx(standard / 1e6) and ic["usd_batch"] == pytest.approx(batch / 1e6)
    assert ic["usd_cached_input"] == pytest.approx((5000 + 400 + 200) / 1e6)
    assert ic["usd_paid"] == pytest.approx((standard + batch) / 1e6)
    assert ic["usd_list"] == pytest.approx(3 * (4100 + 250) / 1e6)
    assert ic["usd_saving"] == pytest.approx(ic["usd_list"] - ic["usd_paid"]) and ic["usd_saving"] > 0
    quant = table.loc["sector_quant"]
    assert quant["calls"] == 1 and quant["usd_saving"] == 0.0 and quant["usd_paid"] == pytest.approx(350 / 1e6)
    assert ledger_table(replay_frame([], DAY).assign(purpose="concordance"), {}).empty


def test_each_replay_is_priced_at_the_rate_in_force_on_the_day_it_was_made():
    prices = {f"{HAIKU}@2026-07-01": [2.0, 10.0]}  # the price doubles on July 1st
    rows = replay_frame([
        _row("ic_cio", "a") | {"priced_on": "2026-06-30"},
        _row("ic_cio", "b") | {"priced_on": "2026-07-01"},
        _row("sector_quant", "c"),  # written before rows said when they were priced: the capture day
    ], dt.date(2026, 7, 1)).assign(purpose="concordance")
    table = ledger_table(rows, prices).set_index("agent_id_base")
    assert table.loc["ic_cio", "usd_paid"] == pytest.approx((100 * 1 + 50 * 5 + 100 * 2 + 50 * 10) / 1e6)
    assert table.loc["sector_quant", "usd_paid"] == pytest.approx((100 * 2 + 50 * 10) / 1e6)
    old_form = ledger_table(rows, {HAIKU: [2.0, 10.0]}).set_index("agent_id_base")  # {model: [in, out]} still works
    assert old_form.loc["ic_cio", "usd_paid"] == pytest.approx(2 * (100 * 2 + 50 * 10) / 1e6)


def test_spend_ledger_asset_over_a_replayed_day(replay_resources, store, model_server, seeded):
    tuesday = DAY - dt.timedelta(days=(DAY.weekday() - 1) % 7)  # a weekday with think-tank theses
    seeded([tuesday])
    with dg.instance_for_test() as instance:
        result = dg.materialize([artifact_index, concordance, noise_ceiling, spend_ledger], resources=replay_resources,
                                instance=instance, partition_key=tuesday.isoformat())
    ledger = store.read_parquet(ledger_key(store, tuesday))
    assert list(ledger.columns) == LEDGER_COLUMNS
    assert set(ledger["purpose"]) == {"concordance", "noise_ceiling"}
    assert ledger["window_start"].eq((tuesday - dt.timedelta(days=6)).isoformat()).all()
    # what was paid is what the replay rows cost, one row per request
    replays = [store.read_parquet(key) for key in (concordance_key(store, tuesday, HAIKU), ceiling_key(store, tuesday))]
    paid = sum(f[f["outcome"].isin(["structured", "schema_error"])].drop_duplicates("request_digest")["cost_usd"].sum()
               for f in replays)
    assert ledger["usd_paid"].sum() == pytest.approx(paid)
    assert ledger["calls"].sum() == model_server.counts()["messages"]  # interactive: every call, once
    # the one long system prompt (ic_cio's rendered charter) is asked once a day by concordance, not
    # cached; the ceiling's k samples of it share it: the first writes the cache, the rest read it
    cheap = ledger[ledger["purpose"] == "concordance"].set_index("agent_id_base")
    assert cheap.loc["ic_cio", "calls"] == 1 and cheap.loc["ic_cio", "usd_saving"] == 0
    assert cheap.loc["sector_quant", "usd_saving"] == 0  # a short prompt: no cache, no batch, no saving
    ceiling = ledger[ledger["purpose"] == "noise_ceiling"].set_index("agent_id_base")
    assert ceiling.loc["ic_cio", "cache_read_tokens"] > 0 and ceiling.loc["ic_cio", "usd_saving"] > 0
    assert (ledger["usd_batch"] == 0).all()  # a single day stays interactive
    metadata = result.asset_materializations_for_node("spend_ledger")[0].metadata
    assert metadata["total/usd_saving"].value == pytest.approx(ledger["usd_saving"].sum(), abs=1e-6)
    assert metadata[f"usd_saving/noise_ceiling/ic_cio/{ceiling.loc['ic_cio', 'target_model']}"].value > 0


def test_a_second_payment_is_counted_and_named_never_hidden(store):
    """Two runs that both paid one request (a stale claim taken over): the journalled second payment is
    a call more in the ledger, its dollars in `usd_paid`, and its journal named."""
    from alpha_replay_assets.replay.claims import Claims
    from alpha_replay_assets.spend_ledger import second_payments, with_second_payments
    from resources.replies import Reply

    table = ledger_table(replay_frame([_row("ic_cio", "a"), _row("ic_cio", "b")], DAY).assign(
        purpose="concordance"), {})
    reply = Reply("{}", HAIKU, 100, 50, 0, 0, False, 1.0, "msg_2")
    row = {"purpose": "concordance", "agent_id_base": "ic_cio", "request_digest": "a" * 64}
    key = Claims(store, HAIKU, "run-2", 60).journal_second_payment(DAY, row, reply, 0.25)
    twice, journals = second_payments(store, [DAY - dt.timedelta(days=1), DAY])
    assert journals == [store.uri(key)]
    counted = with_second_payments(table, twice)
    [ic_cio] = counted.itertuples()
    assert ic_cio.calls == 3 and ic_cio.calls_paid_twice == 1
    assert ic_cio.usd_paid == pytest.approx(table["usd_paid"].iloc[0] + 0.25)
    assert ic_cio.usd_paid_twice == 0.25
