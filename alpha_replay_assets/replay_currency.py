"""Are a day's replays current with its index?

The think tank files weekend runs under the previous Friday after the Saturday tick replayed it;
the sensor re-indexes Friday, and the index gains rows its replay files have no row for. An artifact
can also be rewritten in place (another prompt and decision under the same key) or deleted after
its replay. Nothing may then say "all replayed": per target, the day's index is compared with its
replay file by key *and* content (the artifact's etag the replay row recorded against the index's;
rows written before replay rows recorded it compare by key only), and the `replay_complete` check,
the window summary and the sensor (which asks for the day's replays again) all read this one
comparison (`Currency`).
"""

import datetime as dt
from dataclasses import dataclass

import pandas as pd

from alpha_replay_assets.index import read_day_index
from alpha_replay_assets.paths import concordance_key
from alpha_replay_assets.replay.planning import eligible_rows
from alpha_replay_assets.targets import TargetsFor, rows_for_target
from resources.artifact_store import ArtifactStore

# What the comparison reads of an index: the keys, their content, and what decides eligibility.
INDEX_COLUMNS = ["key", "etag", "agent_id_base", "status", "is_llm", "is_placeholder", "is_truncated"]
NOT_REPLAYED = "not_replayed_yet"  # the outcome of an indexed artifact without a current replay row


@dataclass(frozen=True)
class Currency:
    """One target's replays of one day against the day's current index."""

    model: str
    late: pd.DataFrame  # eligible index rows without a current replay: never replayed, or rewritten since
    rewritten: frozenset[str]  # replayed keys whose artifact changed since (its old rows are outdated)
    gone: frozenset[str]  # replayed keys that left the index (deleted after the replay)

    @property
    def outdated(self) -> frozenset[str]:
        """Keys whose replay rows describe no artifact of the current index."""
        return self.rewritten | self.gone


def _known(etag) -> bool:
    return isinstance(etag, str) and etag not in ("", "nan", "None")


def compare(index: pd.DataFrame, replayed: pd.DataFrame, model: str, targets_for: TargetsFor) -> Currency:
    """`replayed` (a replay file's `key`, `etag`) against the day's `index` for the families replayed under `model`."""
    recorded = dict(zip(replayed["key"], replayed.reindex(columns=["etag"])["etag"]))
    indexed = dict(zip(index["key"], index["etag"]))
    rewritten = frozenset(k for k, etag in recorded.items()
                          if k in indexed and _known(etag) and _known(indexed[k]) and etag != indexed[k])
    expected = eligible_rows(rows_for_target(index, model, targets_for))
    stale = expected["key"].map(lambda k: k not in recorded or k in rewritten).astype(bool)
    late = expected[stale].sort_values("key")  # a boolean Series: an empty list would select no columns
    return Currency(model, late, rewritten, frozenset(recorded) - set(indexed))


def currency_on(store: ArtifactStore, day: dt.date, targets: list[str], targets_for: TargetsFor) -> dict[str, Currency]:
    """Target -> its `Currency` on `day` (a target never replayed on that day, or a day without an
    index, is someone else's report: left out)."""
    index = read_day_index(store, day, columns=INDEX_COLUMNS)
    if index is None:
        return {}
    found = {}
    for model in targets:
        frame = store.read_parquet(concordance_key(store, day, model), columns=["key", "etag"])
        if frame is not None:
            found[model] = compare(index, frame, model, targets_for)
    return found


def unreplayed_on(store: ArtifactStore, day: dt.date, targets: list[str],
                  targets_for: TargetsFor) -> dict[str, pd.DataFrame]:
    """Target -> index rows of `day` to replay (indexed or rewritten after its replays ran)."""
    return {m: c.late for m, c in currency_on(store, day, targets, targets_for).items() if len(c.late)}


def current_rows(frame: pd.DataFrame, currency: Currency | None) -> pd.DataFrame:
    """A replay file's rows as the current index sees them: the rows of rewritten or deleted
    artifacts dropped, a `not_replayed_yet` row per late artifact added. Counted by `day_summary`,
    it never reports more replayed than the index holds."""
    if currency is None or (not len(currency.late) and not currency.outdated):
        return frame
    pending = pd.DataFrame({"key": currency.late["key"], "agent_id_base": currency.late["agent_id_base"],
                            "target_model": currency.model, "outcome": NOT_REPLAYED,
                            "error": ["rewritten after the day's replays ran" if k in currency.rewritten
                                      else "indexed after the day's replays ran" for k in currency.late["key"]]})
    kept = frame[~frame["key"].isin(currency.outdated)]
    return pd.concat([kept, pending.reindex(columns=frame.columns)], ignore_index=True) if len(pending) else kept
