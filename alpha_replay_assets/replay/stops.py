"""How a day's replays stop: loudly, with counts, and within seconds.

- The provider's rate limits asked for more waiting than `replay_model.max_wait_s`, or the run is
  being terminated: the step fails naming what was replayed, what was still waiting and what was
  skipped (replies received are cached: a later run resumes).
- The step's main thread is interrupted (SIGINT to `dg launch`: Dagster raises it in the step's main
  thread): the replay workers are told to stop (`Waits.stop`, seen within a second), queued replays
  are cancelled, and the interrupt goes on.
- Every call fails at the provider (a dead or hanging endpoint): after `FailureStreak.limit`
  failures in a row the remaining replays are not sent (each a `transport_error` row saying so), so
  the day fails in time proportional to the timeout, not to the number of replays.
"""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import dagster as dg

from resources.waits import Stopped


class FailureStreak:
    """Provider failures in a row, shared by a day's replay workers; a success ends the streak."""

    def __init__(self, limit: int):
        self.limit, self.count = max(2, limit), 0
        self.lock = threading.Lock()

    def record(self, failed: bool) -> None:
        with self.lock:
            self.count = self.count + 1 if failed else 0

    def broken(self) -> dict | None:
        """A row for a replay not sent because the provider failed every recent call, or None."""
        with self.lock:
            if self.count < self.limit:
                return None
            return {"outcome": "transport_error",
                    "error": f"not sent: the provider failed the last {self.count} calls in a row (after retries)"}


@contextmanager
def stopping(pool: ThreadPoolExecutor, model_res, where: str, counts) -> Iterator[None]:
    """Around a day's replay pool: `counts()` gives (replayed, admitted, skipped) when it stops."""
    try:
        yield
    except Stopped as exc:
        model_res.waits.stop(exc)
        pool.shutdown(wait=False, cancel_futures=True)
        replayed, admitted, skipped = counts()
        raise dg.Failure(f"{where}: {exc}. {replayed} replayed, {admitted - replayed} still waiting, "
                         f"{skipped} skipped (over budget); replies received are cached: a re-run resumes",
                         metadata={"replayed": replayed, "waiting": admitted - replayed, "skipped": skipped},
                         allow_retries=False) from exc
    except BaseException:  # an interrupt (SIGINT, termination) or a bug: the workers stop too
        model_res.waits.stop(Stopped(f"{where}: the step was interrupted"))
        pool.shutdown(wait=False, cancel_futures=True)
        raise
