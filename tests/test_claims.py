"""Claims hold a request for one step of one run: a second step of the same run (concordance and
noise_ceiling run side by side and share requests) waits like another run would; only a retry of
the same step finds the claim its own. Against moto's S3 (conditional PUTs)."""

from alpha_replay_assets.replay.claims import Claims

MODEL, DIGEST = "claude-haiku-4-5", "d" * 64


def test_a_second_step_of_the_same_run_waits_for_the_first_steps_claim(store):
    concordance = Claims(store, MODEL, "run-1", 600, step="concordance")
    ceiling = Claims(store, MODEL, "run-1", 600, step="noise_ceiling")
    assert concordance.take(DIGEST)
    assert not ceiling.take(DIGEST)  # was True when a claim named only its run: both steps paid
    assert ceiling.holder(DIGEST) == "run-1/concordance"
    concordance.release(DIGEST)
    assert ceiling.take(DIGEST)


def test_a_retry_of_the_step_finds_its_own_claim_and_another_run_waits(store):
    first = Claims(store, MODEL, "run-1", 600, step="concordance")
    assert first.take(DIGEST)
    assert Claims(store, MODEL, "run-1", 600, step="concordance").take(DIGEST)  # the step, retried
    assert not Claims(store, MODEL, "run-2", 600, step="concordance").take(DIGEST)
