"""Queries on the lineage graph: resolve a name, walk up or down, find what a dataset reaches.

Jobs sit beside the data path, not on it (see `lineage.graph`): upstream of a table you meet the
job that produced it as a leaf, and downstream of a job you find everything its outputs reach.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

import networkx as nx

from catalog.errors import AmbiguousName, NotFound
from catalog.ids import encode_name, node_id, qualified_name, version_key
from lineage.graph import keep_for_the_revision

Direction = str  # "upstream" | "downstream"


def resolve(graph: nx.DiGraph, ref: str, *, kinds: tuple[str, ...] | None = None) -> str:
    """A node id from a full id (`dataset:ns:name`), `ns:name`, or a bare name that is unambiguous.

    A model named without a version (`credit-scorer`, `model:demo:credit-scorer`) is its newest
    deployed version, else its newest version: what "the model" means to the people who run it.
    """
    return resolve_all(graph, ref, kinds=kinds)[-1]


def resolve_all(graph: nx.DiGraph, ref: str, *, kinds: tuple[str, ...] | None = None) -> list[str]:
    """Like `resolve`, but a model named without a version is every deployed version (else the newest):
    the scope a gate or a waiver means by a model's name."""
    if ref in graph and (kinds is None or graph.nodes[ref]["kind"] in kinds):
        return [ref]
    index = _name_index(graph)
    matches = [n for n in index.get(ref, ()) if kinds is None or graph.nodes[n]["kind"] in kinds]
    families = sorted({_family(graph, n) for n in matches})
    if len(families) == 1:
        return matches if len(matches) == 1 else preferred_versions(graph, matches)
    if len(families) > 1:
        raise AmbiguousName(ref, families)
    what = " or ".join(kinds) if kinds else "node"
    close = difflib.get_close_matches(ref, list(index), n=3)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise NotFound(f"no {what} named '{ref}' in the catalog{hint}")


def preferred_versions(graph: nx.DiGraph, versions: list[str]) -> list[str]:
    """Of one model's version nodes, the deployed ones, else the newest alone; oldest first."""
    def order(node: str) -> tuple:
        return version_key(graph.nodes[node]["version"])

    deployed = [n for n in versions if graph.nodes[n].get("deployed")]
    return sorted(deployed, key=order) if deployed else [max(versions, key=order)]


def _family(graph: nx.DiGraph, node: str) -> str:
    """A model version's model (`model:ns:name`); any other node is its own."""
    attrs = graph.nodes[node]
    return node_id("model", attrs["namespace"], attrs["name"]) if attrs["kind"] == "model" else node


def _name_index(graph: nx.DiGraph) -> dict[str, list[str]]:
    index = graph.graph.get("_name_index")
    if index is None:
        index = {}
        for node, attrs in graph.nodes(data=True):
            keys = {attrs["name"], encode_name(attrs["name"]), qualified_name(attrs["namespace"], attrs["name"])}
            if attrs["kind"] == "model":  # a version by NAME@VERSION; the model by its name and its own id
                version = attrs["version"]
                keys |= {f"{attrs['name']}@{version}", f"{encode_name(attrs['name'])}@{encode_name(version)}",
                         qualified_name(attrs["namespace"], attrs["name"], version),
                         node_id("model", attrs["namespace"], attrs["name"])}
            for key in keys:
                index.setdefault(key, []).append(node)
        graph.graph["_name_index"] = index
        keep_for_the_revision()
    return index


def _neighbours(graph: nx.DiGraph, direction: Direction):
    if direction == "upstream":
        return graph.predecessors
    if direction == "downstream":
        return graph.successors
    raise ValueError(f"direction must be 'upstream' or 'downstream', not {direction!r}")


ARRAY_WALK_NODES = 20_000  # from this size a walk runs on arrays (a hub's downstream is half the graph)
# From this size impact and path answers (path counts, a path per model) run on the arrays: the dict
# search runs once per model listed, and on the reference graph at 1,062 nodes cost 9.4 ms a call
# against 1.5 ms on arrays that take 11 ms to build once per revision (at 2,112 nodes: 29 against 1.7).
# Below it the dicts are as fast and spare a small catalog's one-off command scipy's import.
ARRAY_PATHS_NODES = 500


def reachable(graph: nx.DiGraph, node: str, direction: Direction, depth: int | None = None) -> Mapping[str, int]:
    """Every node upstream or downstream of `node`, with its distance in edges (a dict, or on a large
    graph a read-only mapping over arrays)."""
    if len(graph) >= ARRAY_WALK_NODES:
        return _reachable_on_arrays(graph, node, direction, depth)
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


def _reachable_on_arrays(graph: nx.DiGraph, node: str, direction: Direction, depth: int | None) -> Mapping[str, int]:
    """`reachable` by scipy's breadth-first search on the graph's arrays (`lineage.arrays`): the same
    nodes and distances, in C instead of a Python step per edge, as a mapping over the arrays."""
    from lineage import arrays

    _neighbours(graph, direction)  # an unknown direction raises the usual error
    topo = arrays.topology(graph)
    return arrays.Walk(topo, *arrays.reach(topo, topo.number[node], direction, depth))


def upstream(graph: nx.DiGraph, node: str, depth: int | None = None) -> Mapping[str, int]:
    return reachable(graph, node, "upstream", depth)


def downstream(graph: nx.DiGraph, node: str, depth: int | None = None) -> Mapping[str, int]:
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
    """Number of distinct paths from `source` to each node of `nodes` (its downstream), or None on a cycle.

    Kahn's order over plain adjacency dicts: networkx subgraph views filter every neighbour through
    Python calls, which made this 30x slower on a hub's 50,000-node downstream.
    """
    within = nodes | {source}
    succ = graph._succ  # the plain dict of dicts: graph.succ[n] builds a view object on every call
    waiting = dict.fromkeys(within, 0)
    for node in within:
        for nxt in succ[node]:
            if nxt in waiting:
                waiting[nxt] += 1
    counts = dict.fromkeys(within, 0)
    counts[source] = 1
    ready = [n for n, k in waiting.items() if k == 0]
    done = 0
    while ready:
        current = ready.pop()
        done += 1
        here = counts[current]
        for nxt in succ[current]:
            if nxt in waiting:
                counts[nxt] += here
                waiting[nxt] -= 1
                if waiting[nxt] == 0:
                    ready.append(nxt)
    return counts if done == len(within) else None


def paths_between(graph: nx.DiGraph, source: str, target: str, limit: int, within: set[str] | None = None) -> list[list[str]]:
    """Up to `limit` paths from `source` to `target`, shortest first (ties by node ids).

    The search runs on the part of the graph that can lie on such a path (downstream of the
    source and upstream of the target), where Yen's algorithm yields paths in length order.
    """
    if source == target or limit < 1:
        return []
    within = within if within is not None else set(downstream(graph, source))
    if target not in within:
        return []
    shortest = _shortest_paths_in_order(graph, source, target, within, limit)
    if len(shortest) == limit:
        return shortest  # `limit` paths of the least length, the first by node ids: what Yen's would give
    # the region, copied into a small graph: Yen's algorithm on nested subgraph views of a large
    # graph pays a Python filter call for every neighbour it looks at
    region, stack, pred = {target}, [target], graph.pred
    while stack:
        for before in pred[stack.pop()]:
            if before not in region and (before in within or before == source):
                region.add(before)
                stack.append(before)
    if source not in region:
        return []
    sub = nx.DiGraph()
    sub.add_nodes_from(region)
    sub.add_edges_from((u, v) for u in region for v in graph.succ[u] if v in region)
    found: list[list[str]] = []
    for path in nx.shortest_simple_paths(sub, source, target):
        if len(found) >= limit and len(path) > len(found[-1]):
            break
        found.append(path)
    found.sort(key=lambda p: (len(p), p))
    return found[:limit]


def _shortest_paths_in_order(graph: nx.DiGraph, source: str, target: str, within: set[str], limit: int) -> list[list[str]]:
    """Up to `limit` shortest source->target paths through `within` in node-id order: a breadth-first
    search back from the target that stops at the source's distance, then a depth-first walk that only
    steps one edge closer to the target. A dense DAG has thousands of equally short paths, and
    listing them all to sort them (as Yen's loop above must) is what made impact slow."""
    remaining = {target: 0}
    frontier = [target]
    while frontier and source not in remaining:
        following = []
        for node in frontier:
            for before in graph._pred[node]:  # dicts, not views: see count_paths
                if (before in within or before == source) and before not in remaining:
                    remaining[before] = remaining[node] + 1
                    following.append(before)
        frontier = following
    if source not in remaining:
        return []
    found: list[list[str]] = []
    stack: list[list[str]] = [[source]]
    while stack and len(found) < limit:
        path = stack.pop()
        node = path[-1]
        if node == target:
            found.append(path)
            continue
        step = remaining[node] - 1
        closer = sorted((n for n in graph._succ[node] if remaining.get(n) == step), reverse=True)
        stack.extend(path + [n] for n in closer)
    return found
