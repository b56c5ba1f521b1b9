"""`Bulk`'s inserts hand rows to the driver (executemany tuples on SQLite, COPY on PostgreSQL): they
must store exactly what Core's insert stores, write the same history images, fill the Python-side
defaults Core fills (a dataset's skeleton), and turn a lost race into the IntegrityError the retry
loop knows, on both databases."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from catalog.bulk import Bulk
from catalog.names import key_skeleton
from catalog.retry import lost_race
from catalog.schema import Dataset, HistoryChange

FIELDS = {
    "description": "tab\there, a newline\nand a backslash \\ and a quote \" and unicode é",
    "owner": None, "personal_data": True, "special_categories": ["health", "biometric"],
    "licence_expires": date(2027, 3, 1), "retention": timedelta(days=30, seconds=5), "freshness": None,
    "tags": [], "facets": {"nested": {"a": [1, 2.5, None, True]}}, "licence_revoked": False,
}


def _images(store, name: str) -> dict:
    """The history's insert image of dataset `name`, without what differs between two rows (key, times)."""
    with store.read() as session:
        dataset = session.scalars(select(Dataset).where(Dataset.name == name)).one()
        change = session.scalars(select(HistoryChange).where(
            HistoryChange.entity == "datasets", HistoryChange.row_id == str(dataset.id))).one()
    image = json.loads(change.after)
    return {k: v for k, v in image.items() if k not in ("id", "name", "skeleton", "created_at", "updated_at")}


def test_bulk_inserts_store_and_record_what_core_does(store):
    with store.transaction("test") as writer:
        ids, changes = Bulk(writer).upsert_named(Dataset, {("ns", "bulk.one"): dict(FIELDS)})
    assert changes == {("ns", "bulk.one"): "created"}
    with store.transaction("test") as writer:
        writer.upsert_dataset("ns", "core.one", dict(FIELDS))  # the ORM's (Core's) insert
    with store.read() as session:
        bulk_row = session.scalars(select(Dataset).where(Dataset.name == "bulk.one")).one()
        assert bulk_row.id == ids[("ns", "bulk.one")]
        assert bulk_row.skeleton == key_skeleton("ns", "bulk.one")  # the column default Core would fill
        for name, value in FIELDS.items():
            assert getattr(bulk_row, name) == value, name
    assert _images(store, "bulk.one") == _images(store, "core.one")


def test_a_row_another_writer_created_is_a_lost_race_and_nothing_is_kept(store):
    with store.transaction("test") as writer:
        writer.upsert_dataset("ns", "taken", {})
    revision = store.revision()
    with pytest.raises(IntegrityError) as raised:
        with store.transaction("test") as writer:
            Bulk(writer).upsert_named(Dataset, {("ns", "fresh"): dict(FIELDS)})
            Bulk(writer)._insert(Dataset, [{"namespace": "ns", "name": "taken", **FIELDS}])
    assert lost_race(raised.value)  # what catalog.retry runs the transaction again on
    assert store.revision() == revision
    with store.read() as session:
        assert session.scalars(select(Dataset.name).where(Dataset.name == "fresh")).all() == []


def test_rows_are_copied_in_many_statements_in_order(store, monkeypatch):
    """More rows than one COPY (or executemany call) takes: ids and history follow the rows' order."""
    import catalog.bulk as bulk

    monkeypatch.setattr(bulk, "CHUNK", 7)
    names = [f"d.{i:03d}" for i in range(100)]
    with store.transaction("test") as writer:
        ids, _ = Bulk(writer).upsert_named(Dataset, {("ns", n): {"owner": n} for n in names})
    assert [ids[("ns", n)] for n in names] == sorted(ids.values())
    with store.read() as session:
        changes = session.scalars(select(HistoryChange).where(HistoryChange.entity == "datasets")
                                  .order_by(HistoryChange.id)).all()
    assert [json.loads(c.after)["name"] for c in changes] == names
