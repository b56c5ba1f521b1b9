"""`lineage.arrays` against the dict walks it replaces on large graphs, on random graphs of every shape."""

from __future__ import annotations

import random

import networkx as nx
import numpy as np
import pytest

from lineage import arrays, queries, service
from lineage.path_counts import path_counts


def lineage_graph(seed: int, datasets: int = 40, models: int = 12, edges: int = 120, cycle: bool = False) -> nx.DiGraph:
    """A random lineage DAG: datasets derive from earlier datasets, models train on datasets and
    fine-tune earlier models; `cycle` adds one derivation back."""
    rng = random.Random(seed)
    graph = nx.DiGraph(revision=1)
    names = [f"dataset:t:d{i:03d}" for i in range(datasets)]
    for name in names:
        graph.add_node(name, kind="dataset", namespace="t", name=name.rsplit(":", 1)[1])
    versions = [f"model:t:m{i:02d}@1" for i in range(models)]
    for i, name in enumerate(versions):
        graph.add_node(name, kind="model", namespace="t", name=f"m{i:02d}", version="1", risk_tier="high",
                       deployed=bool(i % 2))
    for _ in range(edges):
        a, b = sorted(rng.sample(range(datasets), 2))
        graph.add_edge(names[a], names[b], kind="derivation")
    for i, model in enumerate(versions):
        for d in rng.sample(range(datasets // 2, datasets), 3):
            graph.add_edge(names[d], model, kind="feed")
        if i and rng.random() < 0.3:
            graph.add_edge(versions[rng.randrange(i)], model, kind="base_model")
    if cycle:
        graph.add_edge(names[datasets - 1], names[1], kind="derivation")
    return graph


def python_reach(graph: nx.DiGraph, node: str, direction: str, depth: int | None) -> dict[str, int]:
    limit = queries.ARRAY_WALK_NODES
    try:
        queries.ARRAY_WALK_NODES = 10**9
        return queries.reachable(graph, node, direction, depth)
    finally:
        queries.ARRAY_WALK_NODES = limit


@pytest.mark.parametrize("seed", range(8))
def test_reach_finds_the_same_nodes_and_distances_as_the_dict_walk(seed):
    graph = lineage_graph(seed, cycle=seed % 3 == 0)
    topo = arrays.topology(graph)
    for node in list(graph)[::5]:
        for direction in ("upstream", "downstream"):
            # by levels up to FRONTIER_DEPTH, by csgraph's search beyond it and without a depth
            for depth in (None, 0, 1, 2, 3, arrays.FRONTIER_DEPTH, arrays.FRONTIER_DEPTH + 1, 40):
                found, steps = arrays.reach(topo, topo.number[node], direction, depth)
                got = dict(zip(topo.nodes[found].tolist(), steps.tolist(), strict=True))
                assert got == python_reach(graph, node, direction, depth)
                assert len(got) == len(found) and steps.tolist() == sorted(steps.tolist())


@pytest.mark.parametrize("seed", range(8))
def test_path_counts_equal_the_dict_count_on_every_node(seed):
    graph = lineage_graph(seed, edges=200)
    topo = arrays.topology(graph)
    for node in list(graph)[:10]:
        counted = path_counts(topo, topo.number[node])
        expected = queries.count_paths(graph, node, set(queries.downstream(graph, node)))
        assert counted is not None and expected is not None
        assert {n: counted.of(topo.number[n]) for n in expected} == expected
        outside = set(graph) - set(expected)
        assert all(counted.of(topo.number[n]) == 0 for n in outside)


def test_path_counts_stay_exact_far_past_64_bits():
    """A ladder of 150 diamonds has 2**150 paths from end to end: the digits must grow as counts do."""
    graph = nx.DiGraph()
    previous = "dataset:t:n0"
    graph.add_node(previous, kind="dataset")
    for i in range(150):
        left, right, joined = f"dataset:t:l{i}", f"dataset:t:r{i}", f"dataset:t:n{i + 1}"
        for node in (left, right, joined):
            graph.add_node(node, kind="dataset")
        graph.add_edges_from([(previous, left), (previous, right), (left, joined), (right, joined)])
        previous = joined
    topo = arrays.topology(graph)
    counted = path_counts(topo, topo.number["dataset:t:n0"])
    assert counted is not None
    assert counted.of(topo.number[previous]) == 2**150
    assert counted.of(topo.number["dataset:t:l149"]) == 2**149
    assert counted.of(topo.number["dataset:t:n1"]) == 2


@pytest.mark.parametrize("width", [3, 300])
def test_path_counts_stay_exact_where_every_level_multiplies_them(width):
    """Complete layers: every node of a layer feeds every node of the next, so a count grows `width`
    times a level (300: fan-ins wider than 2**8, runs of one level; 3: long runs) and a run that
    let one sum pass 2**53 would lose its low bits."""
    layers = 14 if width == 300 else 90
    graph = nx.DiGraph()
    graph.add_node("dataset:t:s", kind="dataset")
    previous = ["dataset:t:s"]
    for layer in range(layers):
        current = [f"dataset:t:{layer}-{i}" for i in range(width)]
        graph.add_nodes_from(current, kind="dataset")
        graph.add_edges_from((a, b) for a in previous for b in current)
        previous = current
    topo = arrays.topology(graph)
    counted = path_counts(topo, topo.number["dataset:t:s"])
    assert counted is not None
    assert len(topo.by_level.runs) - 1 > 2  # the bound did cut the levels into several runs
    for layer in range(layers):
        assert counted.of(topo.number[f"dataset:t:{layer}-{layer % width}"]) == width**layer
    assert counted.of(topo.number[previous[-1]]) == width ** (layers - 1)
    assert (width ** (layers - 1)).bit_length() > 100
    from_within = path_counts(topo, topo.number["dataset:t:3-0"])  # a start in the middle of a run
    assert from_within.of(topo.number[previous[0]]) == width ** (layers - 5)
    assert from_within.of(topo.number["dataset:t:3-1"]) == 0


def test_path_counts_say_nothing_on_a_cycle():
    graph = lineage_graph(1, cycle=True)
    topo = arrays.topology(graph)
    assert topo.level is None
    assert path_counts(topo, 0) is None


@pytest.mark.parametrize("seed", range(8))
def test_first_shortest_path_is_the_dict_walks_first_path(seed):
    graph = lineage_graph(seed, edges=200)
    topo = arrays.topology(graph)
    for source in list(graph)[:8]:
        found, steps = arrays.reach(topo, topo.number[source], "downstream")
        distance = [-1] * len(graph)
        for f, d in zip(found.tolist(), steps.tolist(), strict=True):
            distance[f] = d
        distance[topo.number[source]] = 0
        for target in topo.nodes[found].tolist():
            path = topo.nodes[arrays.first_shortest_path(topo, topo.number[source], topo.number[target],
                                                         np.array(distance))].tolist()
            assert [path] == queries.paths_between(graph, source, target, 1)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("path_limit", [0, 1, 3])
def test_impact_on_arrays_is_the_same_answer_as_on_dicts(seed, path_limit):
    graph = lineage_graph(seed, edges=150, cycle=seed == 5)
    for root in [n for n in graph if graph.nodes[n]["kind"] == "dataset"][:6]:
        for limit, offset, dataset_limit in ((None, 0, None), (3, 1, 4)):
            on_arrays = service._impact_on_arrays(graph, root, path_limit, limit, offset, dataset_limit)
            on_dicts = service._impact_in_python(graph, root, path_limit, limit, offset, dataset_limit)
            assert on_arrays.model_dump() == on_dicts.model_dump()


def test_the_arrays_are_built_once_per_graph_and_not_shared_with_a_copy():
    graph = lineage_graph(2)
    assert arrays.topology(graph) is arrays.topology(graph)
    copy = graph.copy()
    copy.add_node("dataset:t:extra", kind="dataset", namespace="t", name="extra")
    assert "dataset:t:extra" in arrays.topology(copy).number
    assert "dataset:t:extra" not in arrays.topology(graph).number


@pytest.mark.parametrize("seed", range(4))
def test_a_walk_on_arrays_reads_as_the_dict_it_replaces(seed):
    """`queries.reachable` on a large graph returns an `arrays.Walk`: every way a caller reads the
    dict (length, membership, lookup, items, equality) gives the dict walk's answer, nearest first."""
    graph = lineage_graph(seed, cycle=seed == 3)
    topo = arrays.topology(graph)
    for node in list(graph)[::7]:
        for direction in ("upstream", "downstream"):
            want = python_reach(graph, node, direction, None)
            walk = arrays.Walk(topo, *arrays.reach(topo, topo.number[node], direction))
            assert len(walk) == len(want) and walk == want and dict(walk.items()) == want
            assert [want[n] for n in walk] == sorted(want.values())  # nearest first (ties in search order)
            assert all(walk[n] == d for n, d in want.items()) and node not in walk
            with pytest.raises(KeyError):
                walk["dataset:t:nowhere"]


@pytest.mark.parametrize("seed", range(8))
def test_first_shortest_paths_at_once_are_each_targets_first_path(seed):
    """All of a source's targets in one call (as a page of impact asks) give the dict walk's first
    path for each, and nothing for the source itself or an unreached node."""
    graph = lineage_graph(seed, edges=180)
    topo = arrays.topology(graph)
    for source in list(graph)[:8]:
        start = topo.number[source]
        found, steps = arrays.reach(topo, start, "downstream")
        distance = np.full(len(topo.nodes), -1, dtype=np.int64)
        distance[found], distance[start] = steps, 0
        unreached = [n for n in range(len(topo.nodes)) if distance[n] < 0][:3]
        targets = [*found.tolist(), start, *unreached]
        together = [topo.nodes[p].tolist() for p in arrays.first_shortest_paths(topo, start, targets, distance)]
        expected = [queries.paths_between(graph, source, t, 1)[:1] for t in topo.nodes[found].tolist()]
        assert [[p] if p else [] for p in together[:len(found)]] == expected
        assert together[len(found):] == [[]] * (1 + len(unreached))


@pytest.mark.parametrize("seed", range(4))
def test_path_counts_cut_at_a_level_are_the_full_counts_up_to_it(seed):
    graph = lineage_graph(seed, edges=160)
    topo = arrays.topology(graph)
    for source in list(graph)[:10]:
        start = topo.number[source]
        full = path_counts(topo, start)
        for last in range(int(topo.level.max()) + 1):
            upto = [v for v in range(len(topo.nodes)) if topo.level[v] <= last]
            cut = path_counts(topo, start, last_level=last)
            assert [cut.of(v) for v in upto] == [full.of(v) for v in upto]


@pytest.mark.parametrize("seed", range(8))
def test_the_search_trees_paths_are_the_first_shortest_paths(seed):
    """The impact page's paths come from the breadth-first search's own tree: for every node a source
    reaches, the same path as `first_shortest_paths` (the first shortest path in id order) and as the
    dict walk. The graphs have many shortest paths of equal length, where the tie-break is all."""
    graph = lineage_graph(seed, edges=220, cycle=seed == 7)
    topo = arrays.topology(graph)
    assert topo.nodes.tolist() == sorted(graph)  # the numbering the tree's order rests on
    for source in list(graph)[:10]:
        start = topo.number[source]
        found, steps, parent = arrays.reach_with_parents(topo, start, "downstream")
        distance = np.full(len(topo.nodes), -1, dtype=np.int64)
        distance[found], distance[start] = steps, 0
        from_tree = arrays.paths_from_parents(parent, start, found, steps)
        assert from_tree == arrays.first_shortest_paths(topo, start, found.tolist(), distance)
        assert [[topo.nodes[p].tolist()] for p in from_tree] == [
            queries.paths_between(graph, source, target, 1) for target in topo.nodes[found].tolist()]
