"""When the synthetic corpus writes what: each era's families, how many and in what order, derived
from the `Volume`s the families declare (`HiddenRule.volume`), as slots (which family, where, when,
under which run id). `corpus` makes the artifact of each slot (`Make`).
"""

import datetime as dt
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from alpha_replay_assets.families import REGISTRY
from alpha_replay_assets.family_spec.rule import Volume
from alpha_replay_assets.family_spec.synthetic import TEAMS, TICKERS
from alpha_replay_assets.sample import rules


@dataclass(frozen=True)
class Slot:
    """Where one artifact of a run goes: its run day, its folder, its time of day (s), its run id
    (the think tank's base, extended by its rule) and what the corpus fixes (team, ticker, ...)."""
    day: dt.date
    filed: dt.date
    seconds: float
    run_id: str
    scope: str | None = None


# (family, slot, rng) -> (key, body) of the artifact made for a slot
Make = Callable[[str, Slot, random.Random], tuple[str, bytes]]


def volumes(era: str) -> list[tuple[str, Volume]]:
    """(family, volume) of every registered family the corpus writes in `era`, in the producers' order."""
    return sorted(((name, v) for name, f in REGISTRY.items() if f.rule for v in f.rule.volume if v.era == era),
                  key=lambda item: (item[1].order, item[0]))


def filing_day(run_day: dt.date, trading_day_filing: bool) -> dt.date:
    """The day folder a run lands in: its own day, or for a trading-day producer a weekend run's Friday."""
    weekend = trading_day_filing and run_day.weekday() > 4
    return run_day - dt.timedelta(days=run_day.weekday() - 4) if weekend else run_day


def legacy_slots(n: int, rng: random.Random) -> Iterator[tuple[str, str | None]]:
    """The first `n` (family, scope) of a graph run day, one artifact per agent id: the `per_day`
    families, then every sector team's block (its `per_team` artifacts), team after team (the six
    real teams, then `technology_2`, ... when `n` asks for more volume); a holding family's ticker is
    held once a day."""
    legacy = volumes("legacy")
    slots: list[tuple[str, str | None]] = [(family, None) for family, v in legacy for _ in range(v.per_day)]
    block = [(family, v) for family, v in legacy for _ in range(v.per_team)]
    free: list[str] = []  # tickers not yet held today (an agent id is team:ticker, `technology_2` is `technology`)
    rounds = 0
    team_names = sorted(TEAMS)
    k = 0
    while block and len(slots) < n:
        team = team_names[k % len(team_names)] + (f"_{k // len(team_names) + 1}" if k >= len(team_names) else "")
        for family, v in block:
            if v.holding:
                if not free:  # every ticker held (from 4x volume): the next round is `ABX2`, `ABX3`, ...
                    free, rounds = [t + (str(rounds + 1) if rounds else "") for t in TICKERS], rounds + 1
                slots.append((family, f"{team}:{free.pop(rng.randrange(len(free)))}"))
            else:
                slots.append((family, v.kinds[k % len(v.kinds)] if v.kinds else team))
        k += 1
    return iter(slots[:n])


def _weekly(producer: str, members: list[tuple[str, Volume]], day: dt.date, drawn: dt.date, seed: int, scale: int,
            make: Make) -> Iterator[tuple[str, bytes]]:
    """A weekly producer's runs filed in this folder (on a Friday, for a trading-day producer:
    Friday's, Saturday's and Sunday's, stamped with Friday's date and their own time of day); its
    families share a run day's random stream and base run id."""
    for n in range(3):
        run_day, drawn_run_day = day + dt.timedelta(days=n), drawn + dt.timedelta(days=n)
        rng = random.Random(f"{seed}:{drawn_run_day.isoformat()}:{producer}")
        base = f"{rng.getrandbits(48):012x}"
        keys: set[str] = set()
        for family, v in members:
            if filing_day(drawn_run_day, rules.RULES[family].trading_day_filing) != drawn:
                continue
            for j in range(v.weekly[drawn_run_day.weekday()] * scale):
                key = None
                while key is None or key in keys:  # one artifact per (ticker, version): draw again on a repeat
                    slot = Slot(run_day, day, v.at[0] + v.at[1] * j + rng.random(), base)
                    key, body = make(family, slot, rng)
                keys.add(key)
                yield key, body


def _daily(producer: str, members: list[tuple[str, Volume]], day: dt.date, drawn: dt.date, seed: int,
           make: Make) -> Iterator[tuple[str, bytes]]:
    """A daily producer's artifacts of the day (scopes cycling through each family's `kinds`)."""
    rng = random.Random(f"{seed}:{drawn.isoformat()}:{producer}")
    for family, v in members:
        for i in range(v.per_day):
            scope = v.kinds[i % len(v.kinds)] if v.kinds else None
            slot = Slot(day, day, v.at[0] + v.at[1] * i + rng.random(), "", scope)
            yield make(family, slot, rng)


def today(day: dt.date, drawn: dt.date, seed: int, scale: int, make: Make) -> Iterator[tuple[str, bytes]]:
    """The live producers' artifacts of `day`'s folder (drawn as `drawn`'s), producer after producer
    (in their families' order); weekly producers' volume times `scale`."""
    producers: dict[str, list[tuple[str, Volume]]] = {}
    for family, v in volumes("today"):
        producers.setdefault(v.producer, []).append((family, v))
    for producer, members in producers.items():
        if any(v.weekly for _, v in members):
            yield from _weekly(producer, members, day, drawn, seed, scale, make)
        else:
            yield from _daily(producer, members, day, drawn, seed, make)
