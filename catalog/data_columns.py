"""A dataset's columns as its data says them, read from the header or schema only (issue 21).

What `headwater check` records with source "check" whenever it reads a dataset: cheap beside the
fingerprint, which reads every byte or row anyway, and never a second read of the data:
- CSV: the header line, through the csv module (no types: a CSV has none until a parser guesses);
- Parquet: the schema in the file's footer (pyarrow), top-level fields with Arrow's type names;
  pandas' stored index columns (`__index_level_0__`) are not columns of the data;
- SQL tables: SQLAlchemy's inspector on the data source (the table's catalog, no row is read),
  types as the database names them, and the column comment as its description when there is one;
- JSON Lines: None, no header says its columns (each line may have other keys).
A header name that is empty, repeated or not a possible name is left out, not guessed at.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from catalog.bulk_columns import ColumnValues
from catalog.fingerprint import Unreadable, require_sqlite_file, split_table
from catalog.locations import Location
from catalog.names import name_problem

MAX_COLUMNS = 10_000
MAX_NAME = 1000
MAX_LINE = 1024 * 1024  # bytes of one header line
PANDAS_INDEX = re.compile(r"^__index_level_\d+__$")


def read_columns(location: Location) -> list[ColumnValues] | None:
    """The location's columns in order (position from 0), or None when its format has no header.

    Raises `Unreadable` when the header or schema cannot be read."""
    if location.kind == "file":
        if location.format == "csv":
            return _clean(_csv_header(Path(location.value)))
        if location.format == "parquet":
            return _clean(_parquet_schema(Path(location.value)))
        return None
    if location.kind == "sql":
        return _clean(_table_columns(location.value.partition("#")[0], location.table or ""))
    return None


def _csv_header(path: Path) -> list[tuple[str, str | None, str | None]]:
    """The first record, decoded a line at a time: nothing after the header is decoded or parsed."""
    def lines(handle: Any) -> Iterator[str]:
        first = True
        while line := handle.readline(MAX_LINE + 1):
            if len(line) > MAX_LINE:
                raise Unreadable(f"the header of {path.name} is longer than {MAX_LINE:,} bytes")
            yield line.decode("utf-8-sig" if first else "utf-8")
            first = False

    try:
        with path.open("rb") as handle:
            header = next(csv.reader(lines(handle)), [])
    except FileNotFoundError:
        raise Unreadable(f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise Unreadable(f"cannot read the header of {path.name}: {exc}") from None
    return [(name, None, None) for name in header]


def _parquet_schema(path: Path) -> list[tuple[str, str | None, str | None]]:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except FileNotFoundError:
        raise Unreadable(f"file not found: {path}") from None
    except Exception as exc:  # pyarrow raises ArrowInvalid, OSError, ... for what is not Parquet
        raise Unreadable(f"cannot read the schema of {path.name}: {str(exc).splitlines()[0] if str(exc) else exc}") \
            from None
    return [(field.name, str(field.type), None) for field in schema if not PANDAS_INDEX.match(field.name)]


def _table_columns(url: str, table: str) -> list[tuple[str, str | None, str | None]]:
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
            found = inspect(connection).get_columns(name, schema=schema)
        return [(str(c["name"]), _type_name(c["type"], engine.dialect), c.get("comment") or None) for c in found]
    except NoSuchTableError:
        raise Unreadable(f"no table {table!r} in {mask_url(url)}") from None
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        raise Unreadable(f"cannot read the columns of {table!r} in {mask_url(url)}: {reason}") from None
    finally:
        engine.dispose()


def _type_name(type_: object, dialect: object) -> str | None:
    try:
        return str(type_.compile(dialect=dialect))  # type: ignore[attr-defined]
    except Exception:  # a type the dialect cannot render (NullType for an untyped SQLite column)
        text = str(type_) if type_ is not None else ""
        return text if text and text != "NULL" else None


def _clean(found: list[tuple[str, str | None, str | None]]) -> list[ColumnValues]:
    columns: list[ColumnValues] = []
    seen: set[str] = set()
    for position, (name, type_, description) in enumerate(found[:MAX_COLUMNS]):
        if not name.strip() or name in seen or len(name) > MAX_NAME or name_problem(name):
            continue
        seen.add(name)
        columns.append(ColumnValues(name, type_ or None, description, (), position))
    return columns
