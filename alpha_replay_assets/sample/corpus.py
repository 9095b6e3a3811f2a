"""Seed a realistic synthetic decision-artifact corpus into any S3 endpoint.

Deterministic for a seed: the same (seed, day, per_day) always yields the same objects, so tests,
the quick start and the benchmark can all rebuild the corpus they describe.
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

from alpha_replay_assets.families import PLACEHOLDER_MARKER
from alpha_replay_assets.keys import day_prefix
from alpha_replay_assets.sample import rules

# Production mix, ~585 artifacts a day (agent_id prefix, weight).
MIX = (
    ("sector_quant", 90),
    ("sector_qual", 90),
    ("sector_peer_review", 60),
    ("macro_economist", 25),
    ("ic_cio", 40),
    ("thesis_update", 150),
    ("thinktank_thesis", 40),
    ("thinktank_theme", 30),
    ("executor", 60),
)
MODEL = "claude-opus-4-1"
BAD_KINDS = ("malformed_json", "not_utf8", "missing_field", "wrong_type", "unknown_agent", "bad_key", "oversized")


@dataclass(frozen=True)
class CorpusSpec:
    per_day: int = 585
    seed: int = 7
    bad_fraction: float = 0.01
    placeholder_fraction: float = 0.02
    truncated_fraction: float = 0.02
    large_fraction: float = 0.02  # snapshots of a few hundred KB (news bodies), as in production
    large_bytes: int = 200_000
    oversized_bytes: int = 5 * 1024 * 1024
    noise: float = 0.08


def _agent_id(family: str, rng: random.Random) -> str:
    if family.startswith("sector_"):
        return f"{family}:{rng.choice(rules.SECTORS)}"
    if family == "thesis_update":
        return f"thesis_update:{rng.choice(rules.SECTORS)[:4]}:{rng.choice(rules.TICKERS)}"
    if family == "executor":
        return f"executor:{rng.choice(['risk_guard', 'order_router'])}"
    return family


def _artifact(family: str, agent_id: str, run_id: str, ts: dt.datetime, rng: random.Random, spec: CorpusSpec) -> dict:
    snapshot = rules.make_snapshot(family, rng)
    if rng.random() < spec.large_fraction:
        snapshot["news_bodies"] = ["".join(rng.choices("abcdefgh ", k=1000)) for _ in range(spec.large_bytes // 1000)]
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
    if family == "executor":
        return doc | {"model_metadata": None, "full_prompt_context": None, "input_data_snapshot": snapshot,
                      "agent_output": {"orders_blocked": rng.randint(0, 3), "limit_breaches": []}}
    raw = rules.decide(family, snapshot, rng, spec.noise)
    system, user = rules.system_prompt(family), rules.user_prompt(snapshot)
    if rng.random() < spec.placeholder_fraction:
        system, user = f"[{PLACEHOLDER_MARKER}]", ""
    if rng.random() < spec.truncated_fraction:
        snapshot = dict(snapshot)
        field = next(iter(snapshot))
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
        "agent_output": rules.post_process(family, raw),
    }


def _bad(kind: str, prefix: str, day: dt.datetime, i: int, rng: random.Random, spec: CorpusSpec) -> tuple[str, bytes]:
    good = _artifact("ic_cio", "ic_cio", f"bad-{i}", day, rng, spec)
    key = f"{prefix}ic_cio/bad-{kind}-{i}.json"
    if kind == "malformed_json":
        return key, json.dumps(good).encode()[:-20]
    if kind == "not_utf8":
        return key, b'{"schema_version": 2, "run_id": "\xff\xfe"}'
    if kind == "missing_field":
        return key, json.dumps({k: v for k, v in good.items() if k != "agent_output"}).encode()
    if kind == "wrong_type":
        return key, json.dumps(good | {"schema_version": "two"}).encode()
    if kind == "unknown_agent":
        return f"{prefix}mystery_agent/bad-{i}.json", json.dumps(good | {"agent_id": "mystery_agent"}).encode()
    if kind == "bad_key":
        return f"{prefix}ic_cio/{i}/../notes-{i}.txt", b"{}"
    if kind == "oversized":
        return key, json.dumps(good | {"padding": "x" * spec.oversized_bytes}).encode()
    raise ValueError(kind)


def day_objects(day: dt.date, capture_prefix: str, spec: CorpusSpec) -> Iterator[tuple[str, bytes]]:
    """(key, body) for every object of one day folder."""
    rng = random.Random(f"{spec.seed}:{day.isoformat()}")
    prefix = day_prefix(capture_prefix, day)
    total = sum(w for _, w in MIX)
    families = [f for f, w in MIX for _ in range(w)]
    start = dt.datetime.combine(day, dt.time(6), tzinfo=dt.UTC)
    n_bad = round(spec.per_day * spec.bad_fraction)
    for i in range(spec.per_day - n_bad):
        family = families[(i * total // max(1, spec.per_day - n_bad)) % total]
        agent_id = _agent_id(family, rng)
        run_id = f"{day:%Y%m%d}-{i:04d}-{rng.getrandbits(32):08x}"
        ts = start + dt.timedelta(seconds=i * 97)
        yield f"{prefix}{agent_id}/{run_id}.json", json.dumps(_artifact(family, agent_id, run_id, ts, rng, spec)).encode()
    for i in range(n_bad):
        yield _bad(BAD_KINDS[i % len(BAD_KINDS)], prefix, start, i, rng, spec)


def seed(client, bucket: str, days: list[dt.date], spec: CorpusSpec, capture_prefix: str = "decision_artifacts",
         workers: int = 16) -> int:
    """Write the corpus for `days`; returns the number of objects written."""
    def put(item: tuple[str, bytes]) -> None:
        client.put_object(Bucket=bucket, Key=item[0], Body=item[1], ContentType="application/json")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return sum(1 for _ in pool.map(put, (o for d in days for o in day_objects(d, capture_prefix, spec))))


def window(end: dt.date, n_days: int) -> list[dt.date]:
    return [end - dt.timedelta(days=n) for n in reversed(range(n_days))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint-url", help="S3-compatible endpoint (omit for AWS)")
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--end", type=dt.date.fromisoformat, default=dt.date.today() - dt.timedelta(days=1))
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--per-day", type=int, default=CorpusSpec.per_day)
    parser.add_argument("--seed", type=int, default=CorpusSpec.seed)
    parser.add_argument("--bad-fraction", type=float, default=CorpusSpec.bad_fraction)
    args = parser.parse_args(argv)
    client = boto3.client("s3", endpoint_url=args.endpoint_url, config=BotoConfig(max_pool_connections=16))
    spec = CorpusSpec(per_day=args.per_day, seed=args.seed, bad_fraction=args.bad_fraction)
    n = seed(client, args.bucket, window(args.end, args.days), spec)
    print(f"wrote {n} objects to s3://{args.bucket}/ for {args.days} days ending {args.end}")
