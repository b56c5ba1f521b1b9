"""`GET /api/v1/lineage/...` written straight to JSON: the bytes `LineageResult.model_dump_json()`
gives for `service.lineage`'s answer, without the pydantic objects in between.

A lineage of a thousand nodes names each node twice (the flat list and the tree), and building a
`NodeRef`, `Reached` and `TreeNode` for each, only to dump them, was most of the request's CPU.
Here each node's JSON is made once per graph (the graph is rebuilt, never edited, when the store
revision moves) and an answer is joined from those pieces. `tests/lineage/test_lineage_json.py`
holds the two to the same bytes.
"""

from __future__ import annotations

from datetime import datetime

import networkx as nx

from catalog.store import Store
from lineage import queries
from lineage.json_pieces import entries, entry_prefixes, refs_of, string as _string

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
    tree_json(graph, root, direction, depth, refs, parts)
    parts.append("}")
    return "".join(parts)


_LEAF = ',"repeated":false,"children":[]}'
_REPEATED_LEAF = ',"repeated":true,"children":[]}'
_OPENED = ',"repeated":false,"children":['


def tree_json(graph: nx.DiGraph, root: str, direction: str, depth: int | None, refs: dict[str, str],
              out: list[str]) -> None:
    """`queries.tree`'s tree as JSON, appended to `out`, without recursion (a lineage can be thousands
    of levels deep): a node met twice is expanded once and a leaf marked repeated after; a leaf only
    because of the depth limit is marked repeated if shown before; a child already on the path from
    the root (a cycle, a self-loop) is left out. A node whose children all lie at the depth limit is
    written with them in one go (each is a leaf): nine steps in ten of a depth-3 lineage are such
    leaves, and keeping them off the stack saved about 6% of the answer."""
    step = queries._neighbours(graph, direction)
    expanded: set[str] = set()
    shown: set[str] = set()
    trail: set[str] = {root}
    stack: list[list] = []  # [node, children left, its level, a child written yet]

    def write(node: str, level: int) -> None:
        if node in expanded:
            out.append('{"node":' + refs[node] + _REPEATED_LEAF)
            return
        if depth is not None and level >= depth:
            out.append('{"node":' + refs[node] + (_REPEATED_LEAF if node in shown else _LEAF))
            shown.add(node)
            return
        expanded.add(node)
        children = sorted(step(node))
        if depth is not None and level + 1 >= depth:  # every child is a leaf, handled as `write` would
            leaves = []
            for child in children:
                if child in trail or child == node:
                    continue
                if child in expanded:
                    leaves.append('{"node":' + refs[child] + _REPEATED_LEAF)
                    continue
                leaves.append('{"node":' + refs[child] + (_REPEATED_LEAF if child in shown else _LEAF))
                shown.add(child)
            out.append('{"node":' + refs[node] + _OPENED + ",".join(leaves) + "]}")
            return
        trail.add(node)
        out.append('{"node":' + refs[node] + _OPENED)
        stack.append([node, iter(children), level, False])

    write(root, 0)
    while stack:
        top = stack[-1]
        for child in top[1]:
            if child not in trail:
                if top[3]:
                    out.append(",")
                top[3] = True
                write(child, top[2] + 1)
                break
        else:
            stack.pop()
            trail.discard(top[0])
            out.append("]}")
