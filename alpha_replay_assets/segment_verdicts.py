"""Verdicts per version segment (docs/domain.md §3c): a family whose window holds more than one (prompt
version, original model) segment is judged on its latest segment with enough evidence, with the
same code as a whole-window verdict (`verdicts.build_verdicts`) on that segment's artifacts,
replays, rule fit and rationale templates; its older segments are listed with their own results,
and consecutive segments are compared (`segments.compare`) for the `version_shift` check.

A family with one segment keeps today's verdict (the window's fits and templates assets), and its
row names that segment.
"""

import datetime as dt
import json
from collections.abc import Callable

import dagster as dg
import pandas as pd

from alpha_replay_assets import segments as seg
from alpha_replay_assets.artifacts import OK
from alpha_replay_assets.counterfactual import decision_tables, fit_family
from alpha_replay_assets.families import REGISTRY
from alpha_replay_assets.paths import target_slug
from alpha_replay_assets.rationale_templates import TemplatesConfig, day_rows, judge
from alpha_replay_assets.stats import bootstrap_mean_ci

# `verdict_rules.build_verdicts` bound to a target, its config and prices: (index, cheap, ceiling,
# fits, end, templates=, only=) -> verdict rows.
Judge = Callable[..., pd.DataFrame]

# What a window reads of the index beyond `verdicts.INDEX_WINDOW_COLUMNS` to split and judge segments.
SEGMENT_INDEX_COLUMNS = ["key", "agent_id", "prompt_version", "input_hash", "decision_features", "rationales"]
SEGMENT_COLUMNS = ["segment", "prompt_version", "original_model", "segment_start", "segment_end", "n_segments",
                   "older_segments"]
SEGMENT_SCORE_COLUMNS = ["agent_id_base", "target_model", "segment", "prompt_version", "original_model",
                         "segment_start", "segment_end", "n", "mean", "ci_low", "ci_high"]
# What splitting a window into segments reads of each index day.
SPLIT_COLUMNS = ["key", "agent_id_base", "status", "is_llm", "prompt_version", "model_name", "timestamp"]
SHIFT_COLUMNS = ["agent_id_base", "target_model", "before", "after", "significant", "compared", "description",
                 "details"]
STABILITY_LAG = dt.timedelta(days=7)  # as the fits asset: the rule vs the one of a week earlier


def fit_evidence(family: str, rows: pd.DataFrame, end: dt.date) -> dict | None:
    """The family roll-up fit on `rows` (index rows with `day`), stable when it is the rule fitted
    on the rows up to a week before `end` (the previous window's rule, within the segment)."""
    spec = REGISTRY.get(family)
    if spec is None or spec.fit is None:
        return None
    tables = [t[family].assign(day=day) for day, g in rows.groupby("day")
              if family in (t := decision_tables(g)[0])]
    if not tables:
        return None
    table = pd.concat(tables, ignore_index=True)
    previous_end = (end - STABILITY_LAG).isoformat()
    earlier = table[table["day"] <= previous_end]
    before = _roll_up(family, earlier) if len(earlier) else {}
    fit = _roll_up(family, table, {family: before["tree_json"]} if before.get("status") == "fitted" else None,
                   previous_end)
    return {"rule_stable": None} | fit


def _roll_up(family: str, table: pd.DataFrame, previous: dict | None = None, previous_end: str | None = None) -> dict:
    """The family-scope fit only (no per-agent fits: a segment is judged as a family)."""
    return fit_family(family, table, previous, previous_end, min_rows_per_agent=len(table) + 1)[0]


def template_evidence(family: str, rows: pd.DataFrame, end: dt.date) -> dict | None:
    """The template concentration of `rows`' rationales (the templates asset's judgement)."""
    spec = REGISTRY.get(family)
    if spec is None or not spec.rationales:
        return None
    decoded = day_rows(rows).assign(day=rows["day"].to_numpy())  # rows: one family's valid artifacts
    return judge(family, family, "family", decoded, end, TemplatesConfig())[0]


def segment_verdict(family: str, index: pd.DataFrame, cheap: pd.DataFrame, ceiling: pd.DataFrame, end: dt.date,
                    judge_rows: Judge) -> tuple[dict, dict]:
    """(verdict row, evidence) of one family judged on exactly `index`'s rows (a segment, or the
    pooled window) and the replays of those artifacts: the whole-window code on a narrower window."""
    keys = set(index["key"])
    cheap, ceiling = cheap[cheap["key"].isin(keys)], ceiling[ceiling["key"].isin(keys)]
    fit, templates = fit_evidence(family, index, end), template_evidence(family, index, end)
    fits = pd.DataFrame([fit | {"scope": "family"}]) if fit else None
    table = pd.DataFrame([templates]) if templates else None
    rows = judge_rows(index, cheap, ceiling, fits, end, templates=table, only=family)
    scores = cheap[cheap["outcome"] == "structured"].merge(index[["key", "input_hash"]], on="key")
    return rows.iloc[0].to_dict() if len(rows) else {}, {
        "scores": scores.set_index("input_hash")["agreement_score"], "fit": fit, "templates": templates}


def _older(segment: seg.Segment, row: dict) -> dict:
    """An older segment as the verdict row lists it: which, when, its call and its numbers."""
    return {"segment": segment.tag, "prompt_version": segment.prompt_version, "original_model": segment.original_model,
            "start": segment.start, "end": segment.end, "n_artifacts": segment.n, "status": row.get("status"),
            **{k: None if pd.isna(v := row.get(k)) else round(float(v), 4)
               for k in ("cheap_agreement", "rule_heldout", "template_concentration")}}


def segment_scores(replays: pd.DataFrame, index: pd.DataFrame) -> pd.DataFrame:
    """Cheap-model agreement per (family, target, segment) of the families with several segments
    in the window: n, mean and its bootstrap 95% CI (the concordance summary's numbers per version)."""
    rows = []
    structured = replays[replays["outcome"] == "structured"]
    for family, segments in family_segments(index).items():
        for s in segments if len(segments) > 1 else ():
            mine = structured[(structured["agent_id_base"] == family) & structured["key"].isin(s.keys)]
            for model, group in mine.groupby("target_model"):
                ci = bootstrap_mean_ci(group["agreement_score"])
                rows.append({"agent_id_base": family, "target_model": model, "segment": s.tag,
                             "prompt_version": s.prompt_version,
                             "original_model": s.original_model, "segment_start": s.start, "segment_end": s.end,
                             "n": len(group), "mean": float(group["agreement_score"].mean()),
                             "ci_low": ci[0] if ci else None, "ci_high": ci[1] if ci else None})
    return pd.DataFrame(rows, columns=SEGMENT_SCORE_COLUMNS)


def family_segments(index: pd.DataFrame) -> dict[str, list[seg.Segment]]:
    """Each family's segments among the window's valid LLM artifacts."""
    ok = index[(index["status"] == OK) & index["is_llm"].fillna(False).astype(bool)]
    return {family: seg.split(rows) for family, rows in ok.groupby("agent_id_base")}


def segmented_verdicts(table: pd.DataFrame, index: pd.DataFrame, cheap: pd.DataFrame, ceiling: pd.DataFrame,
                       end: dt.date, model: str, judge_rows: Judge,
                       min_artifacts: int = seg.MIN_SEGMENT_ARTIFACTS) -> tuple[pd.DataFrame, list[dict]]:
    """`table` (the whole-window verdicts under `model`) with each row naming its segment, the rows
    of families with several segments replaced by their judged segment's verdict, and the shifts
    between consecutive segments with enough evidence."""
    rows, shifts = {r["agent_id_base"]: r for r in table.to_dict("records")}, []
    for family, segments in family_segments(index).items():
        if family not in rows:
            continue  # not judged under this target
        chosen = seg.judged(segments, min_artifacts)
        results = []
        if len(segments) > 1:
            for s in segments:
                day = end if s is chosen else dt.date.fromisoformat(s.end)  # an older segment as of its own end
                results.append(segment_verdict(family, index[index["key"].isin(s.keys)], cheap, ceiling, day,
                                               judge_rows))
            rows[family] = results[segments.index(chosen)][0]
            rows[family]["reason"] += "; " + seg.judged_reason(segments, chosen, [r.get("status") for r, _ in results],
                                                               min_artifacts)
            shifts += _shifts(family, model, segments, [e for _, e in results], min_artifacts)
        rows[family] |= {"segment": f"{chosen.tag} {chosen.start}..{chosen.end}",
                         "prompt_version": chosen.prompt_version, "original_model": chosen.original_model,
                         "segment_start": chosen.start, "segment_end": chosen.end, "n_segments": len(segments),
                         "older_segments": json.dumps([_older(s, r) for s, (r, _) in zip(segments, results)
                                                       if s is not chosen]) if results else None}
    columns = list(dict.fromkeys([*table.columns, *SEGMENT_COLUMNS]))
    return pd.DataFrame(list(rows.values())).reindex(columns=columns), shifts


def _shifts(family: str, model: str, segments: list[seg.Segment], evidence: list[dict], min_artifacts: int) -> list:
    """Each segment with enough evidence against the previous one with enough, and the thin
    segments no comparison spans (named as not compared)."""
    pairs, outside = seg.comparisons(segments, min_artifacts)
    found = {s: e for s, e in zip(segments, evidence)}
    results = [seg.compare(family, a, b, seg.agreement_shift(found[a]["scores"], found[b]["scores"]),
                           seg.rule_shift(found[a]["fit"], found[b]["fit"]),
                           seg.concentration_shift(found[a]["templates"], found[b]["templates"]), thin)
               for a, b, thin in pairs] + [seg.not_compared(family, s, min_artifacts) for s in outside]
    return [{"agent_id_base": family, "target_model": model, "before": r["before"], "after": r["after"],
             "significant": bool(r["significant"]), "compared": r["compared"],
             "description": f"{r['description']} (target {model})",
             "details": json.dumps({k: r[k] for k in ("agreement", "rule", "templates", "significant", "why")},
                                   default=str)} for r in results]


def shifts_frame(shifts: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(shifts, columns=SHIFT_COLUMNS).astype({"significant": bool, "compared": bool})


def _marker(shift: dict) -> str:
    return "**shift** " if shift["significant"] else "" if shift["compared"] else "not compared: "


def segments_metadata(table: pd.DataFrame, shifts: list[dict]) -> dict:
    """The UI's version markers: a table of every family's segment boundaries (older segments too),
    the shifts found, and per family and segment the judged agreement as a series of its own (a
    version change starts a new line in the plot), with the segment count as a step."""
    boundaries = []
    for row in table.dropna(subset=["segment"]).itertuples():
        older = json.loads(row.older_segments) if isinstance(row.older_segments, str) else []
        boundaries += [{"agent_id_base": row.agent_id_base, "target_model": row.target_model, "judged": False,
                        "segment": o.get("segment"), "prompt_version": o["prompt_version"][:12],
                        "original_model": o["original_model"],
                        "start": o["start"], "end": o["end"], "n_artifacts": o["n_artifacts"], "status": o["status"]}
                       for o in older]
        boundaries.append({"agent_id_base": row.agent_id_base, "target_model": row.target_model, "judged": True,
                           "segment": row.segment.split(" ")[0], "prompt_version": row.prompt_version[:12],
                           "original_model": row.original_model,
                           "start": row.segment_start, "end": row.segment_end, "n_artifacts": row.n_artifacts,
                           "status": row.status})
    metadata = {
        "version_segments": dg.MetadataValue.md(pd.DataFrame(boundaries).to_markdown(index=False)
                                                if boundaries else "(no LLM artifacts)"),
        "version_shifts": dg.MetadataValue.md("\n".join(
            f"- {_marker(s)}{s['description']}" for s in shifts) or "(one segment each)"),
    }
    for row in table.dropna(subset=["segment"]).itertuples():
        series = f"{row.agent_id_base}/{target_slug(row.target_model)}"
        metadata[f"segments/{series}"] = int(row.n_segments)
        if pd.notna(row.cheap_agreement):
            metadata[f"cheap_agreement/{series}/{row.segment.split(' ')[0]}"] = float(row.cheap_agreement)
    return metadata
