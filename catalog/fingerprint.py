"""Content fingerprints: what exactly a dataset held when we looked.

Files: `sha256:` + the SHA-256 of the file's bytes, streamed in 1 MiB blocks, so the digest is the
one `sha256sum` prints and memory stays flat whatever the file size.

SQL tables: computed inside the database, so no row is pulled into Python. Each row's text form
is hashed and the hashes are *added up* (a multiset hash: row order does not matter, no sort is
needed, and a duplicated or deleted row changes the sum):
- PostgreSQL: MD5 of each row's text (`t::text`), its two 64-bit halves summed as exact numerics
  by the server;
- SQLite: each row rendered by `json_array(...)`, hashed with BLAKE2b-128 and summed modulo 2^128
  by an aggregate we register on the connection (SQLite has no built-in hash; it runs in-process).
The row count, the sums, and the table's column names and types are hashed together with SHA-256,
so a renamed or retyped column changes the fingerprint too. It is a full scan of the table: on
1M rows about a second on either database. Table fingerprints are comparable only with earlier
fingerprints of the same table.
"""

from __future__ import annotations

import hashlib
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
