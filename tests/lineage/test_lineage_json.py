"""`lineage.lineage_json` writes what `service.lineage` answers, byte for byte: its iterative tree
walk gives the tree the recursive `queries.tree` does."""

from __future__ import annotations

import json

import networkx as nx
import pytest

from catalog.ids import NodeId
from lineage import arrays, queries, service
from lineage.lineage_json import lineage_json, lineage_json_on

EDGE_KINDS = {("dataset", "dataset"): "derivation", ("job", "dataset"): "produces",
              ("dataset", "model"): "feed", ("model", "model"): "base_model"}


def make_graph(edges: list[tuple[str, str]]) -> nx.DiGraph:
    """A graph shaped as `lineage.graph.build_graph` shapes one (see tests/lineage/test_queries.py)."""
    graph = nx.DiGraph(revision=1)
    for source, target in edges:
        for node in (source, target):
            if node not in graph:
                parsed = NodeId.parse(node)
                extra = {"version": parsed.version} if parsed.kind == "model" else {}
                graph.add_node(node, kind=parsed.kind, namespace=parsed.namespace, name=parsed.name, **extra)
        graph.add_edge(source, target, kind=EDGE_KINDS[(graph.nodes[source]["kind"], graph.nodes[target]["kind"])])
    return graph


def d(name: str) -> str:
    return f"dataset:t:{name}"


# a diamond (hub -> left/right -> joined) made by a job, feeding models fine-tuned from one another:
# `joined` is met twice upstream of the last model, and downstream of the hub
DIAMOND = make_graph([
    ("job:t:make", d("hub")), (d("hub"), d("left")), (d("hub"), d("right")), (d("left"), d("joined")),
    (d("right"), d("joined")), (d("joined"), "model:t:base@1"), ("model:t:base@1", "model:t:tuned@2"),
    (d("hub"), "model:t:tuned@2"), (d("left"), "model:t:tuned@2"),
])
# OpenLineage input can hold a cycle: a -> b -> c -> a, with c -> d
CYCLE = make_graph([(d("a"), d("b")), (d("b"), d("c")), (d("c"), d("a")), (d("c"), d("d"))])
# names JSON must escape, and non-ASCII it must not
ODD = make_graph([(d('quote"back\\slash'), d("tab\tnew\nline\x01")), (d("tab\tnew\nline\x01"), d("café-数据")),
                  (d('quote"back\\slash'), d("café-数据"))])
# a layered lattice: every node of a layer derives from the two nearest of the layer above
LATTICE = make_graph([(d(f"l{level}-{i}"), d(f"l{level + 1}-{(i + k) % 7}"))
                      for level in range(6) for i in range(7) for k in (0, 1)])
# a node that names itself as its own input (a self-loop), with a neighbour each way
LOOP = make_graph([(d("s"), d("s")), (d("s"), d("t")), (d("r"), d("s"))])
GRAPHS = {"diamond": DIAMOND, "cycle": CYCLE, "odd": ODD, "lattice": LATTICE, "loop": LOOP}


def cases() -> list[tuple[str, str, str, int | None]]:
    found = []
    for name, graph in GRAPHS.items():
        for node in sorted(graph):
            for direction in ("upstream", "downstream"):
                for depth in (None, 0, 1, 2, 3):
                    found.append((name, node, direction, depth))
    return found


@pytest.mark.parametrize(("name", "node", "direction", "depth"), cases())
def test_the_json_is_the_pydantic_answer_dumped_byte_for_byte(name: str, node: str, direction: str,
                                                              depth: int | None) -> None:
    graph = GRAPHS[name]
    expected = service.lineage_on(graph, node, direction, depth).model_dump_json()
    assert lineage_json_on(graph, node, direction, depth) == expected


@pytest.mark.parametrize(("name", "node", "direction", "depth"), cases())
def test_the_json_from_the_arrays_walk_is_the_same_bytes(name: str, node: str, direction: str, depth: int | None,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The same on the arrays' walk (the reference graph's path), whose flat list is ordered and
    written in numpy: ties in distance (the lattice's, the diamond's) must still come in id order."""
    graph = GRAPHS[name]
    expected = service.lineage_on(graph, node, direction, depth).model_dump_json()
    monkeypatch.setattr(queries, "ARRAY_WALK_NODES", 0)
    assert isinstance(queries.reachable(graph, node, direction, depth), arrays.Walk)
    assert lineage_json_on(graph, node, direction, depth) == expected


def test_the_cases_hold_repeated_nodes_depth_cut_repeats_and_cycles() -> None:
    """The comparisons above would prove little on trees without the cases that differ."""
    answers = [json.loads(lineage_json_on(GRAPHS[name], node, direction, depth)) for name, node, direction, depth in cases()]

    def marks(entry: dict) -> list[tuple[bool, int]]:
        return [(entry["repeated"], len(entry["children"]))] + [m for child in entry["children"] for m in marks(child)]

    repeated = [answer for answer in answers if any(r for r, _ in marks(answer["tree"]))]
    assert any(answer["depth"] is None for answer in repeated)
    assert any(answer["depth"] is not None for answer in repeated)
    downstream_of_a = json.loads(lineage_json_on(CYCLE, d("a"), "downstream", None))
    assert [n["node"]["id"] for n in downstream_of_a["nodes"]] == [d("b"), d("c"), d("d")]
    under_c = downstream_of_a["tree"]["children"][0]["children"][0]["children"]
    assert [child["node"]["id"] for child in under_c] == [d("d")]  # a, on the path already, is left out
    assert "\\t" in lineage_json_on(ODD, d("café-数据"), "upstream", None)
    assert "café-数据" in lineage_json_on(ODD, d("tab\tnew\nline\x01"), "downstream", None)


def test_a_deep_chain_is_walked_without_recursion() -> None:
    """Equal where pydantic can still dump the tree (it stops at about 250 levels: a 500), and still
    written, without recursion, where neither it nor the recursive `queries.tree` (20,000) can."""
    chain = make_graph([(d(f"n{i:05d}"), d(f"n{i + 1:05d}")) for i in range(100)])
    root = d("n00100")
    assert lineage_json_on(chain, root, "upstream", None) == service.lineage_on(chain, root, "upstream", None).model_dump_json()
    chain = make_graph([(d(f"n{i:05d}"), d(f"n{i + 1:05d}")) for i in range(25_000)])  # arrays walk from 20,000 nodes
    root = d("n25000")
    assert lineage_json_on(chain, root, "upstream", 5) == service.lineage_on(chain, root, "upstream", 5).model_dump_json()
    written = lineage_json_on(chain, root, "upstream", None)
    assert written.count('"children":[') == 25_001 and written.endswith("]}" * 25_001 + "}")
    assert written.count('{"node":') == 2 * 25_000 + 1  # every node listed once, and once in the tree


def test_the_demo_over_the_store_is_the_same_bytes(example_store) -> None:
    graph = service.graph_of(example_store)
    models = sorted(n for n, kind in graph.nodes(data="kind") if kind == "model")
    datasets = sorted(n for n, kind in graph.nodes(data="kind") if kind == "dataset")
    assert models and datasets
    for node in models + datasets[:10]:
        for direction in ("upstream", "downstream"):
            for depth in (None, 1, 2):
                expected = service.lineage(example_store, node, direction=direction, depth=depth).model_dump_json()
                assert lineage_json(example_store, node, direction=direction, depth=depth) == expected
