"""What the replay workers of one step share: identical requests made once (`InFlight`), the
day's spend and progress (`Ledger`), and the halt after a paid reply could not be kept."""

import threading
import time
from concurrent.futures import Future


class Ledger:
    """Spend and progress shared by the replay workers of one day, and the hard stop."""

    def __init__(self, hard_limit_usd: float, total: int):
        self.hard_limit_usd, self.total = hard_limit_usd, total
        self.spent = 0.0
        self.done = self.calls = self.cache_hits = 0
        self.started = time.monotonic()
        self.lock = threading.Lock()

    def may_call(self) -> bool:
        with self.lock:
            return self.spent < self.hard_limit_usd

    def settle(self, actual: float) -> None:
        with self.lock:
            self.spent += actual
            self.calls += 1

    def tick(self, cache_hit: bool) -> int:
        with self.lock:
            self.done += 1
            self.cache_hits += cache_hit
            return self.done

    def progress(self) -> str:
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed else 0.0
        eta = (self.total - self.done) / rate if rate else float("nan")
        return (f"{self.done}/{self.total} replays, {rate:.1f}/s, ETA {eta:.0f} s, "
                f"{self.calls} model calls, ${self.spent:.4f} spent")


class ReplayHalted(RuntimeError):
    """The step made its last paid call: a paid reply could not be stored."""




class InFlight:
    """Identical requests in one step are made once: the first caller asks the provider, every
    concurrent caller with the same content address waits for that answer (the S3 cache covers
    callers that come later, and other steps). `halt` stops every further paid call of the step."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls: dict[str, Future] = {}
        self.halted: str | None = None

    def halt(self, reason: str) -> None:
        with self.lock:
            self.halted = self.halted or reason

    def call(self, digest: str, ask):
        with self.lock:
            future, mine = self.calls.get(digest), False
            if future is None:
                future, mine = Future(), True
                self.calls[digest] = future
        if not mine:
            return future.result(), False
        try:
            future.set_result(ask())
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            with self.lock:
                del self.calls[digest]
        return future.result(), True
