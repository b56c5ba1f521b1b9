"""Queries on the lineage graph: resolve a name, walk up or down, find what a dataset reaches.

Jobs sit beside the data path, not on it (see `lineage.graph`): upstream of a table you meet the
job that produced it as a leaf, and downstream of a job you find everything its outputs reach.
"""

from __future__ import annotations

import difflib

import networkx as nx

from catalog.errors import AmbiguousName, NotFound

Direction = str  # "upstream" | "downstream"


def resolve(graph: nx.DiGraph, ref: str, *, kinds: tuple[str, ...] | None = None) -> str:
    """A node id from a full id (`dataset:ns:name`), `ns:name`, or a bare name that is unambiguous."""
    if ref in graph and (kinds is None or graph.nodes[ref]["kind"] in kinds):
        return ref
    index = _name_index(graph)
    matches = [n for n in index.get(ref, ()) if kinds is None or graph.nodes[n]["kind"] in kinds]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise AmbiguousName(ref, sorted(matches))
    what = " or ".join(kinds) if kinds else "node"
    close = difflib.get_close_matches(ref, list(index), n=3)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise NotFound(f"no {what} named '{ref}' in the catalog{hint}")


def _name_index(graph: nx.DiGraph) -> dict[str, list[str]]:
    index = graph.graph.get("_name_index")
    if index is None:
        index = {}
        for node, attrs in graph.nodes(data=True):
            for key in (attrs["name"], f"{attrs['namespace']}:{attrs['name']}"):
                index.setdefault(key, []).append(node)
        graph.graph["_name_index"] = index
    return index


def _neighbours(graph: nx.DiGraph, direction: Direction):
    if direction == "upstream":
        return graph.predecessors
    if direction == "downstream":
        return graph.successors
    raise ValueError(f"direction must be 'upstream' or 'downstream', not {direction!r}")


def reachable(graph: nx.DiGraph, node: str, direction: Direction, depth: int | None = None) -> dict[str, int]:
    """Every node upstream or downstream of `node`, with its distance in edges."""
    step = _neighbours(graph, direction)
    distance = {node: 0}
    frontier = [node]
    level = 0
    while frontier and (depth is None or level < depth):
        level += 1
        following = []
        for current in frontier:
            for nxt in step(current):
                if nxt not in distance:
                    distance[nxt] = level
                    following.append(nxt)
        frontier = following
    del distance[node]
    return distance


def upstream(graph: nx.DiGraph, node: str, depth: int | None = None) -> dict[str, int]:
    return reachable(graph, node, "upstream", depth)


def downstream(graph: nx.DiGraph, node: str, depth: int | None = None) -> dict[str, int]:
    return reachable(graph, node, "downstream", depth)


def tree(graph: nx.DiGraph, node: str, direction: Direction, depth: int | None = None) -> dict:
    """A nested tree for printing; a node met twice is expanded once and marked `repeated` after."""
    step = _neighbours(graph, direction)
    expanded: set[str] = set()
    shown: set[str] = set()

    def build(current: str, level: int, trail: frozenset[str]) -> dict:
        entry = {"id": current, "children": [], "repeated": False}
        if current in expanded:
            entry["repeated"] = True
            return entry
        if depth is not None and level >= depth:
            # a leaf only because of the depth limit: met again nearer the root, it is expanded there
            entry["repeated"] = current in shown
            shown.add(current)
            return entry
        expanded.add(current)
        for nxt in sorted(step(current)):
            if nxt in trail:
                continue  # a cycle (possible with OpenLineage input): stop rather than loop
            entry["children"].append(build(nxt, level + 1, trail | {nxt}))
        return entry

    return _iterative_safe(build, node)


def _iterative_safe(build, node: str) -> dict:
    """Deep lineage (thousands of levels) would hit Python's recursion limit; raise it locally."""
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))
    try:
        return build(node, 0, frozenset({node}))
    finally:
        sys.setrecursionlimit(limit)


def count_paths(graph: nx.DiGraph, source: str, nodes: set[str]) -> dict[str, int] | None:
    """Number of distinct paths from `source` to each node of `nodes` (its downstream), or None on a cycle."""
    sub = graph.subgraph(nodes | {source})
    try:
        order = list(nx.topological_sort(sub))
    except nx.NetworkXUnfeasible:
        return None
    counts = dict.fromkeys(order, 0)
    counts[source] = 1
    for current in order:
        if counts[current]:
            for nxt in sub.successors(current):
                counts[nxt] += counts[current]
    return counts


def paths_between(graph: nx.DiGraph, source: str, target: str, limit: int, within: set[str] | None = None) -> list[list[str]]:
    """Up to `limit` paths from `source` to `target`, shortest first (ties by node ids).

    The search runs on the part of the graph that can lie on such a path (downstream of the
    source and upstream of the target), where Yen's algorithm yields paths in length order.
    """
    if source == target or limit < 1:
        return []
    sub = graph.subgraph((within or set(downstream(graph, source))) | {source})
    if target not in sub:
        return []
    sub = sub.subgraph(set(reachable(sub, target, "upstream")) | {target})
    found: list[list[str]] = []
    for path in nx.shortest_simple_paths(sub, source, target):
        if len(found) >= limit and len(path) > len(found[-1]):
            break
        found.append(path)
    found.sort(key=lambda p: (len(p), p))
    return found[:limit]
