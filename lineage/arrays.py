"""The graph's topology as arrays, for the questions whose answer is a walk over half the platform.

A hub's impact reaches 50,000 nodes and counts the paths to each of them. Walking networkx's dicts
costs a Python step per edge (0.4 s on the reference graph); the same walk on CSR arrays is a few
vector operations per level. The arrays are derived from the graph of record once per graph (it is
rebuilt, never edited, when the store revision moves) and kept in `graph.graph`.

- Nodes are numbered in the graph's order; `rank` is each node's place in id order, which is how
  answers break ties.
- `level` is each node's longest distance from a node without predecessors (None when the graph has a
  cycle, which OpenLineage input can make): every edge goes from a lower level to a higher one, so
  path counts can be summed level by level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

KIND_CODES = {"dataset": 0, "job": 1, "model": 2}
LIMB = 32  # path counts are kept in base-2**32 digits: a hub's counts on the reference graph reach 2**118
EXACT_FAN_IN = 2**21  # a float64 sum of this many 32-bit digits is still exact


@dataclass
class Topology:
    nodes: np.ndarray  # node ids, object array
    number: dict[str, int]
    rank: np.ndarray  # int64: place of each node in id order
    kind: np.ndarray  # int8, KIND_CODES
    down: Any  # scipy CSR, successors
    up: Any  # scipy CSR, predecessors
    level: np.ndarray | None  # int64 longest-path level, None on a cycle
    by_level: "Levels | None"


@dataclass
class Levels:
    """Nodes and edges grouped by (target) level, for sums a level at a time."""

    nodes: np.ndarray  # node numbers, by level
    node_starts: np.ndarray  # where each level's nodes begin in `nodes` (one more entry than levels)
    src: np.ndarray  # edge sources, edges ordered by their target's level
    local: np.ndarray  # each edge's target, as its place among its level's nodes
    edge_starts: np.ndarray
    max_fan_in: int


def topology(graph: nx.DiGraph) -> Topology:
    """The graph's arrays, built on first use and kept with the graph (keyed by the graph object, so a
    copy or a subgraph view sharing `graph.graph` builds its own; not by its edge count, which networkx
    counts by walking every node)."""
    key = (id(graph), len(graph))
    cached = graph.graph.get("_topology")
    if cached is None or cached[0] != key:
        cached = (key, _build(graph))
        graph.graph["_topology"] = cached
    return cached[1]


def _build(graph: nx.DiGraph) -> Topology:
    from scipy import sparse

    nodes = list(graph)
    n = len(nodes)
    number = {node: i for i, node in enumerate(nodes)}
    succ = graph._succ  # plain dicts: see lineage.queries.count_paths
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.fromiter((len(succ[v]) for v in nodes), dtype=np.int64, count=n), out=indptr[1:])
    indices = np.fromiter((number[w] for v in nodes for w in succ[v]), dtype=np.int32, count=int(indptr[-1]))
    down = sparse.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(n, n))  # float64: what csgraph takes without a copy
    up = down.T.tocsr()
    array = np.array(nodes, dtype=object)
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(array.astype(str), kind="stable")] = np.arange(n)
    kind = np.fromiter((KIND_CODES[k] for _, k in graph.nodes(data="kind")), dtype=np.int8, count=n)
    level = levels(n, indptr, indices)
    return Topology(array, number, rank, kind, down, up, level, _by_level(level, indptr, indices) if level is not None else None)


def _by_level(level: np.ndarray, indptr: np.ndarray, indices: np.ndarray) -> Levels:
    bounds = np.arange(int(level.max(initial=0)) + 2)
    nodes = np.argsort(level, kind="stable")
    local = np.empty(len(level), dtype=np.int64)
    node_starts = np.searchsorted(level[nodes], bounds)
    local[nodes] = np.arange(len(level)) - node_starts[level[nodes]]
    src = np.repeat(np.arange(len(level), dtype=np.int64), np.diff(indptr))
    dst = indices.astype(np.int64)
    order = np.argsort(level[dst], kind="stable")
    src, dst = src[order], dst[order]
    fan_in = int(np.bincount(dst, minlength=1).max(initial=0)) if len(dst) else 0
    return Levels(nodes, node_starts, src, local[dst], np.searchsorted(level[dst], bounds), fan_in)


def levels(n: int, indptr: np.ndarray, indices: np.ndarray) -> np.ndarray | None:
    """Each node's longest distance from a node without predecessors (Kahn's order, a level at a time),
    or None when some node is on a cycle."""
    indegree = np.bincount(indices, minlength=n)
    level = np.full(n, -1, dtype=np.int64)
    frontier = np.flatnonzero(indegree == 0)
    depth = 0
    while frontier.size:
        level[frontier] = depth
        following = neighbours(indptr, indices, frontier)
        if not following.size:
            break
        touched, drop = np.unique(following, return_counts=True)
        indegree[touched] -= drop
        frontier = touched[indegree[touched] == 0]
        depth += 1
    return None if (level < 0).any() else level


def neighbours(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """The CSR columns of `rows`, concatenated (with repeats)."""
    starts, counts = indptr[rows], indptr[rows + 1] - indptr[rows]
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=indices.dtype)
    offsets = np.repeat(starts - np.r_[0, np.cumsum(counts)[:-1]], counts) + np.arange(total)
    return indices[offsets]


def reach(topo: Topology, start: int, direction: str, depth: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The nodes up- or downstream of `start` (without it) and their distances, by scipy's
    breadth-first search; distances by pointer doubling up its tree (log2(depth) vector steps)."""
    from scipy.sparse import csgraph

    matrix = topo.down if direction == "downstream" else topo.up
    order, parent = csgraph.breadth_first_order(matrix, start, directed=True, return_predecessors=True)
    jump = np.where(parent < 0, start, parent)
    steps = (np.arange(len(parent)) != start).astype(np.int64)
    while (jump[order] != start).any():
        steps, jump = steps + steps[jump], jump[jump]
    found = order[1:]
    if depth is not None:
        found = found[steps[found] <= depth]
    return found, steps[found]


class PathCounts:
    """Exact path counts from one node, as base-2**32 digits (`digits[i, node]`, float64 integers)."""

    def __init__(self, digits: np.ndarray) -> None:
        self.digits = digits

    def of(self, node: int) -> int:
        return sum(int(d) << (LIMB * i) for i, d in enumerate(self.digits[:, node].tolist()))


def path_counts(topo: Topology, start: int) -> PathCounts | None:
    """Number of paths from `start` to every node (0 where it does not reach), exact, a level at a time:
    a node's count is the sum of its predecessors', all on lower levels. None on a cycle."""
    levels = topo.by_level
    if levels is None or topo.level is None or levels.max_fan_in >= EXACT_FAN_IN:
        return None
    base = float(2**LIMB)
    digits = np.zeros((2, len(topo.nodes)))  # float64 digits below 2**32: bincount sums them exactly, no casts
    digits[0, start] = 1.0
    for level in range(int(topo.level[start]) + 1, len(levels.edge_starts) - 1):
        e0, e1 = levels.edge_starts[level], levels.edge_starts[level + 1]
        if e0 == e1:
            continue
        n0, n1 = levels.node_starts[level], levels.node_starts[level + 1]
        src, local = levels.src[e0:e1], levels.local[e0:e1]
        block = np.stack([np.bincount(local, weights=row[src], minlength=n1 - n0) for row in digits])
        i = 0
        while i < len(block) - 1 or block[-1].max(initial=0) >= base:
            if i == len(block) - 1:  # the counts outgrew the digits: one more for every node
                block = np.vstack([block, np.zeros((1, block.shape[1]))])
                digits = np.vstack([digits, np.zeros((1, digits.shape[1]))])
            carry = np.floor(block[i] / base)
            block[i] -= carry * base
            block[i + 1] += carry
            i += 1
        digits[:, levels.nodes[n0:n1]] = block
    return PathCounts(digits)


def first_shortest_path(topo: Topology, start: int, target: int, distance: np.ndarray) -> list[int]:
    """The shortest path from `start` to `target` that comes first in node-id order, as node numbers.

    `distance`: every node's distance from `start` (-1 where unreached). The nodes that lie on some
    shortest path are found by walking back from the target one distance at a time; the path is then
    the smallest-id choice at each step forward among them.
    """
    d = int(distance[target])
    if d <= 0:
        return []
    on_path = [np.array([target])]
    up = topo.up
    for r in range(1, d):
        before = neighbours(up.indptr, up.indices, on_path[-1])
        on_path.append(np.unique(before[distance[before] == d - r]))
    path = [start]
    current = start
    down = topo.down
    for r in range(d - 1, -1, -1):
        nxt = down.indices[down.indptr[current]:down.indptr[current + 1]]
        allowed = nxt[np.isin(nxt, on_path[r], assume_unique=True)] if r else np.array([target])
        current = int(allowed[np.argmin(topo.rank[allowed])])
        path.append(current)
    return path


class FromSource:
    """What one source reaches, its distances and path counts, for answering about many targets."""

    def __init__(self, topo: Topology, source: str) -> None:
        self.topo = topo
        self.start = topo.number[source]
        self.found, self.steps = reach(topo, self.start, "downstream")
        self.distance = np.full(len(topo.nodes), -1, dtype=np.int64)
        self.distance[self.found], self.distance[self.start] = self.steps, 0
        self._counts: PathCounts | None | bool = False  # False: not counted yet

    def count(self, target: str) -> int | None:
        """Paths from the source to `target`; None on a cycle."""
        if self._counts is False:
            self._counts = path_counts(self.topo, self.start)
        return self._counts.of(self.topo.number[target]) if self._counts else None  # type: ignore[union-attr]

    def first_path(self, target: str) -> list[str]:
        """The first shortest path in node-id order ([] when the target is not reached)."""
        number = self.topo.number[target]
        if self.distance[number] <= 0:
            return []
        return self.topo.nodes[first_shortest_path(self.topo, self.start, number, self.distance)].tolist()
