"""Seed a realistic synthetic decision-artifact corpus into any S3 endpoint.

Deterministic for a seed: the same (seed, day, spec) always yields the same objects, so tests,
the quick start and the benchmark can all rebuild the corpus they describe. The artifacts are in
the producers' real shapes (docs/real-shapes.md; README "What real artifacts look
like"): the envelope with every field present and 20 model_metadata keys, keys and run ids per
producer, each family's post-processing, the real models, and the real prompts, i.e. by default
the research graph's placeholder system prompts and unrendered templates (the producers'
reality; `graph_prompts="rendered"` makes graph artifacts replayable for tests).

`--mix` says which era: `legacy` (the research graph's families: one artifact per agent id and
day, run id = the date, scaled to `per_day` by the number of sector teams and held tickers, until
mid-2026), `today` (the live producers: the think tank at its real weekly volume, weekend runs
filed under Friday, plus the executors) or `both`. Which families an era holds, how many and in
what order is what each family's `HiddenRule.volume` declares: `sample/schedule.py` derives it
from the registry, and a family without a hidden rule is not written. Every mix carries a few
valid artifacts of `mystery_agent`, a family alpha-replay does not know, and the legacy part 1%
of really bad objects (broken copies of the family whose volume says `broken_copies`). `--sizes` says
how big: `small` (the rules' own snapshots) or `production` (each family's artifacts as large as
production's, from the `production_bytes` its rule declares: benchmarks).
"""


import argparse
import datetime as dt
import hashlib
import json
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import boto3
from botocore.config import Config as BotoConfig

from alpha_replay_assets.cli_args import check_window, partition_day, positive_int
from alpha_replay_assets.families import REGISTRY
from alpha_replay_assets.family_spec.rule import Run
from alpha_replay_assets.family_spec.synthetic import CODE_SHA, filler, iso
from alpha_replay_assets.paths import day_prefix
from alpha_replay_assets.sample import rules, schedule, unregistered, version_shift
from alpha_replay_assets.sample.schedule import Slot
from alpha_replay_assets.stub_prompts import PLACEHOLDER_MARKER
from resources.bounded import ordered_map

MIXES = ("legacy", "today", "both")
SIZES = ("small", "production")
DOCUMENT_BYTES = 4000  # one padding document (a news body, a filings excerpt)
# USD per token (input, output) the producers' calls cost, for the artifacts' own cost_usd
CALL_PRICES = {"deepseek/deepseek-chat-v3.1": (0.5e-6, 2e-6), "qwen/qwen3-235b-a22b-instruct": (0.6e-6, 2.4e-6),
               "claude-haiku-4-5-20251001": (1e-6, 5e-6), "claude-sonnet-4-6": (3e-6, 15e-6)}
BAD_KINDS = ("malformed_json", "not_utf8", "missing_field", "wrong_type", "bad_key", "oversized")


@dataclass(frozen=True)
class CorpusSpec:
    per_day: int = 585  # legacy artifacts a day, bad objects included
    mix: str = "both"  # legacy | today | both
    sizes: str = "small"  # small | production
    unregistered_per_day: int = 3  # valid artifacts of `mystery_agent`, a family alpha-replay does not know
    seed: int = 7
    bad_fraction: float = 0.01
    placeholder_fraction: float = 0.02  # the capture helper's fallback marker (absent from the July-2026 corpus)
    truncated_fraction: float = 0.02
    large_fraction: float = 0.02  # snapshots of a few hundred KB (news bodies), as in production
    large_bytes: int = 200_000
    oversized_bytes: int = 5 * 1024 * 1024
    noise: float = 0.08
    # Draw each day's content as if it were the day `draw_offset_days` later: the tests pin their
    # corpus to fixed dates (same objects, same sizes, same weekdays) whatever the calendar says.
    draw_offset_days: int = 0
    # Graph-era prompts: "stub" = what the producers captured (the default: placeholder system
    # prompts, unrendered templates for four families); "rendered" = a real-looking system prompt
    # and a rendered user prompt on every graph artifact, for tests that replay graph families.
    graph_prompts: str = "stub"
    think_tank_scale: int = 1  # weekly producers' (the think tank's) volume times this (1 = their measured volume)
    # From this run day on, one family's new prompt changes its behaviour and another's is cosmetic
    # (`version_shift`); None (default): one prompt version per family throughout.
    version_shift_from: dt.date | None = None

    def draw_day(self, day: dt.date) -> dt.date:
        """The day whose random draws make `day`'s folder."""
        return day + dt.timedelta(days=self.draw_offset_days)

    def __post_init__(self):
        if self.mix not in MIXES:
            raise ValueError(f"mix must be one of {MIXES}, not {self.mix!r}")
        if self.sizes not in SIZES:
            raise ValueError(f"sizes must be one of {SIZES}, not {self.sizes!r}")
        if self.graph_prompts not in rules.GRAPH_PROMPTS:
            raise ValueError(f"graph_prompts must be one of {rules.GRAPH_PROMPTS}, not {self.graph_prompts!r}")


def model_metadata(model: str, system: str, user: str, raw: dict, graph: tuple[str, str] | None,
                   agent_id: str) -> dict:
    """The 20 keys the shared library writes (docs/real-shapes.md §1); tokens from the prompts the call really sent."""
    input_tokens, output_tokens = len(system + user) // 4, len(json.dumps(raw)) // 4
    price_in, price_out = CALL_PRICES.get(model, (3e-6, 15e-6))
    node, prompt_id = graph or (None, None)
    return {"model_name": model, "model_version": None, "provider": "anthropic", "provider_reported_cost_usd": None,
            "input_tokens": input_tokens, "output_tokens": output_tokens, "cache_read_tokens": 0,
            "cache_create_tokens": 0, "cache_create_1h_tokens": 0, "prompt_cache_miss_tokens": 0,
            "reasoning_tokens": 0, "addressed_registry_id": None, "web_search_requests": 0, "web_fetch_requests": 0,
            "cost_usd": round(input_tokens * price_in + output_tokens * price_out, 6),
            "run_type": "weekly_research" if graph else None, "node_name": node,
            "sector_team_id": agent_id.split(":")[1] if graph and agent_id.count(":") else None,
            "prompt_id": prompt_id, "prompt_version": "0.0.0-standin" if graph else None}


def _artifact(family: str, slot: Slot, rng: random.Random, spec: CorpusSpec) -> dict:
    """One artifact of `family` in its producer's shape, made by its hidden rule."""
    rule = rules.RULES[family]
    snapshot = rule.snapshot(rng, slot.day, slot.scope)
    agent_id = rule.agent_id(snapshot) if rule.agent_id else family
    if spec.sizes == "production" and rule.production_bytes:
        # its own random stream: the same artifacts as at small sizes, only bigger
        padding = random.Random(f"{spec.seed}:{slot.day}:{agent_id}:{slot.run_id}:padding")
        in_prompt = rule.sections is None and (rule.graph is None or rule.rendered or spec.graph_prompts == "rendered")
        _pad(snapshot, padding, padding.randint(*rule.production_bytes), 2 if in_prompt else 1)
    if rng.random() < spec.large_fraction:
        snapshot["news_bodies"] = [filler(rng, 1000) for _ in range(spec.large_bytes // 1000)]
    graph = rule.graph is not None
    doc = {"schema_version": 2, "run_id": slot.run_id, "timestamp": iso(slot.filed, slot.seconds), "agent_id": agent_id}
    tail = {"input_data_summary": f"{agent_id} {slot.day}: {len(snapshot)} inputs" if graph or not rule.model else None,
            "input_data_truncated_at": None, "code_sha": CODE_SHA if graph else None,
            "data_snapshot_id": "unknown" if graph else None}
    if family in REGISTRY and not REGISTRY[family].is_llm:
        doc["run_id"] = f"{slot.day}_{snapshot['ticker']}_{rng.getrandbits(32):08x}"
        return doc | {"model_metadata": None, "full_prompt_context": None, "input_data_snapshot": snapshot,
                      "agent_output": rule.decide(snapshot, rng, 0.0)} | tail
    raw = rule.decide(snapshot, rng, spec.noise)
    revision = version_shift.revision(family, slot.day, spec.version_shift_from)
    if revision:
        raw = version_shift.behave(family, raw, snapshot)
    sent = rules.prompts(family, snapshot, agent_id, "rendered")  # what the call really sent
    system, user = rules.prompts(family, snapshot, agent_id, spec.graph_prompts)  # what was captured
    metadata = model_metadata(rule.model, *sent, raw, rule.graph, agent_id)
    output = rule.post_process(raw, snapshot, Run(slot.day, slot.filed, metadata["cost_usd"]), rng)
    if rule.run_suffix:
        doc["run_id"] += rule.run_suffix(output)
    if rng.random() < spec.placeholder_fraction:
        system, user = f"[{PLACEHOLDER_MARKER}]", ""
    if rng.random() < spec.truncated_fraction:
        snapshot = dict(snapshot)
        field = max(snapshot, key=lambda k: len(json.dumps(snapshot[k])))  # the producer truncates the largest
        snapshot[field] = {"_truncated": True, "original_field": field, "original_size_bytes": 1_200_000}
        tail["input_data_truncated_at"] = 1_000_000
    version_hash = hashlib.sha256((rule.template + revision).encode()).hexdigest()
    return doc | {"model_metadata": metadata,
                  "full_prompt_context": {"system_prompt": system, "user_prompt": user, "tool_definitions": [],
                                          "prompt_version_hash": version_hash},
                  "input_data_snapshot": snapshot, "agent_output": output} | tail


def _pad(snapshot: dict, rng: random.Random, artifact_bytes: int, copies: int) -> None:
    """Add the bulk text a production snapshot carries (news bodies, filings, data series) so the
    artifact is about `artifact_bytes`: the snapshot is stored `copies` times (twice when the
    captured user prompt embeds all of it), so that share of the missing bytes goes into it."""
    missing = artifact_bytes - copies * len(json.dumps(snapshot)) - 3000  # ~3 KB of metadata, prompts and output
    whole, rest = divmod(max(0, missing // copies), DOCUMENT_BYTES)
    documents = [filler(rng, DOCUMENT_BYTES) for _ in range(whole)]
    snapshot["context_documents"] = documents + ([filler(rng, rest)] if rest else [])


def _object(prefix: str, doc: dict) -> tuple[str, bytes]:
    return f"{prefix}{doc['agent_id']}/{doc['run_id']}.json", json.dumps(doc).encode()


def _bad(family: str, kind: str, prefix: str, day: dt.date, i: int, rng: random.Random,
         spec: CorpusSpec) -> tuple[str, bytes]:
    good = _artifact(family, Slot(day, day, 36_000 + i, day.isoformat()), rng, spec)
    key = f"{prefix}{family}/bad-{kind}-{i}.json"
    if kind == "malformed_json":
        return key, json.dumps(good).encode()[:-20]
    if kind == "not_utf8":
        return key, b'{"schema_version": 2, "run_id": "\xff\xfe"}'
    if kind == "missing_field":
        return key, json.dumps({k: v for k, v in good.items() if k != "agent_output"}).encode()
    if kind == "wrong_type":
        return key, json.dumps(good | {"schema_version": "two"}).encode()
    if kind == "bad_key":
        return f"{prefix}{family}/{i}/../notes-{i}.txt", b"{}"
    if kind == "oversized":
        return key, json.dumps(good | {"padding": "x" * spec.oversized_bytes}).encode()
    raise ValueError(kind)


def _legacy(day: dt.date, prefix: str, rng: random.Random, spec: CorpusSpec) -> Iterator[tuple[str, bytes]]:
    broken = next((family for family, v in schedule.volumes("legacy") if v.broken_copies), None)
    n_bad = round(spec.per_day * spec.bad_fraction) if broken else 0
    for i, (family, scope) in enumerate(schedule.legacy_slots(spec.per_day - n_bad, rng)):
        slot = Slot(day, day, 36_000 + 0.7 * i + rng.random() / 2, day.isoformat(), scope)
        yield _object(prefix, _artifact(family, slot, rng, spec))
    for i in range(n_bad):
        yield _bad(broken, BAD_KINDS[i % len(BAD_KINDS)], prefix, day, i, rng, spec)


def day_objects(day: dt.date, capture_prefix: str, spec: CorpusSpec) -> Iterator[tuple[str, bytes]]:
    """(key, body) for every object of one day folder."""
    prefix = day_prefix(capture_prefix, day)
    if spec.mix in ("legacy", "both"):
        yield from _legacy(day, prefix, random.Random(f"{spec.seed}:{spec.draw_day(day).isoformat()}"), spec)
    if spec.mix in ("today", "both"):
        yield from schedule.today(day, spec.draw_day(day), spec.seed, spec.think_tank_scale,
                                  lambda family, slot, rng: _object(prefix, _artifact(family, slot, rng, spec)))
    rng = random.Random(f"{spec.seed}:{spec.draw_day(day).isoformat()}:{unregistered.NAME}")
    for i in range(spec.unregistered_per_day):
        slot = Slot(day, day, 25_200 + 613 * i + rng.random(), f"{day:%Y%m%d}-u{i:03d}-{rng.getrandbits(32):08x}")
        yield _object(prefix, _artifact(unregistered.NAME, slot, rng, spec))


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
    parser.add_argument("--graph-prompts", choices=rules.GRAPH_PROMPTS, default=CorpusSpec.graph_prompts,
                        help="stub: the graph's captured placeholder prompts (the producers' reality); rendered: "
                             "real-looking, replayable graph prompts")
    args = parser.parse_args(argv)
    check_window(parser, args.end, args.days)
    client = boto3.client("s3", endpoint_url=args.endpoint_url, config=BotoConfig(max_pool_connections=16))
    spec = CorpusSpec(per_day=args.per_day, mix=args.mix, unregistered_per_day=args.unregistered_per_day,
                      seed=args.seed, bad_fraction=args.bad_fraction, sizes=args.sizes,
                      graph_prompts=args.graph_prompts)
    n = seed(client, args.bucket, window(args.end, args.days), spec)
    print(f"wrote {n} objects ({args.mix} mix) to s3://{args.bucket}/ for {args.days} days ending {args.end}")


if __name__ == "__main__":
    main()
