"""The replay engine under the `concordance` and `noise_ceiling` assets: what a replay row holds and
its outcomes (`rows`), and (as they move here) planning and the call loop, the reply cache, claims,
Message Batches and what providers charge. Pure of Dagster assets: assets import it, never the reverse."""
