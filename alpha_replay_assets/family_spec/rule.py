"""The synthetic corpus's side of a family: its hidden rule (how the producer's artifacts are made
and how the loopback model answers its prompts) and its volume (how many artifacts the corpus
writes, in which era and rhythm). Declared beside the family; `sample/` only reads it.
"""

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    """What the corpus tells a hidden rule about the run an artifact comes from."""
    day: dt.date  # the run's own (calendar) day
    filed: dt.date  # the day folder it lands in (the think tank files weekend runs under Friday)
    call_cost: float  # model_metadata.cost_usd of the captured call


ERAS = ("legacy", "today")  # the corpus's `mix`: the research graph until mid-2026, or the live producers


@dataclass(frozen=True)
class Volume:
    """How many artifacts of a family the synthetic corpus writes, in one era, in its producer's
    rhythm. `legacy` is the research graph's daily run (run id = the date, one artifact per agent
    id): `per_day` artifacts head the day, `per_team` go in every sector team's block (`holding`:
    each for one held ticker, scope `team:TICKER`). `today` families of one `producer` share its
    random stream and its runs: `weekly` runs per weekday (Mon..Sun, times the spec's scale) with
    one base run id a run day, or `per_day` artifacts a day; `at` = (first second of the day,
    seconds between artifacts). `order` places the family among its era's (the producers' order);
    a scope cycles through `kinds` when given (by team in a legacy day, by artifact today)."""
    era: str
    order: int
    per_day: int = 0
    per_team: int = 0
    holding: bool = False
    weekly: tuple[int, ...] = ()
    producer: str = ""
    at: tuple[float, float] = (0.0, 0.0)
    kinds: tuple[str, ...] = ()
    broken_copies: bool = False  # legacy: the day's really bad objects are broken copies of this family's

    def __post_init__(self):
        if self.era not in ERAS:
            raise ValueError(f"era must be one of {ERAS}, not {self.era!r}")
        if self.weekly and len(self.weekly) != 7:
            raise ValueError("weekly: one count per weekday, Mon..Sun")


@dataclass(frozen=True)
class HiddenRule:
    """How the synthetic corpus makes this family's artifacts in the producer's real shapes, and
    how the loopback model answers its prompts: the same rule on the same snapshot with different
    noise (`noise` = the probability of flipping a decision). Lives beside the family; `sample/`
    only calls it."""
    # (rng, run day, scope) -> input_data_snapshot with the producer's keys; scope = what the
    # corpus fixes for one agent id of a day (a team, "team:TICKER", an executor), or None
    snapshot: Callable[[random.Random, dt.date, str | None], dict]
    # (the prompt's data, rng, noise) -> the model's raw reply (the producer's response model);
    # reads only the snapshot keys the rendered user prompt carries (`sections`)
    decide: Callable[[dict, random.Random, float], dict]
    # (raw reply, snapshot, run, rng) -> the stored agent_output (the producer's post-processing)
    post_process: Callable[[dict, dict, Run, random.Random], dict]
    model: str  # model_metadata.model_name the producer records
    # The producer's prompts: its system prompt for a snapshot, and its user template. The think
    # tank and macro/ic_cio render the template with `sections` of the snapshot; the other graph
    # families captured the template unrendered (`{slot}` fields, no data).
    system: Callable[[dict], str]
    template: str
    sections: tuple[str, ...] | None = None  # snapshot keys the rendered user prompt embeds (None: all)
    rendered: bool = False  # the producer captured the rendered user prompt
    # research-graph families: (node_name, prompt_id) of model_metadata; the graph's cost tracker
    # captured a placeholder system prompt for all of them. None: the think tank (real prompts).
    graph: tuple[str, str] | None = None
    agent_id: Callable[[dict], str] | None = None  # from the snapshot; None = the family name
    run_suffix: Callable[[dict], str] | None = None  # think tank: appended to the run's base id (from the output)
    trading_day_filing: bool = False  # weekend runs are filed in Friday's folder
    # (low, high) bytes of a production artifact, when its snapshot carries bulk text the rule
    # itself does not make: a `sizes="production"` corpus pads up to a size drawn from this range.
    production_bytes: tuple[int, int] | None = None
    volume: tuple[Volume, ...] = ()  # the family's share of the corpus, per era (none: the corpus never writes it)
