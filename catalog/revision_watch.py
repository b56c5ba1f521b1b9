"""The store revision of a SQLite file, read again only when the file has changed.

Every API read asks for the revision (has the cached graph gone stale?); through the engine that
was a pooled connection and a compiled statement per call, most of a cheap read's fixed cost.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from sqlalchemy import Engine


class RevisionWatch:
    """The revision of a SQLite file, read again only when the file has changed.

    A connection of its own, which never writes, asks `PRAGMA data_version`: SQLite moves it whenever
    any other connection commits, in this process (the engine's pool) or another (a second worker,
    the CLI), so a commit anywhere is seen at the next call. The version is taken before the
    revision, so a commit between the two can only cause one needless re-read, never a stale answer.
    Any error gives None (the caller asks through the engine, which reports it as before); a forked
    child opens a connection of its own.
    """

    def __init__(self, engine: Engine, statement: Any) -> None:
        self.engine, self.lock = engine, threading.Lock()
        self.statement = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
        self.connection: Any = None
        self.owner = 0  # the process the connection belongs to
        self.seen: tuple[int, int] | None = None  # (data_version, revision)

    def revision(self) -> int | None:
        with self.lock:
            try:
                if self.connection is None or self.owner != os.getpid():
                    args, kwargs = self.engine.dialect.create_connect_args(self.engine.url)
                    kwargs.update(check_same_thread=False, timeout=30, isolation_level=None)
                    self.connection, self.owner, self.seen = self.engine.dialect.loaded_dbapi.connect(*args, **kwargs), os.getpid(), None
                version = self.connection.execute("PRAGMA data_version").fetchone()[0]
                if self.seen is None or self.seen[0] != version:
                    self.seen = (version, int(self.connection.execute(self.statement).fetchone()[0]))
                return self.seen[1]
            except Exception:  # noqa: BLE001 - the engine's path raises the error the callers expect
                self._drop()
                return None

    def close(self) -> None:
        with self.lock:
            self._drop()

    def _drop(self) -> None:
        if self.connection is not None and self.owner == os.getpid():
            try:
                self.connection.close()
            except Exception:  # noqa: BLE001 - closing a broken connection
                pass
        self.connection, self.seen = None, None
