"""A family's trouble is its own (issue 17): replies that do not fit a family's schema.

A provider failure (transport error, request error, bad response) says nothing about any family
and blocks the day (`replay_failure_rate`). A reply that came back but does not fit its family's
schema (`schema_error`: a new family, a producer that changed its format) is that family's
trouble: measured per family as the share of its replies that did not fit, and above the
family's bound its summary and verdict rows say `replies_unusable` while every other family's
summary, verdict and spend go on (the WARN check `replies_fit_family_schema` names it).
"""

from dataclasses import dataclass

import dagster as dg
import pandas as pd
from pydantic import Field

from alpha_replay_assets.replay.rows import REPLAYED, SCHEMA_ERROR

REPLIES_UNUSABLE = "replies_unusable"
UNUSABLE = (SCHEMA_ERROR,)  # a reply came back (and was paid for) but the scorer cannot use it


@dataclass(frozen=True)
class ReplyFit:
    """How many of a family's replies came back and how many of them did not fit."""

    replies: int
    unusable: int

    @property
    def rate(self) -> float:
        return self.unusable / self.replies if self.replies else 0.0

    def phrase(self) -> str:
        return f"{self.unusable} of {self.replies} replies did not fit the family's schema ({self.rate:.0%})"


def reply_fit(outcomes: pd.Series) -> ReplyFit:
    """The fit of one group's replay outcomes; provider failures and skips are not replies."""
    return ReplyFit(int(outcomes.isin(REPLAYED).sum()), int(outcomes.isin(UNUSABLE).sum()))


class UnusableRepliesConfig(dg.Config):
    """The per-family bound: shared by the check on each day and the window assets' statuses."""

    max_unusable_rate: float = Field(default=0.2, ge=0, le=1, description="Above this share of a family's "
                                     "replies that do not fit its schema, its rows say `replies_unusable` "
                                     "(WARN; no other family is affected).")
    max_unusable_rate_by_family: dict[str, float] = Field(default={}, description="agent_id_base -> its own "
                                                          "bound, overriding `max_unusable_rate`.")

    def bound(self, family: str) -> float:
        return self.max_unusable_rate_by_family.get(family, self.max_unusable_rate)

    def unusable(self, family: str, fit: ReplyFit) -> bool:
        return fit.replies > 0 and fit.rate > self.bound(family)


def unusable_families(frame: pd.DataFrame, config: UnusableRepliesConfig) -> dict[str, tuple[ReplyFit, str]]:
    """family -> (its fit, the first unusable reply's error in key order), for the families of
    one target's replays above their bound."""
    found = {}
    for family, group in frame.sort_values("key").groupby("agent_id_base"):
        fit = reply_fit(group["outcome"])
        if config.unusable(family, fit):
            found[family] = (fit, str(group.loc[group["outcome"].isin(UNUSABLE), "error"].iloc[0]))
    return found
