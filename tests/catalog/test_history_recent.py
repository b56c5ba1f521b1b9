"""`recent_changes`: each node's own newest changes, newest first, capped, with the fields an update changed."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from catalog.history.actor import acting_as
from catalog.history.recent import recent_changes
from catalog.loader import load_catalog
from catalog.schema import Dataset, Model
from catalog.store import Store

VERSIONS = [  # each load changes dataset a a little more
    {"owner": "a@x.example", "location": "data/a.csv"},
    {"owner": "b@x.example", "location": "data/a.csv"},
    {"owner": "b@x.example", "location": "data/a.parquet", "legal_basis": "contract"},
    {"owner": "c@x.example", "location": "data/a.parquet", "legal_basis": "consent"},
]
ACTORS = ["loader", "alice", "bob", "carol"]


def write(folder: Path, fields: dict[str, str]) -> Path:
    lines = ["catalog: t", "models:", "  - name: m", "    risk_tier: high", "datasets:", "  - name: b",
             "  - name: a", *(f"    {k}: {v}" for k, v in fields.items())]  # last: no other line moves
    path = folder / "catalog.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_versions(store: Store, folder: Path) -> dict[str, tuple[str, int]]:
    for actor, fields in zip(ACTORS, VERSIONS, strict=True):
        with acting_as(actor):
            load_catalog(store, [write(folder, fields)])
    with store.read() as session:
        ids = {name: i for name, i in session.execute(select(Dataset.name, Dataset.id))}
        model = session.scalar(select(Model.id))
    return {"dataset:t:a": ("datasets", ids["a"]), "dataset:t:b": ("datasets", ids["b"]), "model:t:m@1": ("models", model)}


def test_newest_first_with_the_fields_each_update_changed(store, tmp_path):
    rows = load_versions(store, tmp_path)
    with store.read() as session:
        found = recent_changes(session, rows)
    a = found["dataset:t:a"]
    assert [c["actor"] for c in a] == ["carol", "bob", "alice", "loader"]
    assert [c["op"] for c in a] == ["updated", "updated", "updated", "created"]
    assert [c["fields"] for c in a] == [["owner", "legal_basis"], ["location", "legal_basis"], ["owner"], []]
    assert {c["source"] for c in a} == {"catalog-file"}
    assert all(datetime.fromisoformat(c["at"]).tzinfo is not None for c in a)
    assert [c["actor"] for c in found["dataset:t:b"]] == ["loader"]  # unchanged since: its creation only
    assert [(c["actor"], c["op"]) for c in found["model:t:m@1"]] == [("loader", "created")]


def test_per_node_caps_each_nodes_list(store, tmp_path):
    rows = load_versions(store, tmp_path)
    with store.read() as session:
        two = recent_changes(session, rows, per_node=2)
        none = recent_changes(session, rows, per_node=0)
    assert [c["actor"] for c in two["dataset:t:a"]] == ["carol", "bob"]
    assert len(two["dataset:t:b"]) == 1
    assert none == {node: [] for node in rows}


def test_a_row_without_history_and_no_rows_give_empty_lists(store, tmp_path):
    load_versions(store, tmp_path)
    with store.read() as session:
        assert recent_changes(session, {"dataset:t:gone": ("datasets", 10_000)}) == {"dataset:t:gone": []}
        assert recent_changes(session, {}) == {}


def test_as_of_leaves_out_what_came_later(store_url, tmp_path):
    ticks = itertools.count()
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with Store(store_url, clock=lambda: start + timedelta(days=next(ticks))) as store:
        rows = load_versions(store, tmp_path)
        with store.read() as session:
            alices = next(c for c in recent_changes(session, rows)["dataset:t:a"] if c["actor"] == "alice")
            found = recent_changes(session, rows, as_of=datetime.fromisoformat(alices["at"]) + timedelta(hours=1))
    assert [c["actor"] for c in found["dataset:t:a"]] == ["alice", "loader"]
