"""The viewer's parts without a browser: layout, selection, grouping, and what the page may contain."""

from __future__ import annotations

import json
import re
from itertools import combinations

import networkx as nx
import pytest

from catalog.errors import ConfigurationError, NotFound
from catalog.loader import load_catalog
from lineage.layout import layered
from lineage.service import graph_of
from lineage.view import build_view, select
from lineage.viewer import NodeInfo, _vis, render_page, script_json


@pytest.fixture
def example_graph(store, examples) -> nx.DiGraph:
    load_catalog(store, [examples / "catalog.yaml"])
    return graph_of(store)


def kinds(graph: nx.DiGraph) -> dict[str, str]:
    return {n: graph.nodes[n]["kind"] for n in graph}


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_layout_runs_left_to_right_sources_then_derived_then_models(example_graph):
    graph = example_graph
    x = {n: p[0] for n, p in layered(graph, kinds(graph)).positions.items()}
    assert set(x) == set(graph)
    for u, v, data in graph.edges(data=True):
        assert x[u] < x[v], (u, v, data["kind"])  # every edge points right, jobs included
    sources = [n for n in graph if graph.nodes[n]["kind"] == "dataset" and graph.in_degree(n) == 0]
    assert {x[n] for n in sources} == {min(x.values())}
    rightmost_dataset = max(x[n] for n in graph if graph.nodes[n]["kind"] == "dataset")
    assert all(x[n] > rightmost_dataset for n in graph if graph.nodes[n]["kind"] == "model")


def test_layout_survives_cycles_and_places_every_node():
    graph = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")])
    positions = layered(graph, dict.fromkeys(graph, "dataset")).positions
    assert set(positions) == set(graph) and positions["d"][0] > positions["a"][0]
    assert len(set(positions.values())) == len(graph)  # no two nodes on one spot


def crossings(graph: nx.DiGraph, positions) -> int:
    count = 0
    for (a, b), (c, d) in combinations(graph.edges, 2):
        if positions[a][0] == positions[c][0] and positions[b][0] == positions[d][0]:
            if (positions[a][1] - positions[c][1]) * (positions[b][1] - positions[d][1]) < 0:
                count += 1
    return count


def test_ordering_within_columns_removes_crossings_that_name_order_would_make():
    # sources a, b, c feed z, y, x: sorted by name the targets cross every edge
    graph = nx.DiGraph([("a", "z"), ("b", "y"), ("c", "x"), ("a", "w")])
    by_name = {n: (n,) for n in graph}
    assert crossings(graph, layered(graph, dict.fromkeys(graph, "dataset"), by_name).positions) == 0
    naive = {"a": (0, 0), "b": (0, 1), "c": (0, 2), "w": (1, 0), "x": (1, 1), "y": (1, 2), "z": (1, 3)}
    assert crossings(graph, naive) > 0  # the test graph does need reordering


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_selection_by_focus_depth_and_model(example_graph):
    graph = example_graph
    root = "dataset:acme-ml:features.credit_features"
    chosen, centre = select(graph, focus="features.credit_features", depth=1)
    near = {root} | set(graph.predecessors(root)) | set(graph.successors(root))
    assert centre == root and chosen == near
    whole, _ = select(graph, focus=root)
    assert whole == {root} | nx.ancestors(graph, root) | nx.descendants(graph, root)
    rests_on, model = select(graph, model="credit-scorer")
    assert model == "model:acme-ml:credit-scorer@3.2.0" and rests_on == {model} | nx.ancestors(graph, model)
    with pytest.raises(ConfigurationError, match="not both"):
        select(graph, focus=root, model="credit-scorer")
    with pytest.raises(ConfigurationError, match="depth"):
        select(graph, focus=root, depth=-1)
    with pytest.raises(ConfigurationError, match="give a focus node or a model"):
        select(graph, depth=2)
    with pytest.raises(NotFound, match="did you mean"):
        select(graph, focus="features.credit_feature")


def test_grouping_keeps_every_member_and_edge_count():
    graph = nx.DiGraph()
    for ns in ("a", "b"):
        for i in range(30):
            graph.add_node(f"dataset:{ns}:raw{i}", kind="dataset", namespace=ns, name=f"raw{i}")
            graph.add_node(f"dataset:{ns}:clean{i}", kind="dataset", namespace=ns, name=f"clean{i}")
            graph.add_edge(f"dataset:{ns}:raw{i}", f"dataset:{ns}:clean{i}", kind="derivation")
    graph.add_node("model:a:m@1", kind="model", namespace="a", name="m", version="1")
    for i in range(5):
        graph.add_edge(f"dataset:b:clean{i}", "model:a:m@1", kind="feed")
    view = build_view(graph, max_nodes=10)
    assert view.notice and "121 nodes" in view.notice and view.selected == 121
    assert sorted(view.members) == sorted(graph)
    assert len(view.nodes) == 5  # raw and clean per namespace, and the model
    for node in view.nodes:
        assert {graph.nodes[m]["kind"] for m in node.members} == {node.kind}
        assert {graph.nodes[m]["namespace"] for m in node.members} == {node.namespace}
    assert sorted((e.kind, e.count) for e in view.edges) == [("derivation", 30), ("derivation", 30), ("feed", 5)]
    banded = build_view(graph, max_nodes=3)  # columns banded until the groups fit
    assert len(banded.nodes) == 3 and "bands of 4 columns" in banded.notice
    assert sorted(banded.members) == sorted(graph)
    with pytest.raises(ConfigurationError, match="focus on a node"):
        build_view(graph, max_nodes=1)


def test_script_json_cannot_close_its_script_element():
    hostile = {"name": "</script><script>alert(1)</script><!-- \u2028\u2029 & >"}
    text = script_json(hostile)
    assert json.loads(text) == hostile
    assert not set("<>&\u2028\u2029") & set(text)


def test_page_is_self_contained_and_names_appear_only_escaped():
    name = "<img src=x onerror=alert(1)>"
    graph = nx.DiGraph()
    graph.add_node(f"dataset:ns:{name}", kind="dataset", namespace="ns", name=name)
    graph.add_node("model:ns:m@1", kind="model", namespace="ns", name="m", version="1")
    graph.add_edge(f"dataset:ns:{name}", "model:ns:m@1", kind="feed")
    view = build_view(graph, focus=name)
    info = {f"dataset:ns:{name}": NodeInfo("warning", [("owner", name)], [
        {"severity": "high", "title": name, "condition": "c", "root": name, "mode": "direct", "note": name,
         "citations": [name]}])}
    page = render_page(view, info, title=f"Lineage around {name}", subtitle=name)
    ours = page.replace(_vis("vis-network.min.js"), "").replace(_vis("vis-network.css"), "")
    assert "<img" not in ours and "onerror=alert(1)>" not in ours  # raw, the payload is nowhere
    assert "&lt;img src=x onerror=alert(1)&gt;" in page  # the heading, escaped by the template
    assert not re.search(r"""\b(?:src|href|action)\s*=\s*["']?(?:https?:)?//""", page)
    assert "connect-src 'none'" in page and "default-src 'none'" in page
    nonce = re.search(r"script-src 'nonce-([^']+)'", page).group(1)
    executable = re.findall(r"<script(?![^>]*application/json)([^>]*)>", ours)
    assert len(executable) == 2 and all(f'nonce="{nonce}"' in attrs for attrs in executable)


def test_view_command_writes_the_page_and_refuses_bad_options(headwater, examples, tmp_path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    assert headwater("load", str(examples / "catalog.yaml"), db=db).returncode == 0
    written = headwater("view", "--model", "credit-scorer", "-o", "credit.html", db=db)
    assert written.returncode == 0, written.stderr
    assert "wrote credit.html" in written.stderr and (tmp_path / "credit.html").read_text().startswith("<!doctype html>")
    unknown = headwater("view", "--focus", "vendor.bureau_score", db=db)
    assert unknown.returncode == 2 and "did you mean 'vendor.bureau_scores'" in unknown.stderr
    both = headwater("view", "--focus", "vendor.bureau_scores", "--model", "credit-scorer", db=db)
    assert both.returncode == 2 and "not both" in both.stderr
    assert not (tmp_path / "lineage.html").exists()  # nothing written on error


def test_view_to_an_unwritable_path_is_a_usage_error(headwater, examples, tmp_path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    assert headwater("load", str(examples / "catalog.yaml"), db=db).returncode == 0
    result = headwater("view", "-o", str(tmp_path / "no" / "such" / "dir" / "x.html"), db=db)
    assert result.returncode == 2 and "cannot write" in result.stderr and "Traceback" not in result.stderr
