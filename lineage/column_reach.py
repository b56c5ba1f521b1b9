"""Where a condition carried by certain columns travels: along the column graph, not the whole table.

Each seed (one root condition and the columns of its dataset that carry it) is one bit, in three
planes over the column graph's nodes (`lineage.columns`):
- A, "reached": along every edge, the assumed hops (no column lineage) included;
- P, "reached on known lineage": never across an assumed hop;
- D, "reached by values": never across an assumed hop or an INDIRECT flow.
A node in A but not in P was reached only because some hop's column lineage is unknown (the
finding says so); one in P but not in D only through filters, joins or group-bys (noted indirect).

The walk pushes bits forward from the nodes that hold new ones, a topological level at a time, so
its cost is the part of the column graph the seeds reach, not the whole graph; on a cycle (possible
with OpenLineage input) it repeats until nothing changes, which reaches the same fixed point.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lineage.columns import ASSUMED, DIRECT, INDIRECT, INTERNAL, ColumnGraph

PLANES = 3  # A, P, D


@dataclass(frozen=True)
class Seed:
    key: str  # the root's key
    dataset: str
    columns: tuple[str, ...]


@dataclass
class ColumnReach:
    """The three planes for every seed, over the column graph."""

    graph: ColumnGraph
    keys: list[str]
    bits: np.ndarray  # (nodes, 3 * words) uint64
    words: int

    def _column(self, key: str, plane: int) -> np.ndarray:
        j = self.keys.index(key)
        word = plane * self.words + (j >> 6)
        return (self.bits[:, word] >> np.uint64(j & 63)) & np.uint64(1)

    def table_rows(self, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per table node (graph order): reached at all, reached on known lineage, reached by values."""
        n = self.graph.n
        return tuple(self._column(key, p)[:n].astype(bool) for p in range(PLANES))  # type: ignore[return-value]

    def label(self, key: str, node: str) -> str | None:
        """'column', 'indirect' or 'assumed' for a node the seed reached; None when it did not."""
        x = self.graph.number.get(node)
        if x is None:
            return None
        j = self.keys.index(key)
        here = [bool((int(self.bits[x, p * self.words + (j >> 6)]) >> (j & 63)) & 1) for p in range(PLANES)]
        if not here[0]:
            return None
        return "column" if here[2] else "indirect" if here[1] else "assumed"

    def paths(self, key: str, node: str, limit: int) -> list[list[tuple[str, str | None]]]:
        """Up to `limit` shortest column paths from the seed's columns to `node`, each a list of
        (dataset or model, column) with the internal "any"/"whole" steps left out except where a
        whole dataset was reached (column '')."""
        cg = self.graph
        target = cg.number.get(node)
        if target is None or limit <= 0:
            return []
        j = self.keys.index(key)
        word, bit = j >> 6, np.uint64(1) << np.uint64(j & 63)
        reached = (self.bits[:, word] & bit) != 0
        if not reached[target]:
            return []
        # backwards from the target over reached nodes, breadth first: the first arrivals at a seed
        # column are the shortest paths; each node keeps the first predecessor that reached it
        seeds = self._seed_nodes(key)
        following: dict[int, int] = {target: -1}
        frontier = [target]
        ends: list[int] = []
        while frontier and len(ends) < limit:
            nxt = []
            for x in frontier:
                lo, hi = cg.in_ptr[x], cg.in_ptr[x + 1]
                for y in cg.in_src[lo:hi].tolist():
                    if y in following or not reached[y]:
                        continue
                    following[y] = x
                    if y in seeds:
                        ends.append(y)
                    else:
                        nxt.append(y)
            frontier = nxt
        out = []
        for end in ends[:limit]:
            steps, x = [], end
            while x != -1:
                steps.append(cg.label(x))
                x = following[x]
            out.append(_shown(steps))
        return out

    def _seed_nodes(self, key: str) -> set[int]:
        seeds = self.__dict__.setdefault("_seeds", {})
        return seeds.get(key, set())


def _shown(steps: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """A path without the datasets' internal "some column reached" steps: a column, a whole dataset
    (column '') or a model says more."""
    return [(name, column) for name, column in steps if column is not None or name.startswith("model:")]


EDGE_PASSES = np.array([  # per edge class, which planes cross it
    [True, True, True],  # INTERNAL
    [True, True, True],  # DIRECT
    [True, True, False],  # INDIRECT
    [True, False, False],  # ASSUMED
])
assert [INTERNAL, DIRECT, INDIRECT, ASSUMED] == [0, 1, 2, 3]


def reach_columns(cg: ColumnGraph, seeds: Sequence[Seed]) -> ColumnReach:
    """Every seed at once over the column graph."""
    words = max(1, (len(seeds) + 63) // 64)
    size = cg.size
    bits = np.zeros((size, PLANES * words), dtype=np.uint64)
    masks = np.zeros((len(EDGE_PASSES), PLANES * words), dtype=np.uint64)
    every = np.zeros(words, dtype=np.uint64)
    for j in range(len(seeds)):
        every[j >> 6] |= np.uint64(1) << np.uint64(j & 63)
    for c, passes in enumerate(EDGE_PASSES):
        for p, yes in enumerate(passes):
            if yes:
                masks[c, p * words:(p + 1) * words] = every
    start_rows: list[int] = []
    seed_nodes: dict[str, set[int]] = {}
    for j, seed in enumerate(seeds):
        rows = [cg.column_number[(seed.dataset, c)] for c in seed.columns if (seed.dataset, c) in cg.column_number]
        seed_nodes[seed.key] = set(rows)
        for x in rows:
            for p in range(PLANES):
                bits[x, p * words + (j >> 6)] |= np.uint64(1) << np.uint64(j & 63)
        start_rows.extend(rows)
    _spread(cg, bits, masks, np.array(sorted(set(start_rows)), dtype=np.int64))
    reach = ColumnReach(cg, [s.key for s in seeds], bits, words)
    reach.__dict__["_seeds"] = seed_nodes
    return reach


def _spread(cg: ColumnGraph, bits: np.ndarray, masks: np.ndarray, start: np.ndarray) -> None:
    """Push bits forward from `start` until nothing changes: a level at a time on a DAG (each node
    pushes once, after everything before it), in rounds on a cycle."""
    level = cg.level
    pending: dict[int, list[np.ndarray]] = {}
    heap: list[int] = []

    def schedule(rows: np.ndarray) -> None:
        if not len(rows):
            return
        if level is None:
            key_levels, groups = np.zeros(1, dtype=np.int64), [rows]
        else:
            at = level[rows]
            order = np.argsort(at, kind="stable")
            rows, at = rows[order], at[order]
            key_levels, first = np.unique(at, return_index=True)
            groups = np.split(rows, first[1:])
        for lv, group in zip(key_levels.tolist(), groups, strict=True):
            if lv not in pending:
                pending[lv] = []
                heapq.heappush(heap, lv)
            pending[lv].append(group)

    schedule(start)
    out_ptr, out_dst, out_class = cg.out_ptr, cg.out_dst, cg.out_class
    while heap:
        lv = heapq.heappop(heap)
        rows = np.unique(np.concatenate(pending.pop(lv)))
        counts = out_ptr[rows + 1] - out_ptr[rows]
        total = int(counts.sum())
        if not total:
            continue
        offsets = np.repeat(out_ptr[rows] - np.r_[0, np.cumsum(counts)[:-1]], counts) + np.arange(total)
        targets = out_dst[offsets]
        arriving = bits[np.repeat(rows, counts)] & masks[out_class[offsets]]
        order = np.argsort(targets, kind="stable")
        targets, arriving = targets[order], arriving[order]
        unique, first = np.unique(targets, return_index=True)
        merged = np.bitwise_or.reduceat(arriving, first, axis=0)
        before = bits[unique]
        grown = ((merged & ~before) != 0).any(axis=1)
        bits[unique] = before | merged
        schedule(unique[grown])  # on a cycle, a node that grew pushes again in the next round


__all__ = ["ColumnReach", "Seed", "reach_columns", "DIRECT", "INDIRECT"]
