"""What replaying a stretch of the corpus will cost, estimated from the index before any call.

Each eligible artifact is replayed once per cheap target, and the noise-ceiling sample k times
under its original model, each at `costs.expected_tokens`.
"""

import pandas as pd

from alpha_replay_assets.concordance import eligible_rows
from alpha_replay_assets.costs import expected_tokens, price_for, priced
from alpha_replay_assets.noise_ceiling import sample_rows

ESTIMATE_COLUMNS = ["key", "agent_id", "agent_id_base", "status", "is_llm", "is_placeholder", "is_truncated",
                    "model_name", "system_prompt", "user_prompt", "input_tokens", "output_tokens"]


def _tokens(rows: pd.DataFrame) -> tuple[int, int]:
    pairs = [expected_tokens(r["system_prompt"], r["user_prompt"], r["input_tokens"], r["output_tokens"])
             for r in rows.to_dict("records")]
    return sum(p[0] for p in pairs), sum(p[1] for p in pairs)


def estimate_spend(index: pd.DataFrame, targets: list[str], samples_per_family: int, replays_per_artifact: int,
                   prices: dict | None = None) -> pd.DataFrame:
    """One row per model to be called: replays, tokens and USD at standard and batch price.
    `index` holds ESTIMATE_COLUMNS of one or more days (a `day` column for the ceiling sample)."""
    eligible = eligible_rows(index)
    calls = [(target, "concordance", eligible) for target in targets]
    days = eligible.groupby("day") if "day" in eligible else [(None, eligible)]
    ceiling = pd.concat([sample_rows(frame, samples_per_family) for _, frame in days]) if len(eligible) else eligible
    calls += [(model, "noise_ceiling", group.loc[group.index.repeat(replays_per_artifact)])
              for model, group in ceiling.groupby("model_name")]
    rows = []
    for model, purpose, group in calls:
        tokens_in, tokens_out = _tokens(group)
        if not priced(model, prices):  # the ceiling skips these (counted): nothing to estimate, say so
            rows.append({"model": model, "purpose": f"{purpose} (no price: skipped)", "replays": 0,
                         "input_tokens": 0, "output_tokens": 0, "usd": 0.0, "usd_batch": 0.0})
            continue
        price = price_for(model, prices)
        usd = price.usd(tokens_in, tokens_out)
        rows.append({"model": model, "purpose": purpose, "replays": len(group), "input_tokens": tokens_in,
                     "output_tokens": tokens_out, "usd": usd, "usd_batch": usd * price.BATCH})
    return pd.DataFrame(rows, columns=["model", "purpose", "replays", "input_tokens", "output_tokens", "usd",
                                       "usd_batch"])
