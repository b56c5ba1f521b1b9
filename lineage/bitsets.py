"""The fast path of propagation: root sets as bit planes over a per-graph index, level by level.

Same rules and same answer as the work list in `lineage.propagate` (tests compare them on random
graphs), at a cost that hardly depends on the number of roots: on the reference graph (105k nodes,
1M edges, 200 flagged sources) 15-40 ms where the work list takes 15-18 s and a plain csgraph
reachability 5 ms (benchmarks/results/propagation.md).

- `Index` (built once per graph and cached on it, like the name index): a node numbering, the
  topological level of every node (Kahn's algorithm a frontier at a time), and the in-edges that
  carry anything (derivation, feed, base_model; jobs carry nothing) sorted by (level of the target,
  target is a model, target), cut into one block per level. A graph with a cycle has no levels and
  is left to the work list.
- Planes: per node, one bit per root for "reached hard or stronger" (H) and, only when some rule
  can weaken a root, a second plane for "reached for review" (R). A level's block gathers its
  sources' rows, merges each target's in-edges with one `bitwise_or.reduceat`, and applies the
  travel masks of the target's kind (dataset, verified-anonymised dataset, model).
- Direct modes (a root's own dataset and the models that consume it directly) are few and kept on
  the side; for travelling, a direct bit behaves as H.

The answer stays packed (`Planes`) until someone asks for modes: `lineage.propagate.Reach` decodes
only the rows it is asked about.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import networkx as nx
import numpy as np

from lineage.graph import DATASET, MODEL
from lineage.roots import Mode, Root, trained_before

DD, DM, MM = 0, 1, 2  # edge groups: derivation, feed, base_model
NEVER = np.iinfo(np.int64).max  # a feed with an unknown consumption time is never "trained before"


def micros(moment: datetime) -> int:
    """Microseconds since the epoch, exact: feed times compare as int64 arrays."""
    delta = moment - datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class Index:
    """What propagation needs of the graph, as arrays; `acyclic` is False when there are no levels."""

    def __init__(self, graph: nx.DiGraph) -> None:
        self.nodes = list(graph)
        self.number = {node: i for i, node in enumerate(self.nodes)}
        n = len(self.nodes)
        self.kind = np.array([{DATASET: 0, MODEL: 2}.get(k, 1) for _, k in graph.nodes(data="kind")], dtype=np.int8)
        degrees = np.fromiter((len(nbrs) for _, nbrs in graph.adjacency()), dtype=np.int64, count=n)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(degrees, out=indptr[1:])
        number = self.number
        indices = np.fromiter((number[v] for _, nbrs in graph.adjacency() for v in nbrs), dtype=np.int64,
                              count=int(indptr[-1]))
        self.level = _levels(n, indptr, indices)
        self.acyclic = self.level is not None
        if not self.acyclic:
            return
        src = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
        dst = indices
        kind = self.kind.astype(np.int64)
        group = np.full(len(src), -1, dtype=np.int64)
        group[(kind[src] == 0) & (kind[dst] == 0)] = DD
        group[(kind[src] == 0) & (kind[dst] == 2)] = DM
        group[(kind[src] == 2) & (kind[dst] == 2)] = MM
        keep = group >= 0
        src, dst, group = src[keep], dst[keep], group[keep]
        to_model = (kind[dst] == 2).astype(np.int64)
        key = (self.level[dst].astype(np.int64) * 2 + to_model) * n + dst
        order = np.argsort(key, kind="stable")
        self.src, self.dst, self.group, key = src[order], dst[order], group[order], key[order]
        latest = np.full(len(self.src), NEVER, dtype=np.int64)
        nodes = self.nodes
        self.feeds = np.flatnonzero(self.group == DM)
        for e in self.feeds.tolist():
            uses = graph.edges[nodes[self.src[e]], nodes[self.dst[e]]].get("uses") or []
            if uses and all(u.get("consumed_at") is not None for u in uses):
                latest[e] = max(micros(u["consumed_at"]) for u in uses)
        self.latest = latest
        target_start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0, dtype=np.int64)
        level_key = key // (2 * n) if n else key
        block_start = np.flatnonzero(np.r_[True, level_key[1:] != level_key[:-1]]) if len(key) else np.zeros(0, dtype=np.int64)
        block_end = np.r_[block_start[1:], len(key)] if len(key) else block_start  # a graph without edges has no blocks
        self.blocks = []
        for e0, e1 in zip(block_start.tolist(), block_end.tolist(), strict=True):
            t0, t1 = np.searchsorted(target_start, [e0, e1])
            starts = target_start[t0:t1]
            targets = self.dst[starts]
            models_from = int(np.searchsorted(self.kind[targets] == 2, True))
            split = int(starts[models_from]) if models_from < len(starts) else e1
            self.blocks.append((e0, split, e1, starts - e0, targets, models_from))


@dataclass(frozen=True)
class Planes:
    """Where every root reached, still packed: one bit per (node, root), H plane then R plane."""

    index: Index
    keys: list[str]  # the roots' keys, in bit order
    bits: np.ndarray  # (nodes, words) uint64, or (nodes, 2 * words) when some rule can weaken a root
    words: int  # uint64 words per plane
    direct: dict[int, set[int]]  # node row -> the roots that reach it directly

    def reached_rows(self) -> np.ndarray:
        """The rows of every node some root reached, directly or not."""
        rows = self.bits.any(axis=1)
        if self.direct:
            rows[list(self.direct)] = True
        return np.flatnonzero(rows)


def _levels(n: int, indptr: np.ndarray, indices: np.ndarray) -> np.ndarray | None:
    indegree = np.bincount(indices, minlength=n)
    level = np.full(n, -1, dtype=np.int32)
    frontier = np.flatnonzero(indegree == 0)
    depth = 0
    while frontier.size:
        level[frontier] = depth
        starts, counts = indptr[frontier], indptr[frontier + 1] - indptr[frontier]
        total = int(counts.sum())
        if total == 0:
            break
        offsets = np.repeat(starts - np.r_[0, np.cumsum(counts)[:-1]], counts) + np.arange(total)
        touched, drop = np.unique(indices[offsets], return_counts=True)
        indegree[touched] -= drop
        frontier = touched[indegree[touched] == 0]
        depth += 1
    return None if (level < 0).any() else level


def index_of(graph: nx.DiGraph) -> Index:
    """The graph's index, built on first use and cached on the graph.

    The cache is keyed by the graph object and its size: a subgraph view or a copy shares (or
    copies) `graph.graph`, and must not reuse its parent's index.
    """
    key = (id(graph), graph.number_of_nodes(), graph.number_of_edges())
    cached = graph.graph.get("_propagation_index")
    if cached is None or cached[0] != key:
        cached = (key, Index(graph))
        graph.graph["_propagation_index"] = cached
    return cached[1]


def _mask(members: list[int], words: int) -> np.ndarray:
    out = np.zeros(words, dtype=np.uint64)
    for m in members:
        out[m >> 6] |= np.uint64(1) << np.uint64(m & 63)
    return out


def propagate_levels(graph: nx.DiGraph, index: Index, roots: list[Root], anonymised: set[str]) -> Planes:
    """Every root at once, a level at a time, on an acyclic graph (`index.acyclic`)."""
    n = len(index.nodes)
    words = max(1, (len(roots) + 63) // 64)

    def of(pred: Callable[[Root], bool]) -> np.ndarray:
        return _mask([i for i, r in enumerate(roots) if pred(r)], words)

    d_hard, d_review = of(lambda r: r.into_datasets == "hard"), of(lambda r: r.into_datasets == "review")
    m_hard, m_review = of(lambda r: r.into_models == "hard"), of(lambda r: r.into_models == "review")
    stops, weakens = of(lambda r: r.anonymisation == "stops"), of(lambda r: r.anonymisation == "review")
    is_anon = np.zeros(n, dtype=np.intp)
    is_anon[[index.number[a] for a in anonymised if a in index.number]] = 1
    any_anon = bool(is_anon.any())
    # travel masks by target: 0 dataset, 1 verified-anonymised dataset, 2 model
    hard = np.stack([d_hard, d_hard & ~stops & ~weakens, m_hard])
    review = np.stack([d_review, (d_review | (d_hard & weakens)) & ~stops, m_review])
    either = hard | review
    two = bool(review[2].any() or review[0].any() or (any_anon and review[1].any()))
    width = 2 * words if two else words
    planes = np.zeros((n, width), dtype=np.uint64)
    timed = sorted((i for i, r in enumerate(roots) if r.effective_from is not None), key=lambda i: roots[i].effective_from)
    effective = np.array([micros(roots[i].effective_from) for i in timed], dtype=np.int64)
    allow = np.empty((len(timed) + 1, width), dtype=np.uint64)
    for k in range(len(timed) + 1):
        allow[k] = np.tile(~_mask(timed[k:], words), width // words)
    direct: dict[int, set[int]] = {}
    for i, root in enumerate(roots):
        if root.dataset not in index.number:
            continue
        x = index.number[root.dataset]
        bit = np.uint64(1) << np.uint64(i & 63)
        direct.setdefault(x, set()).add(i)
        if root.models is None:
            planes[x, i >> 6] |= bit
        for model in graph.successors(root.dataset):
            if graph.nodes[model]["kind"] != MODEL:
                continue
            if root.models is not None and model not in root.models:
                continue
            if root.effective_from is not None and trained_before(graph.edges[root.dataset, model], root.effective_from):
                continue
            m = index.number[model]
            direct.setdefault(m, set()).add(i)
            planes[m, i >> 6] |= bit
    bucket = None
    if timed:
        bucket = np.full(len(index.latest), len(timed), dtype=np.intp)
        bucket[index.feeds] = np.searchsorted(effective, index.latest[index.feeds], side="right")
    src, take = index.src, np.take
    for e0, split, e1, starts, targets, models_from in index.blocks:
        arriving = take(planes, src[e0:e1], axis=0)
        if bucket is not None and split < e1:
            arriving[split - e0:] &= take(allow, bucket[split:e1], axis=0)
        merged = np.bitwise_or.reduceat(arriving, starts, axis=0)
        anon_rows = np.flatnonzero(take(is_anon, targets[:models_from])) if any_anon else ()
        raw = merged[anon_rows] if len(anon_rows) else None
        for part, c in ((merged[:models_from], 0), (merged[models_from:], 2)):
            _apply(part, c, words, two, hard, review, either)
        if raw is not None:
            _apply(raw, 1, words, two, hard, review, either)
            merged[anon_rows] = raw
        merged |= take(planes, targets, axis=0)
        planes[targets] = merged
    return Planes(index, [root.key for root in roots], planes, words, direct)


def _apply(part: np.ndarray, c: int, words: int, two: bool, hard: np.ndarray, review: np.ndarray,
           either: np.ndarray) -> None:
    if two:
        h, r = part[:, :words], part[:, words:]
        r &= either[c]
        r |= h & review[c]
        h &= hard[c]
    else:
        part &= hard[c]


DECODE_BYTES = 64 * 2**20  # rows are unpacked in slices of about this size, whatever the number of roots


def decode(packed: Planes, only: list[int] | None = None) -> dict[str, dict[str, Mode]]:
    """node -> root key -> mode, for every node some root reached (or for the `only` rows asked about)."""
    index, keys, planes, words, direct = packed.index, packed.keys, packed.bits, packed.words, packed.direct
    reached = packed.reached_rows() if only is None else np.array(sorted(set(only)), dtype=np.int64)
    width = words * 64
    names: tuple[Mode, Mode] = ("review", "hard")
    modes: dict[str, dict[str, Mode]] = {}
    chunk = max(1, DECODE_BYTES // max(1, planes.shape[1] * 64))  # unpacked bits take a byte each
    for start in range(0, len(reached), chunk):
        part = reached[start:start + chunk]
        bits = np.unpackbits(planes[part].view(np.uint8), axis=1, bitorder="little")
        hard = bits[:, :width]
        reach_any = hard | bits[:, width:] if bits.shape[1] > width else hard
        for r, row in enumerate(part.tolist()):
            cols = np.flatnonzero(reach_any[r, : len(keys)])
            strong = hard[r, cols]
            here = {keys[c]: names[s] for c, s in zip(cols.tolist(), strong.tolist(), strict=True)}
            for c in direct.get(row, ()):
                here[keys[c]] = "direct"
            modes[index.nodes[row]] = here
    return modes


def summarise(packed: Planes, rows: list[int], classes: list[list[int]]) -> list[list[tuple[int, str, int, str]]]:
    """For each row, per class of roots reaching it: (class, strongest mode, roots reaching, first such root).

    Works on the packed planes a slice of rows at a time, never unpacking a (node, root) pair:
    on a large platform one table can be reached by tens of thousands of roots.
    """
    keys, planes, words, direct = packed.keys, packed.bits, packed.words, packed.direct
    masks = np.stack([_mask(members, words) for members in classes]) if classes else np.zeros((0, words), np.uint64)
    two = planes.shape[1] > words
    out: list[list[tuple[int, str, int, str]]] = []
    chunk = max(1, DECODE_BYTES // max(1, planes.shape[1] * 8 * 4))
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        block = planes[part]
        hard = block[:, :words]
        reached = hard | block[:, words:] if two else hard.copy()
        near = np.zeros_like(hard)  # direct: the root's own dataset, or a model consuming it
        for r, row in enumerate(part):
            for c in direct.get(row, ()):
                near[r, c >> 6] |= np.uint64(1) << np.uint64(c & 63)
        reached |= near
        results: list[list[tuple[int, str, int, str]]] = [[] for _ in part]
        for j, mask in enumerate(masks):
            hit = reached & mask
            present = np.flatnonzero(hit.any(axis=1))
            if not len(present):
                continue
            counts = np.bitwise_count(hit[present]).sum(axis=1)
            is_near = (near[present] & mask).any(axis=1)
            is_hard = (hard[present] & mask).any(axis=1)
            first_word = (hit[present] != 0).argmax(axis=1)
            for p, r in enumerate(present.tolist()):
                word = int(hit[r, first_word[p]])
                first = int(first_word[p]) * 64 + (word & -word).bit_length() - 1
                mode = "direct" if is_near[p] else "hard" if is_hard[p] else "review"
                results[r].append((j, mode, int(counts[p]), keys[first]))
        out.extend(results)
    return out
