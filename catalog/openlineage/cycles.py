"""Derivation cycles that OpenLineage events would close, found before they are committed.

Lineage must flow one way. A cycle made by events (job 1 writes B from A, job 2 writes A from B)
would make every later catalog load naming A or B fail with a "derivation cycle", and could hide a
cycle the catalog file itself declares; so ingestion refuses the request that closes one.

The check runs inside the ingestion's transaction, after its edges are written, so it searches the
graph that would be committed (every source: catalog files and OpenLineage, this batch included).
Only edges between two datasets that no edge joined before can close a cycle; of those, only an
edge whose input has an upstream and whose output has a downstream. A cycle through such an edge
lies wholly downstream of its output and wholly upstream of its input, so ONE walk suffices for
every candidate edge of the batch: downstream of all their outputs and upstream of all their inputs
at once, a chunk at a time, always advancing the side that has read fewer edges; the first side to
run out is a closed subgraph holding every such cycle. Its strongly connected components
(scipy.sparse.csgraph) say which candidate edges close one, and a breadth-first search inside that
component gives the loop to show. The cost is each edge of the smaller side read once, however many
edges the batch joins: a walk per edge cost a walk of the growing graph per edge, and a cold ingest
of the 85,000 reference events went from about a minute to many. A batch that joins a good share of
everything stored (a cold ingest again) reads every edge in one statement instead of walking.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.schema import Dataset, Derivation, Job

Edge = tuple[int, int]  # (input id, output id)
CHUNK = 500
WHOLE_GRAPH_SHARE = 4  # a batch joining at least 1/4 as many edges as the store holds reads them all at once


def closed_cycle(session: Session, joined: Iterable[Edge]) -> list[Edge] | None:
    """A cycle that one of the `joined` edges closes, as its edges in order ending with that edge; else None.

    A cycle the store held before, through none of the `joined` edges, is not this batch's doing
    and is not reported (the catalog's own load check names it).
    """
    session.flush()  # the walk reads through the connection, which does not autoflush
    edges = sorted(set(joined))
    connection = session.connection()
    if len(edges) * WHOLE_GRAPH_SHARE >= connection.scalar(select(func.count()).select_from(Derivation)):
        # a batch joining a good share of the graph (a cold `headwater ingest`) would walk most of it
        # through thousands of IN lists: one read of every edge costs a fraction of that
        whole = {(i, o) for i, o in connection.execute(select(Derivation.input_id, Derivation.output_id))}
        return _cycle_through(whole, [(i, o) for i, o in edges if i != o])
    inputs = _having(session, Derivation.output_id, {i for i, _ in edges})  # inputs with an upstream
    outputs = _having(session, Derivation.input_id, {o for _, o in edges})  # outputs with a downstream
    candidates = [(i, o) for i, o in edges if i in inputs and o in outputs and i != o]
    if not candidates:
        return None
    closed = _closed_subgraph(session, {o for _, o in candidates}, {i for i, _ in candidates})
    return _cycle_through(closed, candidates)


def describe_cycle(session: Session, cycle: Sequence[Edge], *, closing: Edge) -> str:
    """The cycle for the person who sent the events: its datasets, and which jobs declared each edge."""
    ids = sorted({node for edge in cycle for node in edge})
    names: dict[int, str] = {}
    for chunk in _chunks(ids):
        for row_id, namespace, name in session.execute(
                select(Dataset.id, Dataset.namespace, Dataset.name).where(Dataset.id.in_(chunk))):
            names[row_id] = f"{namespace}:{name}"
    declared: dict[Edge, set[str]] = {edge: set() for edge in cycle}
    rows = session.execute(
        select(Derivation.input_id, Derivation.output_id, Derivation.source, Job.namespace, Job.name)
        .outerjoin(Job, Job.id == Derivation.job_id)
        .where(Derivation.output_id.in_(sorted({o for _, o in cycle}))))
    for input_id, output_id, source, job_namespace, job_name in rows:
        if (input_id, output_id) in declared:
            by = f"job {job_namespace}:{job_name}" if job_name is not None else "no job"
            declared[(input_id, output_id)].add(f"{by} ({'a catalog file' if source == 'catalog' else source})")
    loop = " -> ".join(names[i] for i, _ in cycle) + f" -> {names[cycle[0][0]]}"
    hops = "; ".join(f"{names[i]} -> {names[o]}: {', '.join(sorted(declared[(i, o)])) or 'unknown'}" for i, o in cycle)
    return (f"derivation cycle: {loop}, closed by this request's edge {names[closing[0]]} -> {names[closing[1]]} "
            f"({hops}); lineage must flow one way, so nothing of this request was written")


def _having(session: Session, column: Any, ids: set[int]) -> set[int]:
    """The `ids` that appear in `column` of some derivation."""
    found: set[int] = set()
    connection = session.connection()
    for chunk in _chunks(sorted(ids)):
        found.update(connection.scalars(select(column).where(column.in_(chunk)).distinct()))
    return found


class _Walk:
    """One side of the search: every edge out of (downstream) or into (upstream) what it has reached."""

    def __init__(self, starts: set[int], *, downstream: bool) -> None:
        self.reached = set(starts)
        self.frontier = sorted(starts)
        self.edges: set[Edge] = set()
        self.key = Derivation.input_id if downstream else Derivation.output_id
        self.downstream = downstream

    def step(self, connection: Any) -> None:
        """Read the edges of the next chunk of the frontier; what they lead to joins the frontier."""
        chunk, self.frontier = self.frontier[:CHUNK], self.frontier[CHUNK:]
        found: list[int] = []
        for input_id, output_id in connection.execute(
                select(Derivation.input_id, Derivation.output_id).where(self.key.in_(chunk))):
            self.edges.add((input_id, output_id))
            onward = output_id if self.downstream else input_id
            if onward not in self.reached:
                self.reached.add(onward)
                found.append(onward)
        self.frontier.extend(sorted(found))


def _closed_subgraph(session: Session, outputs: set[int], inputs: set[int]) -> set[Edge]:
    """The edges downstream of `outputs` or upstream of `inputs`, whichever side is read to its end first."""
    connection = session.connection()
    down, up = _Walk(outputs, downstream=True), _Walk(inputs, downstream=False)
    while True:
        for walk in (down, up):
            if not walk.frontier:
                return walk.edges
        (down if len(down.edges) <= len(up.edges) else up).step(connection)


def _cycle_through(edges: set[Edge], candidates: Sequence[Edge]) -> list[Edge] | None:
    """The first of `candidates` (in order) that `edges` put on a cycle, as that cycle ending with it."""
    import numpy as np
    from scipy.sparse import csr_array
    from scipy.sparse.csgraph import connected_components

    nodes = sorted({node for edge in edges for node in edge})
    index = {node: position for position, node in enumerate(nodes)}
    if not nodes:
        return None
    sources = np.fromiter((index[i] for i, _ in edges), dtype=np.int64, count=len(edges))
    targets = np.fromiter((index[o] for _, o in edges), dtype=np.int64, count=len(edges))
    matrix = csr_array((np.ones(len(edges), dtype=np.int8), (sources, targets)), shape=(len(nodes), len(nodes)))
    _count, labels = connected_components(matrix, directed=True, connection="strong")
    for input_id, output_id in candidates:
        if input_id in index and output_id in index and labels[index[input_id]] == labels[index[output_id]]:
            component = labels[index[output_id]]
            path = _path(edges, output_id, input_id, lambda node: labels[index[node]] == component)
            return [*zip(path, path[1:]), (input_id, output_id)]
    return None


def _path(edges: set[Edge], start: int, goal: int, inside: Any) -> list[int]:
    """Breadth-first from `start` to `goal` along `edges` between nodes `inside` the component: its nodes in order."""
    following: dict[int, list[int]] = {}
    for input_id, output_id in sorted(edges):
        if inside(input_id) and inside(output_id):
            following.setdefault(input_id, []).append(output_id)
    parent: dict[int, int | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            break
        for onward in following.get(node, ()):
            if onward not in parent:
                parent[onward] = node
                queue.append(onward)
    path = [goal]
    while parent[path[-1]] is not None:
        path.append(parent[path[-1]])  # type: ignore[arg-type]
    return path[::-1]


def _chunks(items: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]
