"""The graph's topology as arrays, for the questions whose answer is a walk over half the platform.

A hub's impact reaches 50,000 nodes and counts the paths to each of them. Walking networkx's dicts
costs a Python step per edge (0.4 s on the reference graph); the same walk on CSR arrays is a few
vector operations per level. The arrays are derived from the graph of record once per graph (it is
rebuilt, never edited, when the store revision moves) and kept in `graph.graph`.

- Nodes are numbered in the graph's order; `rank` is each node's place in id order, which is how
  answers break ties.
- `level` is each node's longest distance from a node without predecessors (None when the graph has a
  cycle, which OpenLineage input can make): every edge goes from a lower level to a higher one, so
  path counts can be summed level by level (`lineage.path_counts`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

KIND_CODES = {"dataset": 0, "job": 1, "model": 2}
LIMB = 40  # the widest digit of a path count (see lineage.path_counts): on the reference graph 40 bits cut its 255 levels
# into 21 runs where 44 needed 53, for the same three digits


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
    """Nodes grouped by level, and each node's in-edges as rows of one CSR matrix over the nodes'
    places in that order (its "positions"), for sums a level at a time: a level's rows, and its
    sums, are one contiguous slice."""

    nodes: np.ndarray  # node numbers, by level
    node_starts: np.ndarray  # where each level's nodes begin in `nodes` (one more entry than levels)
    position: np.ndarray  # each node's place in `nodes`
    in_ptr: np.ndarray  # CSR row pointers: row p holds the in-edges of nodes[p]
    src: np.ndarray  # CSR columns: each in-edge's source, as its position
    ones: np.ndarray  # CSR values (float64 ones)
    bits: int | None  # the width of a path count's digit; None when a fan-in is too wide for exact float sums
    runs: list[int]  # see lineage.path_counts.runs_of, which fills it in on first use


def topology(graph: nx.DiGraph) -> Topology:
    """The graph's arrays, built on first use and kept with the graph (keyed by the graph object, so a
    copy or a subgraph view sharing `graph.graph` builds its own; not by its edge count, which networkx
    counts by walking every node)."""
    key = (id(graph), len(graph))
    cached = graph.graph.get("_topology")
    if cached is None or cached[0] != key:
        from lineage.graph import keep_for_the_revision

        cached = (key, _build(graph))
        graph.graph["_topology"] = cached
        keep_for_the_revision()
    return cached[1]


def _build(graph: nx.DiGraph) -> Topology:
    from scipy import sparse

    # Numbered in id order, each row's columns sorted: csgraph's breadth-first search then meets a
    # node's successors in id order, and its tree's path to every node is the shortest path that comes
    # first in id order (`paths_from_parents`), which the impact answer lists.
    nodes = sorted(graph)
    n = len(nodes)
    number = {node: i for i, node in enumerate(nodes)}
    succ = graph._succ  # plain dicts: see lineage.queries.count_paths
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.fromiter((len(succ[v]) for v in nodes), dtype=np.int64, count=n), out=indptr[1:])
    indices = np.fromiter((number[w] for v in nodes for w in succ[v]), dtype=np.int32, count=int(indptr[-1]))
    down = sparse.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(n, n))  # float64: what csgraph takes without a copy
    down.sort_indices()
    up = down.T.tocsr()
    up.sort_indices()
    array = np.array(nodes, dtype=object)
    rank = np.arange(n, dtype=np.int64)  # the numbers are the id order
    attrs = graph._node
    kind = np.fromiter((KIND_CODES[attrs[v]["kind"]] for v in nodes), dtype=np.int8, count=n)
    level = levels(n, indptr, indices)
    return Topology(array, number, rank, kind, down, up, level, _by_level(level, indptr, indices) if level is not None else None)


def _by_level(level: np.ndarray, indptr: np.ndarray, indices: np.ndarray) -> Levels:
    bounds = np.arange(int(level.max(initial=0)) + 2)
    nodes = np.argsort(level, kind="stable")
    position = np.empty(len(level), dtype=indices.dtype)
    position[nodes] = np.arange(len(level))
    src = np.repeat(position, np.diff(indptr))
    target = position[indices]
    order = np.argsort(target, kind="stable")
    fan_in = np.bincount(target, minlength=len(level))
    in_ptr = np.zeros(len(level) + 1, dtype=indices.dtype)
    np.cumsum(fan_in, out=in_ptr[1:])
    widest = int(fan_in.max(initial=0))
    bits = min(LIMB, 52 - max(1, widest).bit_length())  # runs_of needs 2**53 / D above the widest fan-in
    found = Levels(nodes, np.searchsorted(level[nodes], bounds), position, in_ptr, src[order], np.ones(len(order)),
                   bits if bits >= 27 else None, [])  # below 27 bits one carry would not bound a digit
    return found


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
    """The nodes up- or downstream of `start` (without it), nearest first, and their distances.

    To a few levels (`depth` up to FRONTIER_DEPTH), a level at a time: csgraph has no depth limit,
    and searched the whole closure of a table (a quarter of the reference graph, on average) to keep
    its first three levels, a third of a lineage request's time. Otherwise scipy's breadth-first
    search, whose distances come from its own order: a breadth-first queue holds the nodes a level
    at a time, and each node's parent sits earlier in it, never out of order, so the parents' places
    rise along the queue and each level ends where the parents stop being in the level before
    (one binary search per level, no Python step per node).
    """
    matrix = topo.down if direction == "downstream" else topo.up
    if depth is not None and depth <= FRONTIER_DEPTH:
        return _reach_by_levels(matrix, start, depth)
    found, steps, _ = reach_with_parents(topo, start, direction, depth)
    return found, steps


def reach_with_parents(topo: Topology, start: int, direction: str,
                       depth: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`reach` by scipy's breadth-first search, and the search tree: each node's parent in it (for
    `paths_from_parents`)."""
    from scipy.sparse import csgraph

    matrix = topo.down if direction == "downstream" else topo.up
    order, parent = csgraph.breadth_first_order(matrix, start, directed=True, return_predecessors=True)
    place = np.empty(len(parent), dtype=np.int64)
    place[order] = np.arange(len(order))
    parent_place = place[parent[order[1:]]]  # nondecreasing, see above
    ends = [1]
    while ends[-1] < len(order) and (depth is None or len(ends) <= depth):
        ends.append(1 + int(np.searchsorted(parent_place, ends[-1], side="left")))
    steps = np.repeat(np.arange(1, len(ends), dtype=np.int64), np.diff(ends))
    return order[1:ends[-1]], steps, parent


def paths_from_parents(parent: np.ndarray, start: int, targets: np.ndarray, distances: np.ndarray) -> list[list[int]]:
    """The path from `start` to each of `targets` (reached, at `distances` from it, none the start)
    in the search tree of `reach_with_parents`: the shortest path that comes first in id order, the
    one `first_shortest_paths` finds.

    csgraph's search is first in, first out and reads each row's columns in order (numbers are the id
    order), so, by induction on the distance: a level's nodes join the queue in the order of their
    first shortest paths, each is found first from the predecessor whose own first path comes first,
    and that predecessor is its parent. One vector step per level of the deepest target.
    """
    targets = np.asarray(targets, dtype=np.int64)
    lengths = np.asarray(distances, dtype=np.int64).tolist()
    if not lengths:
        return []
    far = max(lengths)
    walked = [targets]
    for _ in range(far):  # a target d away is at the start after d steps, and stays there
        current = walked[-1]
        walked.append(np.where(current == start, start, parent[current]))
    if (walked[-1] != start).any():
        raise ValueError("a target is not in the search tree at its distance")
    rows = np.stack(walked[::-1], axis=1).tolist()  # each row: the start (repeated far - d times), then the path
    return [row[far - d:] for row, d in zip(rows, lengths, strict=True)]


FRONTIER_DEPTH = 8


def _reach_by_levels(matrix: Any, start: int, depth: int) -> tuple[np.ndarray, np.ndarray]:
    """`reach` to `depth` levels, one vector step per level (each level in node-number order)."""
    seen = np.zeros(matrix.shape[0], dtype=bool)
    seen[start] = True
    frontier = np.array([start], dtype=matrix.indices.dtype)
    levels: list[np.ndarray] = []
    while frontier.size and len(levels) < depth:
        following = np.unique(neighbours(matrix.indptr, matrix.indices, frontier))
        frontier = following[~seen[following]]
        seen[frontier] = True
        levels.append(frontier)
    if not levels:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    steps = np.repeat(np.arange(1, len(levels) + 1, dtype=np.int64), [len(level) for level in levels])
    return np.concatenate(levels), steps


class Walk(Mapping[str, int]):
    """What `reach` found, as the read-only {node id: distance} mapping `lineage.queries` returns.

    A hub's downstream is 50,000 nodes: turning them into a dict cost five times the search, and
    most callers only iterate it or make a set of it. The ids are made once, on first use; the dict
    only when a distance is looked up by id. Iteration runs nearest first.
    """

    def __init__(self, topo: Topology, found: np.ndarray, steps: np.ndarray) -> None:
        self.topo, self.found, self.steps = topo, found, steps
        self._ids: list[str] | None = None
        self._index: dict[str, int] | None = None

    def ids(self) -> list[str]:
        if self._ids is None:
            self._ids = self.topo.nodes[self.found].tolist()
        return self._ids

    def __len__(self) -> int:
        return len(self.found)

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids())

    def __contains__(self, node: object) -> bool:
        return self._lookup().__contains__(node)

    def __getitem__(self, node: str) -> int:
        return self._lookup()[node]

    def items(self) -> Any:
        return zip(self.ids(), self.steps.tolist(), strict=True)

    def _lookup(self) -> dict[str, int]:
        if self._index is None:
            self._index = dict(zip(self.ids(), self.steps.tolist(), strict=True))
        return self._index


def first_shortest_path(topo: Topology, start: int, target: int, distance: np.ndarray) -> list[int]:
    """The shortest path from `start` to `target` that comes first in node-id order, as node numbers
    ([] when the target is the start or unreached). `distance`: every node's distance from `start`
    (-1 where unreached)."""
    return first_shortest_paths(topo, start, [target], distance)[0]


def first_shortest_paths(topo: Topology, start: int, targets: list[int], distance: np.ndarray) -> list[list[int]]:
    """`first_shortest_path` to each of `targets` at once, the vector steps shared by all of them (a
    page of 100 models far downstream cost 100 walks of its distance, one at a time).

    Each (node, target) pair is one code, node * len(targets) + target's place. Walking back one
    distance at a time from the farthest target collects, per distance, the pairs whose node lies on
    some shortest path to that target; walking forward, every target still on its way steps to the
    smallest-id successor whose pair was collected.
    """
    width = max(1, len(targets))
    ends = np.asarray(targets, dtype=np.int64)
    lengths = distance[ends] if len(ends) else np.zeros(0, dtype=np.int64)
    paths: list[list[int]] = [[start] if d > 0 else [] for d in lengths.tolist()]
    if not len(ends) or lengths.max() <= 0:
        return paths
    up, down, far = topo.up, topo.down, int(lengths.max())
    places = np.arange(len(ends), dtype=np.int64)
    on_path: dict[int, np.ndarray] = {}
    frontier = np.zeros(0, dtype=np.int64)
    for level in range(far, 0, -1):
        joining = places[lengths == level]
        frontier = np.union1d(frontier, ends[joining] * width + joining)
        on_path[level] = frontier
        if level == 1:
            break
        nodes, place = frontier // width, frontier % width
        counts = (up.indptr[nodes + 1] - up.indptr[nodes]).astype(np.int64)
        before = neighbours(up.indptr, up.indices, nodes).astype(np.int64)
        place = np.repeat(place, counts)
        keep = distance[before] == level - 1
        frontier = np.unique(before[keep] * width + place[keep])
    current = np.full(len(ends), start, dtype=np.int64)
    for level in range(1, far + 1):
        if level == 1:  # every node at distance 1 follows the start: no successors to list (a hub has thousands)
            after, place = on_path[1] // width, on_path[1] % width
        else:
            going = places[lengths >= level]
            counts = (down.indptr[current[going] + 1] - down.indptr[current[going]]).astype(np.int64)
            after = neighbours(down.indptr, down.indices, current[going]).astype(np.int64)
            place = np.repeat(going, counts)
            allowed = np.isin(after * width + place, on_path[level])
            after, place = after[allowed], place[allowed]
        order = np.lexsort((topo.rank[after], place))
        chosen, first = np.unique(place[order], return_index=True)
        current[chosen] = after[order][first]
        for j, node in zip(chosen.tolist(), current[chosen].tolist(), strict=True):
            paths[j].append(node)
    return paths
