"""Exact path counts from one node to every other, on the level arrays of `lineage.arrays`.

A node's count is the sum of its predecessors', all on lower levels, so one sparse product over
the rows in level order, written into the vector it reads, sums a whole graph in one C loop (a row
reads rows already summed). Counts outgrow any machine integer (2**117 on the reference graph), so
each is kept as float64 digits of `Levels.bits` bits, one vector per digit, and the levels are cut
into the runs of `runs_of`: within a run no sum can pass 2**53, so it stays exact, and one carry
after each run brings every digit back under the bound the next run assumes. A product a level at
a time, with a carry each, spent most of its time in the Python between 255 small calls.

The product reads every edge of the levels below the start, reached or not: summing over the
subgraph the start reaches instead was measured slower at every size on the reference graph (a
random table reaches a quarter of it; renumbering that many rows costs more than the sums).
"""

from __future__ import annotations

import numpy as np

from lineage import arrays
from lineage.arrays import Levels, Topology

class PathCounts:
    """Exact path counts from one node, as digits of `bits` bits: `digits[i][position[node]]` is the
    i-th (float64 integers, not normalised)."""

    def __init__(self, digits: list[np.ndarray], bits: int, position: np.ndarray) -> None:
        self.digits, self.bits, self.position = digits, bits, position

    def of(self, node: int) -> int:
        place = self.position[node]
        return sum(int(digit[place]) << (self.bits * i) for i, digit in enumerate(self.digits))


def path_counts(topo: Topology, start: int, last_level: int | None = None) -> PathCounts | None:
    """Number of paths from `start` to every node (0 where it does not reach), exact. None on a cycle.

    With `last_level`, only the counts of nodes up to that level are right (a node's count depends
    on lower levels only), and the sums stop after it: an impact page's models are not always deepest.
    """
    levels = topo.by_level
    if levels is None or topo.level is None or levels.bits is None:
        return None
    if not levels.runs:  # once per graph (two threads at once find the same runs)
        levels.runs = runs_of(levels, levels.bits)
    digits = _sum_runs(levels.in_ptr, levels.src, levels.ones, levels.node_starts, levels.runs, len(topo.nodes),
                       int(levels.position[start]), int(topo.level[start]) + 1, last_level, levels.bits)
    return PathCounts(digits, levels.bits, levels.position)


def _sum_runs(ptr: np.ndarray, src: np.ndarray, ones: np.ndarray, starts: np.ndarray, runs: list[int], n: int,
              start_place: int, first: int, last_level: int | None, bits: int) -> list[np.ndarray]:
    """The digits of every row's count: rows in level order (`starts`: where each level begins),
    in-edges as CSR (`ptr`, `src` over the same rows), the start at `start_place` on level `first - 1`."""
    from scipy.sparse import _sparsetools

    base, scale = float(2**bits), 1.0 / 2**bits
    digits = [np.zeros(n)]
    digits[0][start_place] = 1.0
    for begin, end in zip(runs[:-1], runs[1:], strict=True):
        if last_level is not None:
            if begin > last_level:
                break
            end = min(end, last_level + 1)  # a run cut short stays within its bound
        if end <= first:
            continue
        n0, n1 = int(starts[max(begin, first)]), int(starts[end])
        if ptr[n0] == ptr[n1]:
            continue
        for digit in digits:
            _sparsetools.csr_matvec(n1 - n0, n, ptr[n0:n1 + 1], src, ones, digit, digit[n0:n1])
        carries = []
        for digit in digits:  # every carry from the sums as they are, then added: each digit < 2**bits + 2**(53 - bits)
            block = digit[n0:n1]
            carry = np.floor(block * scale)  # exact: scale is a power of two (np.divmod costs three times this)
            block -= carry * base
            carries.append(carry)
        if carries[-1].any():  # the counts outgrew the digits
            digits.append(np.zeros(n))
        for digit, carry in zip(digits[1:], carries, strict=False):
            digit[n0:n1] += carry
    return digits


def runs_of(levels: Levels, bits: int) -> list[int]:
    """Where each run of levels begins (and, last, the number of levels): the longest runs within
    which no path count's digit can pass 2**53.

    Entering a run every digit is below D = 2**bits + 2**(53 - bits) (a remainder, and a carry from
    the digit below). Within the run a digit is the sum, over paths that enter the run, of the
    digit they entered with, so it stays below D times the number of such paths. That number, m, is
    counted here once per graph and independently of where a count starts: m(v) is the sum over
    v's predecessors of 1 for one before the run and of m for one within it, and at least 1 (v may
    be the start itself). A run ends before the level at which D * m would reach 2**53.
    """
    from scipy.sparse import _sparsetools

    limit = 2.0**53 / (2.0**bits + 2.0**(53 - bits))
    starts, ptr = levels.node_starts.tolist(), levels.in_ptr
    n = len(levels.nodes)
    entering = np.ones(n)
    runs = [0]
    for level in range(len(starts) - 1):
        n0, n1 = starts[level], starts[level + 1]
        paths = np.zeros(n1 - n0)
        _sparsetools.csr_matvec(n1 - n0, n, ptr[n0:n1 + 1], levels.src, levels.ones, entering, paths)
        if n1 > n0 and paths.max() > limit:
            runs.append(level)
            entering[starts[runs[-2]]:n0] = 1.0  # the run before is now "before the run"
            paths[:] = 0.0
            _sparsetools.csr_matvec(n1 - n0, n, ptr[n0:n1 + 1], levels.src, levels.ones, entering, paths)
        entering[n0:n1] = np.maximum(paths, 1.0)
    runs.append(len(starts) - 1)
    return runs


class FromSource:
    """What one source reaches, its distances and path counts, for answering about many targets."""

    def __init__(self, topo: Topology, source: str) -> None:
        self.topo = topo
        self.start = topo.number[source]
        self.found, self.steps = arrays.reach(topo, self.start, "downstream")
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
        return self.topo.nodes[arrays.first_shortest_path(self.topo, self.start, number, self.distance)].tolist()
