"""What a replay costs, from the usage the API reports (domain §2.2: tokens and USD per replay)."""

import math
from dataclasses import dataclass


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


DEFAULT_PRICES = {
    "claude-haiku-4-5": Price(1.0, 5.0),
    "claude-sonnet-4-5": Price(3.0, 15.0),
    "claude-opus-4-1": Price(15.0, 75.0),
}


def price_for(model: str, overrides: dict[str, list[float]] | None = None) -> Price:
    """The price of `model`; an unknown model is an error, never a free replay."""
    if overrides and model in overrides:
        return Price(*overrides[model])
    try:
        return DEFAULT_PRICES[model]
    except KeyError:
        raise KeyError(f"no price for model {model!r}: add it to the concordance config `prices`") from None


def priced(model: str, overrides: dict[str, list[float]] | None = None) -> bool:
    return bool(overrides and model in overrides) or model in DEFAULT_PRICES


def _count(value) -> int | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else int(value)


def expected_tokens(system: str, user: str, input_tokens=None, output_tokens=None) -> tuple[int, int]:
    """(input, output) tokens a replay of a captured call is expected to cost: the artifact's own
    recorded counts (the same prompt is sent again, and its answer's size is the best guess of
    the new one's), else prompt characters / 4 and no output."""
    tokens_in = _count(input_tokens)
    return (tokens_in if tokens_in is not None else (len(system or "") + len(user or "")) // 4,
            _count(output_tokens) or 0)
