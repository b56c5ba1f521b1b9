"""Derivation cycles that OpenLineage events would close, found before they are committed.

Lineage must flow one way. A cycle made by events (job 1 writes B from A, job 2 writes A from B)
would make every later catalog load naming A or B fail with a "derivation cycle", and could hide a
cycle the catalog file itself declares; so ingestion refuses the request that closes one.

The check runs inside the ingestion's transaction, after its edges are written, so it searches the
graph that would be committed (every source: catalog files and OpenLineage, this batch included).
It is cheap in the usual case: only edges between two datasets that no edge joined before can
close a cycle; of those, only an edge whose input has an upstream and whose output has a downstream;
only for those does a breadth-first search walk downstream of the output, looking for the input.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.schema import Dataset, Derivation, Job

Edge = tuple[int, int]  # (input id, output id)
CHUNK = 500


def closed_cycle(session: Session, joined: Iterable[Edge]) -> list[Edge] | None:
    """A cycle that one of the `joined` edges closes, as its edges in order ending with that edge; else None."""
    edges = sorted(set(joined))
    inputs = _having(session, Derivation.output_id, {i for i, _ in edges})  # inputs with an upstream
    outputs = _having(session, Derivation.input_id, {o for _, o in edges})  # outputs with a downstream
    targets: dict[int, set[int]] = {}
    for input_id, output_id in edges:
        if input_id in inputs and output_id in outputs:
            targets.setdefault(output_id, set()).add(input_id)
    for output_id in sorted(targets):
        path = _downstream_path(session, output_id, targets[output_id])
        if path is not None:
            return [*zip(path, path[1:]), (path[-1], path[0])]
    return None


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
    for chunk in _chunks(sorted(ids)):
        found.update(session.scalars(select(column).where(column.in_(chunk)).distinct()))
    return found


def _downstream_path(session: Session, start: int, targets: set[int]) -> list[int] | None:
    """Breadth-first downstream of `start`: the path start -> ... -> a target, or None if none is reached."""
    parent: dict[int, int | None] = {start: None}
    frontier = [start]
    while frontier:
        following: list[int] = []
        for chunk in _chunks(sorted(frontier)):
            rows = session.execute(select(Derivation.input_id, Derivation.output_id)
                                   .where(Derivation.input_id.in_(chunk)).distinct())
            for input_id, output_id in rows:
                if output_id in parent:
                    continue
                parent[output_id] = input_id
                if output_id in targets:
                    path = [output_id]
                    while parent[path[-1]] is not None:
                        path.append(parent[path[-1]])  # type: ignore[arg-type]
                    return path[::-1]
                following.append(output_id)
        frontier = following
    return None


def _chunks(items: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]
