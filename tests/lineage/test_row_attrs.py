"""A dataset node's attributes are its raw store row, decoded on first read: every reader must see
the values a normal SQLAlchemy query gives, on both databases, with a dict's read interface."""

from __future__ import annotations

import textwrap
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from catalog.lineage_rows import COLUMNS
from catalog.loader import load_catalog
from catalog.schema import Dataset
from lineage.graph import build_graph
from lineage.row_attrs import RowAttrs

CATALOG = textwrap.dedent("""\
    catalog: r
    datasets:
      - name: people
        owner: team-a
        personal_data: true
        special_categories: [health]
        legal_basis: consent
        freshness: 36h
        retention: 400d
        collected: 2026-02-01
        last_updated: 2026-03-01T10:00:00Z
        tags: [a, b]
      - name: plain
    incidents:
      - {dataset: people, kind: breach, opened: 2026-02-10T08:30:00Z, note: seen}
    """)


@pytest.fixture
def graph(store, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(CATALOG)
    load_catalog(store, [path])
    return build_graph(store.lineage_rows())


def test_each_value_is_what_a_normal_query_returns(store, graph):
    with store.read() as session:
        rows = {r.name: r for r in session.execute(select(*(Dataset.__table__.c[c] for c in COLUMNS["datasets"])))}
    for name in ("people", "plain"):
        attrs = graph.nodes[f"dataset:r:{name}"]
        assert isinstance(attrs, RowAttrs)
        expected = {("store_id" if c == "id" else c): v for c, v in rows[name]._mapping.items()}
        assert {k: attrs[k] for k in expected} == expected
    people = graph.nodes["dataset:r:people"]
    assert people["special_categories"] == ["health"] and people["tags"] == ["a", "b"]
    assert people["personal_data"] is True and graph.nodes["dataset:r:plain"]["personal_data"] is None  # undeclared
    assert people["retention"] == timedelta(days=400) and people["freshness"] == timedelta(hours=36)
    assert people["collected"] == date(2026, 2, 1)
    assert isinstance(people["last_updated"], datetime) and people["last_updated"].utcoffset() == timedelta(0)


def test_it_reads_like_the_dict_it_replaces(graph):
    people = graph.nodes["dataset:r:people"]
    as_dict = dict(people)
    assert list(as_dict)[:3] == ["kind", "incidents", "store_id"] and "id" not in as_dict
    assert as_dict == people and people == as_dict and people.copy() == as_dict
    assert len(people) == len(as_dict) and set(people.keys()) == set(as_dict)
    assert people["kind"] == "dataset" and people.get("owner") == "team-a"
    assert people.get("no such field") is None and people.get("no such field", 3) == 3
    assert "owner" in people and "no such field" not in people and "id" not in people
    with pytest.raises(KeyError):
        people["no such field"]
    with pytest.raises(TypeError):
        people["owner"] = "someone else"  # type: ignore[index]  # the graph of record is read-only
    assert [i["kind"] for i in people["incidents"]] == ["breach"]
    assert graph.nodes["dataset:r:plain"]["incidents"] == []


def test_a_past_graph_built_from_decoded_rows_agrees(store, graph, tmp_path):
    """Rows that come decoded (the history's images) give the same attributes."""
    rows = store.lineage_rows()
    decoded = type(rows)(**{**rows.__dict__, "datasets": rows.decoded("datasets"), "decoders": {}})
    again = build_graph(decoded)
    for node in ("dataset:r:people", "dataset:r:plain"):
        assert dict(again.nodes[node]) == dict(graph.nodes[node])
