"""An ordered concurrent map that runs only a bounded distance ahead of its consumer."""

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future


def ordered_map(fn: Callable, items: Iterable, pool: Executor, ahead: int) -> Iterator:
    """`fn(item)` for every item, in order, computed by `pool` at most `ahead` items ahead of the
    consumer. A pool's own `map` submits everything at once and holds every result until it is
    taken: with large results (artifact bodies, day indexes) and a slower consumer that is all
    of them in memory."""
    pending: deque[Future] = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
