"""`lineage.column_reach.reach_columns` against a plain BFS over the column rows, on random small graphs.

The graphs are built as `lineage.graph.build_graph` shapes them (node `kind` dataset / job / model; edges
derivation, produces, feed, base_model), without a store; the column rows are node-id rows as
`lineage.graph._column_rows` gives them. The BFS (`benchmarks.columns.PlainColumns`) reads the rows and
the networkx graph, never the column graph's arrays, and walks the three planes separately: reached,
on known lineage (no assumed hop), by values (no assumed hop, no INDIRECT flow); reached is what known
lineage reached and everything downstream of the outputs of its assumed hops (the table rule).
"""

from __future__ import annotations

import random

import networkx as nx
import pytest

from benchmarks.columns import PlainColumns, reach_labels
from catalog.lineage_rows import ColumnRows
from lineage.column_reach import Seed, reach_columns
from lineage.columns import column_graph


def random_case(seed: int, *, cyclic: bool = False) -> tuple[nx.DiGraph, ColumnRows, random.Random]:
    rng = random.Random(seed)
    graph = nx.DiGraph(revision=1)
    datasets = [f"dataset:ns:d{i}" for i in range(rng.randint(4, 25))]
    models = [f"model:ns:m{i}@1" for i in range(rng.randint(0, 5))]
    job = "job:ns:build"
    for d in datasets:
        graph.add_node(d, kind="dataset", namespace="ns", name=d.rsplit(":", 1)[1])
    graph.add_node(job, kind="job", namespace="ns", name="build", description=None)
    for m in models:
        graph.add_node(m, kind="model", namespace="ns", name=m.rsplit(":", 1)[1].split("@")[0], version="1")
    for j, d in enumerate(datasets[1:], start=1):
        for i in rng.sample(range(j), k=min(j, rng.randint(0, 3))):
            graph.add_edge(datasets[i], d, kind="derivation", jobs=[job], sources=["openlineage"])
        graph.add_edge(job, d, kind="produces")
    if cyclic and len(datasets) > 3:  # OpenLineage input can close a loop
        graph.add_edge(datasets[-1], datasets[1], kind="derivation", jobs=[job], sources=["openlineage"])
    for m in models:
        for d in rng.sample(datasets, k=rng.randint(1, 3)):
            graph.add_edge(d, m, kind="feed", uses=[], roles=["training"])
    for a, b in zip(models, models[1:]):
        if rng.random() < 0.5:
            graph.add_edge(a, b, kind="base_model")
    columns = {d: [f"c{k}" for k in range(rng.randint(0, 5))] for d in datasets}
    dataset_columns = [(d, c, "string", None, [], k, "openlineage") for d in datasets for k, c in enumerate(columns[d])]
    flows = []
    for u, v, kind in graph.edges(data="kind"):
        if kind != "derivation" or not columns[u] or rng.random() < 0.3:  # some hops have no column lineage
            continue
        for c in columns[v]:
            for _ in range(rng.randint(0, 2)):
                flows.append((u, rng.choice(columns[u]), v, c, rng.choice(["DIRECT", "DIRECT", "INDIRECT"]),
                              None, False, "openlineage"))
        if rng.random() < 0.3:  # a filter or join key: into the whole output
            flows.append((u, rng.choice(columns[u]), v, "", "INDIRECT", "FILTER", False, "openlineage"))
    if rng.random() < 0.5 and columns[datasets[0]]:  # a flow the table graph does not join, a column not declared
        flows.append((datasets[0], columns[datasets[0]][0], datasets[-1], "undeclared", "DIRECT", None, False, "openlineage"))
    features = []
    for d, m in [(u, v) for u, v, kind in graph.edges(data="kind") if kind == "feed"]:
        if columns[d] and rng.random() < 0.5:
            features.append((d, m, rng.sample(columns[d], k=rng.randint(1, len(columns[d]))) +
                             (["extra"] if rng.random() < 0.2 else [])))
    rows = ColumnRows(dataset_columns=dataset_columns, column_flows=flows, features=features)
    graph.graph["column_rows"] = rows
    return graph, rows, rng


def random_seeds(graph: nx.DiGraph, rows: ColumnRows, rng: random.Random, count: int) -> list[Seed]:
    with_columns = sorted({d for d, *_ in rows.dataset_columns})
    seeds = []
    for j in range(count):
        d = rng.choice(with_columns)
        names = sorted({c for e, c, *_ in rows.dataset_columns if e == d})
        seeds.append(Seed(f"root{j}", d, tuple(rng.sample(names, k=rng.randint(1, len(names))))))
    return seeds


@pytest.mark.parametrize("case", range(40))
def test_reach_columns_is_the_plain_bfs(case: int) -> None:
    graph, rows, rng = random_case(case, cyclic=case % 4 == 3)
    if not rows.dataset_columns:
        pytest.skip("no columns drawn")
    cg = column_graph(graph)
    if nx.is_directed_acyclic_graph(graph.subgraph(n for n, k in graph.nodes(data="kind") if k != "job")):
        assert cg.level is not None  # on a cycle the table rule's walk goes in rounds; the column graph may not
    seeds = random_seeds(graph, rows, rng, 70 if case % 5 == 0 else rng.randint(1, 6))  # 70: two words per plane
    found = reach_columns(cg, seeds)
    plain = PlainColumns(graph, rows)
    for seed in seeds:
        want = plain.planes(seed.dataset, seed.columns)
        got = reach_labels(found, seed.key)
        assert got == want, seed
        # the table rows the findings use are the table nodes of the planes
        table = found.table_rows(seed.key)
        for plane, flags in zip(want, table, strict=True):
            assert {str(cg.nodes[i]) for i, on in enumerate(flags) if on} == {n for n, c in plane if c is None}
