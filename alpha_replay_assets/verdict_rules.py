"""How a verdict is decided: per agent family and cheap target, the evidence (paired agreement with
the noise ceiling, kappa, the rule fit, the templates, the dollars) and the call it supports. Pure:
frames in, a verdict table out; `verdicts` is the asset that reads the windows and writes it.
"""

import datetime as dt
import json

import pandas as pd
from pydantic import Field

from alpha_replay_assets.artifacts import OK
from alpha_replay_assets.families import REGISTRY, judged_families, scorer_name
from alpha_replay_assets.replay.rate_card import PRICES_HELP, RateCard, artifact_costs, unpriced_ids
from alpha_replay_assets.replay.rows import REPLAYED, STRUCTURED
from alpha_replay_assets.segments import MIN_SEGMENT_ARTIFACTS
from alpha_replay_assets.stats import cohen_kappa, paired_bootstrap_diff
from alpha_replay_assets.targets import TargetsFor, ceiling_skip_note, target_cost_ratio
from alpha_replay_assets.unusable_replies import REPLIES_UNUSABLE, ReplyFit, UnusableRepliesConfig, reply_fit
from alpha_replay_assets.windows import MAX_WINDOW_DAYS

NO_CHEAPER_TARGET = "no_cheaper_target"
STATUSES = ("keep", "demote_candidate", "insufficient_evidence", "no_input", "stale_input", REPLIES_UNUSABLE,
            "unsupported", NO_CHEAPER_TARGET)
VERDICT_COLUMNS = ["agent_id_base", "target_model", "status", "reason", "scorer", "n_artifacts", "last_seen",
                   "n_paired", "cheap_agreement", "ceiling_agreement", "diff", "diff_ci_low", "diff_ci_high",
                   "ratio_ci_low", "ratio_ci_high", "kappa", "confusion", "rule_heldout", "rule_baseline",
                   "rule_stable", "usd_per_week_now", "usd_per_week_cheap", "usd_per_week_cheap_batch",
                   "usd_per_week_cheap_cached", "usd_saving_per_week", "rule_status", "n_stub_prompts",
                   "template_concentration", "n_rationales", "target_cost_ratio"]


RULE_THRESHOLD = 0.85  # held-out accuracy of a stable rule that demotes (the CLI shows rules above it)
# Fits that ran on inputs the agent did not really see (or that never vary): reported, never evidence.
NOT_EVIDENCE = ("no_features", "constant_features")


class VerdictConfig(UnusableRepliesConfig):
    window_days: int = Field(default=28, ge=7, le=MAX_WINDOW_DAYS)
    demotion_threshold: float = Field(default=0.9, description="Lower CI bound of cheap/ceiling agreement to demote.")
    ceiling_tolerance: float = Field(default=0.05, description="Cheap may trail the ceiling by at most this.")
    min_paired: int = Field(default=10, description="Paired (cheap, ceiling) artifacts needed for a concordance call.")
    rule_threshold: float = Field(default=RULE_THRESHOLD,
                                  description="Held-out accuracy of a stable rule that demotes.")
    template_threshold: float = Field(default=0.7, description="Rationale template concentration above which "
                                      "the family's prose is one template (evidence toward demotion).")
    min_rationales: int = Field(default=20, description="Rationales in the template window needed for that evidence.")
    stale_days: int = Field(default=3, description="A family silent this long before the window end is stale.")
    prices: dict[str, list[float]] = Field(default={}, description=PRICES_HELP)
    min_segment_artifacts: int = Field(default=MIN_SEGMENT_ARTIFACTS, ge=1, description="LLM artifacts a prompt "
                                       "version / model segment needs to be judged or compared (docs/domain.md §3c).")


def concordance_evidence(cheap: pd.DataFrame, ceiling: pd.DataFrame) -> dict:
    """Paired cheap vs ceiling agreement over the artifacts both replayed (ceiling averaged over k)."""
    cheap_scores = cheap[cheap["outcome"] == STRUCTURED].groupby("key")["agreement_score"].mean()
    ceiling_scores = ceiling[ceiling["outcome"] == STRUCTURED].groupby("key")["agreement_score"].mean()
    paired = pd.concat([cheap_scores.rename("cheap"), ceiling_scores.rename("ceiling")], axis=1, join="inner")
    evidence = {"n_paired": len(paired), "cheap_agreement": float(cheap_scores.mean()) if len(cheap_scores) else None}
    stats = paired_bootstrap_diff(paired["cheap"], paired["ceiling"])
    if stats:  # compare like with like: the cheap model on the same artifacts as the ceiling
        evidence |= {"cheap_agreement": stats["mean_a"], "ceiling_agreement": stats["mean_b"], "diff": stats["diff"],
                     "diff_ci_low": stats["diff_ci"][0], "diff_ci_high": stats["diff_ci"][1],
                     "ratio_ci_low": stats["ratio_ci"][0] if stats["ratio_ci"] else None,
                     "ratio_ci_high": stats["ratio_ci"][1] if stats["ratio_ci"] else None}
    return evidence


def kappa_evidence(cheap: pd.DataFrame) -> dict:
    pairs = [tuple(p) for cell in cheap["label_pairs"].dropna() for p in json.loads(cell)]
    kappa, confusion = cohen_kappa(pairs)
    return {"kappa": kappa, "confusion": json.dumps(confusion) if pairs else None}


def decide(family: str, e: dict, end: dt.date, config: VerdictConfig) -> tuple[str, str]:
    """(status, one-line reason naming the numbers). Pure: every branch is testable. Judged: every
    registered LLM family with a decision, and any unregistered family with LLM artifacts (by the
    structural scorer); a family without an LLM decision is `unsupported`, saying why."""
    spec = REGISTRY.get(family)
    if spec is not None and not spec.judged:
        return "unsupported", f"{spec.unsupported_reason} ({e['n_artifacts']} artifacts in the window)"
    if spec is None and e["n_artifacts"] and not e.get("n_llm"):
        return "unsupported", (f"unregistered family with no LLM artifact ({e['n_artifacts']} deterministic): "
                               "nothing to replay")
    if not e["n_artifacts"]:
        return "no_input", f"no valid artifact in the {config.window_days}-day window ending {end}"
    silent = (end - dt.date.fromisoformat(e["last_seen"])).days
    if silent >= config.stale_days:
        return "stale_input", f"last artifact on {e['last_seen']}, {silent} days before the window end: producer down?"
    # before any call on evidence: the cheap model's replies of this family cannot be judged, and
    # the family needs a person (declare or update its module) whatever a rule fit says
    fit = ReplyFit(e.get("replies", 0), e.get("unusable", 0))
    if config.unusable(family, fit):
        return REPLIES_UNUSABLE, f"its replies do not fit: {fit.phrase()}, above its bound {config.bound(family):.0%}"
    rule = e.get("rule_heldout")
    if (rule is not None and rule >= config.rule_threshold and rule > (e.get("rule_baseline") or 1)
            and e.get("rule_stable")):
        return "demote_candidate", (f"a stable depth-3 rule reproduces it: held-out {rule:.3f} vs baseline "
                                    f"{e['rule_baseline']:.3f}, same rule as the previous window")
    concentration = e.get("template_concentration")
    if (concentration is not None and concentration > config.template_threshold
            and e.get("n_rationales", 0) >= config.min_rationales):
        return "demote_candidate", (f"its rationales are one template with the numbers swapped: the 3 largest "
                                    f"template clusters hold {concentration:.3f} of {e['n_rationales']} rationales")
    if (ratio := e.get("target_cost_ratio")) is not None and ratio >= 1:
        return NO_CHEAPER_TARGET, (f"no cheaper target: {e['target_model']} costs {ratio:.2f}x the original "
                                   f"({e['original_models']}) on the family's calls at the rates in force on {end}; "
                                   f"its agreement is no saving ({e.get('n_paired', 0)} paired replays): "
                                   "configure a cheaper target for the family")
    if e.get("n_paired", 0) < config.min_paired or e.get("ratio_ci_low") is None:
        return "insufficient_evidence", (f"{e.get('n_paired', 0)} paired cheap/ceiling replays "
                                         f"(< {config.min_paired}) and no stable rule above {config.rule_threshold}")
    numbers = (f"cheap {e['cheap_agreement']:.3f} vs ceiling {e['ceiling_agreement']:.3f} (n={e['n_paired']}), "
               f"cheap/ceiling 95% CI [{e['ratio_ci_low']:.3f}, {e['ratio_ci_high']:.3f}], "
               f"difference 95% CI [{e['diff_ci_low']:+.3f}, {e['diff_ci_high']:+.3f}]")
    if e["ratio_ci_low"] >= config.demotion_threshold and -e["diff"] <= config.ceiling_tolerance:
        # the phrase follows the difference CI it cites: within the noise only when the CI holds 0
        if e["diff_ci_high"] < 0:
            return "demote_candidate", (f"cheap model measurably below the original but within the tolerance "
                                        f"{config.ceiling_tolerance:g}: {numbers}")
        return "demote_candidate", f"cheap model within the original's own noise: {numbers}"
    if e["ratio_ci_high"] < config.demotion_threshold or e["diff_ci_high"] < -config.ceiling_tolerance:
        return "keep", f"cheap model clearly below the original: {numbers}"
    return "insufficient_evidence", f"the CI straddles the threshold {config.demotion_threshold}: {numbers}"


def unused_evidence(e: dict, fit_reason: str | None) -> str:
    """What the call could not use, appended to its reason: a rule fit that is not evidence, and
    artifacts whose stub prompts are never replayed."""
    notes = []
    if e.get("rule_status") in NOT_EVIDENCE:
        notes.append(f"rule fit not evidence: {e['rule_status']} ({fit_reason})")
    if e.get("n_stub_prompts"):
        notes.append(f"{e['n_stub_prompts']} of {e['n_artifacts']} artifacts have stub prompts: not replayed")
    return "".join(f"; {note}" for note in notes)


def _scorers(replays: pd.DataFrame, default: str | None) -> str | None:
    """Which scorer(s) scored the family's replays in the window, most used first."""
    used = replays["scorer"].dropna().value_counts() if "scorer" in replays else pd.Series(dtype=int)
    return "+".join(used.index) if len(used) else default


def dollars(index_week: pd.DataFrame, cheap_week: pd.DataFrame, model: str, prices: dict, end: dt.date) -> dict:
    """Weekly spend now and under the cheap model for the same calls: at standard price with every
    input token paid in full, at batch price, and with the prompt cache as the replays actually
    got it (reads 0.1x, writes 1.25x; no cache for short prompts); the cheap model at its rate in
    force on `end`. Now = what the artifacts' calls cost (`rate_card.artifact_costs`: the provider's
    bill, the think tank's total of both calls, the recorded cost, else tokens at the rate in force
    at capture); unknown (None, ids in `unpriced_now`) when one records no cost and has no card."""
    card = RateCard(prices)
    price = card.price(model, end)
    done = cheap_week[cheap_week["outcome"].isin(REPLAYED)]
    uncached, tokens_out, read, written = (
        int(done[c].sum()) for c in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_create_tokens"))
    replayed_share = len(done) / max(1, int(index_week["is_llm"].fillna(False).sum()))
    costs = artifact_costs(index_week, card, end)
    unknown = unpriced_ids(index_week.reindex(columns=["model_name"])["model_name"][costs.isna()], card)
    now = None if unknown else float(costs.sum())
    # scale the replayed calls up to all of the week's LLM calls (skips are not free to run)
    cheap = price.usd(uncached + read + written, tokens_out) / replayed_share if replayed_share else None
    return {
        "usd_per_week_now": now,
        "usd_per_week_cheap": cheap,
        "usd_per_week_cheap_batch": cheap * price.BATCH if cheap is not None else None,
        "usd_per_week_cheap_cached": (price.usd(uncached, tokens_out, read, written) / replayed_share
                                      if replayed_share else None),
        "usd_saving_per_week": now - cheap if cheap is not None and now is not None else None,
        "unpriced_now": unknown,
    }


def template_evidence(templates: pd.DataFrame | None, family: str) -> dict:
    """The family roll-up's rationale template concentration and its n, when it was measured on a
    fresh, sufficient window (`ok`): a stale or thin window is no evidence."""
    if templates is None:
        return {}
    row = templates[(templates["agent_id_base"] == family) & (templates["scope"] == "family")
                    & (templates["status"] == "ok")]
    if not len(row):
        return {}
    return {"template_concentration": float(row["concentration"].iloc[0]),
            "n_rationales": int(row["n_rationales"].iloc[0])}


def build_verdicts(index: pd.DataFrame, cheap: pd.DataFrame, ceiling: pd.DataFrame, fits: pd.DataFrame | None,
                   end: dt.date, model: str, config: VerdictConfig, prices: dict,
                   templates: pd.DataFrame | None = None, targets_for: TargetsFor | None = None,
                   only: str | None = None) -> pd.DataFrame:
    """Rows under target `model` for the families judged under it (`targets_for`; default: every
    family), or for the one family `only` (a version segment: `segment_verdicts`)."""
    ok = index[index["status"] == OK]
    week_start = (end - dt.timedelta(days=6)).isoformat()
    if fits is not None and "scope" in fits:  # the family roll-ups, not the per-agent fits
        fits = fits[fits["scope"] == "family"]
    fits = fits.set_index("agent_id_base") if fits is not None else pd.DataFrame()
    rows = []
    for family in [only] if only else sorted(set(judged_families()) | set(ok["agent_id_base"].dropna())):
        if targets_for is not None and model not in targets_for(family):
            continue
        mine = ok[ok["agent_id_base"] == family]
        spec = REGISTRY.get(family)
        e = {"agent_id_base": family, "target_model": model, "n_artifacts": len(mine),
             "n_llm": int(mine["is_llm"].fillna(False).sum()), "last_seen": mine["day"].max() if len(mine) else None,
             "scorer": scorer_name(family)}
        judged, fit_reason = (spec.judged if spec else e["n_llm"]) and len(mine), None
        if judged:
            c, k = cheap[cheap["agent_id_base"] == family], ceiling[ceiling["agent_id_base"] == family]
            e["n_stub_prompts"] = int(mine["is_placeholder"].fillna(False).astype(bool).sum())
            e["scorer"] = _scorers(c, e["scorer"])
            e |= concordance_evidence(c, k)
            fit = reply_fit(c["outcome"])
            e |= {"replies": fit.replies, "unusable": fit.unusable}
            if spec is not None and spec.kappa_on:
                e |= kappa_evidence(c)
            if family in fits.index:
                e["rule_status"], fit_reason = fits.loc[family, "status"], fits.loc[family, "reason"]
            if e.get("rule_status") == "fitted":
                rule = fits.loc[family]
                e |= {"rule_heldout": rule["heldout_accuracy"], "rule_baseline": rule["baseline"],
                      "rule_stable": bool(rule["rule_stable"]) if pd.notna(rule["rule_stable"]) else False}
            e |= dollars(mine[mine["day"] >= week_start], c[c["day"] >= week_start], model, prices, end)
            e |= template_evidence(templates, family)
            e["target_cost_ratio"], e["original_models"] = target_cost_ratio(mine, model, RateCard(prices), end)
        e["status"], e["reason"] = decide(family, e, end, config)
        if judged:
            e["reason"] += unused_evidence(e, fit_reason) + ceiling_skip_note(k)
        if spec is None and e["n_llm"]:
            e["reason"] += "; unregistered family, scored by the structural scorer"
        if e.get("unpriced_now"):
            e["reason"] += "; usd_per_week_now unknown: no recorded cost and no price for " + ", ".join(
                f"{m!r} ({n} artifacts)" for m, n in e["unpriced_now"].items())
        rows.append(e)
    return pd.DataFrame(rows).reindex(columns=VERDICT_COLUMNS)


def report_markdown(table: pd.DataFrame, end: dt.date) -> str:
    columns = ["agent_id_base", "target_model", "status", "scorer", "cheap_agreement", "ceiling_agreement", "kappa",
               "rule_heldout", "usd_per_week_now", "usd_saving_per_week"]
    paragraphs = [f"**{r.agent_id_base}** ({r.target_model}): **{r.status}**: {r.reason}." for r in table.itertuples()]
    return "\n\n".join([f"# Agent verdicts, window ending {end}", table[columns].round(3).to_markdown(index=False),
                        *paragraphs]) + "\n"
