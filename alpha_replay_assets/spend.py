"""What replaying a stretch of the corpus will cost, estimated from the index before any call.

Each eligible artifact is replayed once per cheap target, and the noise-ceiling sample k times
under its original model. The artifact's own recorded token counts are the best guess of what
the same prompt costs again (its prompt is re-sent verbatim; its original output is the size
of the answer); without them, prompt characters / 4.
"""

import pandas as pd

from alpha_replay_assets.concordance import skip_reason
from alpha_replay_assets.costs import price_for
from alpha_replay_assets.noise_ceiling import sample_rows

ESTIMATE_COLUMNS = ["key", "agent_id", "agent_id_base", "status", "is_llm", "is_placeholder", "is_truncated",
                    "model_name", "system_prompt", "user_prompt", "input_tokens", "output_tokens"]


def _tokens(rows: pd.DataFrame) -> tuple[int, int]:
    chars = (rows["system_prompt"].fillna("").str.len() + rows["user_prompt"].fillna("").str.len()) // 4
    tokens_in = rows["input_tokens"].astype("float64").fillna(chars.astype("float64"))
    return int(tokens_in.sum()), int(rows["output_tokens"].astype("float64").fillna(0).sum())


def estimate_spend(index: pd.DataFrame, targets: list[str], samples_per_family: int, replays_per_artifact: int,
                   prices: dict | None = None) -> pd.DataFrame:
    """One row per model to be called: replays, tokens and USD at standard and batch price.
    `index` holds ESTIMATE_COLUMNS of one or more days (a `day` column for the ceiling sample)."""
    eligible = index[[skip_reason(r) is None for r in index.to_dict("records")]]
    calls = [(target, "concordance", eligible) for target in targets]
    days = eligible.groupby("day") if "day" in eligible else [(None, eligible)]
    ceiling = pd.concat([sample_rows(frame, samples_per_family) for _, frame in days]) if len(eligible) else eligible
    calls += [(model, "noise_ceiling", group.loc[group.index.repeat(replays_per_artifact)])
              for model, group in ceiling.groupby("model_name")]
    rows = []
    for model, purpose, group in calls:
        tokens_in, tokens_out = _tokens(group)
        price = price_for(model, prices)
        usd = price.usd(tokens_in, tokens_out)
        rows.append({"model": model, "purpose": purpose, "replays": len(group), "input_tokens": tokens_in,
                     "output_tokens": tokens_out, "usd": usd, "usd_batch": usd * price.BATCH})
    return pd.DataFrame(rows, columns=["model", "purpose", "replays", "input_tokens", "output_tokens", "usd",
                                       "usd_batch"])
