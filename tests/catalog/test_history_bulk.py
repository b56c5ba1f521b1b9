"""The history's fast paths must record and hash exactly what the slow ones do.

A load's bulk INSERT on SQLite is recorded set-wise (`catalog.history.triggers.recorded_set_wise`)
rather than by the row trigger: the change rows must be the trigger's, byte for byte, the trigger
must be back afterwards (also after a failure), and a store with history off must still record
nothing. The seal's digest is built from lines the database writes (`catalog.history.chain`): it
must equal the digest of the changes encoded in Python, whatever the texts hold, so stores sealed
before verify, and an edit is still found.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from catalog.bulk import Bulk
from catalog.history import chain, triggers
from catalog.history import service as history
from catalog.schema import Dataset, Derivation
from catalog.store import Store

AT = datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc)
FIELDS = {
    "description": "tab\there, a newline\nand a backslash \\ and a quote \" and unicode é \u2028 😀",
    "owner": None, "personal_data": True, "special_categories": ["health", "biometric"],
    "licence_expires": date(2027, 3, 1), "retention": timedelta(days=30, seconds=5), "freshness": None,
    "tags": [], "facets": {"nested": {"a": [1, 2.5, None, True], "q": "\"x\""}}, "licence_revoked": False,
    "created_at": AT, "updated_at": AT,
}


def _datasets(first: int, count: int) -> list[dict]:
    return [{"namespace": "ns", "name": f"d{i}", **FIELDS, "description": f"{FIELDS['description']} {i}"}
            for i in range(first, first + count)]


def _edges(pairs: list[tuple[int, int]]) -> list[dict]:
    return [{"input_id": i, "output_id": o, "job_id": None, "source": "catalog", "created_at": AT, "updated_at": AT}
            for i, o in pairs]


def _changes(store: Store) -> list[tuple]:
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(
            'SELECT id, entity, row_id, op, "before", "after" FROM history_changes ORDER BY id'))]


def _trigger_sql(store: Store) -> list[tuple]:
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name"))]


def _write(store: Store, set_wise: bool, table, rows: list[dict]) -> None:
    with store.transaction("test") as writer:
        if set_wise:
            Bulk(writer)._insert(table, rows)  # the driver's executemany, recorded set-wise
        else:
            writer.session.connection().execute(insert(table.__table__), rows)  # Core: the row triggers record it
            writer.changed = True


def test_a_bulk_insert_is_recorded_as_the_row_triggers_record_it(tmp_path):
    stores = {way: Store(f"sqlite:///{tmp_path}/{way}.db") for way in ("triggers", "set-wise")}
    try:
        for way, store in stores.items():
            set_wise = way == "set-wise"
            _write(store, set_wise, Dataset, _datasets(0, 30))
            _write(store, set_wise, Derivation, _edges([(i, i + 1) for i in range(1, 29)]))
            _write(store, set_wise, Dataset, _datasets(30, 5))  # into a table that already holds rows
            _write(store, set_wise, Derivation, _edges([(1, 31), (2, 32)]))
        recorded = {way: _changes(store) for way, store in stores.items()}
        assert len(recorded["triggers"]) == 30 + 28 + 5 + 2
        assert recorded["set-wise"] == recorded["triggers"]
        assert _trigger_sql(stores["set-wise"]) == _trigger_sql(stores["triggers"])  # the trigger is back, as it was
        for store in stores.values():
            assert history.verify(store).ok
        # and it still records what comes after, row by row
        with stores["set-wise"].transaction("test") as writer:
            writer.upsert_dataset("ns", "later", {"description": "after the bulk insert"})
        assert _changes(stores["set-wise"])[-1][1:4] == ("datasets", "36", "insert")
    finally:
        for store in stores.values():
            store.close()


def test_a_bulk_insert_into_a_store_without_history_records_nothing(tmp_path):
    with Store(f"sqlite:///{tmp_path}/off.db") as store:
        with store.engine.begin() as connection:
            triggers.uninstall(connection)
        _write(store, True, Dataset, _datasets(0, 3))
        assert _changes(store) == []
        assert _trigger_sql(store) == []  # none created by the bulk path either


def test_a_failed_bulk_insert_keeps_the_trigger_and_records_nothing(tmp_path):
    with Store(f"sqlite:///{tmp_path}/fail.db") as store:
        _write(store, True, Dataset, _datasets(0, 2))
        before, installed = _changes(store), _trigger_sql(store)
        with pytest.raises(IntegrityError):
            _write(store, True, Dataset, [*_datasets(2, 2), *_datasets(1, 1)])  # d1 is taken: a lost race
        assert _changes(store) == before
        assert _trigger_sql(store) == installed
        _write(store, False, Dataset, _datasets(5, 1))
        assert _changes(store)[-1][1:4] == ("datasets", "3", "insert")


ODD = [  # texts the triggers never write, but direct SQL may: every control character, quotes, NUL-free unicode
    ("settings", "".join(map(chr, range(1, 32))), "insert", None, '{"value": "\\u0000 \x7f \u2028"}'),
    ("datasets", "7", "update", '{"a": "b\\"c\\\\"}', '{"a": "é 😀 \ufeff"}'),
    ("models", 'x"y\\z', "delete", "not json at all: \t\n\"", None),
    ("feeds", "1", "baseline", None, None),
]


def test_the_databases_lines_hash_as_the_encoder_writes_them(store):
    with store.engine.begin() as connection:
        for row in ODD:
            connection.execute(text('INSERT INTO history_changes (entity, row_id, op, "before", "after") '
                                    "VALUES (:e, :r, :o, :b, :a)"), dict(zip("eroba", row)))
    with store.read() as session:
        newest = chain.last_change(session)
        assert chain._quotes_as_python(session.connection())  # so the database's lines are what is tested
        assert chain.digest(session, 1, newest) == chain.python_digest(session, 1, newest)
        assert chain.digest(session, 2, newest) == chain.python_digest(session, 2, newest)
    with store.transaction("test") as writer:  # seals them, as written outside Headwater
        writer.set_setting("after", {"x": 1})
    assert history.verify(store).ok
    with store.engine.begin() as connection:  # one character of one image changed
        connection.execute(text("UPDATE history_changes SET \"after\" = replace(\"after\", 'é', 'e') "
                                "WHERE entity = 'datasets' AND op = 'update'"))
    verdict = history.verify(store)
    assert not verdict.ok and "edited" in verdict.problem
