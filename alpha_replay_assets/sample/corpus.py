"""Seed a realistic synthetic decision-artifact corpus into any S3 endpoint.

Deterministic for a seed: the same (seed, day, spec) always yields the same objects, so tests,
the quick start and the benchmark can all rebuild the corpus they describe. `--mix` says which
era: `legacy` (the six graph families at ~585 a day, until mid-2026), `today` (the think tank at
its real weekly volume, weekend runs filed under Friday, plus the executors) or `both`. Every mix
carries a few valid artifacts of `mystery_agent`, a family alpha-replay does not know, and the
legacy part 1% of really bad objects. `--sizes` says how big: `small` (the rules' own snapshots,
a few KB: fast tests) or `production` (each family's artifacts as large as production's, e.g.
sector_qual 300-400 KB, from the `production_bytes` its rule declares: benchmarks).
"""


import argparse
import datetime as dt
import json
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import boto3
from botocore.config import Config as BotoConfig

from alpha_replay_assets.artifacts import PLACEHOLDER_MARKER
from alpha_replay_assets.cli_args import check_window, partition_day, positive_int
from alpha_replay_assets.families import REGISTRY
from alpha_replay_assets.families.synthetic import filler
from alpha_replay_assets.keys import day_prefix
from alpha_replay_assets.sample import rules, unregistered
from resources.bounded import ordered_map

MIXES = ("legacy", "today", "both")
SIZES = ("small", "production")
DOCUMENT_BYTES = 4000  # one padding document (a news body, a filings excerpt)
# legacy: the six graph families' production mix until mid-2026 (weights, scaled to `per_day`).
LEGACY_MIX = (
    ("sector_quant", 90),
    ("sector_qual", 90),
    ("sector_peer_review", 60),
    ("macro_economist", 25),
    ("ic_cio", 40),
    ("thesis_update", 150),
    ("executor", 60),
)
# today: the live producers at their measured volume (domain §1.4: 71 theses + 12 themes in 7
# days), runs per weekday Mon..Sun; weekend runs are filed in Friday's folder.
THINK_TANK_RUNS = {
    "thinktank_thesis": (10, 10, 10, 10, 11, 10, 10),
    "thinktank_theme": (2, 2, 2, 2, 1, 2, 1),
}
TODAY_EXECUTORS_PER_DAY = 12
MODEL = "claude-opus-4-1"
BAD_KINDS = ("malformed_json", "not_utf8", "missing_field", "wrong_type", "bad_key", "oversized")


@dataclass(frozen=True)
class CorpusSpec:
    per_day: int = 585  # legacy artifacts a day, bad objects included
    mix: str = "both"  # legacy | today | both
    sizes: str = "small"  # small | production
    unregistered_per_day: int = 3  # valid artifacts of `mystery_agent`, a family alpha-replay does not know
    seed: int = 7
    bad_fraction: float = 0.01
    placeholder_fraction: float = 0.02
    truncated_fraction: float = 0.02
    large_fraction: float = 0.02  # snapshots of a few hundred KB (news bodies), as in production
    large_bytes: int = 200_000
    oversized_bytes: int = 5 * 1024 * 1024
    noise: float = 0.08
    # Draw each day's content as if it were the day `draw_offset_days` later: the tests pin their
    # corpus to fixed dates (same objects, same sizes, same weekdays) whatever the calendar says.
    draw_offset_days: int = 0

    def draw_day(self, day: dt.date) -> dt.date:
        """The day whose random draws make `day`'s folder."""
        return day + dt.timedelta(days=self.draw_offset_days)

    def __post_init__(self):
        if self.mix not in MIXES:
            raise ValueError(f"mix must be one of {MIXES}, not {self.mix!r}")
        if self.sizes not in SIZES:
            raise ValueError(f"sizes must be one of {SIZES}, not {self.sizes!r}")


def _artifact(family: str, run_id: str, ts: dt.datetime, rng: random.Random, spec: CorpusSpec) -> dict:
    """One artifact of `family` made by its hidden rule; the rule names the agent id and may
    extend the pipeline's run id (think tank: ticker and version)."""
    rule = rules.RULES[family]
    snapshot = rule.snapshot(rng)
    agent_id = rule.agent_id(snapshot) if rule.agent_id else family
    run_id += rule.run_suffix(snapshot) if rule.run_suffix else ""
    if spec.sizes == "production" and rule.production_bytes:
        # its own random stream: the same artifacts as at small sizes, only bigger
        padding = random.Random(f"{spec.seed}:{run_id}:padding")
        _pad(snapshot, padding, padding.randint(*rule.production_bytes))
    if rng.random() < spec.large_fraction:
        snapshot["news_bodies"] = [filler(rng, 1000) for _ in range(spec.large_bytes // 1000)]
    doc = {
        "schema_version": 2,
        "run_id": run_id,
        "timestamp": ts.isoformat(),
        "agent_id": agent_id,
        "input_data_summary": f"{family} input, {len(json.dumps(snapshot))} bytes",
        "input_data_truncated_at": None,
        "code_sha": "3f9c2ab",
        "data_snapshot_id": f"px-{ts:%Y%m%d}",
    }
    if family in REGISTRY and not REGISTRY[family].is_llm:
        return doc | {"model_metadata": None, "full_prompt_context": None, "input_data_snapshot": snapshot,
                      "agent_output": rule.decide(snapshot, rng, 0.0)}
    raw = rule.decide(snapshot, rng, spec.noise)
    system, user = rules.system_prompt(family), rules.user_prompt(snapshot)
    if rng.random() < spec.placeholder_fraction:
        system, user = f"[{PLACEHOLDER_MARKER}]", ""
    if rng.random() < spec.truncated_fraction:
        snapshot = dict(snapshot)
        field = max(snapshot, key=lambda k: len(json.dumps(snapshot[k])))  # the producer truncates the largest
        snapshot[field] = {"_truncated": True, "original_field": field, "original_size_bytes": 1_200_000}
        doc["input_data_truncated_at"] = 1_000_000
    input_tokens = len(system + user) // 4
    output_tokens = len(json.dumps(raw)) // 4
    return doc | {
        "model_metadata": {
            "model_name": MODEL, "model_version": "2026-08", "input_tokens": input_tokens,
            "output_tokens": output_tokens, "cache_read_tokens": 0, "cache_create_tokens": 0,
            "cost_usd": round(input_tokens * 15e-6 + output_tokens * 75e-6, 6), "run_type": "weekly",
            "node_name": family, "sector_team_id": None, "prompt_id": family, "prompt_version": "v3",
        },
        "full_prompt_context": {"system_prompt": system, "user_prompt": user, "tool_definitions": [],
                                "prompt_version_hash": None},
        "input_data_snapshot": snapshot,
        "agent_output": rule.post_process(raw),
    }


def _pad(snapshot: dict, rng: random.Random, artifact_bytes: int) -> None:
    """Add the bulk text a production snapshot carries (news bodies, filings, data series) so the
    artifact is about `artifact_bytes`: the snapshot is stored twice, as itself and inside the
    user prompt, so half of the missing bytes go into it."""
    missing = artifact_bytes - 2 * len(json.dumps(snapshot)) - 2000  # ~2 KB of metadata and output
    whole, rest = divmod(max(0, missing // 2), DOCUMENT_BYTES)
    snapshot["context_documents"] = [filler(rng, DOCUMENT_BYTES) for _ in range(whole)] + ([filler(rng, rest)] if rest else [])


def _object(prefix: str, doc: dict) -> tuple[str, bytes]:
    return f"{prefix}{doc['agent_id']}/{doc['run_id']}.json", json.dumps(doc).encode()


def _bad(kind: str, prefix: str, day: dt.datetime, i: int, rng: random.Random, spec: CorpusSpec) -> tuple[str, bytes]:
    good = _artifact("ic_cio", f"bad-{i}", day, rng, spec)
    key = f"{prefix}ic_cio/bad-{kind}-{i}.json"
    if kind == "malformed_json":
        return key, json.dumps(good).encode()[:-20]
    if kind == "not_utf8":
        return key, b'{"schema_version": 2, "run_id": "\xff\xfe"}'
    if kind == "missing_field":
        return key, json.dumps({k: v for k, v in good.items() if k != "agent_output"}).encode()
    if kind == "wrong_type":
        return key, json.dumps(good | {"schema_version": "two"}).encode()
    if kind == "bad_key":
        return f"{prefix}ic_cio/{i}/../notes-{i}.txt", b"{}"
    if kind == "oversized":
        return key, json.dumps(good | {"padding": "x" * spec.oversized_bytes}).encode()
    raise ValueError(kind)


def filing_day(run_day: dt.date, trading_day_filing: bool) -> dt.date:
    """The day folder a run lands in: its own day, or for a trading-day producer a weekend run's Friday."""
    return run_day - dt.timedelta(days=run_day.weekday() - 4) if trading_day_filing and run_day.weekday() > 4 else run_day


def _legacy(day: dt.date, prefix: str, rng: random.Random, spec: CorpusSpec) -> Iterator[tuple[str, bytes]]:
    total = sum(w for _, w in LEGACY_MIX)
    families = [f for f, w in LEGACY_MIX for _ in range(w)]
    start = dt.datetime.combine(day, dt.time(6), tzinfo=dt.UTC)
    n_bad = round(spec.per_day * spec.bad_fraction)
    for i in range(spec.per_day - n_bad):
        family = families[(i * total // max(1, spec.per_day - n_bad)) % total]
        run_id = f"{day:%Y%m%d}-{i:04d}-{rng.getrandbits(32):08x}"
        yield _object(prefix, _artifact(family, run_id, start + dt.timedelta(seconds=i * 97), rng, spec))
    for i in range(n_bad):
        yield _bad(BAD_KINDS[i % len(BAD_KINDS)], prefix, start, i, rng, spec)


def _today(day: dt.date, prefix: str, spec: CorpusSpec) -> Iterator[tuple[str, bytes]]:
    """The think tank's runs filed in this folder (on a Friday: Friday's, Saturday's and
    Sunday's), then the day's executors."""
    drawn = spec.draw_day(day)
    for n in range(3):
        run_day, drawn_run_day = day + dt.timedelta(days=n), drawn + dt.timedelta(days=n)
        rng = random.Random(f"{spec.seed}:{drawn_run_day.isoformat()}:thinktank")
        base = f"tt{run_day:%Y%m%d}-{rng.getrandbits(32):08x}"
        start, keys = dt.datetime.combine(run_day, dt.time(13), tzinfo=dt.UTC), set()
        for family, weekly in THINK_TANK_RUNS.items():
            if filing_day(drawn_run_day, rules.RULES[family].trading_day_filing) != drawn:
                continue
            for j in range(weekly[drawn_run_day.weekday()]):
                key = None
                while key is None or key in keys:  # one artifact per (ticker, version): draw again on a repeat
                    key, body = _object(prefix, _artifact(family, base, start + dt.timedelta(seconds=j * 173), rng, spec))
                keys.add(key)
                yield key, body
    rng = random.Random(f"{spec.seed}:{drawn.isoformat()}:executors")
    start = dt.datetime.combine(day, dt.time(14), tzinfo=dt.UTC)
    for i in range(TODAY_EXECUTORS_PER_DAY):
        run_id = f"{day:%Y%m%d}-x{i:03d}-{rng.getrandbits(32):08x}"
        yield _object(prefix, _artifact("executor", run_id, start + dt.timedelta(seconds=i * 300), rng, spec))


def day_objects(day: dt.date, capture_prefix: str, spec: CorpusSpec) -> Iterator[tuple[str, bytes]]:
    """(key, body) for every object of one day folder."""
    prefix = day_prefix(capture_prefix, day)
    if spec.mix in ("legacy", "both"):
        yield from _legacy(day, prefix, random.Random(f"{spec.seed}:{spec.draw_day(day).isoformat()}"), spec)
    if spec.mix in ("today", "both"):
        yield from _today(day, prefix, spec)
    rng = random.Random(f"{spec.seed}:{spec.draw_day(day).isoformat()}:{unregistered.NAME}")
    start = dt.datetime.combine(day, dt.time(7), tzinfo=dt.UTC)
    for i in range(spec.unregistered_per_day):
        run_id = f"{day:%Y%m%d}-u{i:03d}-{rng.getrandbits(32):08x}"
        yield _object(prefix, _artifact(unregistered.NAME, run_id, start + dt.timedelta(seconds=i * 613), rng, spec))


def seed(client, bucket: str, days: list[dt.date], spec: CorpusSpec, capture_prefix: str = "decision_artifacts",
         workers: int = 16) -> int:
    """Write the corpus for `days`; returns the number of objects written."""
    def put(item: tuple[str, bytes]) -> None:
        client.put_object(Bucket=bucket, Key=item[0], Body=item[1], ContentType="application/json")

    # bounded: a 16x production week is 4.7 GB, generated faster than it is written
    with ThreadPoolExecutor(max_workers=workers) as pool:
        objects = (o for d in days for o in day_objects(d, capture_prefix, spec))
        return sum(1 for _ in ordered_map(put, objects, pool, 2 * workers))


def window(end: dt.date, n_days: int) -> list[dt.date]:
    return [end - dt.timedelta(days=n) for n in reversed(range(n_days))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint-url", help="S3-compatible endpoint (omit for AWS)")
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--end", type=partition_day, default=dt.date.today() - dt.timedelta(days=1))
    parser.add_argument("--days", type=positive_int, default=14)
    parser.add_argument("--mix", choices=MIXES, default=CorpusSpec.mix,
                        help="legacy: the six graph families (until mid-2026); today: the think tank at its "
                             "real weekly volume + executors; both (default)")
    parser.add_argument("--per-day", type=positive_int, default=CorpusSpec.per_day, help="legacy artifacts a day")
    parser.add_argument("--sizes", choices=SIZES, default=CorpusSpec.sizes,
                        help="small: a few KB an artifact (fast); production: each family's production sizes")
    parser.add_argument("--unregistered-per-day", type=int, default=CorpusSpec.unregistered_per_day)
    parser.add_argument("--seed", type=int, default=CorpusSpec.seed)
    parser.add_argument("--bad-fraction", type=float, default=CorpusSpec.bad_fraction)
    args = parser.parse_args(argv)
    check_window(parser, args.end, args.days)
    client = boto3.client("s3", endpoint_url=args.endpoint_url, config=BotoConfig(max_pool_connections=16))
    spec = CorpusSpec(per_day=args.per_day, mix=args.mix, unregistered_per_day=args.unregistered_per_day,
                      seed=args.seed, bad_fraction=args.bad_fraction, sizes=args.sizes)
    n = seed(client, args.bucket, window(args.end, args.days), spec)
    print(f"wrote {n} objects ({args.mix} mix) to s3://{args.bucket}/ for {args.days} days ending {args.end}")


if __name__ == "__main__":
    main()
