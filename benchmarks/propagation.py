"""Benchmark: `lineage.propagate.propagate` on the reference graph against plain reachability.

    python -m benchmarks.propagation [--quick] [--scale S] [--repeat R] [--out DIR] [--no-profile]

One process run measures everything, each figure beside its baselines from the same run:

- Graph: `benchmarks.reference.reference_graph` (100,000 datasets, 5,000 models, 1,000,000 edges;
  --quick: a tenth). Flagged: 1% of the source datasets (seeded choice).
- Index, once: a CSR adjacency (scipy.sparse, float64 data so csgraph does not convert it) from the
  networkx graph, with its node numbering. Timed on its own: a product would cache it per graph
  revision, as `GraphCache` caches the graph.
- Baseline A, scipy.sparse.csgraph: one `breadth_first_order` from a virtual super-source (an extra
  node with an edge to every flagged source; building the augmented CSR is inside the timing). The
  other honest variant, one `breadth_first_order` per source with the results unioned, is timed too
  (it repeats work, so it is slower and A uses the super-source).
- Baseline B, networkx: `nx.bfs_layers(graph, flagged)`, a multi-source BFS, unioned.
- Headwater: `propagate(graph, roots)` with one Root per flagged source (into_datasets="hard",
  into_models="hard"), which computes per node the set of roots that reached it and how strongly;
  and again with a mix of rules (hard/review/none, anonymisation stops/review with 2% of staging and
  mart tables verified-anonymised, some time-scoped and some model-scoped roots).
- Agreement: A, B and Headwater (all hard) reach the same nodes and the same models (asserted).
- Prototype (not product code; see `Index`/`propagate_bits` below): what `propagate` could be with
  a per-revision index (CSR, topological levels, in-edges sorted by level) and root sets as bitsets
  in numpy arrays, processed level by level. Its output is decoded and compared, entry by entry,
  with `propagate`'s for both root sets (asserted), so the timings are of the same answer.
- Profile: one `propagate` call under cProfile, top functions by own time (--no-profile skips it).
- Memory: VmHWM of this process (peak resident set), read after every phase; the peak is reset
  (/proc/self/clear_refs) before each timed phase so each phase's own peak is known too.

Every timing is the median of the repeats (all samples are in the JSON); garbage collection is
left as it is in production (enabled), and `gc.collect()` runs before each sample.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from benchmarks.reference import describe, reference_graph
from lineage.graph import DATASET, MODEL
from lineage.propagate import Reach, Root, propagate

ROOT = Path(__file__).resolve().parent.parent
SEED = 20240601
FLAG_SHARE = 0.01
TARGET_RATIO = 3.0


# --- measurement helpers --------------------------------------------------------------------------

def memory() -> dict[str, int]:
    """Resident set now and peak (KiB) of this process, from /proc/self/status (VmRSS, VmHWM)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {"rss_kib": int(fields["VmRSS"].split()[0]), "peak_kib": int(fields["VmHWM"].split()[0])}


def reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, list[float], Any, dict[str, int]]:
    """Median seconds over `repeat` runs, every sample, the last result, and the phase's peak memory."""
    samples, result = [], None
    gc.collect()
    reset_peak()
    before = memory()
    for _ in range(repeat):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - start)
    after = memory()
    return statistics.median(samples), samples, result, {
        "rss_before_kib": before["rss_kib"], "peak_kib": after["peak_kib"],
        "peak_above_start_kib": after["peak_kib"] - before["rss_kib"],
    }


def machine() -> dict[str, Any]:
    cpu = platform.processor() or "unknown"
    ram = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    try:
        nproc = int(subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, ValueError, subprocess.CalledProcessError):
        nproc = len(os.sched_getaffinity(0))

    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    return {"nproc": nproc, "cpu": cpu, "ram_gib": ram, "os": platform.platform(), "python": platform.python_version(),
            "networkx": version("networkx"), "numpy": version("numpy"), "scipy": version("scipy")}


# --- the workload ---------------------------------------------------------------------------------

def flagged_sources(graph: nx.DiGraph, share: float = FLAG_SHARE, seed: int = SEED) -> list[str]:
    """`share` of the source datasets (no derivation into them), chosen with a seeded generator."""
    sources = sorted(n for n, a in graph.nodes(data=True) if a["kind"] == DATASET and a["name"].startswith("raw."))
    rng = np.random.default_rng(seed)
    count = max(1, round(share * len(sources)))
    return sorted(rng.choice(sources, size=count, replace=False).tolist())


def hard_roots(flagged: list[str]) -> list[Root]:
    return [Root(key=f"{d}|flagged", dataset=d, into_datasets="hard", into_models="hard") for d in flagged]


MIXED_RULES = (  # (into_datasets, into_models, anonymisation), cycled over the flagged sources
    ("hard", "hard", "none"),
    ("review", "review", "review"),
    ("none", "hard", "none"),
    ("hard", "review", "stops"),
    ("review", "none", "none"),
    ("hard", "hard", "review"),
    ("none", "none", "none"),
    ("hard", "hard", "stops"),
)


def mixed_roots(graph: nx.DiGraph, flagged: list[str], seed: int = SEED) -> tuple[list[Root], set[str]]:
    """Every rule shape the product knows, plus the anonymised set they meet on the way."""
    rng = np.random.default_rng(seed + 1)
    middle = sorted(n for n, a in graph.nodes(data=True)
                    if a["kind"] == DATASET and a["name"].startswith(("stg.", "mart.")))
    anonymised = set(rng.choice(middle, size=max(1, len(middle) // 50), replace=False).tolist())
    roots = []
    for i, dataset in enumerate(flagged):
        into_datasets, into_models, anonymisation = MIXED_RULES[i % len(MIXED_RULES)]
        effective_from = None
        if i % 5 == 1:  # time-scoped: models trained only before this date are spared
            effective_from = datetime(2023, 7, 1, tzinfo=timezone.utc) + (i % 30) * (datetime(2025, 6, 1, tzinfo=timezone.utc)
                                                                                  - datetime(2023, 7, 1, tzinfo=timezone.utc)) / 30
        models = None
        if i % 11 == 3:  # model-scoped: a fingerprint one model recorded
            consumers = sorted(n for n in graph.successors(dataset) if graph.nodes[n]["kind"] == MODEL)
            models = frozenset(consumers[:1]) if consumers else frozenset({"model:none:none"})
        roots.append(Root(key=f"{dataset}|c{i}", dataset=dataset, into_datasets=into_datasets, into_models=into_models,
                          anonymisation=anonymisation, effective_from=effective_from, models=models))
    return roots, anonymised


# --- baselines ------------------------------------------------------------------------------------

class CSR:
    """The adjacency of the graph as a scipy CSR array, with the node numbering."""

    def __init__(self, graph: nx.DiGraph):
        self.nodes = list(graph)
        self.index = {node: i for i, node in enumerate(self.nodes)}
        n = len(self.nodes)
        degrees = np.fromiter((len(nbrs) for _, nbrs in graph.adjacency()), dtype=np.int64, count=n)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(degrees, out=indptr[1:])
        index = self.index
        indices = np.fromiter((index[v] for _, nbrs in graph.adjacency() for v in nbrs), dtype=np.int32,
                              count=int(indptr[-1]))
        self.indptr = indptr.astype(np.int32)
        self.indices = indices
        self.matrix = sparse.csr_array((np.ones(len(indices)), indices, self.indptr), shape=(n, n))
        self.kind = np.array([{DATASET: 0, MODEL: 2}.get(k, 1) for _, k in graph.nodes(data="kind")], dtype=np.int8)


def csgraph_reach(csr: CSR, flagged: list[str]) -> np.ndarray:
    """Node numbers reachable from the flagged sources (them included): BFS from a virtual super-source."""
    n = len(csr.nodes)
    starts = np.array([csr.index[d] for d in flagged], dtype=np.int32)
    indptr = np.concatenate([csr.indptr, np.array([csr.indptr[-1] + len(starts)], dtype=np.int32)])
    indices = np.concatenate([csr.indices, starts])
    data = np.ones(len(indices))
    augmented = sparse.csr_array((data, indices, indptr), shape=(n + 1, n + 1))
    order = csgraph.breadth_first_order(augmented, n, directed=True, return_predecessors=False)
    return order[1:]


def csgraph_reach_per_source(csr: CSR, flagged: list[str]) -> np.ndarray:
    """The same set from one breadth_first_order per source, unioned (repeats shared downstream work)."""
    seen = np.zeros(len(csr.nodes), dtype=bool)
    for d in flagged:
        seen[csgraph.breadth_first_order(csr.matrix, csr.index[d], directed=True, return_predecessors=False)] = True
    return np.flatnonzero(seen)


def networkx_reach(graph: nx.DiGraph, flagged: list[str]) -> set[str]:
    seen: set[str] = set()
    for layer in nx.bfs_layers(graph, flagged):
        seen.update(layer)
    return seen


# --- prototype: the same propagation with bitsets, level by level, in numpy -----------------------

GROUP_DD, GROUP_DM, GROUP_MM = 0, 1, 2  # in-edge groups: derivation, feed, base_model (produces: dropped)
NEVER = np.iinfo(np.int64).max  # a feed with an unknown (or no) consumption time is never "trained before"


class Index:
    """What `propagate` could cache per graph revision: numbering, CSR, levels, in-edges by level.

    Levels: level(v) = 1 + max level of v's predecessors (0 for nodes without any), computed with
    Kahn's algorithm a whole frontier at a time. In-edges (produces edges dropped: jobs carry
    nothing) are sorted by (level of target, group, target) and cut into blocks of one level and one
    group; inside a block, the edges of one target are contiguous, so one `bitwise_or.reduceat`
    merges what every target receives.
    """

    def __init__(self, graph: nx.DiGraph, csr: CSR | None = None):
        csr = csr or CSR(graph)
        self.csr = csr
        self.revision = graph.graph.get("revision")
        n = len(csr.nodes)
        indptr, indices = csr.indptr.astype(np.int64), csr.indices.astype(np.int64)
        src = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
        dst = indices
        self.level = self._levels(n, indptr, indices)
        self.acyclic = self.level is not None
        if not self.acyclic:
            return
        kind = csr.kind.astype(np.int64)
        group = np.full(len(src), -1, dtype=np.int64)
        group[(kind[src] == 0) & (kind[dst] == 0)] = GROUP_DD
        group[(kind[src] == 0) & (kind[dst] == 2)] = GROUP_DM
        group[(kind[src] == 2) & (kind[dst] == 2)] = GROUP_MM
        keep = group >= 0
        src, dst, group = src[keep], dst[keep], group[keep]
        key = (self.level[dst].astype(np.int64) * 3 + group) * n + dst
        order = np.argsort(key, kind="stable")
        self.src, self.dst, self.group, key = src[order], dst[order], group[order], key[order]
        # latest consumption of every feed edge (for time-scoped roots), in microseconds since the epoch
        latest = np.full(len(self.src), NEVER, dtype=np.int64)
        nodes = csr.nodes
        for e in np.flatnonzero(self.group == GROUP_DM).tolist():
            uses = graph.edges[nodes[self.src[e]], nodes[self.dst[e]]].get("uses") or []
            if uses and all(u.get("consumed_at") is not None for u in uses):
                latest[e] = max(_micros(u["consumed_at"]) for u in uses)
        self.latest = latest
        # blocks of one (level, group); inside each, the first edge of every target
        target_start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        block_key = key // n
        block_start = np.flatnonzero(np.r_[True, block_key[1:] != block_key[:-1]])
        block_end = np.r_[block_start[1:], len(key)]
        target_of_block = np.searchsorted(target_start, block_start)
        target_end_of_block = np.r_[target_of_block[1:], len(target_start)]
        self.blocks = [
            (int(self.group[e0]), int(e0), int(e1), target_start[t0:t1] - e0, self.dst[target_start[t0:t1]])
            for e0, e1, t0, t1 in zip(block_start.tolist(), block_end.tolist(), target_of_block.tolist(),
                                      target_end_of_block.tolist(), strict=True)
        ]
        self.edges = len(self.src)

    @staticmethod
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
            targets = indices[offsets]
            touched, drop = np.unique(targets, return_counts=True)
            indegree[touched] -= drop
            frontier = touched[indegree[touched] == 0]
            depth += 1
        return None if (level < 0).any() else level


def _micros(moment: datetime) -> int:
    delta = moment - datetime(1970, 1, 1, tzinfo=moment.tzinfo)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class BitReach:
    """The answer as bitsets: per node, the roots that reached it hard-or-stronger (H) or at all (H|R),
    plus the few (root, node) pairs that are direct. Decoded on demand, like `Reach.at`."""

    def __init__(self, nodes: list[str], keys: list[str], planes: np.ndarray, words: int,
                 direct: dict[int, set[int]]):
        self.nodes, self.keys, self.planes, self.words, self.direct = nodes, keys, planes, words, direct

    def reached(self) -> np.ndarray:
        """Every node some root reached (a model-scoped root's own dataset may carry no bit: it is in `direct`)."""
        rows = self.planes.any(axis=1)
        rows[list(self.direct)] = True
        return np.flatnonzero(rows)

    def to_modes(self) -> dict[str, dict[str, str]]:
        """The whole answer as `Reach.modes` (node -> root key -> mode), as the product returns it."""
        rows = self.reached()
        bits = np.unpackbits(self.planes[rows].view(np.uint8), axis=1, bitorder="little")
        width = self.words * 64
        hard, any_ = bits[:, :width], bits[:, :width] | bits[:, width:]
        modes: dict[str, dict[str, str]] = {}
        keys, nodes = self.keys, self.nodes
        names = ("review", "hard")
        for r, row in enumerate(rows.tolist()):
            cols = np.flatnonzero(any_[r, : len(keys)])
            strong = hard[r, cols]
            here = {keys[c]: names[s] for c, s in zip(cols.tolist(), strong.tolist(), strict=True)}
            for c in self.direct.get(row, ()):
                here[keys[c]] = "direct"
            modes[nodes[row]] = here
        return modes


def _mask(members: list[int], words: int) -> np.ndarray:
    out = np.zeros(words, dtype=np.uint64)
    for m in members:
        out[m >> 6] |= np.uint64(1) << np.uint64(m & 63)
    return out


def propagate_bits(graph: nx.DiGraph, index: Index, roots: list[Root], anonymised: set[str] | None = None) -> BitReach:
    """`lineage.propagate.propagate`, same rules, on bitsets; see the module docstring of lineage.propagate.

    Planes: H (hard or stronger) and R (review) per node, one bit per root. A root's own dataset and
    the models it feeds directly are recorded as direct on the side (`direct`); for the propagation
    a direct bit behaves as H, which gives the product's answer: from a root dataset, a derivation
    carries a direct root like a hard one (model-scoped roots excepted: they go nowhere but their
    models) and a feed carries it as direct, which the side record supplies (the strongest mode wins);
    from a model, a base_model edge turns direct into hard, which is what H does.
    """
    csr = index.csr
    anonymised = anonymised or set()
    n = len(csr.nodes)
    live = [r for r in roots if r.dataset in csr.index]
    keys = [r.key for r in roots]
    position = {r.key: i for i, r in enumerate(roots)}
    words = max(1, (len(roots) + 63) // 64)
    planes = np.zeros((n, 2 * words), dtype=np.uint64)
    H, R = slice(0, words), slice(words, 2 * words)

    def of(pred) -> np.ndarray:
        return _mask([i for i, r in enumerate(roots) if pred(r)], words)

    d_hard, d_review = of(lambda r: r.into_datasets == "hard"), of(lambda r: r.into_datasets == "review")
    m_hard, m_review = of(lambda r: r.into_models == "hard"), of(lambda r: r.into_models == "review")
    stops, weakens = of(lambda r: r.anonymisation == "stops"), of(lambda r: r.anonymisation == "review")
    # travel masks of a derivation into a plain / a verified-anonymised dataset
    plain = (d_hard, d_review)
    anon = (d_hard & ~stops & ~weakens, (d_review | (d_hard & weakens)) & ~stops)
    # time-scoped roots, latest effective date last: a feed consumed at t blocks those with effective_from > t
    timed_roots = sorted((i for i, r in enumerate(roots) if r.effective_from is not None),
                         key=lambda i: roots[i].effective_from)
    effective = np.array([_micros(roots[i].effective_from) for i in timed_roots], dtype=np.int64)
    allow = np.empty((len(timed_roots) + 1, 2 * words), dtype=np.uint64)
    for k in range(len(timed_roots) + 1):
        blocked = ~_mask(timed_roots[k:], words)
        allow[k, H], allow[k, R] = blocked, blocked
    is_anon = np.zeros(n, dtype=bool)
    is_anon[[csr.index[a] for a in anonymised if a in csr.index]] = True

    def blocked_by_time(root: Root, edge: dict) -> bool:
        if root.effective_from is None:
            return False
        uses = edge.get("uses") or []
        return bool(uses) and all(u.get("consumed_at") is not None and u["consumed_at"] < root.effective_from for u in uses)

    # seeds: every root at its dataset, and at the models that consume it directly
    direct: dict[int, set[int]] = {}
    for root in live:
        i, x = position[root.key], csr.index[root.dataset]
        bit = np.uint64(1) << np.uint64(i & 63)
        direct.setdefault(x, set()).add(i)
        if root.models is None:
            planes[x, i >> 6] |= bit
        for model in graph.successors(root.dataset):
            if graph.nodes[model]["kind"] != MODEL or blocked_by_time(root, graph.edges[root.dataset, model]):
                continue
            if root.models is not None and model not in root.models:
                continue
            m = csr.index[model]
            direct.setdefault(m, set()).add(i)
            planes[m, i >> 6] |= bit  # a direct bit at a model travels along base_model edges as hard

    bucket = None
    if timed_roots:  # a feed last consumed at t blocks the roots with effective_from > t: timed_roots[bucket:]
        bucket = np.searchsorted(effective, index.latest, side="right")
    src = index.src
    for group, e0, e1, starts, targets in index.blocks:
        arriving = planes[src[e0:e1]]
        if group == GROUP_DM and bucket is not None:
            arriving &= allow[bucket[e0:e1]]
        merged = np.bitwise_or.reduceat(arriving, starts, axis=0)
        h, r = merged[:, H], merged[:, R]
        if group == GROUP_DD:
            a = is_anon[targets][:, None]
            hard = np.where(a, anon[0], plain[0])
            review = np.where(a, anon[1], plain[1])
        else:
            hard, review = m_hard, m_review
        carried_h = h & hard
        carried_r = (h & review) | (r & (hard | review))
        planes[targets, H] |= carried_h
        planes[targets, R] |= carried_r
    return BitReach(csr.nodes, keys, planes, words, direct)


class Successors:
    """For the pure-Python variant: per node number, its successors split by edge group (cached per revision)."""

    def __init__(self, index: Index):
        n = len(index.csr.nodes)
        self.dd: list[list[int]] = [[] for _ in range(n)]
        self.dm: list[list[tuple[int, int]]] = [[] for _ in range(n)]
        self.mm: list[list[int]] = [[] for _ in range(n)]
        for u, v, group, latest in zip(index.src.tolist(), index.dst.tolist(), index.group.tolist(),
                                       index.latest.tolist(), strict=True):
            if group == GROUP_DD:
                self.dd[u].append(v)
            elif group == GROUP_DM:
                self.dm[u].append((v, latest))
            else:
                self.mm[u].append(v)
        self.index = index


def propagate_ints(graph: nx.DiGraph, succ: Successors, roots: list[Root], anonymised: set[str] | None = None) -> BitReach:
    """The same rules with root sets as Python ints (bitsets) and a Python loop over the affected edges.

    The affected set is a csgraph BFS on the cached CSR; the order is the cached levels, sorted.
    """
    import bisect

    index = succ.index
    csr = index.csr
    anonymised = anonymised or set()
    n = len(csr.nodes)
    position = {r.key: i for i, r in enumerate(roots)}

    def of(pred) -> int:
        return sum(1 << i for i, r in enumerate(roots) if pred(r))

    d_hard, d_review = of(lambda r: r.into_datasets == "hard"), of(lambda r: r.into_datasets == "review")
    m_hard, m_review = of(lambda r: r.into_models == "hard"), of(lambda r: r.into_models == "review")
    stops, weakens = of(lambda r: r.anonymisation == "stops"), of(lambda r: r.anonymisation == "review")
    anon_hard, anon_review = d_hard & ~stops & ~weakens, (d_review | (d_hard & weakens)) & ~stops
    m_any, d_any, anon_any = m_hard | m_review, d_hard | d_review, anon_hard | anon_review
    timed_roots = sorted((i for i, r in enumerate(roots) if r.effective_from is not None),
                         key=lambda i: roots[i].effective_from)
    effective = [_micros(roots[i].effective_from) for i in timed_roots]
    allow = [~sum(1 << i for i in timed_roots[k:]) for k in range(len(timed_roots) + 1)]
    is_anon = bytearray(n)
    for a in anonymised:
        if a in csr.index:
            is_anon[csr.index[a]] = 1
    H, R = [0] * n, [0] * n
    direct: dict[int, set[int]] = {}
    live = [r for r in roots if r.dataset in csr.index]
    for root in live:
        i, x = position[root.key], csr.index[root.dataset]
        direct.setdefault(x, set()).add(i)
        if root.models is None:
            H[x] |= 1 << i
        for model, latest in succ.dm[x]:
            if root.effective_from is not None and latest != NEVER and latest < _micros(root.effective_from):
                continue
            if root.models is not None and csr.nodes[model] not in root.models:
                continue
            direct.setdefault(model, set()).add(i)
            H[model] |= 1 << i
    if not live:
        return BitReach(csr.nodes, [r.key for r in roots], np.zeros((n, 2), dtype=np.uint64), 1, direct)
    affected = csgraph_reach(csr, [r.dataset for r in live])
    order = affected[np.argsort(index.level[affected], kind="stable")].tolist()
    dd, dm, mm = succ.dd, succ.dm, succ.mm
    for u in order:
        h, r = H[u], R[u]
        if not (h or r):
            continue
        for v in dd[u]:
            if is_anon[v]:
                ch, cr = h & anon_hard, (h & anon_review) | (r & anon_any)
            else:
                ch, cr = h & d_hard, (h & d_review) | (r & d_any)
            if ch:
                H[v] |= ch
            if cr:
                R[v] |= cr
        for v, latest in dm[u]:
            if timed_roots:
                keep = allow[bisect.bisect_right(effective, latest)]
                hh, rr = h & keep, r & keep
            else:
                hh, rr = h, r
            ch, cr = hh & m_hard, (hh & m_review) | (rr & m_any)
            if ch:
                H[v] |= ch
            if cr:
                R[v] |= cr
        for v in mm[u]:
            ch, cr = h & m_hard, (h & m_review) | (r & m_any)
            if ch:
                H[v] |= ch
            if cr:
                R[v] |= cr
    return _ints_to_bits(csr.nodes, [r.key for r in roots], H, R, direct)


def _ints_to_bits(nodes: list[str], keys: list[str], H: list[int], R: list[int], direct: dict[int, set[int]]) -> BitReach:
    """Only for checking the answer: the same planes as `propagate_bits` gives."""
    words = max(1, (len(keys) + 63) // 64)
    planes = np.zeros((len(nodes), 2 * words), dtype=np.uint64)
    size = words * 8
    for row in range(len(nodes)):
        if H[row] or R[row]:
            planes[row, :words] = np.frombuffer(H[row].to_bytes(size, "little"), dtype=np.uint64)
            planes[row, words:] = np.frombuffer(R[row].to_bytes(size, "little"), dtype=np.uint64)
    return BitReach(nodes, keys, planes, words, direct)


def reach_nodes(reach: Reach) -> set[str]:
    return {node for node, modes in reach.modes.items() if modes}


def same_answer(expected: Reach, bits: BitReach) -> tuple[bool, str]:
    got = bits.to_modes()
    want = {node: modes for node, modes in expected.modes.items() if modes}
    if got == want:
        return True, "identical"
    missing = set(want) - set(got)
    extra = set(got) - set(want)
    differ = [n for n in set(want) & set(got) if want[n] != got[n]]
    sample = differ[:1]
    detail = f"missing {len(missing)}, extra {len(extra)}, different {len(differ)}"
    if sample:
        n = sample[0]
        keys = set(want[n]) ^ set(got[n]) or {k for k in want[n] if want[n][k] != got[n].get(k)}
        k = sorted(keys)[0]
        detail += f"; e.g. {n} {k}: product {want[n].get(k)} prototype {got[n].get(k)}"
    return False, detail


# --- profile --------------------------------------------------------------------------------------

def profile(graph: nx.DiGraph, roots: list[Root], top: int = 14) -> dict[str, Any]:
    profiler = cProfile.Profile()
    gc.collect()
    start = time.perf_counter()
    profiler.enable()
    propagate(graph, roots)
    profiler.disable()
    wall = time.perf_counter() - start
    stats = pstats.Stats(profiler)
    total = stats.total_tt
    rows = []
    for (file, line, name), (cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        rows.append({"function": f"{Path(file).name}:{line}({name})", "calls": nc, "own_s": tt, "cumulative_s": ct})
    by_own = sorted(rows, key=lambda r: -r["own_s"])[:top]
    by_cum = sorted(rows, key=lambda r: -r["cumulative_s"])[: top + 6]
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
    return {"wall_s_under_profiler": wall, "profiled_total_s": total, "by_own_time": by_own,
            "by_cumulative_time": by_cum}


def phases(graph: nx.DiGraph, roots: list[Root]) -> dict[str, float]:
    """propagate's phases re-run outside it (same statements), to split its time without a profiler."""
    from lineage.graph import JOB

    out: dict[str, float] = {}
    t = time.perf_counter()
    starts = {root.dataset for root in roots if root.dataset in graph}
    affected = set(starts)
    frontier = list(starts)
    while frontier:
        following = []
        for node in frontier:
            for nxt in graph.successors(node):
                if nxt not in affected and graph.nodes[nxt]["kind"] != JOB:
                    affected.add(nxt)
                    following.append(nxt)
        frontier = following
    out["affected_set_s"] = time.perf_counter() - t
    t = time.perf_counter()
    sub = graph.subgraph(affected)
    order = list(nx.topological_sort(sub))
    out["subgraph_and_topological_sort_s"] = time.perf_counter() - t
    t = time.perf_counter()
    edges = sum(1 for node in order for _ in sub.successors(node))
    out["iterating_subgraph_successors_s"] = time.perf_counter() - t
    out["affected_nodes"] = len(affected)
    out["affected_edges"] = edges
    return out


# --- the run --------------------------------------------------------------------------------------

def run(scale: float, repeat: int, repeat_fast: int, do_profile: bool) -> dict[str, Any]:
    wall = time.perf_counter()
    result: dict[str, Any] = {"machine": machine(), "scale": scale, "repeat": repeat, "repeat_fast": repeat_fast,
                              "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    gc.collect()
    reset_peak()
    start = time.perf_counter()
    graph = reference_graph(scale=scale, seed=SEED)
    result["generate_s"] = time.perf_counter() - start
    result["memory_after_graph"] = memory()
    result["graph"] = describe(graph)
    result["graph"]["is_dag"] = nx.is_directed_acyclic_graph(graph)
    result["graph"]["longest_path_edges"] = nx.dag_longest_path_length(graph) if result["graph"]["is_dag"] else None
    print(f"graph: {result['graph']['nodes']:,} nodes, {result['graph']['edges']:,} edges "
          f"in {result['generate_s']:.1f} s", flush=True)

    flagged = flagged_sources(graph)
    roots = hard_roots(flagged)
    roots_mixed, anonymised = mixed_roots(graph, flagged)
    result["flagged_sources"] = len(flagged)
    result["mixed"] = {"rules": [list(r) for r in MIXED_RULES], "anonymised_datasets": len(anonymised),
                       "time_scoped_roots": sum(r.effective_from is not None for r in roots_mixed),
                       "model_scoped_roots": sum(r.models is not None for r in roots_mixed)}
    timings: dict[str, Any] = {}

    def record(name: str, fn: Callable[[], Any], times: int) -> Any:
        median, samples, value, mem = timed(fn, times)
        timings[name] = {"median_s": median, "samples_s": samples, "memory": mem}
        print(f"  {name:<34} {median:9.4f} s  (peak {mem['peak_kib'] / 1024:,.0f} MiB)", flush=True)
        return value

    csr = record("csr_build", lambda: CSR(graph), max(1, min(repeat, 3)))
    reached_a = record("csgraph_super_source", lambda: csgraph_reach(csr, flagged), repeat_fast)
    reached_a2 = record("csgraph_per_source_union", lambda: csgraph_reach_per_source(csr, flagged), max(1, min(repeat_fast, 3)))
    reached_b = record("networkx_bfs_layers", lambda: networkx_reach(graph, flagged), repeat_fast)
    reach_hard = record("headwater_propagate_hard", lambda: propagate(graph, roots), repeat)
    reach_mixed = record("headwater_propagate_mixed", lambda: propagate(graph, roots_mixed, anonymised=anonymised), repeat)

    nodes_a = {csr.nodes[i] for i in reached_a.tolist()}
    nodes_a2 = {csr.nodes[i] for i in reached_a2.tolist()}
    nodes_h = reach_nodes(reach_hard)
    models = {n for n in nodes_a if graph.nodes[n]["kind"] == MODEL}
    assert nodes_a == nodes_a2, "the two csgraph variants disagree"
    assert nodes_a == reached_b, "csgraph and networkx disagree on the reached nodes"
    assert {n for n in reached_b if graph.nodes[n]["kind"] == MODEL} == models, "networkx reaches other models"
    assert {n for n in nodes_h if graph.nodes[n]["kind"] == MODEL} == models, "Headwater reaches other models"
    assert nodes_h == nodes_a, "Headwater reaches other nodes"
    entries = sum(len(m) for m in reach_hard.modes.values())
    mixed_nodes = reach_nodes(reach_mixed)
    result["reached"] = {
        "nodes": len(nodes_a), "datasets": sum(1 for n in nodes_a if graph.nodes[n]["kind"] == DATASET),
        "models": len(models), "models_total": result["graph"]["nodes_by_kind"].get(MODEL, 0),
        "root_entries_hard": entries, "mean_roots_per_reached_node_hard": entries / max(1, len(nodes_h)),
        "nodes_mixed": len(mixed_nodes), "models_mixed": sum(1 for n in mixed_nodes if graph.nodes[n]["kind"] == MODEL),
        "root_entries_mixed": sum(len(m) for m in reach_mixed.modes.values()),
        "agree": "csgraph (both variants), networkx and Headwater (all hard) reach the same nodes and models",
    }
    print(f"  reached {len(nodes_a):,} nodes, {len(models):,} models; {entries:,} (node, root) entries", flush=True)

    # the GC's share: the same call with the collector frozen out of the graph's objects
    def frozen() -> Reach:
        gc.freeze()
        try:
            return propagate(graph, roots)
        finally:
            gc.unfreeze()

    record("headwater_propagate_hard_gc_frozen", frozen, max(1, min(repeat, 2)))
    result["propagate_phases_hard"] = phases(graph, roots)

    # prototype
    index = record("prototype_index_build", lambda: Index(graph, csr), max(1, min(repeat, 3)))
    result["prototype_index"] = {"acyclic": index.acyclic, "edges": getattr(index, "edges", None),
                                 "levels": int(index.level.max()) + 1 if index.acyclic else None,
                                 "blocks": len(index.blocks) if index.acyclic else None}
    bits_hard = record("prototype_propagate_hard", lambda: propagate_bits(graph, index, roots), repeat_fast)
    bits_mixed = record("prototype_propagate_mixed",
                        lambda: propagate_bits(graph, index, roots_mixed, anonymised), repeat_fast)
    record("prototype_decode_all_hard", lambda: bits_hard.to_modes(), max(1, min(repeat, 3)))
    succ = record("prototype_ints_successors_build", lambda: Successors(index), max(1, min(repeat, 3)))
    ints_hard = record("prototype_ints_propagate_hard", lambda: propagate_ints(graph, succ, roots), repeat)
    ints_mixed = record("prototype_ints_propagate_mixed",
                        lambda: propagate_ints(graph, succ, roots_mixed, anonymised), repeat)
    checks = {"bits_hard": (reach_hard, bits_hard), "bits_mixed": (reach_mixed, bits_mixed),
              "ints_hard": (reach_hard, ints_hard), "ints_mixed": (reach_mixed, ints_mixed)}
    result["prototype_agrees"] = {}
    for name, (want, got) in checks.items():
        ok, detail = same_answer(want, got)
        result["prototype_agrees"][name] = detail
        assert ok, f"prototype {name} differs from propagate: {detail}"
    del reach_hard, reach_mixed, bits_hard, bits_mixed, ints_hard, ints_mixed, checks, succ

    if do_profile:
        print("  profiling one propagate call (hard) ...", flush=True)
        result["profile_hard"] = profile(graph, roots)

    base = timings["csgraph_super_source"]["median_s"]
    result["ratios_to_csgraph"] = {
        name: timings[name]["median_s"] / base for name in timings if not name.endswith("_build")
    }
    result["timings"] = timings
    result["memory_end"] = memory()
    result["wall_s"] = time.perf_counter() - wall
    return result


def markdown(result: dict[str, Any]) -> str:
    m, g, t, r, x = result["machine"], result["graph"], result["timings"], result["reached"], result["ratios_to_csgraph"]
    mib = lambda kib: f"{kib / 1024:,.0f} MiB"  # noqa: E731

    def row(name: str, label: str, note: str = "") -> str:
        s = t[name]
        ratio = x.get(name)
        return (f"| {label} | {s['median_s']:.4f} | {'' if ratio is None else f'{ratio:,.1f}x'} | "
                f"{mib(s['memory']['peak_above_start_kib'])} | {note} |")

    hard = x["headwater_propagate_hard"]
    lines = [
        "# Lineage propagation benchmark",
        "",
        f"`python -m benchmarks.propagation{' --quick' if result['scale'] < 1 else ''}` (scale {result['scale']}), "
        f"run {result['started']}, {result['wall_s']:.0f} s wall in all.",
        "",
        f"Machine: {m['nproc']} CPUs (`nproc`), {m['cpu']}, {m['ram_gib']} GiB RAM, {m['os']}. "
        f"Python {m['python']}, networkx {m['networkx']}, numpy {m['numpy']}, scipy {m['scipy']}.",
        "",
        "## Graph",
        "",
        f"`benchmarks.reference.reference_graph` (seed {SEED}), generated in {result['generate_s']:.1f} s: "
        f"{g['nodes']:,} nodes ({', '.join(f'{v:,} {k}s' for k, v in g['nodes_by_kind'].items())}), "
        f"{g['edges']:,} edges ({', '.join(f'{v:,} {k}' for k, v in g['edges_by_kind'].items())}); "
        f"{g['namespaces']} namespaces; a DAG ({g['is_dag']}), longest path {g['longest_path_edges']} edges; "
        f"dataset fan-out median {g['median_dataset_fan_out']}, max {g['max_dataset_fan_out']:,}, "
        f"{g['datasets_with_fan_out_over_1000']} datasets above 1,000.",
        "",
        f"Flagged: {result['flagged_sources']} source datasets (1% of the sources, seeded). They reach "
        f"{r['nodes']:,} nodes ({r['datasets']:,} datasets, {r['models']:,} of {r['models_total']:,} models); "
        f"Headwater's answer (all hard) holds {r['root_entries_hard']:,} (node, root) entries, "
        f"{r['mean_roots_per_reached_node_hard']:.0f} roots per reached node on average. {r['agree']}.",
        "",
        "## Results",
        "",
        f"Median of {result['repeat_fast']} runs (Headwater: {result['repeat']}); ratio = time / csgraph super-source "
        f"BFS. Memory: the phase's peak resident set above the process's resident set when it started.",
        "",
        "| what | seconds | vs csgraph | peak memory | note |",
        "|---|---:|---:|---:|---|",
        row("csr_build", "CSR index from the networkx graph (once per revision)", "not in the ratios"),
        row("csgraph_super_source", "A: csgraph BFS from a virtual super-source", "baseline"),
        row("csgraph_per_source_union", "A': csgraph BFS per source, unioned", "slower variant, not used"),
        row("networkx_bfs_layers", "B: networkx `bfs_layers` multi-source", ""),
        row("headwater_propagate_hard", "Headwater `propagate`, all hard", f"target <= {TARGET_RATIO:.0f}x: "
            f"{'met' if hard <= TARGET_RATIO else 'missed'}"),
        row("headwater_propagate_mixed", "Headwater `propagate`, mixed rules",
            f"{r['nodes_mixed']:,} nodes, {r['models_mixed']:,} models, {r['root_entries_mixed']:,} entries"),
        row("headwater_propagate_hard_gc_frozen", "Headwater `propagate`, all hard, `gc.freeze()` first", ""),
        row("prototype_index_build", "prototype: index (levels, sorted in-edges; once per revision)", "not in the ratios"),
        row("prototype_propagate_hard", "prototype: bitset propagation, all hard", "same answer (asserted)"),
        row("prototype_propagate_mixed", "prototype: bitset propagation, mixed rules", "same answer (asserted)"),
        row("prototype_decode_all_hard", "prototype: decode every entry into `Reach.modes` dicts", "only if all are wanted"),
        row("prototype_ints_successors_build", "prototype (ints): successor lists by edge kind (once per revision)",
            "not in the ratios"),
        row("prototype_ints_propagate_hard", "prototype (ints): Python loop, Python-int bitsets, all hard",
            "same answer (asserted)"),
        row("prototype_ints_propagate_mixed", "prototype (ints): Python loop, Python-int bitsets, mixed rules",
            "same answer (asserted)"),
        "",
        f"Peak memory of the process: {mib(result['memory_end']['peak_kib'])} "
        f"(resident after generating the graph: {mib(result['memory_after_graph']['rss_kib'])}).",
        "",
    ]
    ph = result.get("propagate_phases_hard")
    if ph:
        lines += [
            "## Where `propagate`'s time goes",
            "",
            f"Its phases re-run outside it: affected set (Python BFS) {ph['affected_set_s']:.2f} s; "
            f"`graph.subgraph` + `nx.topological_sort` {ph['subgraph_and_topological_sort_s']:.2f} s; iterating the "
            f"subgraph view's successors alone {ph['iterating_subgraph_successors_s']:.2f} s "
            f"({ph['affected_nodes']:,} nodes, {ph['affected_edges']:,} edges). The rest is the per-edge, per-root "
            f"loop (`_carry`, the merge into the target's dict).",
            "",
        ]
    prof = result.get("profile_hard")
    if prof:
        lines += [
            f"cProfile, one call (all hard): {prof['wall_s_under_profiler']:.1f} s under the profiler. Top by own time:",
            "",
            "| function | calls | own s | cumulative s |",
            "|---|---:|---:|---:|",
        ]
        lines += [f"| `{p['function']}` | {p['calls']:,} | {p['own_s']:.2f} | {p['cumulative_s']:.2f} |"
                  for p in prof["by_own_time"][:12]]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the reference size")
    parser.add_argument("--scale", type=float, default=None, help="size relative to the reference (default 1)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each Headwater timing (median)")
    parser.add_argument("--repeat-fast", type=int, default=7, help="runs of each fast timing (median)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args(argv)
    scale = args.scale if args.scale is not None else (0.1 if args.quick else 1.0)
    result = run(scale, args.repeat, args.repeat_fast, not args.no_profile)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "propagation.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (args.out / "propagation.md").write_text(markdown(result))
    print(f"wrote {args.out / 'propagation.md'} and {args.out / 'propagation.json'} ({result['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
