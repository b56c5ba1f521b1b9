"""Content fingerprints: what exactly a dataset held when we looked; and a cheap signal of change.

Files: `sha256:` + the SHA-256 of the file's bytes, streamed in 1 MiB blocks, so the digest is the
one `sha256sum` prints and memory stays flat whatever the file size.

SQL tables: computed inside the database, so no row is pulled into Python. Each row is hashed and
the hashes are *added up* (a multiset hash: row order does not matter, no sort is needed, and a
duplicated or deleted row changes the sum):
- PostgreSQL (14 and later): `hash_record_extended(row, seed)`, the server's own 64-bit hash of
  the row from each column type's hash function (the one hash partitioning uses), with two seeds,
  each summed as an exact numeric: 128 bits, about a seventh of the CPU time of an MD5 of the
  row's text. It follows each type's equality, so a change that equality ignores is not seen:
  `1.0` -> `1.00` in a numeric, `-0` -> `0` in a float, letter case in `citext` or under a
  non-deterministic collation. A table with a column type that has no such hash (`json`,
  `point`, ...) and servers before 14 use the MD5 of each row's text (`t::text`), its two 64-bit
  halves summed;
- SQLite: each row rendered by `json_array(...)`, hashed with BLAKE2b-128 and summed modulo 2^128
  by an aggregate we register on the connection (SQLite has no built-in hash; it runs in-process).
The row count, the sums, and the table's column names and types are hashed together with SHA-256,
so a renamed or retyped column changes the fingerprint too. It is a full scan of the table (on 1M
rows about 0.4 s on PostgreSQL, a second on SQLite). Table fingerprints are comparable only with
earlier fingerprints of the same table on the same server.

The change signal (`table_signal`) is what lets an unchanged table skip that scan: a few
milliseconds of metadata that moves whenever the table's content can have moved. It is a digest,
never shown; None means "no signal can be trusted now" and the caller scans. See `table_signal`
for what each database's signal is made of and what it cannot see. Files have one too
(`file_signal`: one stat() instead of hashing every byte again).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat as stat_module
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from catalog.errors import HeadwaterError
from catalog.locations import Location

BLOCK = 1024 * 1024


class Unreadable(HeadwaterError):
    """The location could not be read: missing file, unreachable database, no such table."""


@dataclass(frozen=True)
class Observation:
    fingerprint: str
    observed_at: datetime
    modified_at: datetime | None = None  # file modification time, when there is one
    size: int | None = None  # bytes for files, rows for tables


def observe(location: Location) -> Observation:
    if location.kind == "file":
        return fingerprint_file(Path(location.value))
    if location.kind == "sql":
        url, _, _ = location.value.partition("#")
        return fingerprint_table(url, location.table or "")
    raise Unreadable(f"Headwater cannot read {location.value}: only files and SQL tables are fingerprinted")


def fingerprint_file(path: Path) -> Observation:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            stat = Path(path).stat()
            while block := handle.read(BLOCK):
                digest.update(block)
    except FileNotFoundError:
        raise Unreadable(f"file not found: {path}") from None
    except IsADirectoryError:
        raise Unreadable(f"expected a file, found a folder: {path}") from None
    except OSError as exc:
        raise Unreadable(f"cannot read {path}: {exc.strerror or exc}") from None
    return Observation(
        fingerprint="sha256:" + digest.hexdigest(),
        observed_at=datetime.now(timezone.utc),
        modified_at=datetime.fromtimestamp(stat.st_mtime, timezone.utc),
        size=stat.st_size,
    )


def split_table(table: str) -> tuple[str | None, str]:
    schema, dot, name = table.rpartition(".")
    return (schema or None, name) if dot else (None, table)


def fingerprint_table(url: str, table: str) -> Observation:
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.exc import NoSuchTableError, SQLAlchemyError

    from catalog.store import mask_url

    schema, name = split_table(table)
    require_sqlite_file(url)
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ImportError) as exc:
        raise Unreadable(f"cannot use database {mask_url(url)}: {exc}") from None
    try:
        with engine.connect() as connection:
            columns = inspect(connection).get_columns(name, schema=schema)
            signature = ";".join(f"{c['name']}:{c['type']}" for c in columns)
            quoted = engine.dialect.identifier_preparer.format_table(_table(name, schema))
            if engine.dialect.name == "postgresql":
                rows, digest = _postgres_digest(connection, quoted)
            elif engine.dialect.name == "sqlite":
                rows, digest = _sqlite_digest(connection, quoted, [c["name"] for c in columns], engine)
            else:
                raise Unreadable(f"fingerprinting {engine.dialect.name} tables is not supported yet")
    except NoSuchTableError:
        raise Unreadable(f"no table {table!r} in {mask_url(url)}") from None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise Unreadable(f"cannot read {table!r} in {mask_url(url)}: {reason}") from None
    finally:
        engine.dispose()
    combined = hashlib.sha256(f"{signature}\n{digest}".encode()).hexdigest()
    return Observation(fingerprint="sha256:" + combined, observed_at=datetime.now(timezone.utc), size=rows)


def require_sqlite_file(url: str) -> None:
    """Connecting to a missing SQLite file would create an empty one: refuse instead."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).is_file():
            raise Unreadable(f"database file not found: {parsed.database}")


def _table(name: str, schema: str | None) -> Any:
    from sqlalchemy import table

    return table(name, schema=schema)


def _postgres_digest(connection: Any, quoted: str) -> tuple[int, str]:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    if connection.dialect.server_version_info >= (14,):
        try:
            with connection.begin_nested():
                row = connection.execute(text(
                    "SELECT count(*), coalesce(sum(hash_record_extended(t, 0)), 0)::text, "
                    f"coalesce(sum(hash_record_extended(t, 1)), 0)::text FROM {quoted} AS t"
                )).one()
            return int(row[0]), f"record:{row[1]}:{row[2]}"
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) != "42883":  # undefined_function: a type without an extended hash
                raise
    row = connection.execute(text(
        "SELECT count(*), coalesce(sum(('x' || substr(h, 1, 16))::bit(64)::bigint), 0)::text, "
        "coalesce(sum(('x' || substr(h, 17, 16))::bit(64)::bigint), 0)::text "
        f"FROM (SELECT md5(t::text) AS h FROM {quoted} AS t) AS rows"
    )).one()
    return int(row[0]), f"{row[1]}:{row[2]}"


class _RowSum:
    """SQLite aggregate: the sum of each row's BLAKE2b-128 digest, modulo 2^128."""

    def __init__(self) -> None:
        self.total = 0

    def step(self, value: str | None) -> None:
        self.total += int.from_bytes(hashlib.blake2b((value or "").encode(), digest_size=16).digest(), "little")

    def finalize(self) -> str:
        return f"{self.total % (1 << 128):032x}"


def _sqlite_digest(connection: Any, quoted: str, columns: list[str], engine: Any) -> tuple[int, str]:
    from sqlalchemy import text

    raw = connection.connection.driver_connection
    raw.create_aggregate("headwater_row_sum", 1, _RowSum)
    quote = engine.dialect.identifier_preparer.quote
    rendered = "json_array(" + ", ".join(quote(c) for c in columns) + ")"
    row = connection.execute(text(f"SELECT count(*), headwater_row_sum({rendered}) FROM {quoted}")).one()
    return int(row[0]), row[1] or ""


# --- the change signal -------------------------------------------------------------------------------

SETTLE_SECONDS = 2.0  # a SQLite file touched more recently than this gives no signal (see _sqlite_signal)
PG_STATS_SETTLE_SECONDS = 61  # PostgreSQL defers a session's statistics by at most 60 s (PGSTAT_MAX_INTERVAL)
PG_LEAVING_POLLS, PG_LEAVING_POLL_SECONDS = 20, 0.025  # up to half a second for closing sessions to leave


def table_signal(url: str, table: str) -> str | None:
    """A digest that moves whenever the table's content can have moved, read in milliseconds; None
    when the database offers none that can be trusted right now.

    Equal signals stand for equal content only between two looks at the same location: the caller
    keeps the signal with the fingerprint it computed (only when the signal was the same before and
    after it read the table, so nothing moved in between) and may carry that fingerprint over while
    the signal stays put.

    - SQLite: the database file's and its `-wal` and `-journal` files' identity (device, inode),
      size, modification and status-change times (ns), and their headers (the file change counter,
      which every write transaction moves in rollback mode; the WAL header's checkpoint sequence and
      salts, which move whenever the WAL restarts; in WAL mode commits grow the `-wal` file). The
      status-change time (ctime) cannot be set back by any program: restoring an old copy with its
      old modification time still moves it. A file touched within SETTLE_SECONDS gives no signal:
      a second write within one timestamp tick (coarse on some file systems) could otherwise leave
      every stamp as it was. Not seen: the file system itself rolled back under the file (a ZFS,
      btrfs or LVM snapshot restored, a block device rewritten), the system clock set back to the
      very tick of the last look, file systems that keep no ctime. A write to another table of the
      same file moves the signal too (a rescan, never a wrong answer).
    - PostgreSQL 15 and later: the table's insert, update and delete counters from the server's
      statistics, its storage file (moved by TRUNCATE, VACUUM FULL, CLUSTER and rewriting ALTERs),
      its catalog row and columns (names, types, typmods), the database's statistics reset time
      and the server's start time (statistics reset or lost in a crash move one of these). Counters
      reach the statistics only when a session flushes them, up to 60 s after its commit (10 s
      when it goes idle, at once when it disconnects, and not before a long procedure ends), so
      the signal is given only while no other session of the database is running, in a transaction,
      or changed state within PG_STATS_SETTLE_SECONDS, and only when statistics are kept
      (`track_counts`), and everything about the sessions is visible to us (the role can read all
      of `pg_stat_activity`, e.g. `pg_read_all_stats`). Tables with inheritance children, views,
      foreign and partitioned tables give none (their rows live in other relations). Not seen: a
      change written with statistics off for that session (`SET track_counts = off`, superuser
      only), or a restore of the data directory under a running server.
    - Any other database: none.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        backend = make_url(url).get_backend_name()
    except (ArgumentError, ValueError):
        return None
    if backend == "sqlite":
        return _sqlite_signal(url, table)
    if backend == "postgresql":
        return _postgres_signal(url, table)
    return None


def file_signal(path: Path) -> str | None:
    """A digest of a file's metadata that moves whenever its bytes can have moved, one stat() call;
    None when it cannot be trusted right now.

    Made of the path, the file's device, inode, size, and modification and status-change times
    (ns). Any write moves the status-change time (ctime), which no program can set back: restoring
    the old modification time with `os.utime`, or an old copy with its old times, still moves it;
    replacing the file (a rename over it) moves the inode. A file touched within SETTLE_SECONDS
    gives no signal: a second write within one timestamp tick (coarse on some file systems) could
    leave every stamp as the first left it. Not seen, as for SQLite files (`table_signal`): the
    file system rolled back under the file (a ZFS, btrfs or LVM snapshot restored, a block device
    rewritten), the system clock set back to the very tick of the last look, file systems that keep
    no ctime, network file systems serving stale attributes, and writes through a shared memory
    mapping whose times the kernel updates only later. Not a regular file: None (the fingerprint
    says why it cannot be read).
    """
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat_module.S_ISREG(info.st_mode) or time.time() - max(info.st_mtime, info.st_ctime) < SETTLE_SECONDS:
        return None
    return _digest_of("file-stat", [str(path), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns,
                                    info.st_ctime_ns])


def _digest_of(kind: str, parts: list[Any]) -> str:
    return f"{kind}:" + hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def _sqlite_signal(url: str, table: str) -> str | None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.database in (None, "", ":memory:") or parsed.query:  # URI filenames and options: no plain file to stat
        return None
    path = Path(parsed.database)
    now = time.time()
    parts: list[Any] = [url, table]
    for suffix, header_bytes in (("", 100), ("-wal", 32), ("-journal", 28)):
        try:
            with open(f"{path}{suffix}", "rb") as handle:
                stat = os.fstat(handle.fileno())
                header = handle.read(header_bytes)
        except FileNotFoundError:
            if not suffix:
                return None
            parts.append(None)
            continue
        except OSError:
            return None
        if now - max(stat.st_mtime, stat.st_ctime) < SETTLE_SECONDS:
            return None
        if not suffix and not header.startswith(b"SQLite format 3\x00"):
            return None
        parts.append([stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, header.hex()])
    return _digest_of("sqlite-file", parts)


_PG_SIGNAL = """
SELECT c.oid, pg_relation_filenode(c.oid), c.xmin::text, c.relkind, c.relhassubclass,
       s.n_tup_ins, s.n_tup_upd, s.n_tup_del,
       d.stats_reset, pg_postmaster_start_time(),
       (SELECT string_agg(a.attnum || ':' || a.attname || ':' || a.atttypid || ':' || a.atttypmod, ',' ORDER BY a.attnum)
          FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
       (SELECT count(*) FROM pg_stat_activity p
         WHERE p.datid = d.datid AND p.pid <> pg_backend_pid() AND p.backend_type IS DISTINCT FROM 'autovacuum worker'
           AND (p.state IS DISTINCT FROM 'idle'
                OR p.state_change IS NULL OR p.state_change > clock_timestamp() - make_interval(secs => :settle))),
       current_setting('track_counts')::boolean
  FROM pg_class c
  JOIN pg_stat_all_tables s ON s.relid = c.oid
  JOIN pg_stat_database d ON d.datname = current_database()
 WHERE c.oid = to_regclass(:name)
"""


def _postgres_signal(url: str, table: str) -> str | None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    schema, name = split_table(table)
    try:
        engine = create_engine(url)
    except (SQLAlchemyError, ImportError):
        return None
    try:
        with engine.connect() as connection:
            if connection.dialect.server_version_info < (15,):  # before 15 the statistics could be lost (UDP)
                return None
            quoted = engine.dialect.identifier_preparer.format_table(_table(name, schema))
            for _ in range(PG_LEAVING_POLLS):
                row = connection.execute(text(_PG_SIGNAL), {"name": quoted, "settle": PG_STATS_SETTLE_SECONDS}).one_or_none()
                if row is None or not row[11]:
                    break
                # Sessions just closed (ours among them: the scan's, GX's) stay listed for a few ms
                # while they exit; a new transaction sees the list afresh (statistics are
                # snapshotted per transaction).
                connection.rollback()
                time.sleep(PG_LEAVING_POLL_SECONDS)
    except SQLAlchemyError:
        return None
    finally:
        engine.dispose()
    if row is None:
        return None
    (oid, filenode, xmin, relkind, has_children, inserted, updated, deleted, stats_reset, started, columns,
     unsettled, track_counts) = row
    if relkind != "r" or has_children or unsettled or not track_counts or filenode is None:
        return None
    return _digest_of("postgresql-stats", [url, table, oid, filenode, xmin, inserted, updated, deleted,
                                           stats_reset, started, columns])
