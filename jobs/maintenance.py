"""`alpha-replay estimate` and `alpha-replay replays forget`: operator commands on the deployment
the environment points at (the same variables as the code location, `resources.environment`)."""

import argparse
import datetime as dt
import json
import sys

import dagster as dg
import pandas as pd

from alpha_replay_assets.cli_args import partition_day
from alpha_replay_assets.costs import RateCard
from alpha_replay_assets.forget import forget, plan_forget
from alpha_replay_assets.index import read_day_index
from alpha_replay_assets.noise_ceiling import CeilingConfig
from alpha_replay_assets.spend import ESTIMATE_COLUMNS, estimate_spend, unpriced_lines
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
    return estimate_spend(index, replay_model.target_models, ceiling.samples_per_family,
                          ceiling.replays_per_artifact, prices), missing


def print_estimate(table: pd.DataFrame, missing: list[dt.date], prices: dict | None = None) -> None:
    print(table.round(4).to_string(index=False) if len(table) else "(nothing eligible to replay)")
    print(f"total: ${table['usd'].sum():.2f} at standard price, ${table['usd_batch'].sum():.2f} with Message "
          "Batches (replies already in the replay cache cost nothing)")
    for line in unpriced_lines(table, prices):
        print(f"unpriced: {line}")
    if missing:
        print(f"not indexed yet (not estimated): {', '.join(d.isoformat() for d in missing)}")


def estimate(args: argparse.Namespace) -> None:
    with dg.build_resources({k: resources_from_env()[k] for k in ("store", "replay_model")}) as resources:
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
    with dg.build_resources({k: resources_from_env()[k] for k in ("store", "replay_model")}) as resources:
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
        asset = "noise_ceiling" if args.ceiling else "concordance"
        print(f"replay them: dg launch --assets {asset} --partition-range {args.start}...{args.end}")


def add_commands(commands) -> None:
    """The `estimate` and `replays forget` subcommands."""
    day = partition_day
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
    parser.add_argument("--outcome", action="append", required=True, choices=["schema_error", "structured"],
                        help="repeatable")
    parser.add_argument("--ceiling", action="store_true", help="noise-ceiling replays (the original model's)")
    parser.add_argument("--yes", action="store_true", help="really delete (and write the audit object)")
    parser.set_defaults(handler=replays_forget)
