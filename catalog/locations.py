"""Where a dataset's content lives, and how a location string is read.

Relative paths in a catalog file are relative to that file, like includes in most config formats,
so a catalog and its data can move together. They are stored resolved, so every later command reads
the same file whatever directory it runs from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

FILE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_SCHEME = re.compile(r"^(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://")
_SQL_DIALECTS = ("sqlite", "postgresql", "postgres", "mysql", "mssql", "oracle", "duckdb", "snowflake", "bigquery", "redshift")

Kind = Literal["file", "sql", "uri"]


@dataclass(frozen=True)
class Location:
    kind: Kind
    value: str  # resolved path, SQLAlchemy URL, or opaque URI
    format: str | None = None  # csv | parquet | jsonl for files
    table: str | None = None  # for SQL locations

    @property
    def checkable(self) -> bool:
        """Whether Headwater itself can read this location (files and SQL tables)."""
        return self.kind in ("file", "sql")


def parse_location(raw: str, base_dir: Path | None = None) -> Location:
    """Parse and resolve a location; raise ValueError with what was expected."""
    text = raw.strip()
    if not text:
        raise ValueError("empty location")
    scheme = _SCHEME.match(text)
    if scheme:
        dialect = scheme.group("scheme").split("+", 1)[0].lower()
        if dialect in _SQL_DIALECTS:
            url, sep, table = text.partition("#")
            if not sep or not table.strip():
                raise ValueError("a database location needs the table after '#', e.g. sqlite:///crm.db#customers")
            if dialect == "sqlite" and base_dir is not None:
                url = _absolute_sqlite(url, base_dir)
            return Location("sql", f"{url}#{table.strip()}", table=table.strip())
        if dialect == "file":
            return parse_location(text[len("file://"):], base_dir)
        return Location("uri", text)
    path = Path(text).expanduser()
    fmt = FILE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"cannot tell the format of '{text}'; expected a .csv, .parquet or .jsonl file, "
            "a SQLAlchemy URL with '#table', or a URI such as s3://bucket/key"
        )
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return Location("file", str(path.resolve()), format=fmt)


def _absolute_sqlite(url: str, base_dir: Path) -> str:
    """sqlite:///relative.db is relative to the catalog file; sqlite:////abs.db stays as it is."""
    prefix, _, path = url.partition(":///")
    if not path or path.startswith("/") or path.startswith(":memory:"):
        return url
    return f"{prefix}:///{(base_dir / path).resolve()}"


def local_path(location: Location) -> Path | None:
    """The local file reading `location` opens: the data file, or a SQLite database; else None."""
    if location.kind == "file":
        return Path(location.value)
    if location.kind != "sql" or not location.value.lower().startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        database = make_url(location.value.partition("#")[0]).database
    except ArgumentError:
        return None
    if not database or database == ":memory:":
        return None
    if database.startswith("file:"):  # SQLite URI filenames: file:/path/x.db?mode=ro
        database = database[len("file:"):].partition("?")[0]
    return Path(database)


def confine(location: Location, roots: Sequence[Path], *, shown: str | None = None,
            databases: Sequence[str] | None = None) -> None:
    """Raise OutsideDataRoots unless the file behind `location` lies under one of `roots`.

    The path is resolved first, so `..` segments and symlinks are judged by where they really lead,
    not by how they are spelled. Called when a location is registered and again just before it is
    read, so a symlink swapped in between is still caught. The message quotes `shown` (the location
    as its sender spelled it), never where a symlink really leads.

    A database server is not a file: with `databases` (the operator's allow-list of `host` or
    `host:port`), a SQL location elsewhere is refused too, so a write token cannot make the server
    connect to any host and port of its network. Without it (the CLI: the operator's own catalog)
    database URLs pass. Object-store URIs are never read, and pass.
    """
    from catalog.errors import DatabaseNotAllowed, OutsideDataRoots

    if databases is not None and location.kind == "sql" and not location.value.lower().startswith("sqlite"):
        server = database_server(location)
        if server is None or not _allowed(server, databases):
            raise DatabaseNotAllowed(
                f"{shown or shown_location(location.value)}: the server connects only to the database servers its operator "
                f"allows (HEADWATER_ALLOWED_DATABASES), and {server[0] if server else 'this URL'!s} is not one of them"
            )
        return
    path = local_path(location)
    if path is None:
        return
    real = path.expanduser().resolve()
    if not any(real.is_relative_to(root.expanduser().resolve()) for root in roots):
        raise OutsideDataRoots(
            f"{shown or shown_location(location.value)} lies outside the server's data roots, so the server will not read it "
            "(its operator can add a folder to HEADWATER_DATA_ROOTS)"
        )


def database_server(location: Location) -> tuple[str, int | None] | None:
    """(host, port) of a SQL location's server, lower-cased; None when the URL names none."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(location.value.partition("#")[0])
    except ArgumentError:
        return None
    if not url.host:
        return None  # a socket path or the driver's default host: not on any allow-list by name
    return url.host.lower().strip("[]"), url.port


def _allowed(server: tuple[str, int | None], databases: Sequence[str]) -> bool:
    """Whether `(host, port)` is on the allow-list: `host` (any port), `host:port`, `[v6]`, `[v6]:port`."""
    host, port = server
    for entry in databases:
        text = entry.strip().lower()
        if text.startswith("["):
            allowed_host, _, rest = text[1:].partition("]")
            allowed_port = rest.removeprefix(":")
        elif text.count(":") == 1:
            allowed_host, allowed_port = text.split(":")
        else:
            allowed_host, allowed_port = text, ""
        if allowed_host == host and (not allowed_port or allowed_port == str(port)):
            return True
    return False


def shown_location(value: str | None) -> str | None:
    """A location as people, logs and reports see it: every credential it holds masked (a database
    password, `s3://KEY:SECRET@`, a SAS `sig`, `?token=`…; see catalog/secrets.py).

    The store keeps the real value (a check must connect with it); every shape that leaves the
    process (API answers, CLI output, check results, manifests) shows this instead.
    """
    from catalog.secrets import mask_secrets

    return mask_secrets(value) if value else value
