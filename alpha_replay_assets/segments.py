"""Versions are series boundaries (docs/domain.md §3c). Pure: no Dagster, no I/O.

A family's window is split into (prompt version, original model) segments: a verdict judges one
agent, not an average of two. Consecutive segments that both have enough evidence are compared on
the three signals, each with the uncertainty it has: cheap-model agreement (a bootstrap CI of the
difference: paired on the same inputs where they exist, else unpaired), the rule's held-out
accuracy and the rule itself, and rationale template concentration. A change is significant when
the agreement CI excludes 0, or the rule's accuracy or the concentration moves by at least its
stated threshold (neither has a CI the two segments share).
"""

import hashlib
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from alpha_replay_assets.replay.rate_card import card_id
from alpha_replay_assets.stats import paired_bootstrap_diff

MIN_SEGMENT_ARTIFACTS = 10  # LLM artifacts a segment needs to be judged or compared
MIN_PAIRS = 10  # same-input pairs needed for the paired comparison
RULE_SHIFT = 0.10  # held-out accuracy change that counts as a different agent
CONCENTRATION_SHIFT = 0.20  # template concentration change that counts
UNKNOWN_VERSION = "unknown"
MAX_VERSION_CHARS = 64  # longer versions are stored as a prefix and a hash of the whole
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def prompt_version(metadata: dict | None, prompt_context: dict | None, output: dict) -> str:
    """The producer's name for its prompt (docs/domain.md §3c): the template hash, the declared version
    (model_metadata, or the think tank's agent_output), whichever it gives first; free-form fields,
    so anything but a non-empty string is skipped."""
    for value in ((prompt_context or {}).get("prompt_version_hash"), (metadata or {}).get("prompt_version"),
                  output.get("prompt_version")):
        if isinstance(value, str) and value.strip():
            return _bounded(value.strip())
    return UNKNOWN_VERSION


def _bounded(version: str) -> str:
    """A long version as its first 48 characters and a hash of the whole: two versions that differ
    only late stay two versions (a plain cut would pool them)."""
    if len(version) <= MAX_VERSION_CHARS:
        return version
    return f"{version[:48]}#{hashlib.sha256(version.encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class Segment:
    """One (prompt version, original model) run of a family: its days and artifact keys."""
    prompt_version: str
    original_model: str
    start: str  # ISO day of its first artifact in the window
    end: str  # ISO day of its last
    keys: frozenset = field(repr=False)
    number: int = 0  # its place in the family's window, from 1

    @property
    def n(self) -> int:
        return len(self.keys)

    @property
    def tag(self) -> str:
        """A short id unique within the family's window (series keys, template agent ids): two segments
        may share a version prefix (a model-only change) or a version and model (a rollback)."""
        return "-".join([f"s{self.number}", _UNSAFE.sub("-", self.prompt_version[:12]),
                         _UNSAFE.sub("-", self.original_model)[:32]])

    def label(self) -> str:
        return f"#{self.number} {self.prompt_version[:12]} on {self.original_model} ({self.start}..{self.end})"


def split(rows: pd.DataFrame) -> list[Segment]:
    """A family's LLM artifacts (key, day, timestamp, prompt_version, model_name) as consecutive
    segments. Models are compared as the rate card prices them (a dated snapshot id is its model).
    Versions in use at the same time (their first-to-last capture times overlap) are one agent when
    they run side by side (the think tank's macro and sector theme templates: a day shares a version
    with the segment so far), named by all of them joined with `+`; a day running none of the segment's
    versions starts a new one (a rollback A, B, A is three segments), as does a version whose first
    artifact comes after the last of the one before."""
    if not len(rows):
        return []
    rows = rows.assign(prompt_version=rows["prompt_version"].fillna(UNKNOWN_VERSION),
                       model_name=rows["model_name"].fillna(UNKNOWN_VERSION).astype(str).map(card_id),
                       at=pd.to_datetime(rows["timestamp"], utc=True, format="ISO8601", errors="coerce"))
    rows["at"] = rows["at"].fillna(pd.to_datetime(rows["day"], utc=True))
    rows["part"] = list(zip(rows["prompt_version"], rows["model_name"]))
    spans = sorted((g["at"].min(), g["at"].max(), part) for part, g in rows.groupby("part", sort=False))
    groups: list[list] = []
    for first, last, part in spans:
        if groups and first <= groups[-1][0]:  # overlaps the group so far
            groups[-1][0] = max(groups[-1][0], last)
            groups[-1][1].add(part)
        else:
            groups.append([last, {part}])
    runs: list[list] = []  # [parts, days]
    for _, parts in groups:
        mine = rows[rows["part"].isin(parts)]
        fresh = True
        for _, g in mine.groupby("day"):
            present = set(g["part"])
            if fresh or not present & runs[-1][0]:
                runs.append([set(), []])
            runs[-1][0] |= present
            runs[-1][1].append(g)
            fresh = False
    segments = []
    for number, (parts, frames) in enumerate(runs, 1):
        frame = pd.concat(frames)
        segments.append(Segment("+".join(sorted({v for v, _ in parts})), "+".join(sorted({m for _, m in parts})),
                                frame["day"].min(), frame["day"].max(), frozenset(frame["key"]), number))
    return segments


def comparisons(segments: list[Segment], min_artifacts: int = MIN_SEGMENT_ARTIFACTS
                ) -> tuple[list[tuple[Segment, Segment, list[Segment]]], list[Segment]]:
    """Which segments are compared: each with enough evidence against the previous one with enough
    (with the thin ones between, named in the comparison: a thin segment must not hide a change),
    and the thin segments no comparison spans (before the first or after the last with enough)."""
    enough = [i for i, s in enumerate(segments) if s.n >= min_artifacts]
    pairs = [(segments[a], segments[b], segments[a + 1:b]) for a, b in zip(enough, enough[1:])]
    outside = [s for i, s in enumerate(segments) if s.n < min_artifacts and not (enough and enough[0] < i < enough[-1])]
    return pairs, outside


def judged(segments: list[Segment], min_artifacts: int = MIN_SEGMENT_ARTIFACTS) -> Segment | None:
    """The segment a verdict judges: the latest with enough evidence, else the latest (whose thin
    evidence the verdict then says)."""
    enough = [s for s in segments if s.n >= min_artifacts]
    return (enough or segments or [None])[-1]


def judged_reason(segments: list[Segment], chosen: Segment, statuses: list, min_artifacts: int = MIN_SEGMENT_ARTIFACTS
                  ) -> str:
    """What the verdict's reason adds: which segment it judged and why, the newer thin ones (the
    latest is not always the judged one) and the earlier ones, each with its status."""
    at = segments.index(chosen)
    newer = [f"newer thin {s.label()} (n={s.n}): {status}" for s, status in zip(segments[at + 1:], statuses[at + 1:])]
    earlier = [f"earlier {s.label()}: {status}" for s, status in zip(segments[:at], statuses[:at])]
    head = (f"judged on its latest version {chosen.label()}" if not newer else
            f"judged on its latest segment with enough evidence (>= {min_artifacts} artifacts) {chosen.label()}")
    return ", ".join([head, *newer, *earlier])


def bootstrap_diff(before, after, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap CI of mean(after) - mean(before), each sample resampled on its own."""
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    rng = np.random.default_rng(seed)
    diffs = (after[rng.integers(0, len(after), size=(n_boot, len(after)))].mean(axis=1)
             - before[rng.integers(0, len(before), size=(n_boot, len(before)))].mean(axis=1))
    alpha = (1 - level) / 2
    return float(np.quantile(diffs, alpha)), float(np.quantile(diffs, 1 - alpha))


def agreement_shift(before: pd.Series, after: pd.Series, min_pairs: int = MIN_PAIRS) -> dict | None:
    """Change in cheap-model agreement; scores indexed by input hash. Paired over the inputs both
    segments saw when there are `min_pairs` of them, else unpaired. None with < 2 scores a side."""
    before, after = before.groupby(level=0).mean(), after.groupby(level=0).mean()
    if len(before) < 2 or len(after) < 2:
        return None
    common = before.index.intersection(after.index)
    if len(common) >= min_pairs:
        stats = paired_bootstrap_diff(after[common], before[common])
        diff, ci, paired = stats["diff"], stats["diff_ci"], True
    else:
        diff, ci, paired = float(after.mean() - before.mean()), bootstrap_diff(before, after), False
    return {"before": float(before.mean()), "after": float(after.mean()), "diff": diff, "ci_low": ci[0],
            "ci_high": ci[1], "paired": paired, "n_before": len(before), "n_after": len(after),
            "significant": ci[0] > 0 or ci[1] < 0}


def rule_shift(before: dict | None, after: dict | None, threshold: float = RULE_SHIFT) -> dict | None:
    """Change in the rule's held-out accuracy (both fitted with a held-out score), and both rules."""
    if not before or not after or any(f.get("status") != "fitted" or f.get("heldout_accuracy") is None
                                      for f in (before, after)):
        return None
    diff = after["heldout_accuracy"] - before["heldout_accuracy"]
    return {"before": before["heldout_accuracy"], "after": after["heldout_accuracy"], "diff": diff,
            "rule_before": before.get("tree_text"), "rule_after": after.get("tree_text"),
            "same_features": sorted(before.get("split_features") or []) == sorted(after.get("split_features") or []),
            "threshold": threshold, "significant": abs(diff) >= threshold}


def concentration_shift(before: dict | None, after: dict | None, threshold: float = CONCENTRATION_SHIFT) -> dict | None:
    """Change in template concentration (both measured: `ok` or a stale older segment's numbers)."""
    values = [t.get("concentration") if t else None for t in (before, after)]
    if any(v is None or pd.isna(v) for v in values):
        return None
    diff = values[1] - values[0]
    return {"before": values[0], "after": values[1], "diff": diff, "threshold": threshold,
            "significant": abs(diff) >= threshold}


NOT_COMPARED = {"agreement": "cheap agreement needs 2 scored inputs a side",
                "rule": "the rule needs a fit with a held-out score on both sides",
                "templates": "template concentration needs a measure on both sides"}


def compare(family: str, before: Segment, after: Segment, agreement: dict | None, rule: dict | None,
            templates: dict | None, thin: list[Segment] = ()) -> dict:
    """The shift between two segments with enough evidence (and the thin ones between, named): each
    signal's change, whether any is significant, and one line naming the family, both versions,
    their dates and the numbers; `compared` is False, with why, when no signal is on both sides."""
    parts = []
    if agreement:
        a = agreement
        parts.append(f"cheap agreement {a['before']:.3f} -> {a['after']:.3f} (diff {a['diff']:+.3f}, 95% CI "
                     f"[{a['ci_low']:+.3f}, {a['ci_high']:+.3f}], {'paired' if a['paired'] else 'unpaired'}, "
                     f"n={a['n_before']}/{a['n_after']})")
    if rule:
        parts.append(f"rule held-out {rule['before']:.3f} -> {rule['after']:.3f} (diff {rule['diff']:+.3f}, "
                     f"threshold {rule['threshold']:g}{'' if rule['same_features'] else ', different split features'})")
    if templates:
        parts.append(f"template concentration {templates['before']:.3f} -> {templates['after']:.3f} "
                     f"(diff {templates['diff']:+.3f}, threshold {templates['threshold']:g})")
    signals = {"agreement": agreement, "rule": rule, "templates": templates}
    significant = [name for name, s in signals.items() if s and s["significant"]]
    between = f" (skipping thin {', '.join(f'{s.label()} n={s.n}' for s in thin)})" if thin else ""
    why = None if parts else "no shared signal: " + "; ".join(NOT_COMPARED.values())
    return {"family": family, "before": before.label(), "after": after.label(), **signals,
            "significant": significant, "compared": bool(parts), "why": why,
            "description": f"{family}: {before.label()} -> {after.label()}{between}: " + ("; ".join(parts) or why)}


def not_compared(family: str, segment: Segment, min_artifacts: int = MIN_SEGMENT_ARTIFACTS) -> dict:
    """A thin segment no comparison spans: named, with why it is not compared."""
    why = f"{segment.n} artifacts < {min_artifacts}"
    return {"family": family, "before": None, "after": segment.label(), "agreement": None, "rule": None,
            "templates": None, "significant": [], "compared": False, "why": why,
            "description": f"{family}: {segment.label()}: {why}"}
