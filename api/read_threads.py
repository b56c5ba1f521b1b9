"""The threads API reads run in (for `api.deps.ReadBudget`): reused between reads, and interruptible.

A read that runs out of time, loses its client or outlives the server is stopped by raising
`ReadAbandoned` into its thread; the thread then serves the next read, untouched. Reusing threads
rather than starting one per read was a fifth of a cheap read's cost.
"""

from __future__ import annotations

import asyncio
import contextvars
import ctypes
import os
import threading
from collections.abc import Callable
from typing import Any

from api.read_turns import TURNS


class ReadAbandoned(BaseException):
    """Raised inside a read's worker thread to stop it: its client left, its time ran out, or the
    server is shutting down. A BaseException, so library code's `except Exception` cannot swallow it."""


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    """Schedule `exception` in another thread (None clears one still pending). CPython delivers it at
    the next bytecode the thread runs, so pure-Python work (networkx, the propagation) stops within
    milliseconds; a thread inside one long C call stops when that call returns."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id),
                                               ctypes.py_object(exception) if exception else None)


class ReadJob:
    """One read in a worker thread (`_Workers`), which `stop()` interrupts.

    `running` (under `lock`) is the only window in which an exception is raised into the thread;
    `close()` shuts it and clears one still pending, so nothing fires after the work is done, and
    the worker runs its next read untouched (it closes the window again until that holds: see
    `_Workers`). The exception is raised again every 0.1 s until the window is shut: one that lands
    in a garbage-collector callback is printed and dropped by CPython, not raised. `prepare` runs
    first and is never interrupted: it builds what later reads share (the lineage graph), which
    would otherwise never get built on a platform where building it takes longer than one
    request's budget. Each read runs in a fresh `contextvars.Context`, as in a thread of its own:
    the graph it pins and the actor it sets end with it.
    """

    def __init__(self, work: Callable[[], Any], loop: asyncio.AbstractEventLoop,
                 prepare: Callable[[], Any] | None = None) -> None:
        self.work, self.loop, self.prepare = work, loop, prepare
        self.future: asyncio.Future[Any] = loop.create_future()
        self.lock = threading.Lock()
        self.running = self.stopped = False
        self.thread_id: int | None = None
        self.closed = threading.Event()  # the window is shut for good: the stopper may give up
        self.outcome: tuple[bool, Any] = (False, ReadAbandoned())  # what a read cut short by a stray exception gives

    def start(self) -> None:
        _WORKERS.submit(self)

    def stop(self) -> None:
        with self.lock:
            if self.stopped:
                return
            self.stopped = True
        self.future.cancel()  # nobody waits for the answer any more
        threading.Thread(target=self._keep_stopping, name="headwater-read-stopper", daemon=True).start()

    def _keep_stopping(self, attempts: int = 600) -> None:
        for _ in range(attempts):
            with self.lock:
                if not self.running:
                    return  # the work is over, or has not begun (then it sees `stopped` and never does)
                _raise_in(self.thread_id, ReadAbandoned)  # type: ignore[arg-type]  # running: started
            if self.closed.wait(0.1):
                return

    def run(self) -> None:
        """In the worker thread: the read, its outcome kept for `settle_soon` (after the window is shut)."""
        self.thread_id = threading.get_ident()
        try:
            try:
                if self.prepare is not None:
                    self.prepare()
                with TURNS.turn(lambda: self.stopped) as mine:  # a few reads compute at once, in arrival order
                    with self.lock:
                        if self.stopped or not mine:
                            raise ReadAbandoned
                        self.running = True
                    outcome: tuple[bool, Any] = (True, self.work())
            finally:
                self.close()
        except BaseException as error:  # noqa: BLE001 - handed to the request's coroutine, or dropped when abandoned
            outcome = (False, error)
        self.outcome = outcome

    def settle_soon(self) -> None:
        """Hand the outcome to the request's coroutine, on its event loop."""
        try:
            self.loop.call_soon_threadsafe(self._settle, self.outcome)
        except RuntimeError:  # the event loop closed (server gone): nobody to tell
            pass

    def close(self) -> None:
        """Shut the window; an exception that fires while doing so is caught and the window shut
        again (another one is raised only 0.1 s later, long after this loop is done)."""
        while True:
            try:
                with self.lock:
                    self.running = False
                    _raise_in(threading.get_ident(), None)
                self.closed.set()
                return
            except ReadAbandoned:
                continue

    def _settle(self, outcome: tuple[bool, Any]) -> None:
        if self.future.done():
            return
        ok, value = outcome
        if ok:
            self.future.set_result(value)
        elif isinstance(value, ReadAbandoned):
            self.future.cancel()
        else:
            self.future.set_exception(value)


# What a worker thread is called while it runs a read (tests wait for these to end) and between reads.
BUSY_NAME, IDLE_NAME = "headwater-read", "headwater-read-idle"


class _Workers:
    """Daemon threads that run reads one at a time and wait for the next: starting a thread per read
    was a fifth of a cheap read's cost. A read never queues behind another (no idle worker: a new
    one starts), so the budget counts only the read's own time, as with a thread per read; at most
    `keep` idle workers stay. A worker whose read was stopped inside a long C call is simply busy
    until the call returns. Daemon, so a thread stuck in a C call never holds up the exit.

    A stray `ReadAbandoned` (one that fires after the read's own handlers) is caught by the worker's
    loop, which shuts that read's window again before taking the next: exceptions are raised only
    while the window is open, so none can reach a later read. A worker that dies anyway is just
    never idle again.
    """

    def __init__(self, keep: int = 8) -> None:
        self.keep = keep
        self.lock = threading.Lock()
        self.idle: list[_Worker] = []

    def submit(self, job: ReadJob) -> None:
        worker = None
        with self.lock:
            while self.idle and worker is None:
                worker = self.idle.pop()
                if not worker.thread.is_alive():  # died, or a forked child's copy of a parent's worker
                    worker = None
        if worker is None:
            worker = _Worker(self)
            worker.thread.start()
        worker.give(job)

    def rest(self, worker: _Worker) -> bool:
        """A worker that finished a read: kept for the next (True) or told to end (False)."""
        with self.lock:
            if len(self.idle) >= self.keep:
                return False
            self.idle.append(worker)
            return True


class _Worker:
    """One thread of `_Workers`; `give` hands it its next read."""

    def __init__(self, workers: _Workers) -> None:
        self.workers = workers
        self.ready = threading.Semaphore(0)
        self.given: ReadJob | None = None  # set by `give`, taken by the worker
        self.current: ReadJob | None = None  # the read this thread runs or has just run (only it touches this)
        self.thread = threading.Thread(target=self._main, name=IDLE_NAME, daemon=True)

    def give(self, job: ReadJob) -> None:
        self.given = job
        self.ready.release()

    def _main(self) -> None:
        while True:
            try:
                if self._serve():
                    return
            except ReadAbandoned:  # a stray one, after the read's handlers: its window is shut in `_serve`
                continue

    def _serve(self) -> bool:
        """Run reads until the pool has enough idle workers (True: end the thread). The worker is idle
        again before the answer is handed over, so the client's next read can reuse it at once:
        `give` may then run while this read settles, which is why the next read is `given`, not
        `current`."""
        while True:
            job = self.current
            if job is not None:
                job.close()  # shut (again) before anything else: a stray exception loops back here
                self.current = None
                self.thread.name = IDLE_NAME
                keep = self.workers.rest(self)
                job.settle_soon()
                if not keep:
                    return True
            self.ready.acquire()
            self.current, self.given = self.given, None
            self.thread.name = BUSY_NAME
            contextvars.Context().run(self.current.run)  # type: ignore[union-attr]  # given with the release


_WORKERS = _Workers()
os.register_at_fork(after_in_child=_WORKERS.__init__)  # the parent's workers do not exist in a child
