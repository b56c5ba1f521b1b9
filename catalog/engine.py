"""How a store URL becomes an engine: SQLite configured for one writer and many readers, or
PostgreSQL; and which file a SQLite engine works on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from catalog.errors import ConfigurationError


def mask_url(url: str) -> str:
    """The URL with its password (and any other credential) hidden, for every message a user or a
    log may see: `catalog.secrets.mask_secrets`, the one masking every output goes through."""
    from catalog.secrets import mask_secrets

    return mask_secrets(url)


def engine_for(url: str) -> Engine:
    """The engine of a store URL: SQLite (a file, or memory) or PostgreSQL through psycopg; a bad URL,
    a missing folder or a missing driver is a ConfigurationError naming it (password masked)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError(
            f"invalid database URL {mask_url(url)!s}; expected e.g. sqlite:///headwater.db "
            "or postgresql+psycopg://user:password@host/dbname"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        memory = parsed.database in (None, "", ":memory:")
        if not memory:
            folder = Path(parsed.database).expanduser().resolve().parent
            if not folder.is_dir():
                raise ConfigurationError(f"cannot create the store {mask_url(url)}: folder {folder} does not exist")
        options: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if memory:
            options["poolclass"] = StaticPool
        engine = create_engine(parsed, **options)
        configure_sqlite(engine, wal=not memory)
        return engine
    if backend == "postgresql":
        try:
            return create_engine(parsed, pool_pre_ping=True)
        except (NoSuchModuleError, ModuleNotFoundError):
            raise ConfigurationError(
                "PostgreSQL needs the psycopg driver: pip install 'headwater[postgres]' "
                "and use a postgresql+psycopg:// URL"
            ) from None
    raise ConfigurationError(f"unsupported database {backend!r} in {mask_url(url)}; expected sqlite or postgresql")


def sqlite_file(engine: Engine) -> Path | None:
    """The database file of a SQLite engine; None for memory and PostgreSQL (where the writer lock and
    the revision watch, which work on the file, do not apply)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or database in (None, "", ":memory:"):
        return None
    return Path(database).expanduser().resolve()


def configure_sqlite(engine: Engine, *, wal: bool) -> None:
    """Foreign keys on, WAL for concurrent readers, and BEGIN IMMEDIATE for writes.

    pysqlite's own transaction handling starts writes lazily, which turns two concurrent writers
    into a "database is locked" error instead of a short wait; we issue BEGIN ourselves.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # A load is one transaction of a million rows and their history: with spilling on, SQLite wrote its
        # dirty pages out each time its 2 MB cache filled, 6.7 million page writes, a quarter of the load
        # (and a third of it system time). Off, they stay in memory until the commit writes them once.
        cursor.execute("PRAGMA cache_spill=OFF")
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get("headwater_write", False)
        # A statement that fires a trigger (each row of a history-tracked executemany) keeps a statement
        # journal of the pages it changes; past 64 KiB once in a transaction, SQLite keeps it in a
        # temporary file, and every later statement writes its pages there: 4.5 million pwrites in
        # an ingest of 51,000 events, system time 7.7 s against 2.0 s without history. Writes keep
        # it in memory (read only at a failing statement's rollback); reads keep the default, so
        # their large sorts still spill to disk. Set before BEGIN: the pager decides at the start.
        info = connection.connection.info
        if info.get("headwater_temp_in_memory", False) != write:
            connection.exec_driver_sql(f"PRAGMA temp_store={'MEMORY' if write else 'DEFAULT'}")
            info["headwater_temp_in_memory"] = write
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
