"""The synthetic world the hidden rules draw from (tickers, sectors, teams, prose) and the prompt
rendering they share. Only the corpus generator and the loopback model use it (through each
family's `HiddenRule`); the shapes follow docs/real-shapes.md, the values are ours.
"""

import datetime as dt
import json
import random
import re
from collections.abc import Callable

# Sector names as the producers write them (macro sector_modifiers, board rows, prior theses).
SECTORS = ("Technology", "Healthcare", "Financial", "Industrials", "Consumer Discretionary", "Consumer Staples",
           "Energy", "Utilities", "Real Estate", "Materials", "Communication Services")
# The research graph's six sector teams (agent ids `sector_quant:technology`, ...) and what they cover.
TEAMS = {"technology": ("Technology", "Communication Services"), "healthcare": ("Healthcare",),
         "financials": ("Financial", "Real Estate"), "industrials": ("Industrials", "Materials"),
         "consumer": ("Consumer Discretionary",), "defensives": ("Consumer Staples", "Energy", "Utilities")}
TICKERS = tuple(f"{a}{b}{c}" for a in "ABCDEFGHKLMNPRSTVW" for b in "AEIOU" for c in "XYZ")  # 270 fake tickers
GRAPH_MODEL = "claude-haiku-4-5-20251001"  # the sector families and thesis_update (the dated id the API reports)
GRAPH_LEAD_MODEL = "claude-sonnet-4-6"  # macro_economist and ic_cio
CODE_SHA = "5d1c0e4b9a7f3e2d8c6b1a0f9e8d7c6b5a4f3e2d"  # graph artifacts carry the image's 40-hex commit


def snake(sector: str) -> str:
    """`Communication Services` -> `communication_services` (the think tank's theme keys)."""
    return sector.lower().replace(" ", "_")


def team_of(scope: str) -> str:
    """The real team an overflow team id (`technology_2`, for volume) stands for."""
    return scope.split("_")[0] if scope.split("_")[0] in TEAMS else scope


def tickers_of(team: str, n: int, rng: random.Random) -> list[str]:
    """`n` tickers of a team's universe: each team draws from its own slice of TICKERS."""
    names = sorted(TEAMS)
    i = names.index(team_of(team)) if team_of(team) in TEAMS else 0
    pool = TICKERS[i::len(names)]
    return rng.sample(pool, min(n, len(pool)))


# Filler for long inputs (filings excerpts, news, prose): real-looking words, so token similarity
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


def phrases(rng: random.Random, pool: tuple[str, ...], lo: int, hi: int) -> list[str]:
    """`lo`..`hi` distinct short phrases of `pool` (risks, catalysts, drivers, headlines)."""
    return rng.sample(pool, rng.randint(lo, min(hi, len(pool))))


def iso(day: dt.date, seconds: float) -> str:
    """A producer timestamp: UTC, `+00:00`, microseconds."""
    moment = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    return moment.isoformat(timespec="microseconds")


# -- prompts ----------------------------------------------------------------------------------
# A rendered user prompt is the producer's template prose followed by the data it embeds, one
# section per snapshot key: a `### key` line, then the value as one line of JSON. The loopback
# model reads the sections back; a prompt without them (an unrendered template) carries no data.

SECTION = re.compile(r"^### ([a-z0-9_]+)$")


def render(template: str, snapshot: dict, keys: tuple[str, ...] | None) -> str:
    """The template's prose (slots dropped) with the snapshot's `keys` (all when None) appended."""
    prose = re.sub(r"\{[a-z_]+\}", "(below)", template)
    body = "\n".join(f"### {k}\n{json.dumps(snapshot[k], sort_keys=True)}"
                     for k in (keys if keys is not None else sorted(snapshot)) if k in snapshot)
    return f"{prose}\n\n{body}\n"


def read_sections(user_prompt: str) -> dict:
    """The data sections of a rendered prompt (empty for a template or any other text)."""
    lines, found = user_prompt.splitlines(), {}
    for i, line in enumerate(lines[:-1]):
        match = SECTION.match(line)
        if match:
            try:
                found[match.group(1)] = json.loads(lines[i + 1])
            except json.JSONDecodeError:
                continue
    return found


STUB_SYSTEM = ("<system prompt for agent_id='{agent_id}'> not yet plumbed: "
               "the cost tracker recorded this graph call without it")
STUB_AGENT = re.compile(r"^<system prompt for agent_id='([^']+)'>")


def stub_system(agent_id: str) -> str:
    """The graph cost tracker's placeholder system prompt (docs/real-shapes.md §4), on every graph artifact."""
    return STUB_SYSTEM.format(agent_id=agent_id)


def worked_examples(snapshot: Callable[[random.Random, dt.date, str | None], dict],
                    decide: Callable[[dict, random.Random, float], dict], n: int, seed: str) -> str:
    """`n` worked examples for a long system prompt: input snapshots of the family's own kind and
    the decision its rule takes on them (noise-free)."""
    rng = random.Random(seed)
    examples = []
    for i in range(1, n + 1):
        example = snapshot(rng, dt.date(2026, 7, 1), None)
        examples.append(f"Worked example {i}\nInput snapshot:\n{json.dumps(example, sort_keys=True)}\n"
                        f"Reply:\n{json.dumps(decide(example, rng, 0.0))}")
    return "\n\n".join(examples)
