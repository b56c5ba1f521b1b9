"""How many API reads compute at once in one process, and in what order: at most `width`, first
come first served.

Every read runs in its own worker thread (api/read_threads.py), but a process has one GIL, so
sixteen reads at once only take turns every few milliseconds: each then lasts about sixteen times
its own cost, the large ones included, and the switching costs CPU besides. Taken in arrival
order, a read waits for those ahead of it and then runs nearly alone: its latency is the queue
plus its own cost, and a heavy read no longer drags every other one out with it.

Two at a time by default (HEADWATER_READ_CONCURRENCY): much of a read's time is spent with the
GIL released (numpy, the database), which a second read can use, and one long read (a
whole-platform viewer) must not hold every other read up. The wait counts against the read's
budget, as the client's clock does; a read stopped while it waits leaves the queue at once.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

DEFAULT_WIDTH = 2
_POLL_S = 0.1  # how often a waiting read looks whether it was stopped


class ReadTurns:
    def __init__(self, width: int = DEFAULT_WIDTH) -> None:
        self.width = width
        self._condition = threading.Condition()
        self._computing = 0
        self._queue: deque[object] = deque()

    @contextmanager
    def turn(self, stopped: Callable[[], bool]) -> Iterator[bool]:
        """Wait for this read's turn and hold it for the block. Yields False, holding nothing, when
        `stopped()` turned true first."""
        me = object()
        mine = False
        with self._condition:
            self._queue.append(me)
            while True:
                if self._computing < self.width and self._queue[0] is me:
                    self._queue.popleft()
                    self._computing += 1
                    mine = True
                    break
                if stopped():
                    self._queue.remove(me)
                    break
                self._condition.wait(_POLL_S)
            self._condition.notify_all()  # the read behind may be first now, and fit (width > 1)
        if not mine:
            yield False
            return
        try:
            yield True
        finally:
            with self._condition:
                self._computing -= 1
                self._condition.notify_all()

    @property
    def waiting(self) -> int:
        """Reads queued for a turn (for tests)."""
        with self._condition:
            return len(self._queue)


TURNS = ReadTurns()  # the process's; `api.app.create_app` sets its width from the settings
# a forked child has none of the parent's reads, and its copy of the condition may be held
os.register_at_fork(after_in_child=lambda: TURNS.__init__(TURNS.width))
