"""Agreement between an original decision and a replay (domain §2.1), in [0, 1].

Each family's scorer first *normalises* both sides into one comparable form, because the
model replies in the raw shape (e.g. ic_cio `decisions[]`) while the stored original is
post-processed (`ic_decisions` + `advanced_tickers`). Two fixes over the system we replace:

* shape mismatch: the old scorer compared post-processed fields on both sides, so ic_cio and
  peer review always scored 0; here both shapes normalise to the same form;
* both-empty Jaccard: "both picked nothing" is agreement (1.0), not 0.

`SCORER_VERSION` is stored on every row so series before and after a change stay comparable.
"""

import math
import re
from dataclasses import dataclass, field

SCORER_VERSION = 2  # 1 = the legacy scorer (both-empty = 0, no shape normalisation)

WORD = re.compile(r"[a-z]+")
ADVANCING = ("ADVANCE", "ADVANCE_FORCED")
THESIS_TEXT_FIELDS = ("bull_case", "conviction_rationale", "thesis_summary")


@dataclass(frozen=True)
class Agreement:
    score: float
    diagnostics: dict = field(default_factory=dict)


def jaccard(a: set, b: set) -> float:
    """|A∩B| / |A∪B|; two empty sets agree (1.0) — fixed on purpose, see module docstring."""
    union = a | b
    return 1.0 if not union else len(a & b) / len(union)


def text_similarity(a: str, b: str) -> float:
    return jaccard(set(WORD.findall(a.lower())), set(WORD.findall(b.lower())))


def pearson(xs: list[float], ys: list[float]) -> float | None:
    """None for n < 2, unequal lengths or zero variance."""
    if len(xs) != len(ys) or len(xs) < 2:
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / math.sqrt(sxx * syy)


def _tickers(items) -> list[str]:
    return [i["ticker"] for i in items or [] if isinstance(i, dict) and isinstance(i.get("ticker"), str)]


# -- normalisers: either shape -> one comparable form -------------------------------------------


def peer_review_accepted(output: dict) -> set[str]:
    if "selected_decisions" in output:
        return set(_tickers(output["selected_decisions"]))
    extra = {t for t in output.get("additional_accepted") or [] if isinstance(t, str)}
    return set(_tickers(output.get("recommendations"))) | extra


def ic_cio_decisions(output: dict) -> tuple[set[str], dict[str, str]]:
    """(advanced tickers, ticker -> decision) from `decisions` or `ic_decisions`/`advanced_tickers`."""
    items = output.get("decisions", output.get("ic_decisions")) or []
    decisions = {i["ticker"]: i.get("decision") for i in items if isinstance(i, dict) and isinstance(i.get("ticker"), str)}
    if isinstance(output.get("advanced_tickers"), list):
        advanced = {t for t in output["advanced_tickers"] if isinstance(t, str)}
    else:
        advanced = {t for t, d in decisions.items() if d in ADVANCING}
    return advanced, decisions


# -- the scorers --------------------------------------------------------------------------------


def score_sector_quant(original: dict, reply: dict) -> Agreement:
    a, b = _tickers(original.get("ranked_picks")), _tickers(reply.get("ranked_picks"))
    top5, top10 = jaccard(set(a[:5]), set(b[:5])), jaccard(set(a[:10]), set(b[:10]))
    return Agreement(0.6 * top5 + 0.4 * top10, {"jaccard_top5": top5, "jaccard_top10": top10})


def score_sector_qual(original: dict, reply: dict) -> Agreement:
    j = jaccard(set(_tickers(original.get("assessments"))), set(_tickers(reply.get("assessments"))))
    return Agreement(j, {"jaccard_tickers": j})


def score_sector_peer_review(original: dict, reply: dict) -> Agreement:
    j = jaccard(peer_review_accepted(original), peer_review_accepted(reply))
    return Agreement(j, {"jaccard_accepted": j})


def score_macro_economist(original: dict, reply: dict) -> Agreement:
    regime_a, regime_b = original.get("market_regime"), reply.get("market_regime")
    same_regime = float(regime_a is not None and regime_a == regime_b)
    mods_a, mods_b = original.get("sector_modifiers") or {}, reply.get("sector_modifiers") or {}
    common = sorted(set(mods_a) & set(mods_b))
    r = pearson([float(mods_a[s]) for s in common], [float(mods_b[s]) for s in common])
    score = 0.6 * same_regime + 0.4 * max(0.0, r if r is not None else 0.0)
    return Agreement(score, {"regime_match": same_regime, "modifier_pearson": r, "common_sectors": len(common)})


def score_ic_cio(original: dict, reply: dict) -> Agreement:
    adv_a, dec_a = ic_cio_decisions(original)
    adv_b, dec_b = ic_cio_decisions(reply)
    advanced = jaccard(adv_a, adv_b)
    common = set(dec_a) & set(dec_b)
    same = sum(dec_a[t] == dec_b[t] for t in common) / len(common) if common else None
    score = 0.7 * advanced + 0.3 * (same if same is not None else 0.0)
    return Agreement(score, {"jaccard_advanced": advanced, "decision_match": same, "common_tickers": len(common)})


def _closeness(a, b) -> float | None:
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
    return max(0.0, 1 - abs(a - b) / 100) if numeric else None


def score_thesis_update(original: dict, reply: dict) -> Agreement:
    closeness = [c for f in ("final_score", "conviction") if (c := _closeness(original.get(f), reply.get(f))) is not None]
    texts = [
        text_similarity(original[f], reply[f])
        for f in THESIS_TEXT_FIELDS
        if isinstance(original.get(f), str) and isinstance(reply.get(f), str)
    ]
    numeric = sum(closeness) / len(closeness) if closeness else None
    text = sum(texts) / len(texts) if texts else None
    if numeric is not None and text is not None:
        score = 0.6 * numeric + 0.4 * text
    else:
        score = numeric if numeric is not None else text if text is not None else 0.0
    return Agreement(score, {"closeness": numeric, "text": text})


def score_generic(original: dict, reply: dict) -> Agreement:
    j = jaccard(set(original), set(reply))
    return Agreement(j, {"jaccard_keys": j})


SCORERS = {
    "sector_quant": score_sector_quant,
    "sector_qual": score_sector_qual,
    "sector_peer_review": score_sector_peer_review,
    "macro_economist": score_macro_economist,
    "ic_cio": score_ic_cio,
    "thesis_update": score_thesis_update,
}


def label_pairs(family: str, original: dict, reply: dict) -> list[list[str]]:
    """(original, reply) label pairs of a categorical decision, for Cohen's kappa: one per common
    ticker for ic_cio, the regime for macro_economist; none for other families."""
    if family == "ic_cio":
        _, a = ic_cio_decisions(original)
        _, b = ic_cio_decisions(reply)
        return [[a[t], b[t]] for t in sorted(set(a) & set(b)) if isinstance(a[t], str) and isinstance(b[t], str)]
    if family == "macro_economist":
        pair = [original.get("market_regime"), reply.get("market_regime")]
        return [pair] if all(isinstance(x, str) for x in pair) else []
    return []


def score(family: str, original: dict, reply: dict) -> Agreement:
    return SCORERS.get(family, score_generic)(original, reply)
