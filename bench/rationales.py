"""Rationale clustering throughput: one agent's 56-day window at 1x and 16x today's volume.

    python -m bench.rationales                  # 1x, 5,000 and 16x, templated and varied prose
    python -m bench.rationales --sizes 5000     # one size

1x is the busiest agent id of today's producers (`thinktank_thesis`: 71 theses a week x 2
rationale fields x 8 weeks = 1,136 rationales); 16x is 18,176. Two kinds of prose: *templated*
(one template with the numbers and word order varied, as the synthetic sector_quant writes) and
*varied* (words drawn from a vocabulary of production size, every rationale distinct). Prints
rationales/s per (kind, size); numbers are of this machine at the time (see its load average).
"""

import argparse
import os
import random
import time

from alpha_replay_assets.family_spec.synthetic import FILLER, TICKERS
from alpha_replay_assets.rationale_clusters import cluster

ONE_X = 71 * 2 * 8
WORDS = [*FILLER, *(t.lower() for t in TICKERS), *(f"{a}{b}" for a in ("re", "de", "pre", "over") for b in FILLER)]


def templated(rng: random.Random) -> str:
    words = rng.sample(["trend", "breakout", "support", "relative", "strength"], 4)
    return f"Technical score {rng.uniform(0, 99):.1f} with momentum {rng.gauss(0, 6):.2f}; {' '.join(words)}."


def varied(rng: random.Random) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(10, 22)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=f"{ONE_X},5000,{16 * ONE_X}", help="comma-separated rationale counts")
    args = parser.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.1f}; 1x = {ONE_X} rationales (one agent, 56 days)")
    for n in map(int, args.sizes.split(",")):
        for kind, make in (("templated", templated), ("varied", varied)):
            rng = random.Random(n)
            texts = [make(rng) for _ in range(n)]
            start = time.perf_counter()
            result = cluster(texts)
            seconds = time.perf_counter() - start
            print(f"{kind:>9} n={n:>6} ({n / ONE_X:4.1f}x): {seconds:7.2f} s, {n / seconds:8.0f} rationales/s, "
                  f"{len(result.sizes)} clusters, concentration {result.concentration:.3f}")


if __name__ == "__main__":
    main()
