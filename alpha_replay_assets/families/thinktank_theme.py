"""thinktank_theme — the think tank's macro or sector theme (a live producer; docs/real-shapes.md §5).

Agent id exactly `thinktank_theme`; run id `{12 hex}-{kind}-{key}-v{version}` (kind macro|sector,
key `macro` or a snake_case sector); weekend runs are filed in Friday's folder. Model
`qwen/qwen3-235b-a22b-instruct`. Raw reply (`ThemeThesisLLM`, top level): `stance` (free text),
`material_change` bool, `narrative`, `drivers[]`, `watch_items[]`, `change_summary`; no conviction,
no scored dimensions. Stored: the same object under `agent_output.theme` plus bookkeeping.

The stance is free text, so it is read as a side before comparing (`side`): words that lean in
(risk-on, constructive, overweight, bullish, positive, supportive, ...) are `positive`; words
that lean out (cautious, underweight, risk-off, bearish, defensive, negative, ...) `negative`;
neutral, market-weight, balanced, equal-weight, hold, mixed `neutral`; anything else is no side
(null: it never matches). "cautiously constructive" leans in: the last side word wins.
Scored: 0.5·[stance side equal] + 0.2·[material_change equal] + 0.3·word similarity of the
drivers (weights over the parts present). Kappa on the stance side.
Not fitted: the snapshot holds no numeric input (kind, key, update reason, a regime label, a
date and the prior theme's prose).
"""

import datetime as dt
import random
import re

from alpha_replay_assets.families.thinktank_thesis import CHEAP_TARGET
from alpha_replay_assets.family_spec.comparators import Categorical, Part, Same, Scorer, Tokens
from alpha_replay_assets.family_spec.family import Family, named_after
from alpha_replay_assets.family_spec.fields import Flag, OfType, StrList
from alpha_replay_assets.family_spec.rule import HiddenRule, Run, Volume
from alpha_replay_assets.family_spec.synthetic import SECTORS, filler, phrases, pick_words, snake

NAME = named_after(__name__)

MODEL = "qwen/qwen3-235b-a22b-instruct"
KEYS = ("macro",) + tuple(snake(s) for s in SECTORS)
DEFENSIVE = ("utilities", "consumer_staples", "healthcare")
# free-text stance -> side (module docstring); phrases are matched on words, hyphens as spaces
SIDES = {
    "positive": ("risk on", "constructive", "overweight", "bullish", "positive", "supportive", "favourable",
                 "favorable", "optimistic", "accumulate", "buy", "attractive"),
    "negative": ("risk off", "cautious", "underweight", "bearish", "defensive", "negative", "avoid", "sell",
                 "pessimistic", "unfavourable", "unfavorable"),
    "neutral": ("neutral", "market weight", "balanced", "equal weight", "hold", "mixed"),
}
WORDING = {"macro": {"positive": ("risk-on", "constructive"), "neutral": ("neutral",), "negative": ("cautious",)},
           "sector": {"positive": ("overweight", "constructive"), "neutral": ("neutral",),
                      "negative": ("underweight", "cautious")}}


def side(stance) -> str | None:
    """The side a free-text stance leans to (module docstring), or None."""
    if not isinstance(stance, str):
        return None
    text = " " + re.sub(r"[^a-z]+", " ", stance.lower()) + " "
    hits = [(text.rfind(f" {p} "), name) for name, words in SIDES.items() for p in words if f" {p} " in text]
    return max(hits)[1] if hits else None


def comparable(theme) -> dict:
    theme = theme if isinstance(theme, dict) else {}
    drivers = theme.get("drivers")
    return {"stance": side(theme.get("stance")), "material_change": theme.get("material_change"),
            "drivers": " ".join(d for d in drivers if isinstance(d, str)) if isinstance(drivers, list) else None}


def from_output(output: dict) -> dict:
    return comparable(output.get("theme"))


# -- hidden rule of the synthetic corpus --------------------------------------------------------

DRIVERS = {"positive": ("earnings revisions turning up", "broadening participation", "easing financial conditions",
                        "resilient consumer demand", "capex cycle accelerating"),
           "neutral": ("mixed earnings revisions", "range-bound rates", "rotation without a clear leader",
                       "valuations near their averages"),
           "negative": ("tightening credit conditions", "falling earnings revisions", "narrowing leadership",
                        "margin pressure from input costs", "policy uncertainty")}
WATCH = ("next payrolls report", "central bank meeting", "credit spreads", "earnings season guidance", "oil price")


def snapshot(rng: random.Random, day: dt.date, scope: str | None = None) -> dict:
    key = rng.choice(KEYS)
    reason = rng.choices(("seed", "event", "reconcile"), (1, 2, 2))[0]
    anchor = day - dt.timedelta(days=(day.weekday() - 4) % 7)  # the last weekly signals date (a Friday)
    prior = None if reason == "seed" else {
        "narrative": filler(rng, rng.randint(300, 640)),
        "stance": rng.choice(WORDING["macro" if key == "macro" else "sector"][rng.choice(tuple(DRIVERS))]),
        "drivers": phrases(rng, DRIVERS[rng.choice(tuple(DRIVERS))], 2, 3), "watch_items": phrases(rng, WATCH, 1, 2),
        "material_change": True, "change_summary": filler(rng, rng.randint(80, 149))}
    return {"kind": "macro" if key == "macro" else "sector", "key": key, "update_reason": reason,
            "market_regime": rng.choices(("bull", "neutral", "bear"), (3, 4, 2))[0],
            "weekly_anchor_date": anchor.isoformat(), "prior_theme": prior}


def decide(snapshot: dict, rng: random.Random, noise: float) -> dict:
    regime = snapshot["market_regime"]
    lean = {"bull": "positive", "neutral": "neutral", "bear": "negative"}[regime]
    if snapshot["key"] in DEFENSIVE and regime != "neutral":  # defensives lean against the tape
        lean = "negative" if lean == "positive" else "positive"
    if rng.random() < noise:
        lean = rng.choice(tuple(DRIVERS))
    prior = snapshot["prior_theme"]
    return {
        "narrative": f"The {snapshot['key'].replace('_', ' ')} theme leans {lean} in a {regime} regime; "
                     f"{pick_words(rng, 'revisions', 'rates', 'liquidity', 'earnings', 'positioning', 'flows')}.",
        "stance": rng.choice(WORDING[snapshot["kind"]][lean]),
        "drivers": [*DRIVERS[lean][:2], *rng.sample(DRIVERS[lean][2:], rng.randint(0, 1))],  # main two (+1)
        "watch_items": phrases(rng, WATCH, 1, 2),
        "material_change": prior is None or side(prior["stance"]) != lean,
        "change_summary": f"Stance {'unchanged' if prior and side(prior['stance']) == lean else 'revised'}; "
                          f"{pick_words(rng, 'regime', 'signals', 'breadth', 'credit', 'earnings')}.",
    }


def post_process(raw: dict, snapshot: dict, run: Run, rng: random.Random) -> dict:
    return {"schema_version": 2, "kind": snapshot["kind"], "key": snapshot["key"],
            "version": 1 if snapshot["update_reason"] == "seed" else rng.randint(2, 4),
            "trading_day": run.filed.isoformat(), "calendar_date": run.day.isoformat(),
            "update_reason": snapshot["update_reason"], "theme": dict(raw),
            "weekly_anchor_date": snapshot["weekly_anchor_date"],
            "divergence_from_weekly": filler(rng, 120) if rng.random() < 0.2 else None, "stale_inputs": [],
            "model": MODEL, "tier": "themes", "prompt_version": "", "cost_usd": run.call_cost}


SYSTEMS = {
    "macro": ("You are the think tank's chief macro strategist. State the house view of the market as a whole for "
              "the next one to three months from the inputs given: a stance in your own words, the drivers behind "
              "it, what to watch, and whether the view changed materially since the prior theme. Theses on single "
              "companies are written against this view, so change it only for cause."),
    "sector": ("You are a sector strategist at the think tank. State the house view of one sector for the next "
               "one to three months: a stance, its drivers, what to watch, and whether it changed materially."),
}
TEMPLATE = """Theme update: {kind} / {key}

Reason for this update: {update_reason}. The current market regime from the weekly signals dated
{weekly_anchor_date} is given below, with the prior theme as last written (none when seeding).
Keep the theme when nothing material changed; when it did, say what changed in one sentence.
Write a short narrative (three to five sentences), two or three drivers and one or two watch items
as short phrases, a stance in a word or two (for example risk-on, constructive, neutral, cautious,
overweight, underweight), whether the change is material, and a one-line change summary.

How to read the inputs. The market regime is the desk's weekly call (bull, neutral or bear) and is
the strongest single input: a theme that disagrees with it must say why in the narrative. The prior
theme is what single-company theses were written against this week; a reversal moves all of them,
so reverse only when the regime or an event clearly demands it. A reconcile run follows a new
weekly signals date: restate the theme against the new regime even when nothing else moved. An
event run follows material news for the key: say whether the news changes the view. Defensive
sectors (utilities, consumer staples, healthcare) tend to lead when the regime turns bearish and
lag when it turns bullish; cyclical sectors do the opposite. Drivers are causes (rates, credit,
earnings revisions, flows), not restatements of the stance. Watch items are datable or observable
(a data release, a meeting, a spread level). No index targets, no advice language, no hedging.

Inputs:
{kind} {key} {update_reason} {market_regime} {weekly_anchor_date} {prior_theme}"""

FAMILY = Family(
    name=NAME,
    cheap_target=CHEAP_TARGET,
    rationales=("theme.narrative", "theme.change_summary"),
    agent_ids=rf"{NAME}",
    decision=(OfType("stance", str), Flag("material_change"), StrList("drivers"), StrList("watch_items", False),
              OfType("narrative", str), OfType("change_summary", str)),
    reply_model="ThemeThesisLLM",
    stored_at="agent_output.theme",
    from_output=from_output,
    from_reply=comparable,
    scorer=Scorer((Part("stance_side_match", 0.5, Categorical("stance")),
                   Part("material_change", 0.2, Same("material_change")),
                   Part("drivers", 0.3, Tokens("drivers"))), missing="renormalise"),
    kappa_on="stance",
    unsupported_reason="no numeric input to fit: the snapshot holds kind, key, update reason, a market-regime "
                       "label, the weekly anchor date and the prior theme's prose",
    rule=HiddenRule(snapshot, decide, post_process, MODEL, system=lambda s: SYSTEMS[s["kind"]], template=TEMPLATE,
                    rendered=True, run_suffix=lambda out: f"-{out['kind']}-{out['key']}-v{out['version']}",
                    trading_day_filing=True,
                    # measured: 12 themes in 7 days (docs/domain.md §1.4), in the think tank's runs after its theses
                    volume=(Volume("today", order=1, weekly=(2, 2, 2, 2, 1, 2, 1), producer="thinktank",
                                   at=(83_000, 3)),)),
)
