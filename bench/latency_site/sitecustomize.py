"""Run at the start of every Python process of a bench scenario (on its PYTHONPATH, see
`bench.run.scenario_env`): the client-side latency model reaches the indexing worker processes
too, not only the scenario process."""

import os

if os.environ.get("ALPHA_REPLAY_BENCH_CLIENT_LATENCY_MS"):
    from bench.run import add_client_latency

    add_client_latency(float(os.environ["ALPHA_REPLAY_BENCH_CLIENT_LATENCY_MS"]))
