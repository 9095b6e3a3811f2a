"""`alpha-replay verdicts`, `estimate` and `replays forget`: operator commands on the deployment the
environment points at (the same variables as the code location, `resources.environment`)."""

import argparse
import datetime as dt
import json
import re
import sys
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import pandas as pd

from alpha_replay_assets.cli_args import partition_day
from alpha_replay_assets.families import declared_targets
from alpha_replay_assets.forget import CACHED_OUTCOMES, forget, plan_forget, relaunch_commands
from alpha_replay_assets.index import read_day_index
from alpha_replay_assets.noise_ceiling import CeilingConfig
from alpha_replay_assets.paths import verdicts_key, verdicts_prefix
from alpha_replay_assets.replay.cache import ReplyCache, request_hash
from alpha_replay_assets.replay.rate_card import RateCard
from alpha_replay_assets.replay.spend_plan import ESTIMATE_COLUMNS, estimate_spend, unpriced_lines
from resources.environment import resources_from_env


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    if start > end:
        sys.exit(f"--from {start} is after --to {end}")
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def estimate_frame(store, replay_model, days: list[dt.date],
                   prices: dict | None = None) -> tuple[pd.DataFrame, list[dt.date]]:
    """Estimated spend of replaying `days` from their indexes; also the days with no index."""
    frames, missing = [], []
    for day in days:
        frame = read_day_index(store, day, columns=ESTIMATE_COLUMNS)
        if frame is None:
            missing.append(day)
        else:
            frames.append(frame.assign(day=day.isoformat()))
    index = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*ESTIMATE_COLUMNS, "day"])
    ceiling = CeilingConfig()
    return estimate_spend(index, replay_model.all_targets, ceiling.samples_per_family,
                          ceiling.replays_per_artifact, prices, replay_model.targets_for,
                          cache_probe(store, replay_model)), missing


def cache_probe(store, replay_model, workers: int = 16):
    """HEADs each request's replay-cache entry (`workers` at a time): what is cached costs nothing.
    A model no route serves is never asked, so nothing of it is cached."""
    def cached(model: str, rows: pd.DataFrame, samples: list[int]) -> list[bool]:
        if replay_model.route_problem(model):
            return [False] * len(rows)
        route, cache = replay_model.address(model), ReplyCache(store, model)
        digests = [request_hash(model, r.system_prompt, r.user_prompt, replay_model.max_tokens, sample, route=route)
                   for r, sample in zip(rows.itertuples(), samples)]
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(cache.has, digests))
    return cached


def print_estimate(table: pd.DataFrame, missing: list[dt.date], prices: dict | None = None) -> None:
    print(table.round(4).to_string(index=False) if len(table) else "(nothing eligible to replay)")
    print(f"total: ${table['usd'].sum():.2f} at standard price, ${table['usd_batch'].sum():.2f} with Message "
          f"Batches; {int(table['cached'].sum())} replies already in the replay cache are left out (they cost nothing)")
    for line in unpriced_lines(table, prices):
        print(f"unpriced: {line}")
    if missing:
        print(f"not indexed yet (not estimated): {', '.join(d.isoformat() for d in missing)}")


def _store_and_model() -> dict:
    """The store and the replay model as the definitions build them (the families' cheap targets in)."""
    return {k: resources_from_env(declared_targets())[k] for k in ("store", "replay_model")}


def estimate(args: argparse.Namespace) -> None:
    with dg.build_resources(_store_and_model()) as resources:
        table, missing = estimate_frame(resources.store, resources.replay_model, _days(args.start, args.end),
                                        args.prices)
    print(f"estimated model spend to replay {args.start}..{args.end}:")
    print_estimate(table, missing, args.prices)


def price_overrides(text: str) -> dict:
    """`--prices`: the `prices` config's JSON ({"model": [in, out]} or {"model@YYYY-MM-DD": [in, out]})."""
    try:
        prices = json.loads(text)
        RateCard(prices)
    except (ValueError, TypeError, AttributeError) as exc:
        raise argparse.ArgumentTypeError(f"not a prices object: {exc}") from None
    return prices


def replays_forget(args: argparse.Namespace) -> None:
    with dg.build_resources(_store_and_model()) as resources:
        store = resources.store
        _days(args.start, args.end)
        plan = plan_forget(store, args.start, args.end, args.target, args.outcome,
                           resources.replay_model.max_tokens, ceiling=args.ceiling)
        what = f"{'noise-ceiling' if args.ceiling else 'concordance'} replies of {args.target} " \
               f"with outcome {'/'.join(args.outcome)}, {args.start}..{args.end}"
        print(f"{len(plan.cache_keys)} cached {what}")
        for day, n in plan.per_day.items():
            print(f"  {day}: {n}")
        if plan.days_without_results:
            print(f"  no results for: {', '.join(plan.days_without_results)}")
        if not args.yes:
            print("dry run: nothing deleted (add --yes to delete them)")
            return
        audit = forget(store, plan, dt.datetime.now(dt.UTC), reason=" ".join(sys.argv[1:]) or what)
        print(f"deleted {len(plan.cache_keys)}; audit: {store.uri(audit)}")
        commands = relaunch_commands(plan, "noise_ceiling" if args.ceiling else "concordance")
        print("replay them:" if commands else "nothing to replay")
        for command in commands:
            print(f"  {command}")


# The terminal table: the call and why first, then the numbers behind it.
VERDICT_COLUMNS = {"agent_id_base": "agent", "target_model": "target", "status": "status", "why": "why",
                   "n_paired": "n", "cheap_agreement": "cheap", "ceiling_agreement": "ceiling",
                   "diff_ci_low": "diff_lo", "diff_ci_high": "diff_hi", "kappa": "kappa",
                   "rule_heldout": "rule", "usd_per_week_now": "usd/wk", "usd_saving_per_week": "saving/wk"}


def verdict_text(table: pd.DataFrame) -> str:
    """The verdicts as a terminal table (short reason in `why`) and then each full reason."""
    shown = table.assign(why=table["reason"].str.split(": ", n=1).str[0])[list(VERDICT_COLUMNS)]
    lines = [shown.rename(columns=VERDICT_COLUMNS).round(3).to_string(index=False), ""]
    lines += [f"{row.agent_id_base} ({row.target_model}): {row.status}: {row.reason}" for row in table.itertuples()]
    return "\n".join(lines)


def verdict_days(store) -> list[dt.date]:
    """Window ends with a verdict table in the bucket, oldest first."""
    found = (re.search(r"/dt=(\d{4}-\d{2}-\d{2})/verdicts\.parquet$", o["Key"])
             for o in store.list_prefix(verdicts_prefix(store)))
    return sorted(dt.date.fromisoformat(m.group(1)) for m in found if m)


def verdicts(args: argparse.Namespace) -> None:
    with dg.build_resources({"store": resources_from_env()["store"]}) as resources:
        store = resources.store
        days = verdict_days(store)
        if not days:
            sys.exit(f"no verdicts in {store.uri(verdicts_prefix(store))}: materialise agent_verdicts "
                     "(the weekly job does) first")
        day = args.day or days[-1]
        if day not in days:
            sys.exit(f"no verdicts for the window ending {day}; the newest is {days[-1]} "
                     f"(alpha-replay verdicts --day {days[-1]})")
        if args.format == "markdown":
            print(store.get_bytes(verdicts_key(store, day, "report.md")).decode())
            return
        table = store.read_parquet(verdicts_key(store, day))
        if args.format == "json":
            print(json.dumps({"window_end": day.isoformat(), "verdicts": json.loads(table.to_json(orient="records"))},
                             indent=2))
            return
        print(f"agent verdicts, window ending {day} ({store.uri(verdicts_key(store, day, 'report.md'))})")
        print(verdict_text(table))


def add_commands(commands) -> None:
    """The `verdicts`, `estimate` and `replays forget` subcommands."""
    day = partition_day
    parser = commands.add_parser("verdicts", help="print the latest verdict table from the bucket")
    parser.add_argument("--day", type=day, help="the window's end day (default: the newest with verdicts)")
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table")
    parser.set_defaults(handler=verdicts)
    parser = commands.add_parser("estimate", help="estimate model spend of replaying a period, from its index")
    parser.add_argument("--from", dest="start", type=day, required=True)
    parser.add_argument("--to", dest="end", type=day, required=True)
    parser.add_argument("--prices", type=price_overrides, default={},
                        help='price overrides as the assets\' `prices` config: \'{"model": [USD/MTok in, out]}\' '
                             'or \'{"model@YYYY-MM-DD": [in, out]}\'')
    parser.set_defaults(handler=estimate)

    replays = commands.add_parser("replays", help="the replay cache").add_subparsers(dest="action", required=True)
    parser = replays.add_parser("forget", help="forget cached replies of a period and outcome (dry by default)")
    parser.add_argument("--from", dest="start", type=day, required=True)
    parser.add_argument("--to", dest="end", type=day, required=True)
    parser.add_argument("--target", required=True, help="the model whose replies to forget")
    parser.add_argument("--outcome", action="append", required=True, choices=CACHED_OUTCOMES,
                        help="repeatable")
    parser.add_argument("--ceiling", action="store_true", help="noise-ceiling replays (the original model's)")
    parser.add_argument("--yes", action="store_true", help="really delete (and write the audit object)")
    parser.set_defaults(handler=replays_forget)
