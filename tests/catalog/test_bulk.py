"""Loads of many rows go through `catalog.bulk`: the reference catalog round-trips, reloads idempotently,
and a changed file changes exactly what it says, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from benchmarks.reference import reference_graph
from benchmarks.reference_catalog import load_into_store, reference_incidents, write_catalog_files
from catalog.loader import load_catalog
from catalog.store import Store
from lineage.graph import build_graph


@pytest.fixture(scope="module")
def reference():
    graph = reference_graph(scale=0.003)
    return graph, reference_incidents(graph)


def test_reference_catalog_files_load_into_the_reference_graph(store, tmp_path, reference):
    graph, incidents = reference
    files = write_catalog_files(graph, tmp_path / "catalog", incidents)
    result = load_catalog(store, files)
    assert result.counts["datasets"]["created"] == sum(1 for _, k in graph.nodes(data="kind") if k == "dataset")
    assert result.counts["incidents"]["created"] == len(incidents)
    built = build_graph(store.lineage_rows())
    assert set(built.nodes) == set(graph.nodes) and set(built.edges) == set(graph.edges)
    for u, v, kind in graph.edges(data="kind"):
        if kind == "feed":
            assert built.edges[u, v]["uses"] == graph.edges[u, v]["uses"]

    revision = store.revision()
    again = load_catalog(store, files)
    assert not again.changed and store.revision() == revision


def test_a_changed_file_changes_only_what_it_declares(store, tmp_path, reference):
    graph, incidents = reference
    files = write_catalog_files(graph, tmp_path / "catalog", incidents)
    load_catalog(store, files)
    path = next(f for f in files if f.name.endswith(".mart.json"))
    doc = json.loads(path.read_text())
    edited = next(d for d in doc["datasets"] if len(d.get("derived_from", [])) > 1)
    dropped = edited["derived_from"].pop()
    doc["datasets"][0]["owner"] = "someone-else@example.com"
    path.write_text(json.dumps(doc, indent=1))
    before = store.counts()
    result = load_catalog(store, files)
    changed = {doc["datasets"][0]["name"], edited["name"]}
    assert result.counts["datasets"]["updated"] == len(changed)
    assert result.counts["datasets"]["created"] == 0 and result.counts["models"]["updated"] == 0
    assert store.counts()["derivations"] == before["derivations"] - 1
    edges = set(build_graph(store.lineage_rows()).edges)
    namespace = doc["catalog"]
    qualified = dropped if dropped.startswith("dataset:") else f"dataset:{namespace}:{dropped}"
    assert (qualified, f"dataset:{namespace}:{edited['name']}") not in edges


def test_bulk_inserted_store_has_the_reference_graph(store_url, reference):
    graph, incidents = reference
    with Store(store_url) as store:
        load_into_store(graph, store, incidents)
        built = build_graph(store.lineage_rows())
    assert set(built.nodes) == set(graph.nodes) and set(built.edges) == set(graph.edges)
    assert sum(len(a["incidents"]) for _, a in built.nodes(data=True) if a["kind"] == "dataset") == len(incidents)
