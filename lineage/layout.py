"""Positions for the viewer, computed in Python so the browser never runs a physics simulation.

A force-directed layout in the browser takes minutes to settle a few thousand nodes; a layered
layout computed here is drawn at once. Columns run left to right the way data flows: sources,
then each generation of derived datasets, then models (fine-tuned models one column further on).
A job sits half a column before the earliest dataset it produces, between its inputs and outputs.

Within a column, nodes are ordered by the barycenter heuristic (the mean row of their neighbours
in the previous column, swept down then up), which removes most edge crossings on lineage graphs
at linear cost.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import networkx as nx

COLUMN_GAP = 360.0
ROW_GAP = 72.0
SWEEPS = 2


@dataclass(frozen=True)
class Layout:
    positions: dict[Hashable, tuple[float, float]]
    columns: dict[Hashable, int]  # in half-columns: jobs sit on odd ones


def columns(graph: nx.DiGraph, kind_of: dict[Hashable, str]) -> dict[Hashable, int]:
    """Column of each node, counted in half-columns so jobs can sit between their inputs and outputs.

    Cycles (which OpenLineage can report) are collapsed into one column per strongly connected
    component, so the layout never fails on them.
    """
    data = [n for n in graph if kind_of[n] == "dataset"]
    models = [n for n in graph if kind_of[n] == "model"]
    generation = _generations(graph.subgraph(data))
    last = max(generation.values(), default=-1)
    model_generation = _generations(graph.subgraph(models))
    column: dict[Hashable, int] = {n: 2 * g for n, g in generation.items()}
    for node in models:
        # Models share the columns after every dataset, so a reader finds them all on the right.
        column[node] = 2 * (last + 1 + model_generation[node])
    for node in graph:
        if kind_of[node] == "job":
            produced = [column[s] for s in graph.successors(node) if s in column]
            column[node] = max(min(produced) - 1, 0) if produced else 0
        elif node not in column:
            column[node] = 0
    return column


def _generations(graph: nx.DiGraph) -> dict[Hashable, int]:
    """Longest-path generation of every node (0 for sources), cycles collapsed."""
    if nx.is_directed_acyclic_graph(graph):
        return {n: g for g, layer in enumerate(nx.topological_generations(graph)) for n in layer}
    condensed = nx.condensation(graph)
    members = condensed.graph["mapping"]
    by_component = {c: g for g, layer in enumerate(nx.topological_generations(condensed)) for c in layer}
    return {n: by_component[members[n]] for n in graph}


def layered(graph: nx.DiGraph, kind_of: dict[Hashable, str], order_key: dict[Hashable, tuple] | None = None) -> Layout:
    """Column and row for every node. `order_key` gives the initial order within a column (e.g. by name)."""
    column = columns(graph, kind_of)
    by_column: dict[int, list[Hashable]] = defaultdict(list)
    for node, c in column.items():
        by_column[c].append(node)
    key = order_key or {n: (str(n),) for n in graph}
    order = sorted(by_column)
    rows: dict[Hashable, float] = {}
    for c in order:
        by_column[c].sort(key=lambda n: key[n])
        _place(by_column[c], rows)
    for sweep in range(SWEEPS):
        forward = sweep % 2 == 0
        for c in (order[1:] if forward else order[-2::-1]):
            neighbours = graph.predecessors if forward else graph.successors
            _reorder(by_column[c], neighbours, rows)
            _place(by_column[c], rows)
    positions = {n: (column[n] * COLUMN_GAP / 2, rows[n] * ROW_GAP) for n in graph}
    return Layout(positions=positions, columns=column)


def _reorder(nodes: list[Hashable], neighbours, rows: dict[Hashable, float]) -> None:
    """Sort a column by the mean row of each node's neighbours; nodes without any keep their row."""
    def barycenter(node: Hashable) -> float:
        near: Iterable[Hashable] = neighbours(node)
        values = [rows[n] for n in near if n in rows]
        return sum(values) / len(values) if values else rows[node]

    nodes.sort(key=barycenter)


def _place(nodes: list[Hashable], rows: dict[Hashable, float]) -> None:
    """Rows centred on 0, so columns of different heights line up on the middle."""
    middle = (len(nodes) - 1) / 2
    for index, node in enumerate(nodes):
        rows[node] = index - middle
