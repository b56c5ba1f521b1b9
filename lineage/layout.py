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
ASPECT = 2.0  # widest picture drawn without stretching the rows
MAX_STRETCH = 6.0


@dataclass(frozen=True)
class Layout:
    positions: dict[Hashable, tuple[float, float]]
    columns: dict[Hashable, int]  # in half-columns: jobs sit on odd ones


def columns(graph: nx.DiGraph, kind_of: dict[Hashable, str]) -> dict[Hashable, int]:
    """Column of each node of `kind_of` (the nodes shown; edges to others are ignored), in half-columns
    so jobs can sit between their inputs and outputs.

    Cycles (which OpenLineage can report) are collapsed into one column per strongly connected
    component, so the layout never fails on them.
    """
    data = {n for n, kind in kind_of.items() if kind == "dataset"}
    models = {n for n, kind in kind_of.items() if kind == "model"}
    generation = _generations(graph, data)
    last = max(generation.values(), default=-1)
    model_generation = _generations(graph, models)
    column: dict[Hashable, int] = {n: 2 * g for n, g in generation.items()}
    for node in models:
        # Models share the columns after every dataset, so a reader finds them all on the right.
        column[node] = 2 * (last + 1 + model_generation[node])
    for node, kind in kind_of.items():
        if kind == "job":
            produced = [column[s] for s in graph.successors(node) if s in column]
            column[node] = max(min(produced) - 1, 0) if produced else 0
        elif node not in column:
            column[node] = 0
    return column


def _generations(graph: nx.DiGraph, nodes: set[Hashable]) -> dict[Hashable, int]:
    """Longest-path generation of every node among `nodes` (0 for sources), by levels (Kahn).

    Works on the graph's adjacency directly: a networkx subgraph view re-checks membership on
    every step and is ten times slower on a whole platform. Nodes on a cycle are collapsed by
    condensation, on the rare graphs that have one.
    """
    succ, pred = graph.succ, graph.pred
    waiting = {n: sum(1 for p in pred[n] if p in nodes) for n in nodes}
    frontier = [n for n, count in waiting.items() if count == 0]
    generation: dict[Hashable, int] = {}
    level = 0
    while frontier:
        following = []
        for node in frontier:
            generation[node] = level
            for s in succ[node]:
                if s in waiting:
                    waiting[s] -= 1
                    if waiting[s] == 0:
                        following.append(s)
        frontier = following
        level += 1
    if len(generation) == len(nodes):
        return generation
    condensed = nx.condensation(graph.subgraph(nodes))
    members = condensed.graph["mapping"]
    by_component = {c: g for g, layer in enumerate(nx.topological_generations(condensed)) for c in layer}
    return {n: by_component[members[n]] for n in nodes}


def layered(graph: nx.DiGraph, kind_of: dict[Hashable, str], order_key: dict[Hashable, tuple] | None = None) -> Layout:
    """Column and row for every node of `kind_of`. `order_key` gives the initial order within a column."""
    column = columns(graph, kind_of)
    by_column: dict[int, list[Hashable]] = defaultdict(list)
    for node, c in column.items():
        by_column[c].append(node)
    key = order_key or {n: (str(n),) for n in kind_of}
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
    width = (max(order, default=0) - min(order, default=0)) * COLUMN_GAP / 2
    height = max((len(nodes) for nodes in by_column.values()), default=1) * ROW_GAP
    # a long, thin picture (many columns, few rows: a grouped platform) is spread out vertically so
    # that fitting it to the screen does not shrink every node to a dot
    gap = ROW_GAP * min(MAX_STRETCH, max(1.0, width / (ASPECT * height)))
    positions = {n: (column[n] * COLUMN_GAP / 2, rows[n] * gap) for n in kind_of}
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
