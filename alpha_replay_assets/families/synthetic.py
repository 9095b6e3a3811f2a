"""The synthetic world the hidden rules draw from: tickers, sectors, words. Only the corpus
generator and the loopback model use it (through each family's `HiddenRule`)."""

import json
import random
from collections.abc import Callable

SECTORS = ("technology", "healthcare", "financials", "energy", "industrials", "consumer", "utilities")
TICKERS = tuple(f"{a}{b}{c}" for a in "ABCDEFGHKLMNPRSTVW" for b in "AEIOU" for c in "XYZ")  # 270 fake tickers
STANCES = ("bullish", "neutral", "bearish")

# Filler for long inputs (filings excerpts, news bodies): real-looking words, so token similarity
# and prompt sizes behave as they do on production text.
FILLER = (
    "revenue growth margin segment customers pricing demand supply inventory backlog guidance "
    "liquidity covenant debt refinancing capital expenditure depreciation impairment goodwill "
    "competition regulation litigation tariff currency headwind tailwind adoption subscription "
    "retention churn operating leverage dividend buyback acquisition integration synergy outlook "
    "quarter fiscal year management believes expects risk factors material adverse uncertainty"
).split()


def clip(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def pick_words(rng: random.Random, *pool: str) -> str:
    """Four words of `pool` in random order: two replies of one rule share most, not all, words."""
    return " ".join(rng.sample(pool, k=min(len(pool), 4)))


def filler(rng: random.Random, n_bytes: int) -> str:
    """About `n_bytes` of plausible prose."""
    return " ".join(rng.choices(FILLER, k=max(1, n_bytes // 9)))


def worked_examples(snapshot: Callable[[random.Random], dict], decide: Callable[[dict, random.Random, float], dict],
                    n: int, seed: str) -> str:
    """`n` worked examples for a family's system prompt, as production prompts carry them: input
    snapshots of the family's own kind and the decision its rule takes on them (noise-free)."""
    rng = random.Random(seed)
    examples = []
    for i in range(1, n + 1):
        example = snapshot(rng)
        examples.append(f"Worked example {i}\nInput snapshot:\n{json.dumps(example, sort_keys=True)}\n"
                        f"Reply:\n{json.dumps(decide(example, rng, 0.0))}")
    return "\n\n".join(examples)
