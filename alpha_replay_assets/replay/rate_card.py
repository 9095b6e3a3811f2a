"""What a call costs: a rate card per (model, route) with dated entries, and what an artifact's
calls cost (docs/domain.md §1.4, §2.2).

Model ids as producers write them resolve to a card: a dated Anthropic snapshot id
(`claude-haiku-4-5-20251001`) is priced by its model's card (`claude-haiku-4-5`): a trailing
`-YYYYMMDD` is stripped. The route follows the id, never `model_metadata.provider` (the think
tank leaves that at `anthropic` while it calls the router): a `vendor/model` slug goes through the
OpenAI-compatible router, any other id to Anthropic directly. Prices change: each entry is in
force from its `effective_from` date until the next one. An artifact is priced at its capture
date, a replay at the date it was made.

User overrides (the `prices` config fields) take two forms, both `{key: [USD/MTok in, out]}`:
`{"model": [in, out]}` prices the model at all times (replacing the built-in card for that id);
`{"model@YYYY-MM-DD": [in, out]}` adds an entry in force from that date.
"""

import datetime as dt
import difflib
import math
import re
from dataclasses import dataclass

import pandas as pd

ANTHROPIC, ROUTER = "anthropic", "router"
SNAPSHOT_SUFFIX = re.compile(r"-\d{8}$")
PRICES_HELP = ("model id -> [USD/MTok in, out], in force at all times (replaces the built-in card of that id); "
               "'model@YYYY-MM-DD' -> [in, out]: a price in force from that date (added to the card).")


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float

    # Provider multipliers: batch jobs run at half price; cache reads cost 0.1x input and
    # 5-minute cache writes 1.25x input.
    BATCH = 0.5
    CACHE_READ = 0.1
    CACHE_WRITE = 1.25

    def usd(self, input_tokens: int, output_tokens: int, cache_read: int = 0, cache_write: int = 0,
            batch: bool = False) -> float:
        tokens = (
            input_tokens * self.input
            + output_tokens * self.output
            + cache_read * self.input * self.CACHE_READ
            + cache_write * self.input * self.CACHE_WRITE
        )
        return tokens / 1e6 * (self.BATCH if batch else 1.0)

    def __str__(self) -> str:
        return f"${self.input:g}/${self.output:g} per MTok"


def route_of(model: str) -> str:
    """`vendor/model` slugs go through the OpenAI-compatible router; other ids to Anthropic."""
    return ROUTER if "/" in model else ANTHROPIC


def card_id(model: str) -> str:
    """The card that prices `model`: a dated snapshot id's model (`-YYYYMMDD` stripped)."""
    return SNAPSHOT_SUFFIX.sub("", model)


@dataclass(frozen=True)
class Rate:
    model: str
    effective_from: dt.date
    price: Price

    @property
    def route(self) -> str:
        return route_of(self.model)

    def __str__(self) -> str:
        return f"{self.model} ({self.route}) from {self.effective_from}: {self.price}"


def _rate(model: str, since: str, usd_in: float, usd_out: float) -> Rate:
    return Rate(model, dt.date.fromisoformat(since), Price(usd_in, usd_out))


# The built-in card: (model, effective_from, USD/MTok in, out). `effective_from` is the date a
# price is known to hold from (a release or price-change date where known); the first entry of a
# model also prices anything earlier (a card starts when its price was recorded, not at launch).
# A price not listed here, or newer than this card, goes in the `prices` config.
RATE_CARD = (
    # Anthropic, direct: list prices per MTok in/out as of 2026-11-28 (anthropic.com/pricing).
    # The measured corpus (July 2026) records the same: haiku-4-5 $1/$5, sonnet-4-6 $3/$15.
    _rate("claude-haiku-4-5", "2025-10-15", 1.0, 5.0),
    _rate("claude-3-5-haiku", "2024-11-04", 0.8, 4.0),
    _rate("claude-sonnet-4-5", "2025-09-29", 3.0, 15.0),
    _rate("claude-sonnet-4-6", "2026-02-17", 3.0, 15.0),
    _rate("claude-opus-4-1", "2025-08-05", 15.0, 75.0),
    _rate("claude-opus-4-5", "2025-11-24", 5.0, 25.0),
    # The router (OpenRouter): list prices per MTok in/out as of 2026-11-28, except the entries
    # from 2026-07-01 of the think tank's two models, which are what its own cost tracker charged
    # in the measured July-2026 corpus (model_metadata.cost_usd / tokens).
    _rate("deepseek/deepseek-chat-v3.1", "2025-08-21", 0.20, 0.80),
    _rate("deepseek/deepseek-chat-v3.1", "2026-07-01", 0.60, 1.70),
    _rate("qwen/qwen3-235b-a22b-instruct", "2026-07-01", 0.50, 3.00),
    # cheaper router models: candidate cheap targets for the think-tank families
    _rate("qwen/qwen3-30b-a3b-instruct-2507", "2025-07-29", 0.08, 0.33),
    _rate("google/gemini-2.5-flash-lite", "2025-07-22", 0.10, 0.40),
    _rate("mistralai/mistral-small-3.2-24b-instruct", "2025-06-20", 0.06, 0.18),
    _rate("openai/gpt-oss-20b", "2025-08-05", 0.04, 0.15),
    _rate("meta-llama/llama-3.1-8b-instruct", "2024-07-23", 0.02, 0.05),
)


class UnpricedModel(KeyError):
    """A model id no card prices: never a free call."""

    def __str__(self) -> str:
        return self.args[0]


def _override(key: str, value) -> tuple[str, dt.date | None, Price]:
    model, _, since = key.partition("@")
    try:
        day = dt.date.fromisoformat(since) if since else None
        usd_in, usd_out = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"prices[{key!r}] = {value!r}: expected 'model' or 'model@YYYY-MM-DD' -> "
                         f"[USD/MTok in, out] ({exc})") from None
    if not model or not (0 <= usd_in < math.inf and 0 <= usd_out < math.inf):
        raise ValueError(f"prices[{key!r}] = {value!r}: expected a model id and two prices >= 0")
    return model, day, Price(usd_in, usd_out)


class RateCard:
    """The built-in card with the user's overrides applied; answers "what did `model` cost on `day`"."""

    def __init__(self, overrides: dict[str, list[float]] | None = None):
        self.cards: dict[str, list[Rate]] = {}
        for rate in RATE_CARD:
            self.cards.setdefault(rate.model, []).append(rate)
        mine: dict[str, list[tuple[dt.date | None, Price]]] = {}
        for key, value in (overrides or {}).items():
            model, day, price = _override(key, value)
            mine.setdefault(model, []).append((day, price))
        for model, entries in mine.items():
            undated = [p for d, p in entries if d is None]
            base = [] if undated else [r for r in self.rates(model) if r.effective_from not in {d for d, _ in entries}]
            self.cards[model] = base + [Rate(model, d or dt.date.min, p) for d, p in entries]
        for rates in self.cards.values():
            rates.sort(key=lambda r: r.effective_from)

    def rates(self, model: str) -> list[Rate]:
        """The entries pricing `model` (its own id first, then its card id), oldest first; [] if none."""
        return self.cards.get(model) or self.cards.get(card_id(model)) or []

    def priced(self, model: str) -> bool:
        return bool(self.rates(model))

    def rate(self, model: str, day: dt.date) -> Rate:
        """The entry in force on `day` (the first entry for an earlier day)."""
        rates = self.rates(model)
        if not rates:
            raise UnpricedModel(self.unpriced_message(model))
        return next((r for r in reversed(rates) if r.effective_from <= day), rates[0])

    def price(self, model: str, day: dt.date | None = None) -> Price:
        """`model`'s price on `day` (default today, UTC: a replay made now)."""
        return self.rate(model, day or today()).price

    def unpriced_message(self, model: str) -> str:
        """One line naming the id, its route and the nearest priced ids."""
        near = difflib.get_close_matches(card_id(model), list(self.cards), n=3, cutoff=0.4)
        return (f"no price for {model!r} ({route_of(model)} route, card {card_id(model)!r}); nearest priced ids: "
                f"{', '.join(near) or 'none'}; add it to the `prices` config as "
                f"{{\"{card_id(model)}\": [USD/MTok in, out]}} (or \"{card_id(model)}@YYYY-MM-DD\" from a date)")


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def price_for(model: str, overrides: dict[str, list[float]] | None = None, day: dt.date | None = None) -> Price:
    """The price of `model` on `day` (default today); an unknown model is an error, never a free replay."""
    return RateCard(overrides).price(model, day)


def _count(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def expected_tokens(system: str, user: str, input_tokens=None, output_tokens=None) -> tuple[int, int]:
    """(input, output) tokens a replay of a captured call is expected to cost: the artifact's own
    recorded counts (the same prompt is sent again, and its answer's size is the best guess of
    the new one's), else prompt characters / 4 and no output."""
    tokens_in = _count(input_tokens)
    return (tokens_in if tokens_in is not None else (len(system or "") + len(user or "")) // 4,
            _count(output_tokens) or 0)


def _amount(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def recorded_usd(cost_usd, provider_reported_usd=None, total_usd=None) -> float | None:
    """What an artifact's calls cost by its own record, or None when it records nothing.

    `provider_reported_usd`, when present, is the billed truth for the calls `model_metadata`
    describes; `total_usd` is the family's total of all the artifact's calls when the producer made
    more than model_metadata prices (the think tank's thesis also made a pillar-assessment call,
    counted in `agent_output.cost_usd` but not in `model_metadata.cost_usd`). So: the bill plus
    the calls beyond model_metadata (total - cost), else the total, else model_metadata's cost."""
    cost, billed, total = _amount(cost_usd), _amount(provider_reported_usd), _amount(total_usd)
    extra = total - cost if total is not None and cost is not None else 0.0
    if billed is not None:
        return billed + extra
    return total if total is not None else cost


COST_COLUMNS = ["model_name", "timestamp", "input_tokens", "output_tokens", "cache_read_tokens",
                "cache_create_tokens", "cost_usd", "provider_reported_cost_usd", "total_cost_usd"]


def capture_day(timestamp, default: dt.date) -> dt.date:
    """The UTC date of an artifact's capture timestamp (`default` when it has none)."""
    try:
        stamp = dt.datetime.fromisoformat(timestamp)
    except (TypeError, ValueError):
        return default
    return (stamp.astimezone(dt.UTC) if stamp.tzinfo else stamp).date()


def artifact_costs(index: pd.DataFrame, card: RateCard, default_day: dt.date) -> pd.Series:
    """USD per LLM index row: its record (`recorded_usd`), else its tokens at the card's rate in
    force on its capture day; NaN when it records nothing and its model has no card; 0 for a
    deterministic row (no model). Columns an older index lacks count as absent."""
    rows = index.reindex(columns=COST_COLUMNS)

    def cost(row: dict) -> float:
        usd = recorded_usd(row["cost_usd"], row["provider_reported_cost_usd"], row["total_cost_usd"])
        if usd is not None:
            return usd
        if pd.isna(row["model_name"]):
            return 0.0
        if not card.priced(row["model_name"]):
            return math.nan
        tokens = [_count(row[c]) or 0 for c in ("input_tokens", "output_tokens", "cache_read_tokens",
                                               "cache_create_tokens")]
        return card.price(row["model_name"], capture_day(row["timestamp"], default_day)).usd(*tokens)

    return pd.Series([cost(r) for r in rows.to_dict("records")], index=index.index, dtype=float)


def unpriced_ids(models: pd.Series, card: RateCard) -> dict[str, int]:
    """model id -> rows of it that no card prices, by id."""
    counts = models.dropna().value_counts().sort_index()
    return {str(m): int(n) for m, n in counts.items() if not card.priced(m)}
