"""Where a condition carried by certain columns travels: along column lineage while it is known, then
by the table rule.

Each seed (one root condition and the columns of its dataset that carry it) is one bit, at the
place its caller gives it (`refine` uses the root's own bit, so the answer is a mask of the table
propagation's planes as they are). The walk has three steps:
1. along the column graph (`lineage.columns`), two planes: P, "reached on known lineage", and D,
   "reached by values" (never across an INDIRECT flow). A flow between datasets the table lineage
   does not join carries nothing;
2. every derivation with no column flow at all (an assumed hop) out of a dataset that P reached
   passes the seed to the whole of its output;
3. from there on, the table rule: every table node downstream of those outputs is reached.
The answer per table node: A ("reached") = P or step 3, so a node in A but not in P was reached only
because some hop's column lineage is unknown (the finding says "assumed"), and one in P but not in D
only through filters, joins or group-bys ("indirect").

Steps 1 and 3 push bits forward from the nodes that hold new ones, a topological level at a time,
so their cost is the part of the graph the seeds reach; on a cycle (possible with OpenLineage input)
they repeat until nothing changes, which reaches the same fixed point.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lineage.columns import DIRECT, INDIRECT, INTERNAL, UNJOINED_DIRECT, UNJOINED_INDIRECT, ColumnGraph

COLUMN_PLANES = 2  # P, D over the column graph


@dataclass(frozen=True)
class Seed:
    key: str  # the root's key
    dataset: str
    columns: tuple[str, ...]


@dataclass
class ColumnReach:
    """P and D over the column graph, A over the table nodes, one bit per seed (at `place[key]`)."""

    graph: ColumnGraph
    keys: list[str]
    place: dict[str, int]  # key -> bit
    bits: np.ndarray  # (column-graph nodes, 2 * words) uint64: P then D
    table: np.ndarray  # (table nodes, words) uint64: A
    words: int
    seed_nodes: dict[str, set[int]] = field(default_factory=dict)

    def _flag(self, array: np.ndarray, word: int, j: int) -> np.ndarray:
        return ((array[:, word] >> np.uint64(j & 63)) & np.uint64(1)).astype(bool)

    def table_rows(self, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per table node (graph order): reached at all, reached on known lineage, reached by values."""
        j, n, w = self.place[key], self.graph.n, self.words
        head = self.bits[:n]
        return (self._flag(self.table, j >> 6, j), self._flag(head, j >> 6, j), self._flag(head, w + (j >> 6), j))

    def label(self, key: str, node: str) -> str | None:
        """'column', 'indirect' or 'assumed' for a node the seed reached; None when it did not."""
        x = self.graph.number.get(node)
        if x is None:
            return None
        j, w = self.place[key], self.words
        bit = 1 << (j & 63)
        if not int(self.table[x, j >> 6]) & bit:
            return None
        if int(self.bits[x, w + (j >> 6)]) & bit:
            return "column"
        return "indirect" if int(self.bits[x, j >> 6]) & bit else "assumed"

    def paths(self, key: str, node: str, limit: int) -> list[list[tuple[str, str | None]]]:
        """Up to `limit` shortest column paths on known lineage from the seed's columns to `node`,
        each a list of (dataset or model, column), the datasets' internal "some column" steps left
        out (column '' is the whole dataset)."""
        cg = self.graph
        target = cg.number.get(node)
        if target is None or limit <= 0:
            return []
        j = self.place[key]
        reached = (self.bits[:, j >> 6] & (np.uint64(1) << np.uint64(j & 63))) != 0
        if not reached[target]:
            return []
        # backwards from the target over reached nodes, breadth first: the first arrivals at a seed
        # column are the shortest paths; each node keeps the first successor that reached it
        seeds = self.seed_nodes.get(key, set())
        following: dict[int, int] = {target: -1}
        frontier = [target]
        ends: list[int] = []
        while frontier and len(ends) < limit:
            nxt = []
            for x in frontier:
                lo, hi = cg.in_ptr[x], cg.in_ptr[x + 1]
                for y, c in zip(cg.in_src[lo:hi].tolist(), cg.in_class[lo:hi].tolist(), strict=True):
                    if y in following or not reached[y] or c in (UNJOINED_DIRECT, UNJOINED_INDIRECT):
                        continue
                    following[y] = x
                    (ends if y in seeds else nxt).append(y)
            frontier = nxt
        out = []
        for end in ends[:limit]:
            steps, x = [], end
            while x != -1:
                steps.append(cg.label(x))
                x = following[x]
            out.append([(name, column) for name, column in steps if column is not None or name.startswith("model:")])
        return out


EDGE_PASSES = {  # per edge class, which of P and D cross it
    INTERNAL: (True, True), DIRECT: (True, True), INDIRECT: (True, False),
    UNJOINED_DIRECT: (False, False), UNJOINED_INDIRECT: (False, False),
}


def reach_columns(cg: ColumnGraph, seeds: Sequence[Seed], *, places: Sequence[int] | None = None,
                  words: int | None = None) -> ColumnReach:
    """Every seed at once; seed i is bit `places[i]` (default i) of `words` uint64 words."""
    places = list(range(len(seeds))) if places is None else list(places)
    words = words or max(1, (max(places, default=0) + 64) // 64)
    every = np.zeros(words, dtype=np.uint64)
    for j in places:
        every[j >> 6] |= np.uint64(1) << np.uint64(j & 63)
    masks = np.zeros((max(EDGE_PASSES) + 1, COLUMN_PLANES * words), dtype=np.uint64)
    for c, passes in EDGE_PASSES.items():
        for p, yes in enumerate(passes):
            if yes:
                masks[c, p * words:(p + 1) * words] = every
    bits = np.zeros((cg.size, COLUMN_PLANES * words), dtype=np.uint64)
    seed_nodes: dict[str, set[int]] = {}
    hit_rows: list[int] = []
    hit_bits: list[int] = []
    for seed, j in zip(seeds, places, strict=True):
        rows = {cg.column_number[(seed.dataset, c)] for c in seed.columns if (seed.dataset, c) in cg.column_number}
        seed_nodes[seed.key] = rows
        hit_rows.extend(rows)
        hit_bits.extend([j] * len(rows))
    at, which = np.array(hit_rows, dtype=np.int64), np.array(hit_bits, dtype=np.uint64)
    word, value = (which >> np.uint64(6)).astype(np.intp), np.uint64(1) << (which & np.uint64(63))
    for p in range(COLUMN_PLANES):
        np.bitwise_or.at(bits, (at, p * words + word), value)
    start = set(hit_rows)
    # in rounds, not by level: known lineage reaches a few columns per seed, so its longest path is a
    # handful of rounds where the levels it touches, over all seeds, are most of the graph's hundreds
    _spread(cg.out_ptr, cg.out_dst, cg.out_class, None, bits, masks, np.array(sorted(start), dtype=np.int64))
    table = _table_rule(cg, bits[:cg.n, :words].copy(), words)
    return ColumnReach(cg, [s.key for s in seeds], {s.key: j for s, j in zip(seeds, places, strict=True)}, bits,
                       table, words, seed_nodes)


def _table_rule(cg: ColumnGraph, known: np.ndarray, words: int) -> np.ndarray:
    """A: what P reached, and everything downstream of the outputs of assumed hops out of it."""
    a_src, a_dst = cg.assumed_src, cg.assumed_dst
    live = np.flatnonzero(known.any(axis=1)[a_src])  # the assumed hops out of what known lineage reached
    if not len(live):
        return known
    targets, arriving = a_dst[live], known[a_src[live]]
    order = np.argsort(targets, kind="stable")
    targets, arriving = targets[order], arriving[order]
    unique, first = np.unique(targets, return_index=True)
    table = np.zeros_like(known)  # the table rule's own plane: a seed travels by it only from its assumed hops
    table[unique] = np.bitwise_or.reduceat(arriving, first, axis=0)
    topo = cg.topology
    if topo.by_level is None:  # a cycle: rounds until nothing changes
        down = topo.down
        classes = np.zeros(len(down.indices), dtype=np.int8)
        _spread(down.indptr.astype(np.int64), down.indices.astype(np.int64), classes, None, table,
                np.full((1, words), np.iinfo(np.uint64).max, dtype=np.uint64), unique)
        return known | table
    return known | _downstream(topo.by_level, table, int(topo.level[unique].min()))


def _downstream(by_level, seeded: np.ndarray, first: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Every node's bits ORed with those of everything upstream of it, one level at a time from
    `first`: the table propagation's sweep (each level's in-edges gathered and merged by one
    `reduceat`), which costs the edges below the seeds, however many seeds there are."""
    plane = np.take(seeded, by_level.nodes, axis=0)  # rows by position (level order)
    starts, in_ptr, src = by_level.node_starts, by_level.in_ptr, by_level.src
    # the seeds' own bits, by level: a level's merge overwrites its rows, and they are put back
    held = np.flatnonzero(plane.any(axis=1))
    held_level = np.searchsorted(starts, held, side="right") - 1
    fixups = {int(lv): (rows, plane[rows]) for lv, rows in
              zip(*_grouped(held_level, held)) if lv > first}
    reduceat, take = np.bitwise_or.reduceat, np.take
    for level in range(first + 1, len(starts) - 1):
        lo, hi = int(starts[level]), int(starts[level + 1])
        e0, e1 = int(in_ptr[lo]), int(in_ptr[hi])
        if e0 == e1:
            continue
        # every node above level 0 has an in-edge from the level below: no segment is empty
        reduceat(take(plane, src[e0:e1], axis=0), in_ptr[lo:hi] - e0, axis=0, out=plane[lo:hi])
        fixup = fixups.get(level)
        if fixup is not None:
            plane[fixup[0]] |= fixup[1]
    return np.take(plane, by_level.position, axis=0)


def _grouped(keys: np.ndarray, values: np.ndarray) -> tuple[list[int], list[np.ndarray]]:
    """`values` split by their (sorted) `keys`."""
    if not len(keys):
        return [], []
    unique, first = np.unique(keys, return_index=True)
    return unique.tolist(), np.split(values, first[1:])


def _spread(out_ptr: np.ndarray, out_dst: np.ndarray, out_class: np.ndarray, level: np.ndarray | None,
            bits: np.ndarray, masks: np.ndarray, start: np.ndarray) -> None:
    """Push bits forward from `start` along a CSR until nothing changes: a level at a time on a DAG
    (each node pushes once, after everything before it), in rounds on a cycle. `masks[class]` is
    what an edge of that class lets through."""
    pending: dict[int, list[np.ndarray]] = {}
    heap: list[int] = []

    def schedule(rows: np.ndarray) -> None:
        if not len(rows):
            return
        if level is None:
            key_levels, groups = [0], [rows]
        else:
            at = level[rows]
            order = np.argsort(at, kind="stable")
            rows, at = rows[order], at[order]
            found, first = np.unique(at, return_index=True)
            key_levels, groups = found.tolist(), np.split(rows, first[1:])
        for lv, group in zip(key_levels, groups, strict=True):
            if lv not in pending:
                pending[lv] = []
                heapq.heappush(heap, lv)
            pending[lv].append(group)

    schedule(start)
    one_class = len(masks) == 1
    while heap:
        lv = heapq.heappop(heap)
        parts = pending.pop(lv)
        rows = np.unique(np.concatenate(parts)) if len(parts) > 1 else parts[0]
        counts = out_ptr[rows + 1] - out_ptr[rows]
        total = int(counts.sum())
        if not total:
            continue
        offsets = np.repeat(out_ptr[rows] - np.r_[0, np.cumsum(counts)[:-1]], counts) + np.arange(total)
        targets = out_dst[offsets]
        arriving = bits[np.repeat(rows, counts)]
        if not one_class:
            arriving &= masks[out_class[offsets]]
        order = np.argsort(targets, kind="stable")
        targets, arriving = targets[order], arriving[order]
        unique, first = np.unique(targets, return_index=True)
        merged = np.bitwise_or.reduceat(arriving, first, axis=0)
        before = bits[unique]
        grown = ((merged & ~before) != 0).any(axis=1)
        bits[unique] = before | merged
        schedule(unique[grown])  # on a cycle, a node that grew pushes again in the next round


__all__ = ["ColumnReach", "Seed", "reach_columns"]
