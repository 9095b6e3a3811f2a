"""`spend_ledger`: what alpha-replay itself paid the provider for a week of replays, and what the
same replays would have cost without its discounts.

Per window (the 7 capture days ending on the partition day, like the weekly tick), purpose
(`concordance` under each cheap target, `noise_ceiling` under the original models), model and
family: the calls paid and their tokens (uncached input, prompt-cache reads and writes, output);
what was paid interactively (`usd_standard`) and through Message Batches (`usd_batch`); how much
of it went to cached input (`usd_cached_input`: cache reads at 0.1x, writes at 1.25x); and the
counterfactual `usd_list`: the same calls at standard price with every input token paid in full.
`usd_saving` = list - paid. A request is paid once, however many rows carry it (an identical
artifact, a re-materialisation answered from the replay cache): rows count once per request.
Each is priced at the rate in force on the day it was replayed (the row's `priced_on`; rows
written before that column existed: their capture day). A request two concurrent runs both paid
(a stale claim taken over, `replay_claims`) is journalled apart and counted here on top:
`calls_paid_twice` and `usd_paid_twice`, included in `calls` and `usd_paid`, each journal named
in the metadata.
"""

import datetime as dt

import dagster as dg
import pandas as pd
from pydantic import Field

from alpha_replay_assets.concordance import concordance
from alpha_replay_assets.noise_ceiling import noise_ceiling
from alpha_replay_assets.partitions import DAILY, OWNERS, WEEKLY_DEADLINE, day_of, freshness_policy, trailing_days
from alpha_replay_assets.paths import ceiling_key, concordance_key, ledger_key, paid_twice_prefix, target_slug
from alpha_replay_assets.replay.rate_card import PRICES_HELP, Price, RateCard
from alpha_replay_assets.replay.rows import REPLAYED
from alpha_replay_assets.stubs import stub_result
from alpha_replay_assets.windows import MAX_WINDOW_DAYS, replay_windows, window_dependency
from resources.artifact_store import ArtifactStore
from resources.replay_model import ReplayModel
from resources.run_mode import RunMode

GROUP = ["purpose", "target_model", "agent_id_base"]
TOKENS = ["input_tokens", "cache_read_tokens", "cache_create_tokens", "output_tokens"]
USD = ["usd_standard", "usd_batch", "usd_cached_input", "usd_paid", "usd_list", "usd_saving"]
TWICE = ["calls_paid_twice", "usd_paid_twice"]
LEDGER_COLUMNS = ["window_start", "window_end", *GROUP, "calls", *TOKENS, *USD, *TWICE]


class LedgerConfig(dg.Config):
    window_days: int = Field(default=7, ge=1, le=MAX_WINDOW_DAYS, description="Capture days per ledger.")
    prices: dict[str, list[float]] = Field(default={}, description=PRICES_HELP)


def _costs(row, price: Price) -> dict:
    fresh, read, written, out = (int(getattr(row, c)) for c in TOKENS)
    batch = bool(row.batch)
    paid = price.usd(fresh, out, read, written, batch=batch)
    return {"usd_standard": 0.0 if batch else paid, "usd_batch": paid if batch else 0.0,
            "usd_cached_input": price.usd(0, 0, read, written, batch=batch), "usd_paid": paid,
            "usd_list": price.usd(fresh + read + written, out)}


def ledger_table(rows: pd.DataFrame, prices: dict) -> pd.DataFrame:
    """One row per (purpose, model, family) from replay rows carrying a `purpose` column."""
    replied = rows[rows["outcome"].isin(REPLAYED)]
    # paid once per request: the first row of each (model, digest); rows without a digest all count
    replied = replied[~replied.duplicated(["target_model", "request_digest"]) | replied["request_digest"].isna()]
    replied = replied.assign(**{c: replied[c].fillna(0) for c in TOKENS}, batch=replied["batch"].fillna(False),
                             priced_on=replied.reindex(columns=["priced_on"])["priced_on"].fillna(replied["day"]))
    card = RateCard(prices)
    costs = pd.DataFrame([_costs(r, card.price(r.target_model, dt.date.fromisoformat(r.priced_on)))
                          for r in replied.itertuples()], index=replied.index, columns=USD[:-1], dtype=float)
    table = (replied[GROUP + TOKENS].join(costs).assign(calls=1)
             .groupby(GROUP, as_index=False).sum(numeric_only=True))
    return table.assign(usd_saving=table["usd_list"] - table["usd_paid"])


def second_payments(store: ArtifactStore, days: list[dt.date]) -> tuple[pd.DataFrame, list[str]]:
    """The window's journalled second payments, one row each (purpose, model, family, cost), and their keys."""
    keys = [o["Key"] for day in days for o in store.list_prefix(paid_twice_prefix(store, day))]
    rows = [store.read_json(key) for key in keys]
    frame = pd.DataFrame(rows, columns=[*GROUP, "cost_usd"]).assign(calls_paid_twice=1)
    return frame.rename(columns={"cost_usd": "usd_paid_twice"}), [store.uri(key) for key in keys]


def with_second_payments(table: pd.DataFrame, twice: pd.DataFrame) -> pd.DataFrame:
    """`table` with each second payment counted on its (purpose, model, family) row: a call more, paid."""
    extra = twice.groupby(GROUP, as_index=False)[TWICE].sum()
    table = table.merge(extra, on=GROUP, how="outer")
    table[TWICE] = table[TWICE].fillna(0)
    table = table.fillna({c: 0 for c in ["calls", *TOKENS, *USD]})
    return table.assign(calls=table["calls"] + table["calls_paid_twice"],
                        usd_paid=table["usd_paid"] + table["usd_paid_twice"],
                        usd_standard=table["usd_standard"] + table["usd_paid_twice"],
                        usd_saving=table["usd_saving"] - table["usd_paid_twice"])


def _metadata(table: pd.DataFrame, start: str, end: str) -> dict:
    """One window's ledger: the table, totals, and per purpose, family and model what was paid and
    saved as numeric series the UI plots over partitions."""
    metadata = {
        "dagster/row_count": len(table),
        "window_start": start,
        "window_end": end,
        "ledger": dg.MetadataValue.md(table.drop(columns=["window_start", "window_end"]).round(4)
                                      .to_markdown(index=False)),
        **{f"total/{c}": round(float(table[c].sum()), 6) for c in [*USD, *TWICE]},
    }
    for row in table.itertuples():
        where = f"{row.purpose}/{row.agent_id_base}/{target_slug(row.target_model)}"
        metadata[f"usd_paid/{where}"] = round(float(row.usd_paid), 6)
        metadata[f"usd_saving/{where}"] = round(float(row.usd_saving), 6)
    return metadata


@dg.asset(
    partitions_def=DAILY,
    freshness_policy=freshness_policy(WEEKLY_DEADLINE),
    deps=[window_dependency(concordance), window_dependency(noise_ceiling)],
    group_name="verdicts",
    owners=OWNERS,
    kinds={"s3", "parquet"},
    backfill_policy=dg.BackfillPolicy.single_run(),
    description="Window ending on the partition day (7 days): per purpose, model and family, what the "
                "replays paid (standard, batch, cached input) and what they would have cost at standard "
                "price without the prompt cache; the saving.",
)
def spend_ledger(context: dg.AssetExecutionContext, config: LedgerConfig, store: ArtifactStore,
                 replay_model: ReplayModel, run_mode: RunMode) -> dg.MaterializeResult:
    if run_mode.dry:
        return stub_result(context)
    ends = [day_of(k) for k in context.partition_keys]
    purposes = [*(("concordance", lambda d, m=m: concordance_key(store, d, m)) for m in replay_model.all_targets),
                ("noise_ceiling", lambda d: ceiling_key(store, d))]
    windows = [replay_windows(store, ends, config.window_days, key_for) for _, key_for in purposes]
    for key, *per_purpose in zip(context.partition_keys, *windows):
        end = day_of(key)
        rows = pd.concat([w.data.assign(purpose=p) for (p, _), w in zip(purposes, per_purpose)], ignore_index=True)
        start = trailing_days(end, config.window_days)[0].isoformat()
        twice, journals = second_payments(store, trailing_days(end, config.window_days))
        table = with_second_payments(ledger_table(rows, config.prices), twice).assign(
            window_start=start, window_end=key).reindex(columns=LEDGER_COLUMNS)
        store.write_parquet(ledger_key(store, end), table)
        context.add_asset_metadata(_metadata(table, start, key) | {"paid_twice": dg.MetadataValue.json(journals)},
                                   partition_key=key)
    return dg.MaterializeResult()
