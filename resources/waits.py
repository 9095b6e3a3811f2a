"""Every wait of a step's replays is visible, bounded and cancellable.

A 429 with `retry-after: 3600` used to park the SDK's workers in `time.sleep(3600)`: no log line,
no way to stop the run but SIGKILL. Here the SDK never sleeps (its interactive client makes one
attempt; `ReplayModel.create` retries), and every wait (the rate governor's pause after a 429, the
backoff before a retry) goes through one `Waits`:

- it waits in slices of at most `SLICE_S`, checking between them whether to stop: `stop()` (the
  step's main thread was interrupted: SIGINT to `dg launch`), or `cancelled()` (the run is being
  terminated: `dagster run terminate` marks it CANCELING; polled at most once per slice);
- each pause the provider asks for is announced (a log line and a run tag with the time until
  retry) and counted; once the run's pauses add up to more than `max_wait_s`, every worker stops
  with `WaitExceeded` (the step then fails naming what was replayed and what was not).
"""

import threading
import time
from collections.abc import Callable

SLICE_S = 1.0  # the longest sleep between two checks for a stop


class Stopped(RuntimeError):
    """The step stopped replaying: interrupted, or the run is being cancelled."""


class WaitExceeded(Stopped):
    """The provider asks for more waiting than the run allows (`ReplayModel.max_wait_s`)."""


class Waits:
    def __init__(self, max_wait_s: float, waited_s: float = 0.0, cancelled: Callable[[], str | None] = lambda: None,
                 announce: Callable[[float, float], None] = lambda seconds, total: None,
                 clock: Callable[[], float] = time.monotonic):
        self.max_wait_s, self.waited_s = max_wait_s, waited_s  # waited_s: earlier steps' pauses in this run
        self.cancelled, self.announce, self.clock = cancelled, announce, clock
        self.reason: Stopped | None = None
        self.polled = self.announced_end = float("-inf")
        self.event = threading.Event()
        self.lock = threading.Lock()

    def stop(self, reason: Stopped) -> None:
        """Every worker stops at its next check (within `SLICE_S`)."""
        with self.lock:
            self.reason = self.reason or reason
        self.event.set()

    def check(self) -> None:
        """Raise the reason to stop, if there is one (the run's status polled at most once per slice)."""
        now = self.clock()
        if self.reason is None and now - self.polled >= SLICE_S:
            self.polled = now
            if why := self.cancelled():
                self.stop(Stopped(why))
        if self.reason is not None:
            raise self.reason

    def sleep(self, seconds: float) -> None:
        """Sleep `seconds` in slices, checking for a stop before each."""
        deadline = self.clock() + seconds
        while (left := deadline - self.clock()) > 0:
            self.check()
            self.event.wait(min(left, SLICE_S))
        self.check()

    def paused(self, added_s: float, until_s: float) -> None:
        """The provider paused the route `until_s` seconds from now, `added_s` of it new: counted against
        the run's maximum (beyond it, every worker stops), announced when it ends a second or more
        later than the last pause announced."""
        end = self.clock() + until_s
        with self.lock:
            self.waited_s += added_s
            total, news = self.waited_s, end - self.announced_end >= SLICE_S  # a line a second at most
            self.announced_end = end if news else self.announced_end
        if news:
            self.announce(until_s, total)
        if total > self.max_wait_s:
            self.stop(WaitExceeded(f"rate-limited: the provider asked this run to wait {total:.0f} s in all "
                                   f"(now {until_s:.0f} s more), beyond replay_model.max_wait_s = "
                                   f"{self.max_wait_s:g} s"))
