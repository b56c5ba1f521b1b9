"""Propagation of conditions down the lineage, in one pass over the graph.

The lineage package knows nothing of regulations: callers describe each root condition by how it
travels (`Root`), and get back, for every node it reaches, how strongly it arrived:
- `direct`: the node is the flagged dataset itself, or a model that consumes it directly (every
  condition of a dataset a model trains on is that model's problem, whether or not it propagates);
- `hard`: inherited as it is;
- `review`: inherited, but to be assessed (weaker).

Conditions flow downstream only: dataset -> dataset (derivation), dataset -> model (feed) and
model -> model (fine-tuning). Jobs are not on the data path. A derivation into a dataset marked as
verified-anonymised stops (or weakens) the taints whose rule says so. A time-scoped root does not
reach a model whose every recorded training run predates the root's effective date.

One pass: on a DAG, `lineage.bitsets` carries every root at once as bit planes, level by level
(the cost barely depends on the number of roots). A graph with a cycle along the edges conditions
travel on (possible with OpenLineage input; a cycle through a job carries nothing and does not
count) falls back to `propagate_worklist`, which reaches the same fixed point and is the reference
the fast path is tested against. Both take their roots and the feed-time rule from `lineage.roots`.

`lineage.bitsets` (and numpy with it) is imported on the first propagation, not with this module.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import networkx as nx

from lineage.graph import DATASET, JOB, MODEL
from lineage.roots import Mode, Root, trained_before

if TYPE_CHECKING:
    import numpy as np

    from lineage.bitsets import Planes

STRENGTH = {"review": 1, "hard": 2, "direct": 3}


class Reach:
    """For every node, the roots that reached it and how strongly.

    From the bit-plane path the answer stays packed until asked for: decoding every (node, root)
    pair into dicts costs far more than computing them on a large graph.
    """

    def __init__(self, modes: dict[str, dict[str, Mode]] | None = None, *, packed: Planes | None = None,
                 keys: list[str] | None = None) -> None:
        self._modes = modes
        self._packed = packed
        self._keys = keys  # the roots' keys in root order (the work list's answer), for `narrow`

    @property
    def modes(self) -> dict[str, dict[str, Mode]]:
        if self._modes is None:
            from lineage.bitsets import decode

            self._modes = decode(self._packed) if self._packed else {}
        return self._modes

    def at(self, node: str) -> dict[str, Mode]:
        return self.at_each([node]).get(node, {})

    def summarise(self, nodes: list[str], classes: list[list[str]]) -> dict[str, list[tuple[int, str, int, str]]]:
        """Per node, per class of roots (e.g. one condition): (class, strongest mode, roots reaching, first root).

        Each class lists root keys in root order; "first" is the earliest of them that reaches the node.
        On the packed planes this never decodes a (node, root) pair, so it stays cheap when one table
        is reached by thousands of roots.
        """
        if self._modes is None and self._packed:
            from lineage.bitsets import summarise

            index = self._packed.index
            number = {key: i for i, key in enumerate(self._packed.keys)}
            present = [node for node in nodes if node in index.number]
            rows = [index.number[node] for node in present]
            found = summarise(self._packed, rows, [[number[k] for k in members] for members in classes])
            return {node: entry for node, entry in zip(present, found, strict=True) if entry}
        place = {key: (j, i) for j, members in enumerate(classes) for i, key in enumerate(members)}
        out: dict[str, list[tuple[int, str, int, str]]] = {}
        for node in nodes:
            seen: dict[int, list] = {}  # class -> [strongest mode, roots, first root's place]
            for key, mode in self.modes.get(node, {}).items():
                j, i = place[key]
                entry = seen.setdefault(j, [mode, 0, i])
                entry[1] += 1
                if STRENGTH.get(mode, 0) > STRENGTH.get(entry[0], 0):
                    entry[0] = mode
                entry[2] = min(entry[2], i)
            if seen:
                out[node] = [(j, mode, count, classes[j][i]) for j, (mode, count, i) in sorted(seen.items())]
        return out

    def at_each(self, nodes: list[str]) -> dict[str, dict[str, Mode]]:
        """The roots reaching each of a few nodes, decoding only their rows when still packed."""
        if self._modes is not None or not self._packed:
            return {node: self.modes[node] for node in nodes if node in self.modes}
        from lineage.bitsets import decode

        index = self._packed.index
        rows = [index.number[node] for node in nodes if node in index.number]
        return {node: modes for node, modes in decode(self._packed, only=rows).items() if modes}

    def reached(self) -> set[str]:
        """Every node some root reached, without decoding which roots."""
        if self._modes is None and self._packed:
            nodes = self._packed.index.nodes
            return {nodes[i] for i in self._packed.reached_rows().tolist()}
        return set(self.modes)

    def members(self, key: str) -> set[str]:
        """Every node one root reached: one bit column of the planes, no (node, root) pair decoded."""
        if self._modes is None and self._packed:
            import numpy as np

            packed = self._packed
            j = packed.keys.index(key)
            bit = np.uint64(1) << np.uint64(j & 63)
            column = packed.bits[:, j >> 6]
            if packed.bits.shape[1] > packed.words:
                column = column | packed.bits[:, packed.words + (j >> 6)]
            rows = set(np.flatnonzero(column & bit).tolist())
            rows.update(row for row, roots in packed.direct.items() if j in roots)
            nodes = packed.index.nodes
            return {nodes[r] for r in rows}
        return {node for node, modes in self.modes.items() if key in modes}


    def narrow(self, allowed: "np.ndarray", seeded: "np.ndarray", number: dict[str, int]) -> None:
        """Let each root whose bit is set in `seeded` reach only the nodes whose row of `allowed`
        (uint64 words per node as `number` numbers them, the arrays' numbering; bit i is root i) has
        its bit: what column lineage says a condition cannot reach is taken away, every root at once."""
        if self._modes is None and self._packed:
            packed = self._packed
            index = packed.index
            rows = allowed[index.numbered_by(number)]
            mask = rows | ~seeded
            words = packed.words
            for start in range(0, packed.bits.shape[1], words):
                packed.bits[:, start:start + words] &= mask
            for row, roots in packed.direct.items():
                for j in [j for j in roots if int(seeded[j >> 6]) >> (j & 63) & 1]:
                    if not int(rows[row, j >> 6]) >> (j & 63) & 1:
                        roots.discard(j)
            return
        place = {key: i for i, key in enumerate(self._keys or ())}
        for node, here in self.modes.items():
            x = number.get(node)
            for key in list(here):
                i = place.get(key)
                if i is None or not int(seeded[i >> 6]) >> (i & 63) & 1:
                    continue
                if x is None or not int(allowed[x, i >> 6]) >> (i & 63) & 1:
                    del here[key]
        for node in [n for n, here in self.modes.items() if not here]:
            del self.modes[node]


def _weaker(a: str, b: str) -> str:
    return a if STRENGTH.get(a, 0) <= STRENGTH.get(b, 0) else b


def propagate(graph: nx.DiGraph, roots: list[Root], *, anonymised: set[str] | None = None) -> Reach:
    """Where each root reaches and how strongly; bit planes on a DAG, the work list on a cycle."""
    from lineage.bitsets import index_of, propagate_levels

    anonymised = anonymised or set()
    index = index_of(graph)
    if index.acyclic and roots:
        return Reach(packed=propagate_levels(graph, index, roots, anonymised))
    return propagate_worklist(graph, roots, anonymised=anonymised)


def propagate_worklist(graph: nx.DiGraph, roots: list[Root], *, anonymised: set[str] | None = None) -> Reach:
    """The reference implementation: a work list over the affected part of the graph, any shape."""
    anonymised = anonymised or set()
    by_key = {root.key: root for root in roots}
    reach = Reach({}, keys=[root.key for root in roots])
    for root in roots:
        if root.dataset in graph:
            reach.modes.setdefault(root.dataset, {})[root.key] = "direct"
    starts = {root.dataset for root in roots if root.dataset in graph}
    affected = set(starts)
    frontier = list(starts)
    while frontier:  # the part of the graph any root can reach: everything else is skipped
        following = []
        for node in frontier:
            for nxt in graph.successors(node):
                if nxt not in affected and graph.nodes[nxt]["kind"] != JOB:
                    affected.add(nxt)
                    following.append(nxt)
        frontier = following
    sub = graph.subgraph(affected)
    try:
        order: list[str] = list(nx.topological_sort(sub))
        cyclic = False
    except nx.NetworkXUnfeasible:
        order, cyclic = list(sub.nodes), True
    queue = deque(order)
    queued = set(order)
    while queue:
        node = queue.popleft()
        queued.discard(node)
        here = reach.modes.get(node)
        if not here:
            continue
        kind = graph.nodes[node]["kind"]
        for nxt in sub.successors(node):
            arriving = _carry(graph, node, kind, nxt, here, by_key, anonymised)
            if not arriving:
                continue
            there = reach.modes.setdefault(nxt, {})
            grew = False
            for key, mode in arriving.items():
                if STRENGTH[mode] > STRENGTH.get(there.get(key, ""), 0):
                    there[key] = mode
                    grew = True
            if grew and cyclic and nxt not in queued:
                queue.append(nxt)
                queued.add(nxt)
    return reach


def _carry(graph: nx.DiGraph, node: str, kind: str, nxt: str, here: dict[str, Mode], roots: dict[str, Root],
           anonymised: set[str]) -> dict[str, Mode]:
    """What crosses the edge node -> nxt."""
    target = graph.nodes[nxt]["kind"]
    out: dict[str, Mode] = {}
    edge = graph.edges[node, nxt]
    for key, mode in here.items():
        root = roots[key]
        if kind == DATASET and target == DATASET:
            travel = root.into_datasets
            if nxt in anonymised and root.anonymisation != "none":
                if root.anonymisation == "stops":
                    continue
                travel = _weaker(travel, "review") if travel != "none" else "none"
        elif kind == DATASET and target == MODEL:
            if root.effective_from is not None and trained_before(edge, root.effective_from):
                continue
            if mode == "direct":
                if root.models is not None and nxt not in root.models:
                    continue
                out[key] = "direct"
                continue
            travel = root.into_models
        elif kind == MODEL and target == MODEL:
            travel = root.into_models
            if mode == "direct":
                mode = "hard"
        else:
            continue
        if travel == "none":
            continue
        if mode == "direct":
            if root.models is not None:
                continue  # a model-scoped root (a fingerprint recorded by one model) reaches that model only
            out[key] = travel
        else:
            out[key] = _weaker(mode, travel)  # type: ignore[assignment]
    return out
