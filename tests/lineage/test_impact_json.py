"""`lineage.impact.found_json` writes what `service.impact` answers, byte for byte."""

from __future__ import annotations

import json

import networkx as nx
import pytest

from lineage import queries, service
from lineage.impact import find_on_arrays, found_json
from tests.lineage.test_arrays import lineage_graph

PAGES = ((None, 0, None), (3, 1, 4), (1, 0, 0), (2, 50, 1))


def odd_graph() -> nx.DiGraph:
    """Names JSON must escape and non-ASCII it must not; a model without a version or risk tier."""
    graph = nx.DiGraph(revision=7)
    names = ['q"uote\\back', "tab\tnew\nline\x01", "café-数据"]
    for name in names:
        graph.add_node(f"dataset:ns:{name}", kind="dataset", namespace="ns", name=name)
    graph.add_node("model:ns:m@", kind="model", namespace="ns", name="m", version=None, risk_tier=None)
    graph.add_node("model:ns:ü@2", kind="model", namespace="ns", name="ü", version="2", risk_tier="high", deployed=True)
    ids = [f"dataset:ns:{name}" for name in names]
    graph.add_edges_from([(ids[0], ids[1]), (ids[1], ids[2]), (ids[0], ids[2]), (ids[2], "model:ns:m@"),
                          (ids[1], "model:ns:ü@2"), ("model:ns:m@", "model:ns:ü@2")])
    return graph


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("path_limit", [0, 1, 3])
def test_the_json_is_the_results_dump(seed, path_limit):
    graph = lineage_graph(seed, edges=150, cycle=seed == 5)
    for root in [n for n in graph if graph.nodes[n]["kind"] == "dataset"][:8]:
        for limit, offset, dataset_limit in PAGES:
            written = found_json(graph, find_on_arrays(graph, root, path_limit, limit, offset, dataset_limit))
            on_dicts = service._impact_in_python(graph, root, path_limit, limit, offset, dataset_limit)
            assert written == on_dicts.model_dump_json()
            assert written == service._impact_on_arrays(graph, root, path_limit, limit, offset, dataset_limit).model_dump_json()


def test_names_are_escaped_as_pydantic_escapes_them():
    graph = odd_graph()
    root = 'dataset:ns:q"uote\\back'
    for path_limit in (1, 3):
        written = found_json(graph, find_on_arrays(graph, root, path_limit, None, 0, None))
        assert written == service._impact_in_python(graph, root, path_limit, None, 0, None).model_dump_json()
        answer = json.loads(written)
        assert [m["model"]["name"] for m in answer["models"]] == ["m", "ü"]
        assert answer["models"][0]["version"] is None and answer["models"][1]["deployed"] is True
        assert "café-数据" in written  # not \u-escaped


def test_impact_json_on_a_store_is_what_the_service_answers(example_store, monkeypatch):
    graph = service.graph_of(example_store)
    roots = [n for n in graph if graph.nodes[n]["kind"] == "dataset"]
    monkeypatch.setattr(queries, "ARRAY_PATHS_NODES", 10**9)  # the dict walk, dumped by pydantic
    want = {root: service.impact(example_store, root, path_limit=2, limit=5).model_dump_json() for root in roots}
    monkeypatch.setattr(queries, "ARRAY_PATHS_NODES", 0)  # the example is small: take the arrays path anyway
    assert {root: service.impact_json(example_store, root, path_limit=2, limit=5) for root in roots} == want
    assert any(json.loads(answer)["models"] for answer in want.values())


def test_a_catalog_of_a_thousand_nodes_answers_impact_from_the_arrays(sqlite_url, monkeypatch):
    """From ARRAY_PATHS_NODES up, impact runs on the arrays (the dict search per listed model cost
    17 times as much at 2,112 nodes); the answer is the dict walk's, byte for byte."""
    from benchmarks.reference import reference_graph
    from benchmarks.reference_catalog import load_into_store, reference_incidents
    from catalog.store import Store

    reference = reference_graph(scale=0.01)
    assert len(reference) >= queries.ARRAY_PATHS_NODES
    with Store(sqlite_url) as store:
        load_into_store(reference, store, reference_incidents(reference))
        graph = service.graph_of(store)
        roots = sorted(n for n in graph if graph.nodes[n]["kind"] == "dataset")[::40]
        on_dicts = {root: service._impact_in_python(graph, root, 1, 100, 0, 1000).model_dump_json() for root in roots}

        def refused(*_args):
            raise AssertionError("the dict walk answered a graph above ARRAY_PATHS_NODES")

        monkeypatch.setattr(service, "_impact_in_python", refused)
        answers = {root: service.impact_json(store, root, path_limit=1, limit=100, dataset_limit=1000) for root in roots}
        assert answers == on_dicts
        assert {root: service.impact(store, root, path_limit=1, limit=100, dataset_limit=1000).model_dump_json()
                for root in roots} == on_dicts
        assert sum(bool(json.loads(answer)["models"]) for answer in answers.values()) >= len(roots) // 2
