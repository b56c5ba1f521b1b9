"""`GET /api/v1/lineage/...` written straight to JSON: the bytes `LineageResult.model_dump_json()`
gives for `service.lineage`'s answer, without the pydantic objects in between.

A lineage of a thousand nodes names each node twice (the flat list and the tree), and building a
`NodeRef`, `Reached` and `TreeNode` for each, only to dump them, was most of the request's CPU.
Here each node's JSON is made once per graph (the graph is rebuilt, never edited, when the store
revision moves) and an answer is joined from those pieces. `tests/lineage/test_lineage_json.py`
holds the two to the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import networkx as nx

from catalog.store import Store
from lineage import queries
from lineage.json_pieces import entries, entry_prefixes, refs_of, string as _string

# `walk_tree` steps: a node opened (children follow until its CLOSE), a leaf, a leaf marked repeated.
OPEN, LEAF, REPEATED, CLOSE = 0, 1, 2, 3


def walk_tree(graph: nx.DiGraph, root: str, direction: str, depth: int | None = None) -> Iterator[tuple[int, str]]:
    """`queries.tree` in depth-first order, as (step, node) pairs, without recursion (a lineage can
    be thousands of levels deep): a node met twice is expanded once and a leaf marked repeated
    after; a leaf only because of the depth limit is marked repeated if shown before; a child
    already on the path from the root (a cycle) is left out."""
    step = queries._neighbours(graph, direction)
    expanded: set[str] = set()
    shown: set[str] = set()
    trail: set[str] = {root}
    stack: list[tuple[str, Iterator[str]]] = []  # the open nodes and the children each has left

    def enter(node: str, level: int) -> tuple[int, str]:
        if node in expanded:
            return REPEATED, node
        if depth is not None and level >= depth:
            repeated = node in shown
            shown.add(node)
            return (REPEATED if repeated else LEAF), node
        expanded.add(node)
        trail.add(node)
        stack.append((node, iter(sorted(step(node)))))
        return OPEN, node

    yield enter(root, 0)
    while stack:
        node, children = stack[-1]
        for child in children:
            if child not in trail:
                yield enter(child, len(stack))
                break
        else:
            stack.pop()
            trail.discard(node)
            yield CLOSE, node


def tree_dict(graph: nx.DiGraph, root: str, direction: str, depth: int | None = None) -> dict:
    """`walk_tree` as the nested dict `queries.tree` returns (what the tests compare)."""
    top: dict = {}
    opened: list[dict] = []
    for kind, node in walk_tree(graph, root, direction, depth):
        if kind == CLOSE:
            opened.pop()
            continue
        entry = {"id": node, "children": [], "repeated": kind == REPEATED}
        if opened:
            opened[-1]["children"].append(entry)
        else:
            top = entry
        if kind == OPEN:
            opened.append(entry)
    return top


def lineage_json(store: Store, node: str, *, direction: str = "upstream", depth: int | None = None,
                 as_of: datetime | None = None) -> str:
    """`service.lineage(...).model_dump_json()`, written directly (the same bytes)."""
    from lineage.service import graph_of

    graph = graph_of(store, as_of)
    return lineage_json_on(graph, queries.resolve(graph, node), direction, depth)


def lineage_json_on(graph: nx.DiGraph, root: str, direction: str, depth: int | None) -> str:
    """`service.lineage_on(...).model_dump_json()`, written directly."""
    reached = queries.reachable(graph, root, direction, depth)
    refs = refs_of(graph)
    named = refs[root]
    parts = [f'{{"root":{named},"direction":{_string(direction)},"depth":{"null" if depth is None else int(depth)},'
             f'"nodes":[']
    from lineage.arrays import Walk  # numpy: imported by the first lineage, not with this module

    if isinstance(reached, Walk):  # found on the arrays: ordered and written there, no step per node
        import numpy as np

        topo = reached.topo
        order = np.lexsort((topo.rank[reached.found], reached.steps))
        parts.append(entries(entry_prefixes(graph, topo.nodes), reached.found[order], reached.steps[order]))
    else:
        parts.append(",".join(f'{{"node":{refs[n]},"distance":{int(d)}}}'
                              for n, d in sorted(reached.items(), key=lambda x: (x[1], x[0]))))
    parts.append('],"tree":')
    after = False  # a node written just before at the same level: a comma first
    for kind, n in walk_tree(graph, root, direction, depth):
        if kind == CLOSE:
            parts.append("]}")
            after = True
            continue
        if after:
            parts.append(",")
        ref = refs[n]
        if kind == OPEN:
            parts.append(f'{{"node":{ref},"repeated":false,"children":[')
        else:
            parts.append(f'{{"node":{ref},"repeated":{"true" if kind == REPEATED else "false"},"children":[]}}')
        after = kind != OPEN
    parts.append("}")
    return "".join(parts)
