"""Group commit for `POST /api/v1/lineage`: many requests, one transaction, each answered after it commits.

A single-event POST used to pay for a whole write transaction of its own (BEGIN IMMEDIATE, the
revision bump, the commit), about 370 events/s on SQLite however many clients send. Here a request
validates its events in its own thread (an invalid event is the sender's 400, never its batch-mates'
problem), queues them, and waits. One writer thread takes everything queued (up to `max_events`),
writes it with `catalog.openlineage.ingest_parsed` in one transaction, and only then resolves each
request's future: a 2xx means committed, so a crash (kill -9) after the answer loses nothing. While
one batch commits the next one gathers, so batches grow with load and a lone request waits for no
timer. If a shared batch fails, its requests are retried one by one, so one bad request fails alone
(an event that would take its run past the edge limit, or close a derivation cycle, is found only
while mapping, and so fails its own request, not its batch-mates'; each event carries the edge limit
it was validated under, so the writer needs no settings of its own).

`event_limits(app.state)` holds the bounds every request is held to (`catalog.openlineage.limits`):
how far ahead an eventTime may be, how many edges an event may write, how many problems an answer
lists. They are read from the environment once, on first use.
"""

from __future__ import annotations

import os
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field

from catalog.openlineage import IngestResult, ParsedEvent, ingest_parsed
from catalog.openlineage import EventLimits
from catalog.history.actor import current_actor
from catalog.store import Store

MAX_EVENTS = 2000  # per shared transaction: bounds how long one commit holds the write lock


@dataclass
class _Request:
    """One POST's validated events and the future its handler waits on."""

    events: list[ParsedEvent]
    actor: str = field(default_factory=current_actor)  # the sender, for the audit entry
    future: Future[IngestResult] = field(default_factory=Future)


class GroupCommit:
    """One writer thread per store per process, fed by a queue of validated requests."""

    def __init__(self, store: Store, *, max_events: int = MAX_EVENTS) -> None:
        """Starts the writer thread at once: a daemon, so a process that exits never waits for it."""
        self.store = store
        self.max_events = max_events
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="headwater-ingest", daemon=True)
        self._thread.start()
        self.batches = 0  # transactions committed, for tests and benchmarks

    def submit(self, events: list[ParsedEvent]) -> Future[IngestResult]:
        """Queue validated events; the future resolves once they are committed (or fails with the error)."""
        request = _Request(events)
        self._queue.put(request)
        return request.future

    def close(self) -> None:
        """Finish what is queued, then stop the writer thread."""
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        """Take what is queued, up to `max_events`, as one batch; `None` (from `close`) ends the loop
        after the batch it arrived in, so nothing queued before it is dropped."""
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, size, stop = [first], len(first.events), False
            while size < self.max_events:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
                size += len(item.events)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Request]) -> None:
        try:
            results = ingest_parsed(self.store, [request.events for request in batch],
                                    actors=[request.actor for request in batch])
        except BaseException as exc:  # noqa: BLE001 - every waiting request must hear how its batch ended
            if len(batch) == 1:
                batch[0].future.set_exception(exc)
                return
            for request in batch:  # one bad request must not fail the others: each on its own
                self._commit([request])
            return
        self.batches += 1
        for request, result in zip(batch, results, strict=True):
            request.future.set_result(result)


_lock = threading.Lock()  # so two first requests at once start one writer thread, not two


def group_commit(state: object, store: Store) -> GroupCommit:
    """The app's GroupCommit, started on first use (kept on `app.state`)."""
    committer = getattr(state, "group_commit", None)
    if committer is None:
        with _lock:
            committer = getattr(state, "group_commit", None)
            if committer is None:
                committer = GroupCommit(store)
                state.group_commit = committer  # type: ignore[attr-defined]
    return committer


def event_limits(state: object) -> EventLimits:
    """The app's EventLimits: `app.state.event_limits` when set, else read from the environment once.

    A bad HEADWATER_MAX_CLOCK_SKEW or HEADWATER_MAX_EDGES_PER_EVENT is a ConfigurationError naming
    the variable (a 400 for each POST until the operator fixes it), never a 500.
    """
    limits = getattr(state, "event_limits", None)
    if limits is None:
        limits = EventLimits.from_env(os.environ)
        state.event_limits = limits  # type: ignore[attr-defined]
    return limits
