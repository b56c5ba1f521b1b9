"""One SQLite writer at a time across processes, handed over by the kernel rather than by polling.

SQLite lets one connection write at a time; a second `BEGIN IMMEDIATE` waits in SQLite's busy
handler, which sleeps and retries (1, 2, 5, 10 ... 100 ms). Two API processes writing in turn spent
more time asleep than writing, and `serve --workers 2` ingested less than one worker. A blocking
`flock` on a file beside the database makes the next writer wake the moment the last one commits;
a thread lock in front of it orders the writers of one process, since `flock` is held per open file,
not per thread. The kernel drops the lock with the process, so a writer killed mid-transaction
holds up nobody (SQLite rolls its transaction back on the next open, as before).

Writers that do not take this lock (another tool on the same file) still meet SQLite's own lock:
this only orders Headwater's writers among themselves, it never replaces BEGIN IMMEDIATE.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WriteLock:
    """The lock of one database file, for every thread of this process."""

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + "-writer.lock")
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
        import fcntl

        with self._thread_lock:
            fd = self._open()
            if fd is not None and self._depth == 0:
                fcntl.flock(fd, fcntl.LOCK_EX)  # releases the GIL while it waits
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if fd is not None and self._depth == 0:
                    fcntl.flock(fd, fcntl.LOCK_UN)

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
