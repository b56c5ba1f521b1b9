"""Fingerprints: files as `sha256sum` sees them, tables by content computed in the database."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from catalog.fingerprint import Unreadable, fingerprint_file, fingerprint_table


def test_file_fingerprint_is_what_sha256sum_prints(tmp_path):
    path = tmp_path / "big.bin"
    path.write_bytes(bytes(range(256)) * 20_000)  # several blocks of the streaming reader
    expected = subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True).stdout.split()[0]
    seen = fingerprint_file(path)
    assert seen.fingerprint == f"sha256:{expected}"
    assert seen.size == 256 * 20_000 and seen.modified_at is not None


def test_missing_file_and_folder_are_unreadable(tmp_path):
    with pytest.raises(Unreadable, match="file not found"):
        fingerprint_file(tmp_path / "nope.csv")
    with pytest.raises(Unreadable, match="folder"):
        fingerprint_file(tmp_path)


def _sqlite_table(path: Path, rows: list[tuple]) -> str:
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE t (id INTEGER, name TEXT, score REAL)")
        connection.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    connection.close()
    return f"sqlite:///{path}"


ROWS = [(1, "a", 0.5), (2, "b", None), (3, "c'\"", 1e10)]


def test_sqlite_table_fingerprint_ignores_row_order_but_not_content(tmp_path):
    url = _sqlite_table(tmp_path / "a.db", ROWS)
    first = fingerprint_table(url, "t")
    assert first.size == 3
    assert fingerprint_table(_sqlite_table(tmp_path / "b.db", ROWS[::-1]), "t").fingerprint == first.fingerprint
    changed = fingerprint_table(_sqlite_table(tmp_path / "c.db", [(1, "a", 0.5), (2, "B", None), ROWS[2]]), "t")
    assert changed.fingerprint != first.fingerprint
    duplicated = fingerprint_table(_sqlite_table(tmp_path / "d.db", ROWS + [ROWS[0]]), "t")
    assert duplicated.fingerprint != first.fingerprint


def test_missing_sqlite_file_is_unreadable_and_not_created(tmp_path):
    with pytest.raises(Unreadable, match="database file not found"):
        fingerprint_table(f"sqlite:///{tmp_path / 'nope.db'}", "t")
    assert not (tmp_path / "nope.db").exists()


def test_missing_table_is_unreadable(tmp_path):
    url = _sqlite_table(tmp_path / "a.db", ROWS)
    with pytest.raises(Unreadable, match="no table 'other'"):
        fingerprint_table(url, "other")


@pytest.mark.postgres
def test_postgres_table_fingerprint_is_computed_in_the_server(pg_url):
    engine = create_engine(pg_url)

    def reset(rows: list[tuple], column: str = "name") -> None:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS s.t"))
            connection.execute(text("CREATE SCHEMA IF NOT EXISTS s"))
            connection.execute(text(f"CREATE TABLE s.t (id integer, {column} text, score double precision)"))
            for row in rows:
                connection.execute(text("INSERT INTO s.t VALUES (:a, :b, :c)"), {"a": row[0], "b": row[1], "c": row[2]})

    reset(ROWS)
    first = fingerprint_table(pg_url, "s.t")
    assert first.size == 3
    reset(ROWS[::-1])
    assert fingerprint_table(pg_url, "s.t").fingerprint == first.fingerprint
    reset(ROWS[:2])
    assert fingerprint_table(pg_url, "s.t").fingerprint != first.fingerprint
    reset(ROWS, column="label")  # same values, renamed column
    assert fingerprint_table(pg_url, "s.t").fingerprint != first.fingerprint
    engine.dispose()


@pytest.mark.postgres
def test_postgres_table_with_a_type_without_a_row_hash_is_fingerprinted_by_its_text(pg_url):
    """`json` has no hash function, so the server's row hash refuses the row; the MD5 of the row's
    text is used instead, and still sees a change inside the document."""
    engine = create_engine(pg_url)

    def reset(document: str) -> None:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS docs"))
            connection.execute(text("CREATE TABLE docs (id integer, body json)"))
            connection.execute(text("INSERT INTO docs VALUES (1, CAST(:d AS json)), (2, NULL)"), {"d": document})

    reset('{"a": 1}')
    first = fingerprint_table(pg_url, "docs")
    assert first.size == 2 and fingerprint_table(pg_url, "docs").fingerprint == first.fingerprint
    reset('{"a": 2}')
    assert fingerprint_table(pg_url, "docs").fingerprint != first.fingerprint
    engine.dispose()


@pytest.mark.postgres
def test_postgres_fingerprint_sees_a_null_moving_between_columns(pg_url):
    engine = create_engine(pg_url)

    def reset(row: tuple) -> str:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS t"))
            connection.execute(text("CREATE TABLE t (a integer, b integer)"))
            connection.execute(text("INSERT INTO t VALUES (:a, :b)"), {"a": row[0], "b": row[1]})
        return fingerprint_table(pg_url, "t").fingerprint

    assert len({reset((1, None)), reset((None, 1)), reset((1, 1)), reset((None, None))}) == 4
    engine.dispose()
