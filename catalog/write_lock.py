"""One SQLite writer at a time across processes, handed over by the kernel rather than by polling.

SQLite lets one connection write at a time; a second `BEGIN IMMEDIATE` waits in SQLite's busy
handler, which sleeps and retries (1, 2, 5, 10 ... 100 ms). Two API processes writing in turn spent
more time asleep than writing, and `serve --workers 2` ingested less than one worker. An `flock` on a
file beside the database, tried every 2 ms at most, lets the next writer in within 2 ms of the last
one's commit; a thread lock in front of it orders the writers of one process, since `flock` is held
per open file, not per thread. The kernel drops the lock with the process, so a writer killed mid-transaction
holds up nobody (SQLite rolls its transaction back on the next open, as before).

Writers that do not take this lock (another tool on the same file) still meet SQLite's own lock:
this only orders Headwater's writers among themselves, it never replaces BEGIN IMMEDIATE. Nor does it
wait longer than SQLite would: after `timeout` (SQLite's own busy timeout) the writer goes on without
it, to BEGIN IMMEDIATE and SQLite's busy handler, so a writer stuck elsewhere (a stopped process)
still ends in the "database is locked" error a user sees today, not in a wait without end.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WriteLock:
    """The lock of one database file, for every thread of this process."""

    def __init__(self, database: Path, *, timeout: float = 30.0) -> None:
        self.path = database.with_name(database.name + "-writer.lock")
        self.timeout = timeout
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = os.getpid()
        self._unavailable = False

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for a write transaction; re-entrant within a thread (a nested write there
        would meet SQLite's lock anyway). A folder where the lock file cannot be made (read-only)
        leaves the ordering to SQLite alone."""
        if not self._thread_lock.acquire(timeout=self.timeout):
            yield  # another thread of this process holds it past SQLite's own patience: SQLite decides
            return
        try:
            fd = self._open() if self._depth == 0 else self._fd
            locked = self._depth > 0 or (fd is not None and _flock(fd, self.timeout))
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if fd is not None and locked and self._depth == 0:
                    import fcntl

                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def _open(self) -> int | None:
        if self._fd is not None and self._pid != os.getpid():  # a forked child: its own open file, its own lock
            self._fd = None
        if self._fd is None and not self._unavailable:
            self._pid = os.getpid()
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError:
                self._unavailable = True
        return self._fd

    def close(self) -> None:
        with self._thread_lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


def _flock(fd: int, timeout: float) -> bool:
    """Take the file lock, waiting at most `timeout` seconds; whether it was taken.

    A blocking `flock` cannot be given a deadline from a thread (no signal reaches it), so the lock
    is tried without blocking at short steps, from 0.2 ms growing to 2 ms, until it comes or time
    runs out (SQLite's handler sleeps up to 100 ms between tries).
    """
    import fcntl
    import time

    deadline, pause = time.monotonic() + timeout, 0.0002
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(pause)
            pause = min(pause * 2, 0.002)
