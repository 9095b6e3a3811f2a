"""Claims: each (request, target) is paid once across concurrent runs.

`InFlight` makes identical requests of one step once, and the replay cache answers every later
step. Two runs replaying the same days *at the same time* (a backfill launched twice, a sensor's
run beside the weekly tick) would still both pay each request before either cached it. Before a
paid call a run claims the request in the store with a conditional PUT (`If-None-Match: *`, as
the index does for its day objects): the one whose PUT lands calls the provider; the other waits
for its reply to appear in the replay cache. A claim names its holder (run and step) and time; one older than
`stale_after_s` (its owner died, or hung past every retry) is taken over with `If-Match` on its
ETag, so only one run takes it. A claim is removed once its reply is cached or its call failed.

If a run that took over a stale claim and the claim's first owner both pay, the second reply's
cache write loses (`If-None-Match: *`) and the payment is journalled under `paid_twice/`, where
the spend ledger counts it: a second payment is counted and named, never hidden.
"""

import dataclasses
import datetime as dt
import time

from alpha_replay_assets.paths import claim_key, paid_twice_key
from resources.artifact_store import ArtifactStore, WriteConflict
from resources.replies import Reply

CLAIMED_BY, CLAIMED_AT = "claimed-by", "claimed-at"  # S3 user metadata of a claim (HEAD reads it)
POLL_S = 0.25


class Claims:
    """The claims of one model's requests by one run."""

    def __init__(self, store: ArtifactStore, model: str, run_id: str, stale_after_s: float, step: str = "",
                 clock=lambda: dt.datetime.now(dt.UTC)):
        self.store, self.model, self.run_id, self.stale_after_s, self.clock = store, model, run_id, stale_after_s, clock
        # the holder is the run's step, not the run: a run's concordance and noise_ceiling steps run side by
        # side and share requests (a ceiling's first sample is the concordance request when the models agree);
        # a retry of the step finds its own claim
        self.holder_id = f"{run_id}/{step}"

    def _metadata(self) -> dict[str, str]:
        return {CLAIMED_BY: self.holder_id, CLAIMED_AT: self.clock().isoformat()}

    def take(self, digest: str) -> bool:
        """Claim `digest` for this run: True when this run may call, False while another run's
        claim is fresh (wait for its reply). A stale claim is taken over."""
        key = claim_key(self.store, self.model, digest)
        try:
            self.store.put_bytes(key, b"{}", "application/json", if_absent=True, metadata=self._metadata())
            return True
        except WriteConflict:
            pass
        head = self.store.head(key)
        if head is None:  # released meanwhile: claim again
            return self.take(digest)
        etag, metadata = head
        if metadata.get(CLAIMED_BY) == self.holder_id:  # ours (a retry of this step)
            return True
        claimed_at = dt.datetime.fromisoformat(metadata.get(CLAIMED_AT, "1970-01-01T00:00:00+00:00"))
        if (self.clock() - claimed_at).total_seconds() < self.stale_after_s:
            return False
        try:
            self.store.put_bytes(key, b"{}", "application/json", if_match=etag, metadata=self._metadata())
            return True
        except WriteConflict:  # another run took it over first
            return False

    def holder(self, digest: str) -> str | None:
        """The run holding the claim on `digest`, None when it is released."""
        head = self.store.head(claim_key(self.store, self.model, digest))
        return None if head is None else head[1].get(CLAIMED_BY, "?")

    def release(self, digest: str) -> None:
        self.store.delete([claim_key(self.store, self.model, digest)])

    def wait(self, digest: str, cached, deadline_s: float) -> Reply | None:
        """Poll `cached()` for the reply another run is paying for, until it lands (the reply), or
        that claim is released or stale (None: claim it again)."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if (reply := cached()) is not None:
                return reply
            if self.holder(digest) is None:
                return cached()
            time.sleep(POLL_S)
        return None

    def journal_second_payment(self, day: dt.date, row: dict, reply: Reply, cost_usd: float) -> str:
        """Record a payment for a request whose reply another run had already cached (`row`: the
        replay's purpose, family and digest); returns the key."""
        key = paid_twice_key(self.store, day, self.model, row["request_digest"])
        self.store.write_json(key, dataclasses.asdict(reply) | row | {
            "run_id": self.run_id, "cost_usd": cost_usd, "target_model": self.model})
        return key
