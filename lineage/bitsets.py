"""The fast path of propagation: root sets as bit planes over a per-graph index, level by level.

Same rules and same answer as the work list in `lineage.propagate` (tests compare them on random
graphs), at a cost that hardly depends on the number of roots: on the reference graph (105k nodes,
1M edges, 200 flagged sources) 2-3x a plain csgraph reachability, where the work list takes
15-30 s (benchmarks/results/propagation.md).

- `Index` (built once per graph, kept while the graph object lives): the edges that carry anything
  (derivation, feed, base_model; a job's edges carry nothing), the topological level of every node
  over those edges (Kahn's algorithm a frontier at a time), and a numbering of the nodes by (level,
  dataset before model). Each level's targets are then one run of rows, and their in-edges, sorted
  by target, one run of edges. A cycle along carrying edges leaves no levels: the work list's case.
- Planes: per node, one bit per root for "reached hard or stronger" (H) and, only when some rule
  can weaken a root, a second plane for "reached for review" (R). A level gathers its sources' rows
  and merges each target's in-edges with one `bitwise_or.reduceat` written straight into the
  level's rows, then applies the travel masks of the target's kind (dataset, verified-anonymised
  dataset, model) unless they let everything through (all hard).
- Direct modes (a root's own dataset and the models that consume it directly) are few and kept on
  the side; for travelling, a direct bit behaves as H.

The per-call cost is the gather and the `reduceat` over the carrying edges; anything per node or per
graph walked in Python (even counting the edges to check a cache key: 40 ms here) would dominate it.

The answer stays packed (`Planes`) until someone asks for modes: `lineage.propagate.Reach` decodes
only the rows it is asked about.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import chain

import networkx as nx
import numpy as np

from lineage.graph import DATASET, MODEL
from lineage.roots import Mode, Root, trained_before

DD, DM, MM = 0, 1, 2  # edge groups: derivation, feed, base_model
NEVER = np.iinfo(np.int64).max  # a feed with an unknown consumption time is never "trained before"


EPOCH, NAIVE_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(1970, 1, 1)
MICROSECOND = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    """Microseconds since the epoch, exact: feed times compare as int64 arrays.

    An aware moment counts from the UTC epoch (the instant, whatever its zone, as datetimes compare);
    a naive one from the naive epoch.
    """
    return (moment - (NAIVE_EPOCH if moment.utcoffset() is None else EPOCH)) // MICROSECOND


class Index:
    """What propagation needs of the graph, as arrays; `acyclic` is False when there are no levels.

    Levels are taken over the edges that carry conditions only (a job's `produces` edge carries
    nothing, so it neither orders nodes nor makes a cycle). Rows are numbered by (level, dataset
    before model, graph order), so a level's targets are one slice of the planes that `reduceat`
    writes in place; `nodes`/`number` are that numbering, `order` each row's place in the graph.
    """

    def __init__(self, graph: nx.DiGraph) -> None:
        self._numbered: tuple[dict[str, int], np.ndarray] | None = None  # see `numbered_by`
        listed = list(graph)
        n = len(listed)
        position = {node: i for i, node in enumerate(listed)}
        codes = {DATASET: 0, MODEL: 2}
        kind = np.fromiter((codes.get(k, 1) for _, k in graph.nodes(data="kind")), dtype=np.int8, count=n)
        successors = [nbrs for _, nbrs in graph.adjacency()]  # in graph order
        degrees = np.fromiter(map(len, successors), dtype=np.int64, count=n)
        dst = np.fromiter(map(position.__getitem__, chain.from_iterable(successors)), dtype=np.int64,
                          count=int(degrees.sum()))
        src = np.repeat(np.arange(n, dtype=np.int64), degrees)
        ks, kd = kind[src], kind[dst]
        group = np.full(len(src), -1, dtype=np.int8)
        group[(ks == 0) & (kd == 0)] = DD
        group[(ks == 0) & (kd == 2)] = DM
        group[(ks == 2) & (kd == 2)] = MM
        keep = group >= 0
        src, dst, group = src[keep], dst[keep], group[keep]  # still grouped by source, in graph order
        level = _levels(n, src, dst)
        self.acyclic = level is not None
        if level is None:
            self.nodes, self.number, self.kind = listed, position, kind
            return
        self.order = np.lexsort((kind == 2, level))  # row -> place in the graph (lexsort is stable)
        row_of = np.empty(n, dtype=np.int64)
        row_of[self.order] = np.arange(n, dtype=np.int64)
        self.nodes = [listed[i] for i in self.order.tolist()]
        self.number = {node: i for i, node in enumerate(self.nodes)}
        self.kind, self.level = kind[self.order], level[self.order]
        latest = _latest_uses(successors, listed, src, dst, group)  # per carrying edge, graph order
        src, dst = row_of[src], row_of[dst]
        by_target = np.lexsort((src, dst))  # by target row, each target's sources in row order (locality)
        self.src, self.dst, self.group = src[by_target], dst[by_target], group[by_target]
        self.feeds = np.flatnonzero(self.group == DM)
        self.into_models = np.flatnonzero(self.kind[self.dst] == 2)
        self.latest = latest[by_target[self.into_models]]  # per edge into a model
        # every node above level 0 has an in-edge from the level below: a level is a run of target rows
        first_edge = np.searchsorted(self.dst, np.arange(n + 1, dtype=np.int64))
        level_start = np.searchsorted(self.level, np.arange(int(self.level[-1]) + 2 if n else 1))
        is_model = self.kind == 2
        self.blocks = []  # (first row, first model row, end row, first edge, first edge into a model, end edge,
        #                  where that edge is in `into_models`, segment starts)
        for lo, hi in zip(level_start[1:-1].tolist(), level_start[2:].tolist(), strict=True):
            mid = lo + int(np.searchsorted(is_model[lo:hi], True))
            e0, split, e1 = int(first_edge[lo]), int(first_edge[mid]), int(first_edge[hi])
            self.blocks.append((lo, mid, hi, e0, split, e1, int(np.searchsorted(self.into_models, split)),
                                first_edge[lo:hi] - e0))

    def numbered_by(self, number: dict[str, int]) -> np.ndarray:
        """Each row's node as `number` numbers it (the graph's arrays, `lineage.arrays`, number nodes
        by id; these rows go by level): made once per numbering and kept, for reading arrays in that
        numbering row by row."""
        cached = self._numbered
        if cached is None or cached[0] is not number:
            cached = self._numbered = (number, np.fromiter((number[node] for node in self.nodes), dtype=np.int64,
                                                           count=len(self.nodes)))
        return cached[1]


def _latest_uses(successors: list[dict], listed: list, src: np.ndarray, dst: np.ndarray,
                 group: np.ndarray) -> np.ndarray:
    """Per edge, the latest recorded training time of a feed; NEVER when a time is unknown or it is no feed."""
    latest = np.full(len(src), NEVER, dtype=np.int64)
    feeds = np.flatnonzero(group == DM)
    known, times = [], []
    for e, u, v in zip(feeds.tolist(), src[feeds].tolist(), dst[feeds].tolist(), strict=True):
        best = None
        for use in successors[u][listed[v]].get("uses") or ():
            moment = use.get("consumed_at")
            if moment is None:
                best = None  # one unknown time: never "trained before"
                break
            if best is None or moment > best:
                best = moment
        if best is not None:
            known.append(e)
            times.append(micros(best))
    latest[known] = times
    return latest


@dataclass(frozen=True)
class Planes:
    """Where every root reached, still packed: one bit per (node, root), H plane then R plane."""

    index: Index
    keys: list[str]  # the roots' keys, in bit order
    bits: np.ndarray  # (nodes, words) uint64, rows as `index.nodes`; (nodes, 2 * words) when a rule can weaken a root
    words: int  # uint64 words per plane
    direct: dict[int, set[int]]  # node row -> the roots that reach it directly

    def reached_rows(self) -> np.ndarray:
        """The rows of every node some root reached, directly or not."""
        rows = self.bits.any(axis=1)
        if self.direct:
            rows[list(self.direct)] = True
        return np.flatnonzero(rows)


def _levels(n: int, src: np.ndarray, dst: np.ndarray) -> np.ndarray | None:
    """Kahn's algorithm a frontier at a time over the edges (src sorted); None when there is a cycle."""
    from lineage.arrays import levels

    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    level = levels(n, indptr, dst)
    return None if level is None else level.astype(np.int32)


_INDEXES: weakref.WeakKeyDictionary[nx.DiGraph, Index] = weakref.WeakKeyDictionary()


def index_of(graph: nx.DiGraph) -> Index:
    """The graph's index, built on first use and kept while the graph lives.

    Kept by the graph object itself (weakly), not in `graph.graph`: a subgraph view or a copy
    shares or copies that dict, and must not reuse its parent's index; an object's identity tells
    them apart in O(1), where counting the edges walks every node (40 ms at the reference size,
    twice the propagation). A graph of record is rebuilt, never edited, when the store moves
    (`lineage.graph`); an edit that changes the node count is still noticed.
    """
    index = _INDEXES.get(graph)
    if index is None or len(index.nodes) != graph.number_of_nodes():
        index = _INDEXES[graph] = Index(graph)
    return index


def cached_index(graph: nx.DiGraph) -> Index | None:
    """The index kept for this graph object, if any (benchmarks check they time the cached path)."""
    return _INDEXES.get(graph)


def _mask(members: Iterable[int], words: int) -> np.ndarray:
    """The uint64 words with the members' bits set (bit m & 63 of word m >> 6, as `decode` reads them)."""
    bits = np.zeros(words * 64, dtype=bool)
    bits[np.fromiter(members, dtype=np.int64)] = True
    return np.packbits(bits, bitorder="little").view("<u8").astype(np.uint64)


def _by_block(index: Index, rows: np.ndarray) -> dict[int, np.ndarray]:
    """Internal rows above level 0, grouped by the block (level - 1) whose targets they are."""
    rows = np.unique(rows)
    levels = index.level[rows]
    rows, levels = rows[levels > 0], levels[levels > 0]
    return {int(b): rows[levels == b + 1] for b in np.unique(levels - 1).tolist()}


def propagate_levels(graph: nx.DiGraph, index: Index, roots: list[Root], anonymised: set[str]) -> Planes:
    """Every root at once, a level at a time, on an acyclic graph (`index.acyclic`)."""
    n = len(index.nodes)
    words = max(1, (len(roots) + 63) // 64)

    def of(pred: Callable[[Root], bool]) -> np.ndarray:
        return _mask([i for i, r in enumerate(roots) if pred(r)], words)

    d_hard, d_review = of(lambda r: r.into_datasets == "hard"), of(lambda r: r.into_datasets == "review")
    m_hard, m_review = of(lambda r: r.into_models == "hard"), of(lambda r: r.into_models == "review")
    stops, weakens = of(lambda r: r.anonymisation == "stops"), of(lambda r: r.anonymisation == "review")
    number, kind = index.number, index.kind
    anon = np.fromiter((number[a] for a in anonymised if a in number), dtype=np.int64)
    anon_rows = anon[kind[anon] == 0]
    # travel masks by target: 0 dataset, 1 verified-anonymised dataset, 2 model
    hard = np.stack([d_hard, d_hard & ~stops & ~weakens, m_hard])
    review = np.stack([d_review, (d_review | (d_hard & weakens)) & ~stops, m_review])
    either = hard | review
    two = bool(review[2].any() or review[0].any() or (len(anon_rows) and review[1].any()))
    width = 2 * words if two else words
    # a class whose masks let every root through as it is changes nothing: planes hold root bits only
    every = _mask(range(len(roots)), words)
    keeps = [bool(((hard[c] & every) == every).all() and (not two or (((either[c] & every) == every).all()
                                                                     and not review[c].any())))
             for c in range(3)]
    planes = np.zeros((n, width), dtype=np.uint64)
    timed = sorted((i for i, r in enumerate(roots) if r.effective_from is not None), key=lambda i: roots[i].effective_from)
    effective = np.array([micros(roots[i].effective_from) for i in timed], dtype=np.int64)
    allow = np.empty((len(timed) + 1, width), dtype=np.uint64)
    for k in range(len(timed) + 1):
        allow[k] = np.tile(~_mask(timed[k:], words), width // words)
    direct: dict[int, set[int]] = {}
    hit_rows: list[int] = []  # (node, root) pairs set before travelling: a root's dataset, its consuming models
    hit_roots: list[int] = []
    for i, root in enumerate(roots):
        if root.dataset not in number:
            continue
        x = number[root.dataset]
        direct.setdefault(x, set()).add(i)
        if root.models is None:
            hit_rows.append(x)
            hit_roots.append(i)
        for model in graph.successors(root.dataset):
            m = number[model]
            if kind[m] != 2:
                continue
            if root.models is not None and model not in root.models:
                continue
            if root.effective_from is not None and trained_before(graph.edges[root.dataset, model], root.effective_from):
                continue
            direct.setdefault(m, set()).add(i)
            hit_rows.append(m)
            hit_roots.append(i)
    rows, cols = np.array(hit_rows, dtype=np.int64), np.array(hit_roots, dtype=np.uint64)
    np.bitwise_or.at(planes, (rows, (cols >> np.uint64(6)).astype(np.intp)), np.uint64(1) << (cols & np.uint64(63)))
    fixups = {b: (rows, planes[rows]) for b, rows in _by_block(index, rows).items()}  # direct bits stay set
    anon_by_block = _by_block(index, anon_rows) if len(anon_rows) else {}
    # per edge into a model, how many of the timed roots (by date) it lets through
    bucket = np.searchsorted(effective, index.latest, side="right") if timed else None
    src, take, reduceat = index.src, np.take, np.bitwise_or.reduceat
    for b, (lo, mid, hi, e0, split, e1, m0, starts) in enumerate(index.blocks):
        arriving = take(planes, src[e0:e1], axis=0)
        if bucket is not None and split < e1:
            arriving[split - e0:] &= take(allow, bucket[m0:m0 + e1 - split], axis=0)
        reduceat(arriving, starts, axis=0, out=planes[lo:hi])
        anon_here = anon_by_block.get(b)
        raw = planes[anon_here] if anon_here is not None else None
        if not keeps[0] and mid > lo:
            _apply(planes[lo:mid], 0, words, two, hard, review, either)
        if raw is not None:
            _apply(raw, 1, words, two, hard, review, either)
            planes[anon_here] = raw
        if not keeps[2] and hi > mid:
            _apply(planes[mid:hi], 2, words, two, hard, review, either)
        fixup = fixups.get(b)
        if fixup is not None:
            planes[fixup[0]] |= fixup[1]
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
    reached = packed.reached_rows() if only is None else np.unique(np.array(list(only), dtype=np.int64))
    reached = reached[np.argsort(index.order[reached], kind="stable")]  # the graph's order, as before renumbering
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
