"""The store on SQLite and PostgreSQL: migrations, revision, constraints, timestamps, URLs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from catalog.errors import ConfigurationError, StoreUnavailable
from catalog.schema import Dataset, Feed, Incident
from catalog.store import Store, mask_url


def test_first_open_migrates_to_head_and_reopening_is_a_no_op(store_url):
    from alembic.script import ScriptDirectory
    from alembic.config import Config

    from catalog.store import MIGRATIONS

    first = Store(store_url)
    tables = set(inspect(first.engine).get_table_names())
    assert {"datasets", "models", "feeds", "derivations", "incidents", "jobs", "store_revision", "alembic_version"} <= tables
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    with first.engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == head
    with first.transaction() as writer:
        writer.upsert_dataset("ns", "kept", {"owner": "o"})
    first.close()
    second = Store(store_url)
    assert second.counts()["datasets"] == 1
    assert second.revision() == 1
    second.close()


def test_revision_moves_only_when_a_write_changes_something(store):
    assert store.revision() == 0
    with store.transaction() as writer:
        _, change = writer.upsert_dataset("ns", "a", {"owner": "o", "freshness": timedelta(days=7)})
    assert change == "created" and store.revision() == 1
    with store.transaction() as writer:
        _, change = writer.upsert_dataset("ns", "a", {"owner": "o", "freshness": timedelta(days=7)})
    assert change == "unchanged" and store.revision() == 1
    with store.transaction() as writer:
        _, change = writer.upsert_dataset("ns", "a", {"owner": "p"})
    assert change == "updated" and store.revision() == 2


def test_updated_at_moves_on_update_and_created_at_does_not(store):
    with store.transaction() as writer:
        writer.upsert_dataset("ns", "a", {"owner": "o"})
    with store.read() as session:
        before = session.scalar(select(Dataset))
    with store.transaction() as writer:
        writer.upsert_dataset("ns", "a", {"owner": "p"})
    with store.read() as session:
        after = session.scalar(select(Dataset))
    assert after.created_at == before.created_at
    assert after.updated_at > before.updated_at
    assert after.created_at.tzinfo is not None


def test_foreign_keys_are_enforced(store):
    with pytest.raises(IntegrityError):
        with store.transaction() as writer:
            writer.session.add(Feed(dataset_id=999, model_id=999, role="training"))
            writer.changed = True
    assert store.revision() == 0


def test_deleting_a_dataset_cascades_to_its_incidents(store):
    from datetime import datetime, timezone

    from catalog.bulk import Bulk

    with store.transaction() as writer:
        dataset, _ = writer.upsert_dataset("ns", "a", {})
        Bulk(writer).upsert_incidents({(dataset.id, "breach", datetime(2026, 11, 1, tzinfo=timezone.utc)): {"note": "n"}})
    assert store.counts()["incidents"] == 1
    with store.transaction() as writer:
        writer.session.delete(writer.dataset("ns", "a"))
        writer.changed = True
    with store.read() as session:
        assert session.scalars(select(Incident)).all() == []


def test_unique_names_per_namespace(store):
    with pytest.raises(IntegrityError):
        with store.transaction() as writer:
            writer.session.add_all([Dataset(namespace="n", name="x"), Dataset(namespace="n", name="x")])
            writer.session.flush()
    with store.transaction() as writer:
        writer.session.add_all([Dataset(namespace="n", name="x"), Dataset(namespace="m", name="x")])
        writer.changed = True
    assert store.counts()["datasets"] == 2


def test_sqlite_store_uses_wal_and_foreign_keys(sqlite_url):
    with Store(sqlite_url) as store, store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_a_big_sqlite_transaction_is_written_once_at_its_commit(tmp_path):
    """A load is one transaction far bigger than SQLite's page cache: it must not be written out page
    by page as the cache fills (cache_spill), which cost a quarter of a reference load."""
    path = tmp_path / "big.db"
    with Store(f"sqlite:///{path}") as store, store.engine.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE scratch (x BLOB)")
        connection.commit()
        wal = path.with_name(path.name + "-wal")
        before = wal.stat().st_size
        connection.exec_driver_sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
                                   "INSERT INTO scratch SELECT randomblob(1000) FROM n")
        assert wal.stat().st_size == before  # 20 MB pending, ten times the default cache, none of it written
        connection.commit()
        assert wal.stat().st_size > before + 20_000_000


def test_sqlite_writes_keep_their_statement_journals_in_memory_and_reads_do_not(sqlite_url):
    """Each row of a history-tracked executemany fires a trigger, so it keeps a statement journal:
    in a temporary file that was millions of page writes per ingest; reads keep the default."""
    with Store(sqlite_url) as store:
        for _ in range(2):  # the same pooled connection, turned back and forth
            with store.transaction() as writer:
                assert writer.session.execute(text("PRAGMA temp_store")).scalar() == 2  # MEMORY
            with store.read() as session:
                assert session.execute(text("PRAGMA temp_store")).scalar() == 0  # DEFAULT


def test_in_memory_sqlite_keeps_its_data_across_connections():
    with Store("sqlite://") as store:
        with store.transaction() as writer:
            writer.upsert_dataset("ns", "a", {})
        assert store.counts()["datasets"] == 1


def test_mask_url_hides_the_password():
    assert mask_url("postgresql+psycopg://alice:s3cret@db:5432/hw") == "postgresql+psycopg://alice:***@db:5432/hw"
    assert "s3cret" not in mask_url("postgresql+psycopg://alice:s3cret@db/hw")


def test_unreachable_server_is_a_clear_error_without_the_password():
    with pytest.raises(StoreUnavailable) as raised:
        Store("postgresql+psycopg://alice:s3cret@127.0.0.1:1/hw")
    message = str(raised.value)
    assert "s3cret" not in message and "alice:***@127.0.0.1:1" in message


@pytest.mark.parametrize("url, fragment", [
    ("not a url", "invalid database URL"),
    ("mysql://u@h/db", "unsupported database 'mysql'"),
    ("sqlite:////no/such/folder/x.db", "does not exist"),
])
def test_bad_urls_are_configuration_errors(url, fragment):
    with pytest.raises(ConfigurationError) as raised:
        Store(url)
    assert fragment in str(raised.value)


def _lock_waiters(url: str) -> int:
    """Sessions of this database waiting for a lock (any kind: advisory, row or table)."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )).scalar_one())
    finally:
        engine.dispose()


def _until(condition: Callable[[], bool], timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.postgres
def test_postgresql_writer_waits_for_the_one_in_progress_then_reads_what_it_wrote(pg_url):
    """A writer that read before the one in progress committed could decide on a stale store
    (two loads each finding no cycle, issue 15): on PostgreSQL it waits, as on SQLite."""
    first, second = Store(pg_url), Store(pg_url)
    seen: list[list[tuple[str, str]]] = []

    def later_writer() -> None:
        with second.transaction() as writer:
            seen.append(writer.dataset_keys())
            writer.upsert_dataset("ns", "second", {})

    thread = threading.Thread(target=later_writer, daemon=True)
    try:
        with first.transaction() as writer:
            writer.upsert_dataset("ns", "first", {})
            thread.start()
            assert _until(lambda: _lock_waiters(pg_url) == 1 or not thread.is_alive())
            assert thread.is_alive() and seen == [], f"the second writer did not wait: it read {seen}"
        thread.join(timeout=30)
        assert seen == [[("ns", "first")]]
        assert second.counts()["datasets"] == 2 and second.revision() == 2
    finally:
        first.close()
        second.close()


def test_a_writer_that_failed_does_not_hold_up_the_next(store_url):
    """The writers' lock goes with the transaction, rolled back or not; a lock kept by a pooled
    connection would stall every later write of every process."""
    first, second = Store(store_url), Store(store_url)
    try:
        with pytest.raises(RuntimeError):
            with first.transaction() as writer:
                writer.upsert_dataset("ns", "gone", {})
                raise RuntimeError("the writer fails half-way")
        done = threading.Event()

        def next_writer() -> None:
            with second.transaction() as writer:
                writer.upsert_dataset("ns", "kept", {})
            done.set()

        threading.Thread(target=next_writer, daemon=True).start()
        assert done.wait(timeout=10), "the next writer is still waiting for a lock the failed one kept"
        assert second.counts()["datasets"] == 1 and second.revision() == 1
    finally:
        first.close()
        second.close()
