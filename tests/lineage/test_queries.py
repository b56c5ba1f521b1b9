"""`lineage.queries` on hand-built graphs whose answers are known by construction.

The graphs are shaped as `lineage.graph.build_graph` shapes them: node ids `kind:namespace:name`
(`model:namespace:name@version` for a model version) with `kind`, `namespace` and `name` attributes
(and `version` on a model); edges `derivation` (dataset -> dataset),
`produces` (job -> dataset), `feed` (dataset -> model) and `base_model` (model -> model).
"""

from __future__ import annotations

import networkx as nx
import pytest

from catalog.errors import AmbiguousName, NotFound
from catalog.ids import NodeId
from lineage import queries

EDGE_KINDS = {
    ("dataset", "dataset"): "derivation",
    ("job", "dataset"): "produces",
    ("dataset", "model"): "feed",
    ("model", "model"): "base_model",
}


def add_node(graph: nx.DiGraph, node: str) -> None:
    if node not in graph:
        parsed = NodeId.parse(node)
        attrs = {"version": parsed.version} if parsed.kind == "model" else {}
        graph.add_node(node, kind=parsed.kind, namespace=parsed.namespace, name=parsed.name, **attrs)


def make_graph(edges: list[tuple[str, str]], nodes: tuple[str, ...] = ()) -> nx.DiGraph:
    graph = nx.DiGraph(revision=1)
    for node in nodes:
        add_node(graph, node)
    for source, target in edges:
        add_node(graph, source)
        add_node(graph, target)
        kind = EDGE_KINDS[(graph.nodes[source]["kind"], graph.nodes[target]["kind"])]
        attrs = {"jobs": [], "sources": ["catalog"]} if kind == "derivation" else {}
        graph.add_edge(source, target, kind=kind, **attrs)
    return graph


def d(name: str, ns: str = "t") -> str:
    return f"dataset:{ns}:{name}"


def j(name: str, ns: str = "t") -> str:
    return f"job:{ns}:{name}"


def m(name: str, ns: str = "t", version: str = "1") -> str:
    return f"model:{ns}:{name}@{version}"


# A diamond of datasets (hub -> left/right -> joined) made by a job, feeding a chain of models
# fine-tuned from one another, plus a probe model the hub feeds directly.
HUB, LEFT, RIGHT, JOINED = d("hub"), d("left"), d("right"), d("joined")
BUILD = j("build")
BASE, TUNED, DISTILLED, PROBE = m("base"), m("tuned"), m("distilled"), m("probe")


@pytest.fixture
def diamond() -> nx.DiGraph:
    return make_graph([
        (HUB, LEFT), (HUB, RIGHT), (LEFT, JOINED), (RIGHT, JOINED),
        (BUILD, JOINED),
        (JOINED, BASE), (BASE, TUNED), (TUNED, DISTILLED),
        (HUB, PROBE),
    ])


@pytest.fixture
def names() -> nx.DiGraph:
    """Names for resolve: `raw.a` in two namespaces, a dataset and a model both called `churn`."""
    return make_graph(
        [(d("raw.a"), d("feat.x")), (j("build"), d("feat.x")), (d("feat.x"), m("scorer")),
         (d("churn"), m("churn"))],
        nodes=(d("raw.a", "u"),),
    )


# --- resolve ---------------------------------------------------------------------------------------

def test_resolve_returns_a_full_node_id_unchanged(names):
    assert queries.resolve(names, "dataset:u:raw.a") == "dataset:u:raw.a"
    assert queries.resolve(names, "job:t:build") == "job:t:build"


def test_resolve_namespace_and_name_picks_that_namespace(names):
    assert queries.resolve(names, "u:raw.a") == "dataset:u:raw.a"
    assert queries.resolve(names, "t:raw.a") == "dataset:t:raw.a"
    assert queries.resolve(names, "t:scorer") == "model:t:scorer@1"


def test_resolve_bare_name_that_is_unique_finds_its_node(names):
    assert queries.resolve(names, "feat.x") == "dataset:t:feat.x"
    assert queries.resolve(names, "scorer") == "model:t:scorer@1"
    assert queries.resolve(names, "build") == "job:t:build"


def test_resolve_bare_name_in_two_namespaces_is_ambiguous_and_lists_candidates(names):
    with pytest.raises(AmbiguousName) as caught:
        queries.resolve(names, "raw.a")
    assert caught.value.name == "raw.a"
    assert caught.value.candidates == ["dataset:t:raw.a", "dataset:u:raw.a"]
    assert str(caught.value) == "'raw.a' is ambiguous; use one of: dataset:t:raw.a, dataset:u:raw.a"


def test_resolve_name_shared_by_dataset_and_model_is_ambiguous_without_kinds(names):
    for ref in ("churn", "t:churn"):
        with pytest.raises(AmbiguousName) as caught:
            queries.resolve(names, ref)
        assert caught.value.candidates == ["dataset:t:churn", "model:t:churn"]


def test_resolve_kinds_filter_disambiguates_and_excludes(names):
    assert queries.resolve(names, "churn", kinds=("model",)) == "model:t:churn@1"
    assert queries.resolve(names, "t:churn", kinds=("dataset",)) == "dataset:t:churn"
    assert queries.resolve(names, "model:t:churn", kinds=("model", "job")) == "model:t:churn@1"
    with pytest.raises(NotFound, match=r"^no dataset named 'scorer' in the catalog"):
        queries.resolve(names, "scorer", kinds=("dataset",))


def test_resolve_full_id_of_the_wrong_kind_is_not_found(names):
    with pytest.raises(NotFound) as caught:
        queries.resolve(names, "model:t:scorer", kinds=("dataset",))
    assert str(caught.value).startswith("no dataset named 'model:t:scorer' in the catalog")


def test_resolve_kinds_filter_names_every_kind_in_the_message(names):
    with pytest.raises(NotFound) as caught:
        queries.resolve(names, "qqqqqqqq", kinds=("dataset", "model"))
    assert str(caught.value) == "no dataset or model named 'qqqqqqqq' in the catalog"


def test_resolve_unknown_name_says_did_you_mean_the_closest_names(names):
    with pytest.raises(NotFound) as caught:
        queries.resolve(names, "feat.y")
    message = str(caught.value)
    assert message.startswith("no node named 'feat.y' in the catalog; did you mean ")
    assert "'feat.x'" in message
    assert message.endswith("?")


def test_resolve_unknown_name_with_nothing_close_has_no_hint(names):
    with pytest.raises(NotFound) as caught:
        queries.resolve(names, "zzzzzzzzzz")
    assert str(caught.value) == "no node named 'zzzzzzzzzz' in the catalog"


# --- reachable / upstream / downstream -------------------------------------------------------------

def test_downstream_of_hub_reaches_every_model_with_distances(diamond):
    assert queries.downstream(diamond, HUB) == {
        LEFT: 1, RIGHT: 1, PROBE: 1, JOINED: 2, BASE: 3, TUNED: 4, DISTILLED: 5,
    }


def test_downstream_depth_limits_the_distance(diamond):
    assert queries.downstream(diamond, HUB, depth=0) == {}
    assert queries.downstream(diamond, HUB, depth=1) == {LEFT: 1, RIGHT: 1, PROBE: 1}
    assert queries.downstream(diamond, HUB, depth=2) == {LEFT: 1, RIGHT: 1, PROBE: 1, JOINED: 2}
    assert queries.downstream(diamond, HUB, depth=None) == queries.downstream(diamond, HUB)


def test_downstream_depth_beyond_the_graph_gives_everything(diamond):
    assert queries.downstream(diamond, HUB, depth=50) == queries.downstream(diamond, HUB)


def test_upstream_of_fine_tuned_model_follows_base_models_to_the_data(diamond):
    assert queries.upstream(diamond, DISTILLED) == {
        TUNED: 1, BASE: 2, JOINED: 3, LEFT: 4, RIGHT: 4, BUILD: 4, HUB: 5,
    }


def test_upstream_depth_limits_the_distance(diamond):
    assert queries.upstream(diamond, DISTILLED, depth=0) == {}
    assert queries.upstream(diamond, DISTILLED, depth=1) == {TUNED: 1}
    assert queries.upstream(diamond, DISTILLED, depth=2) == {TUNED: 1, BASE: 2}
    assert queries.upstream(diamond, JOINED, depth=1) == {LEFT: 1, RIGHT: 1, BUILD: 1}
    assert queries.upstream(diamond, JOINED, depth=None) == {LEFT: 1, RIGHT: 1, BUILD: 1, HUB: 2}


def test_downstream_of_job_is_what_its_outputs_reach(diamond):
    assert queries.downstream(diamond, BUILD) == {JOINED: 1, BASE: 2, TUNED: 3, DISTILLED: 4}
    assert queries.upstream(diamond, BUILD) == {}


def test_source_has_nothing_upstream_and_leaf_has_nothing_downstream(diamond):
    assert queries.upstream(diamond, HUB) == {}
    assert queries.downstream(diamond, DISTILLED) == {}
    assert queries.downstream(diamond, PROBE) == {}


def test_reachable_is_upstream_or_downstream_by_direction(diamond):
    assert queries.reachable(diamond, BASE, "downstream") == {TUNED: 1, DISTILLED: 2}
    assert queries.reachable(diamond, BASE, "upstream", 2) == {JOINED: 1, LEFT: 2, RIGHT: 2, BUILD: 2}


def test_reachable_rejects_an_unknown_direction(diamond):
    with pytest.raises(ValueError, match="direction must be 'upstream' or 'downstream'"):
        queries.reachable(diamond, HUB, "sideways")


def test_reachable_on_a_cycle_terminates_and_excludes_the_start():
    a, b, c = d("a"), d("b"), d("c")
    graph = make_graph([(a, b), (b, c), (c, a)])
    assert queries.downstream(graph, a) == {b: 1, c: 2}
    assert queries.upstream(graph, a) == {c: 1, b: 2}


def test_reachable_does_not_change_the_graph(diamond):
    before = (sorted(diamond.nodes), sorted(diamond.edges))
    queries.downstream(diamond, HUB)
    queries.upstream(diamond, DISTILLED, depth=2)
    assert (sorted(diamond.nodes), sorted(diamond.edges)) == before


# --- tree ----------------------------------------------------------------------------------------

def leaf(node: str, repeated: bool = False) -> dict:
    return {"id": node, "children": [], "repeated": repeated}


def branch(node: str, *children: dict) -> dict:
    return {"id": node, "children": list(children), "repeated": False}


def test_tree_downstream_expands_a_node_met_twice_once_and_marks_it_repeated(diamond):
    assert queries.tree(diamond, HUB, "downstream") == branch(
        HUB,
        branch(LEFT, branch(JOINED, branch(BASE, branch(TUNED, leaf(DISTILLED))))),
        branch(RIGHT, leaf(JOINED, repeated=True)),
        leaf(PROBE),  # children are sorted by id: dataset:... before model:...
    )


def test_tree_upstream_lists_children_sorted_and_marks_repeats(diamond):
    assert queries.tree(diamond, JOINED, "upstream") == branch(
        JOINED,
        branch(LEFT, leaf(HUB)),
        branch(RIGHT, leaf(HUB, repeated=True)),
        leaf(BUILD),
    )


def test_tree_depth_zero_is_the_root_alone(diamond):
    assert queries.tree(diamond, HUB, "downstream", 0) == leaf(HUB)


def test_tree_depth_one_shows_neighbours_without_expanding_them(diamond):
    assert queries.tree(diamond, HUB, "downstream", 1) == branch(HUB, leaf(LEFT), leaf(RIGHT), leaf(PROBE))


def test_tree_depth_two_stops_at_the_second_level(diamond):
    assert queries.tree(diamond, HUB, "downstream", 2) == branch(
        HUB, branch(LEFT, leaf(JOINED)), branch(RIGHT, leaf(JOINED, repeated=True)), leaf(PROBE),
    )


def test_tree_depth_limit_on_model_chain(diamond):
    assert queries.tree(diamond, DISTILLED, "upstream", 2) == branch(DISTILLED, branch(TUNED, leaf(BASE)))


def test_tree_on_a_cycle_does_not_loop():
    a, b, c = d("a"), d("b"), d("c")
    graph = make_graph([(a, b), (b, c), (c, a)])
    assert queries.tree(graph, a, "downstream") == branch(a, branch(b, leaf(c)))
    assert queries.tree(graph, a, "upstream") == branch(a, branch(c, leaf(b)))


def test_tree_on_a_cycle_below_the_root_does_not_loop():
    root, a, b = d("root"), d("a"), d("b")
    graph = make_graph([(root, a), (a, b), (b, a)])
    assert queries.tree(graph, root, "downstream") == branch(root, branch(a, leaf(b)))


def test_tree_of_an_isolated_node_is_a_leaf():
    graph = make_graph([], nodes=(d("alone"),))
    assert queries.tree(graph, d("alone"), "upstream") == leaf(d("alone"))


def test_tree_survives_lineage_deeper_than_the_default_recursion_limit():
    import sys

    chain = [d(f"n{i:05d}") for i in range(3000)]
    graph = make_graph(list(zip(chain, chain[1:])))
    limit = sys.getrecursionlimit()
    result = queries.tree(graph, chain[0], "downstream")
    assert sys.getrecursionlimit() == limit
    depth, current = 0, result
    while current["children"]:
        (current,) = current["children"]
        depth += 1
    assert depth == 2999
    assert current["id"] == chain[-1]


# --- count_paths ---------------------------------------------------------------------------------

def test_count_paths_through_a_diamond_is_two(diamond):
    counts = queries.count_paths(diamond, HUB, set(queries.downstream(diamond, HUB)))
    assert counts == {HUB: 1, LEFT: 1, RIGHT: 1, PROBE: 1, JOINED: 2, BASE: 2, TUNED: 2, DISTILLED: 2}


def test_count_paths_through_a_double_diamond_is_four():
    s, a, b, mid, c, e, t = d("s"), d("a"), d("b"), d("mid"), d("c"), d("e"), d("t")
    graph = make_graph([(s, a), (s, b), (a, mid), (b, mid), (mid, c), (mid, e), (c, t), (e, t)])
    counts = queries.count_paths(graph, s, set(queries.downstream(graph, s)))
    assert counts == {s: 1, a: 1, b: 1, mid: 2, c: 2, e: 2, t: 4}


def test_count_paths_adds_the_direct_edge_to_the_indirect_ones():
    s, a, t = d("s"), d("a"), m("t")
    graph = make_graph([(s, a), (a, t), (s, t)])
    assert queries.count_paths(graph, s, {a, t}) == {s: 1, a: 1, t: 2}


def test_count_paths_ignores_nodes_outside_the_given_set():
    s, a, b, t, other = d("s"), d("a"), d("b"), d("t"), d("other")
    graph = make_graph([(other, a), (other, t), (s, a), (s, b), (a, t), (b, t)])
    counts = queries.count_paths(graph, s, set(queries.downstream(graph, s)))
    assert counts == {s: 1, a: 1, b: 1, t: 2}


def test_count_paths_returns_none_on_a_cycle():
    s, a, b = d("s"), d("a"), d("b")
    graph = make_graph([(s, a), (a, b), (b, a)])
    assert queries.count_paths(graph, s, set(queries.downstream(graph, s))) is None


# --- paths_between -------------------------------------------------------------------------------

@pytest.fixture
def fan() -> nx.DiGraph:
    """Three routes from s to model t: direct, via a, via b then c."""
    s, a, b, c, t = d("s"), d("a"), d("b"), d("c"), m("t")
    return make_graph([(s, t), (s, a), (a, t), (s, b), (b, c), (c, t)])


def test_paths_between_lists_every_path_shortest_first(fan):
    assert queries.paths_between(fan, d("s"), m("t"), 10) == [
        [d("s"), m("t")],
        [d("s"), d("a"), m("t")],
        [d("s"), d("b"), d("c"), m("t")],
    ]


def test_paths_between_respects_the_limit_and_keeps_the_shortest(fan):
    assert queries.paths_between(fan, d("s"), m("t"), 1) == [[d("s"), m("t")]]
    assert queries.paths_between(fan, d("s"), m("t"), 2) == [[d("s"), m("t")], [d("s"), d("a"), m("t")]]


def test_paths_between_limit_zero_gives_no_paths(fan):
    assert queries.paths_between(fan, d("s"), m("t"), 0) == []


def test_paths_between_equal_lengths_are_ordered_by_node_ids(diamond):
    assert queries.paths_between(diamond, HUB, DISTILLED, 10) == [
        [HUB, LEFT, JOINED, BASE, TUNED, DISTILLED],
        [HUB, RIGHT, JOINED, BASE, TUNED, DISTILLED],
    ]


def test_paths_between_with_within_gives_the_same_paths(diamond):
    within = set(queries.downstream(diamond, HUB))
    assert queries.paths_between(diamond, HUB, BASE, 10, within) == [
        [HUB, LEFT, JOINED, BASE], [HUB, RIGHT, JOINED, BASE],
    ]


def test_paths_between_against_the_flow_is_empty(diamond):
    assert queries.paths_between(diamond, DISTILLED, HUB, 10) == []
    assert queries.paths_between(diamond, JOINED, LEFT, 10) == []


def test_paths_between_unrelated_nodes_is_empty(diamond):
    assert queries.paths_between(diamond, LEFT, RIGHT, 10) == []
    assert queries.paths_between(diamond, PROBE, BASE, 10) == []
    assert queries.paths_between(diamond, BUILD, PROBE, 10) == []


def test_paths_between_from_a_job_goes_through_its_output(diamond):
    assert queries.paths_between(diamond, BUILD, TUNED, 10) == [[BUILD, JOINED, BASE, TUNED]]


def test_paths_between_does_not_pass_a_job_from_its_input_side(diamond):
    """Jobs have no incoming edges: a path never runs input -> job -> output."""
    for path in queries.paths_between(diamond, HUB, BASE, 10):
        assert BUILD not in path


def _plain(edges: list[tuple[str, str]]) -> nx.DiGraph:
    graph = nx.DiGraph()
    for node in {n for edge in edges for n in edge}:
        graph.add_node(node, kind="dataset", namespace="t", name=node)
    graph.add_edges_from(edges)
    return graph


def test_tree_expands_a_node_first_met_at_the_depth_limit_where_it_is_met_nearer():
    graph = _plain([("r", "a"), ("a", "x"), ("r", "x"), ("x", "y")])
    built = queries.tree(graph, "r", "downstream", 2)
    under_root = next(child for child in built["children"] if child["id"] == "x")
    assert [child["id"] for child in under_root["children"]] == ["y"]
    assert under_root["repeated"] is False


def test_paths_between_with_a_limit_returns_the_shortest_even_if_longer_ones_are_found_first():
    graph = _plain([("S", "M"), ("M", "T"), ("S", "N"), ("N", "T"), ("S", "P1"), ("P1", "P2"), ("P2", "N"),
                    ("S", "Q1"), ("Q1", "Q2"), ("Q2", "M")])
    assert queries.paths_between(graph, "S", "T", 2) == [["S", "M", "T"], ["S", "N", "T"]]
    assert queries.paths_between(graph, "S", "S", 5) == []


def test_paths_between_gives_the_shortest_paths_in_id_order_as_yens_algorithm_does():
    """The walk toward the target must answer exactly what listing every path by Yen's and sorting does,
    on DAGs with many equally short paths (where the walk answers) and with few (where Yen's does)."""
    import random

    import networkx as nx

    from lineage.queries import downstream, paths_between

    rng = random.Random(7)
    for trial in range(30):
        n = rng.randint(8, 30)
        graph = nx.DiGraph()
        graph.add_nodes_from(f"n{i:02d}" for i in range(n))
        for i in range(n):
            for j in range(i + 1, n):
                if rng.random() < (0.35 if trial % 2 else 0.12):
                    graph.add_edge(f"n{i:02d}", f"n{j:02d}")
        source = "n00"
        for target in sorted(downstream(graph, source)):
            for limit in (1, 2, 5):
                every = sorted(nx.all_simple_paths(graph, source, target), key=lambda p: (len(p), p))
                assert paths_between(graph, source, target, limit) == every[:limit]


def test_walks_on_arrays_give_what_the_python_walk_gives(monkeypatch):
    """Large graphs are walked on CSR arrays: same nodes, same distances, with and without a depth."""
    from benchmarks.reference import reference_graph
    from lineage import queries

    graph = reference_graph(scale=0.005)
    nodes = sorted(graph)[:: max(1, len(graph) // 25)]
    expected = {}
    monkeypatch.setattr(queries, "ARRAY_WALK_NODES", 10**9)
    for node in nodes:
        for direction in ("upstream", "downstream"):
            for depth in (None, 0, 1, 3):
                expected[node, direction, depth] = queries.reachable(graph, node, direction, depth)
    monkeypatch.setattr(queries, "ARRAY_WALK_NODES", 0)
    for (node, direction, depth), want in expected.items():
        assert queries.reachable(graph, node, direction, depth) == want
    with pytest.raises(ValueError):
        queries.reachable(graph, nodes[0], "sideways")
