"""What replaying a stretch of the corpus will cost, estimated from the index before any call.

Each eligible artifact is replayed once under each of its family's cheap targets, and the noise-ceiling sample k times
under its original model, each at `rate_card.expected_tokens` and the rate in force today (replays
happen now). A reply already in the replay cache costs nothing and is counted apart (`cached`).
A model with no card is a row of its own (nothing estimated), named in one line.
"""

from collections.abc import Callable

import pandas as pd

from alpha_replay_assets.replay.planning import eligible_rows, sample_rows
from alpha_replay_assets.replay.rate_card import RateCard, expected_tokens, route_of, today
from alpha_replay_assets.targets import TargetsFor, rows_for_target

ESTIMATE_COLUMNS = ["key", "agent_id", "agent_id_base", "status", "is_llm", "is_placeholder", "is_truncated",
                    "model_name", "system_prompt", "user_prompt", "input_tokens", "output_tokens"]
ESTIMATE_TABLE = ["model", "route", "purpose", "replays", "cached", "input_tokens", "output_tokens", "usd",
                  "usd_batch", "rate"]
# (model, the calls' index rows, their sample numbers) -> which of them the replay cache already answers
CacheProbe = Callable[[str, pd.DataFrame, list[int]], list[bool]]


def _tokens(rows: pd.DataFrame) -> tuple[int, int]:
    pairs = [expected_tokens(r["system_prompt"], r["user_prompt"], r["input_tokens"], r["output_tokens"])
             for r in rows.to_dict("records")]
    return sum(p[0] for p in pairs), sum(p[1] for p in pairs)


def estimate_spend(index: pd.DataFrame, targets: list[str], samples_per_family: int, replays_per_artifact: int,
                   prices: dict | None = None, targets_for: TargetsFor | None = None,
                   cached: CacheProbe | None = None) -> pd.DataFrame:
    """One row per model to be called: replays still to pay for, replies the cache already holds
    (`cached`, when a probe is given), tokens and USD of the former at standard and batch price, and
    the card entry that priced them (`rate`; None: no card, nothing estimated). Each eligible artifact
    is replayed under its family's targets (`targets_for`; default: every one of `targets`).
    `index` holds ESTIMATE_COLUMNS of one or more days (a `day` column for the ceiling sample)."""
    eligible = eligible_rows(index)
    calls = [(target, "concordance", rows_for_target(eligible, target, targets_for) if targets_for else eligible)
             for target in targets]
    days = eligible.groupby("day") if "day" in eligible else [(None, eligible)]
    ceiling = pd.concat([sample_rows(frame, samples_per_family) for _, frame in days]) if len(eligible) else eligible
    calls += [(model, "noise_ceiling", group.loc[group.index.repeat(replays_per_artifact)])
              for model, group in ceiling.groupby("model_name")]
    card, rows = RateCard(prices), []
    for model, purpose, group in calls:
        samples = group.groupby(level=0).cumcount().tolist()  # the ceiling asks each question k times
        hits = cached(model, group, samples) if cached is not None and len(group) else [False] * len(group)
        group = group[[not hit for hit in hits]]
        tokens_in, tokens_out = _tokens(group)
        row = {"model": model, "route": route_of(model), "purpose": purpose, "replays": len(group),
               "cached": sum(hits), "input_tokens": tokens_in, "output_tokens": tokens_out}
        if not card.priced(model):  # the ceiling skips these (counted): nothing to estimate, say so
            rows.append(row | {"purpose": f"{purpose} (no price: skipped)", "usd": 0.0, "usd_batch": 0.0})
            continue
        rate = card.rate(model, today())
        usd = rate.price.usd(tokens_in, tokens_out)
        rows.append(row | {"usd": usd, "usd_batch": usd * rate.price.BATCH,
                           "rate": f"{rate.model} from {rate.effective_from}: {rate.price}"})
    return pd.DataFrame(rows, columns=ESTIMATE_TABLE)


def unpriced_lines(table: pd.DataFrame, prices: dict | None = None) -> list[str]:
    """One line per model of the estimate with no card: its replays and the nearest priced ids."""
    card, skipped = RateCard(prices), table[table["rate"].isna()]
    return [f"{model}: {n} replays not estimated; {card.unpriced_message(model)}"
            for model, n in skipped.groupby("model")["replays"].sum().items()]
