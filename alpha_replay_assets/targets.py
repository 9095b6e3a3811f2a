"""Which cheap targets judge which family, and whether a target is cheaper at all (docs/domain.md §1.4).

A family is replayed under its own targets (`ReplayModel.targets_for`: the default list unless the
family has an entry of its own), so each target's files hold only the families that name it. A
target that costs as much as the family's original or more answers "does another model agree",
not "would a cheaper one do": the verdict says `no_cheaper_target` instead of judging a saving.
"""

import datetime as dt
from collections.abc import Callable

import pandas as pd

from alpha_replay_assets.replay.rate_card import RateCard

TargetsFor = Callable[[str], list[str]]
# The noise ceiling could not replay these originals: counted rows, named in the family's verdict.
CEILING_SKIPS = ("skipped_unroutable_model", "skipped_unpriced_model")
TOKEN_COLUMNS = ["input_tokens", "output_tokens", "cache_read_tokens", "cache_create_tokens"]


def rows_for_target(frame: pd.DataFrame, model: str, targets_for: TargetsFor) -> pd.DataFrame:
    """The rows of `frame` whose family (`agent_id_base`) is replayed under `model`."""
    return frame[pd.Series([model in targets_for(f) for f in frame["agent_id_base"]], index=frame.index, dtype=bool)]


def target_cost_ratio(calls: pd.DataFrame, target: str, card: RateCard, day: dt.date) -> tuple[float | None, str]:
    """What the family's LLM calls (their recorded tokens, each row one artifact) would cost under
    `target` over what they cost under their original models, both at the rates in force on `day`;
    and the originals, named. None when that cannot be said: no call, no tokens, or a model with no card."""
    tokens = calls.reindex(columns=["model_name", *TOKEN_COLUMNS]).dropna(subset=["model_name"])
    models = sorted(tokens["model_name"].unique())
    names = ", ".join(models)
    if not models or not card.priced(target) or not all(card.priced(m) for m in models):
        return None, names
    per_model = tokens.fillna({c: 0 for c in TOKEN_COLUMNS}).groupby("model_name")[TOKEN_COLUMNS].sum().astype(int)
    original = sum(card.price(m, day).usd(*row) for m, row in zip(per_model.index, per_model.itertuples(index=False)))
    under_target = card.price(target, day).usd(*(int(per_model[c].sum()) for c in TOKEN_COLUMNS))
    return (under_target / original if original > 0 else None), names


def ceiling_skip_note(ceiling: pd.DataFrame) -> str:
    """`; ...` naming each original model the noise ceiling could not replay for the family, with
    its count and why (no provider serves it, no price); empty when there is none."""
    skipped = ceiling.reindex(columns=["target_model", "outcome", "error"]).query("outcome in @CEILING_SKIPS")
    return "".join(f"; noise ceiling not measured for {len(rows)} sampled artifacts of {model!r}: "
                   f"{rows['error'].iloc[0]}" for model, rows in skipped.groupby("target_model", sort=True))
