"""The cheap change signal of SQL tables (catalog/fingerprint.py `table_signal`) and its use by
`run_checks`: an unchanged table carries its fingerprint over without a scan, and every change the
docs say is covered moves the signal, against real SQLite files and a real PostgreSQL server.

Each assertion is about a signal (or a fingerprint) being equal or different, never about time."""

from __future__ import annotations

import os
import shutil
import sqlite3
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import catalog.fingerprint as fingerprint
from catalog.fingerprint import table_signal
from checks import service
from tests.checks.conftest import fingerprinted, recorded_signals

SUITE = """\
    catalog: t
    datasets:
      - name: people
        location: {location}
        personal_data: false
        expectations:
          - expect_column_values_to_be_between: {{column: age, min_value: 18, max_value: 120}}
            severity: critical
"""


@pytest.fixture
def settled(monkeypatch):
    """Files written a moment ago count as settled: these tests write and look at once. What the
    window is for is tested on its own (test_a_freshly_written_file_gives_no_signal)."""
    monkeypatch.setattr(fingerprint, "SETTLE_SECONDS", 0.0)


def _sqlite(path: Path, rows=((1, 30), (2, 40))) -> str:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE people (id INTEGER, age INTEGER)")
        connection.executemany("INSERT INTO people VALUES (?, ?)", rows)
    connection.close()
    return f"sqlite:///{path}"


def _execute(path: Path, *statements: str) -> None:
    connection = sqlite3.connect(path)
    try:
        for statement in statements:
            connection.execute(statement)
        connection.commit()
    finally:
        connection.close()


# --- SQLite -------------------------------------------------------------------------------------------

def test_sqlite_signal_is_steady_until_a_commit_even_one_that_keeps_the_size(tmp_path, settled):
    path = tmp_path / "crm.db"
    url = _sqlite(path)
    first = table_signal(url, "people")
    assert first is not None and first == table_signal(url, "people")
    size = path.stat().st_size
    _execute(path, "UPDATE people SET age = 31 WHERE id = 1")
    assert path.stat().st_size == size  # same bytes count: the change counter and the times move
    moved = table_signal(url, "people")
    assert moved not in (None, first)
    _execute(path, "INSERT INTO people VALUES (3, 50)")
    assert table_signal(url, "people") not in (None, first, moved)


def test_sqlite_signal_sees_a_different_copy_put_back_with_the_old_size_and_mtime(tmp_path, settled):
    path, other = tmp_path / "crm.db", tmp_path / "other.db"
    url = _sqlite(path)
    _sqlite(other, rows=((1, 99), (2, 40)))  # same shape and size, another value, same change counter
    assert other.stat().st_size == path.stat().st_size
    seen = table_signal(url, "people")
    before = path.stat()
    with path.open("r+b") as target:  # overwrite in place: same inode, as `cp` over a file does
        target.write(other.read_bytes())
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns and path.stat().st_ino == before.st_ino
    assert table_signal(url, "people") != seen  # the status-change time cannot be set back


def test_sqlite_wal_commits_and_checkpoints_move_the_signal(tmp_path, settled):
    path = tmp_path / "crm.db"
    url = _sqlite(path)
    keeper = sqlite3.connect(path)  # an open connection keeps the -wal file between commits
    try:
        keeper.execute("PRAGMA journal_mode=WAL")
        keeper.execute("INSERT INTO people VALUES (3, 50)")
        keeper.commit()
        assert Path(f"{path}-wal").exists()
        seen = table_signal(url, "people")
        assert seen is not None
        keeper.execute("UPDATE people SET age = 51 WHERE id = 3")
        keeper.commit()
        committed = table_signal(url, "people")
        assert committed not in (None, seen)  # the main file is untouched; the -wal file grew
        keeper.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert table_signal(url, "people") not in (None, seen, committed)
    finally:
        keeper.close()


def test_a_freshly_written_file_gives_no_signal(tmp_path):
    url = _sqlite(tmp_path / "crm.db")
    assert fingerprint.SETTLE_SECONDS >= 1
    assert table_signal(url, "people") is None  # written just now: a second write could share its timestamps


def test_the_signal_names_its_table_and_refuses_what_is_not_a_plain_file(tmp_path, settled):
    path = tmp_path / "crm.db"
    url = _sqlite(path)
    _execute(path, "CREATE TABLE other (x INTEGER)")
    assert table_signal(url, "people") != table_signal(url, "other")
    assert table_signal(f"sqlite:///{tmp_path / 'missing.db'}", "people") is None
    assert not (tmp_path / "missing.db").exists()
    (tmp_path / "text.db").write_text("not a database")
    assert table_signal(f"sqlite:///{tmp_path / 'text.db'}", "people") is None
    assert table_signal("sqlite://", "people") is None
    assert table_signal("mysql://u@h/db", "people") is None


# --- run_checks on SQLite --------------------------------------------------------------------------------


def test_an_unchanged_table_carries_its_fingerprint_and_verdict_without_a_scan(store, load, tmp_path, settled,
                                                                                monkeypatch):
    path = tmp_path / "crm.db"
    _sqlite(path, rows=((1, 30), (2, 12)))
    load(SUITE.format(location="sqlite:///crm.db#people"))
    (first,) = service.run_checks(store).runs
    assert first.outcome == "failed"
    scans = fingerprinted(monkeypatch)
    report = service.run_checks(store)
    (second,) = report.runs
    assert scans == [] and report.reused == 1
    assert second.fingerprint == first.fingerprint and second.reused_from == first.id
    assert second.fingerprint_observed_at > first.fingerprint_observed_at
    signals = recorded_signals(store)
    assert signals[0] is not None and signals == [signals[0]] * 2

    _execute(path, "UPDATE people SET age = 40 WHERE id = 2")
    report = service.run_checks(store)
    (third,) = report.runs
    assert len(scans) == 1 and report.validated == 1
    assert third.fingerprint != first.fingerprint and third.outcome == "passed"
    assert recorded_signals(store)[2] not in (None, signals[0])


def test_force_always_scans_and_a_signal_that_moved_during_the_read_is_not_kept(store, load, tmp_path, settled,
                                                                                monkeypatch):
    _sqlite(tmp_path / "crm.db")
    load(SUITE.format(location="sqlite:///crm.db#people"))
    service.run_checks(store)
    scans = fingerprinted(monkeypatch)
    service.run_checks(store, force=True)
    assert len(scans) == 1

    looks = iter(["before", "after"])
    monkeypatch.setattr(service, "_signal", lambda location: next(looks))
    service.run_checks(store, force=True)
    assert recorded_signals(store)[-1] is None  # the two looks disagreed: this fingerprint carries nothing over
    monkeypatch.setattr(service, "_signal", lambda location: "after")
    service.run_checks(store)
    assert len(scans) == 3  # so the next run scans


def test_a_moved_location_never_carries_the_old_tables_fingerprint(store, load, tmp_path, monkeypatch):
    _sqlite(tmp_path / "crm.db")
    _sqlite(tmp_path / "other.db", rows=((1, 99),))
    monkeypatch.setattr(service, "_signal", lambda location: "a signal that never moves")
    load(SUITE.format(location="sqlite:///crm.db#people"))
    (first,) = service.run_checks(store).runs
    load(SUITE.format(location="sqlite:///other.db#people"))
    scans = fingerprinted(monkeypatch)
    (second,) = service.run_checks(store).runs
    assert len(scans) == 1 and second.fingerprint != first.fingerprint  # the signal is only trusted for its own place


# --- PostgreSQL ---------------------------------------------------------------------------------------------

def _quiet(url: str, *engines) -> None:
    """Writers gone: disconnected, and no longer listed by the server (a session flushes its
    statistics before it leaves the list, see test_postgres_signal_moves_with_every_kind_of_change)."""
    for engine in engines:
        engine.dispose()
    probe = create_engine(url)
    try:
        for _ in range(100):
            with probe.connect() as connection:
                others = connection.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid() AND backend_type = 'client backend'")).scalar_one()
            if not others:
                return
            time.sleep(0.05)
        raise AssertionError("sessions of the test database did not go away")
    finally:
        probe.dispose()


def _write(url: str, *statements: str) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))
    _quiet(url, engine)


@pytest.mark.postgres
def test_postgres_signal_moves_with_every_kind_of_change(pg_url):
    _write(pg_url, "CREATE TABLE people (id integer, age integer)", "INSERT INTO people VALUES (1, 30), (2, 40)")
    seen = [table_signal(pg_url, "people")]
    assert seen[0] is not None and table_signal(pg_url, "public.people") is not None
    assert table_signal(pg_url, "people") == seen[0]  # nothing happened: the same
    for change in (
        "INSERT INTO people VALUES (3, 50)",
        "UPDATE people SET age = age WHERE id = 1",  # same values, still a write
        "DELETE FROM people WHERE id = 3",
        "TRUNCATE people",
        "ALTER TABLE people RENAME COLUMN age TO years",
        "ALTER TABLE people ADD COLUMN note text DEFAULT 'x'",  # no rewrite, yet every row reads differently
    ):
        _write(pg_url, change)
        now = table_signal(pg_url, "people")
        assert now is not None and now not in seen, change
        seen.append(now)
    _write(pg_url, "SELECT pg_stat_reset_single_table_counters('people'::regclass)")
    assert table_signal(pg_url, "people") not in seen


@pytest.mark.postgres
def test_postgres_gives_no_signal_while_another_session_may_hold_unflushed_statistics(pg_url):
    _write(pg_url, "CREATE TABLE people (id integer, age integer)", "INSERT INTO people VALUES (1, 30)")
    assert table_signal(pg_url, "people") is not None
    writer = create_engine(pg_url)
    try:
        with writer.connect() as connection:
            connection.execute(text("UPDATE people SET age = 31"))
            connection.commit()
            # committed, connected, idle: its counters may reach the statistics up to a minute later
            assert table_signal(pg_url, "people") is None
            connection.execute(text("SELECT 1"))  # idle in transaction
            assert table_signal(pg_url, "people") is None
    finally:
        _quiet(pg_url, writer)
    assert table_signal(pg_url, "people") is not None


@pytest.mark.postgres
def test_postgres_tables_whose_rows_live_elsewhere_give_no_signal(pg_url):
    _write(pg_url, "CREATE TABLE parent (id integer)", "CREATE TABLE child () INHERITS (parent)",
           "CREATE VIEW v AS SELECT 1 AS x", "CREATE TABLE plain (id integer)")
    assert table_signal(pg_url, "parent") is None  # SELECT * FROM parent reads the child's rows too
    assert table_signal(pg_url, "v") is None
    assert table_signal(pg_url, "missing") is None
    assert table_signal(pg_url, "plain") is not None


@pytest.mark.postgres
def test_postgres_table_carries_its_fingerprint_until_a_writer_commits(pg_url, tmp_path, monkeypatch):
    from catalog.loader import load_catalog
    from catalog.store import Store

    store = Store(f"sqlite:///{tmp_path / 'store.db'}")  # the catalog's own sessions stay off the data's database
    try:
        _write(pg_url, "CREATE TABLE people (id integer, age integer)", "INSERT INTO people VALUES (1, 30), (2, 12)")
        path = tmp_path / "catalog.yaml"
        path.write_text(textwrap.dedent(SUITE.format(location=f"{pg_url}#people")))
        load_catalog(store, [path])
        (first,) = service.run_checks(store).runs
        assert first.outcome == "failed" and recorded_signals(store)[0] is not None
        scans = fingerprinted(monkeypatch)
        (second,) = service.run_checks(store).runs
        assert scans == [] and second.reused_from == first.id and second.fingerprint == first.fingerprint

        writer = create_engine(pg_url)
        try:
            with writer.connect() as connection:
                connection.execute(text("UPDATE people SET age = 40 WHERE id = 2"))
                connection.commit()
                (third,) = service.run_checks(store).runs  # the writer is still connected: no signal, a scan
        finally:
            _quiet(pg_url, writer)
        assert len(scans) == 1 and third.fingerprint != first.fingerprint and third.outcome == "passed"
    finally:
        store.close()


def test_copy_of_a_file_is_a_new_signal(tmp_path, settled):
    path = tmp_path / "crm.db"
    url = _sqlite(path)
    seen = table_signal(url, "people")
    shutil.copy2(path, tmp_path / "copy.db")
    os.replace(tmp_path / "copy.db", path)  # same bytes, same mtime, a new file
    assert table_signal(url, "people") not in (None, seen)
