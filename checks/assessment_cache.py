"""Risk assessments kept in memory, keyed by everything they are a function of.

An assessment (conditions detected, propagated, priced) depends on the catalog (the store revision, or
the past moment's last change), the check runs recorded (the newest run's id: runs are only ever
added, and deleting a dataset's runs moves the revision), the policy (its content, not its file name)
and the moment judged. On the reference platform one costs seconds, and `/risk`, `/viewer`, the
report and a paging client ask for the same one again and again: it is computed once per key and
served from memory after that.

The moment: a past `as_of` is part of the key as it is. "Now" is not a key (it never repeats), so
an assessment of the present is reused for `FRESH_FOR` after it was made, and says which moment it
judged (`Assessment.as_of`): a freshness SLA crossed within that minute shows at the next one. Any
write, check run or policy change makes a new key at once, whatever the age.

Concurrent requests for a key that is being computed wait for that computation instead of starting
their own: after a write, the first request pays and the others get its answer.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from datetime import datetime, timedelta, timezone
from typing import Generic, TypeVar

T = TypeVar("T")

FRESH_FOR = timedelta(seconds=60)
KEEP = 4  # the present, and a few past moments an audit keeps asking about


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class KeyedAnswers(Generic[T]):
    """The last `keep` answers by key; an answer to "now" (`moment` None) expires after `fresh_for`."""

    def __init__(self, *, keep: int = KEEP, fresh_for: timedelta = FRESH_FOR,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.keep = keep
        self.fresh_for = fresh_for
        self.clock = clock
        self._answers: OrderedDict[Hashable, tuple[datetime, T]] = OrderedDict()
        self._computing: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()
        self.computed = 0

    def get(self, key: Hashable, compute: Callable[[datetime], T], *, moment: datetime | None) -> T:
        """The answer for `key`, computing it as `compute(moment judged)` when there is none (fresh)."""
        found = self._fresh(key, moment)
        if found is not None:
            return found
        with self._lock:
            gate = self._computing.setdefault(key, threading.Lock())
        with gate:  # one computation per key at a time; the others wait and take its answer
            found = self._fresh(key, moment)
            if found is not None:
                return found
            judged = moment if moment is not None else self.clock()
            answer = compute(judged)
            with self._lock:
                self._answers[key] = (judged, answer)
                self._answers.move_to_end(key)
                while len(self._answers) > self.keep:
                    self._answers.popitem(last=False)
                self._computing.pop(key, None)
                self.computed += 1
            return answer

    def _fresh(self, key: Hashable, moment: datetime | None) -> T | None:
        with self._lock:
            entry = self._answers.get(key)
            if entry is None:
                return None
            made, answer = entry
            if moment is None and self.clock() - made >= self.fresh_for:
                del self._answers[key]
                return None
            self._answers.move_to_end(key)
            return answer

    def clear(self) -> None:
        with self._lock:
            self._answers.clear()
