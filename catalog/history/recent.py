"""Each node's newest few changes, for the viewer's side panel: when, who, through what, which fields.

A view shows up to 5,000 nodes, so this is one read of a few chunked queries, not 5,000
`node_history` calls. The newest `per_node` change ids of each row come from a window over the
index (entity, row_id, id), which covers that query, so no row image is read before the ids are
chosen; then those changes' images are read by primary key, then the entries that own them.

Only the node's own row: changes to its feeds and derivations are found by scanning images
(`changes.py`), a cost paid when one node's full history is asked for, not for every node drawn.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.history.changes import _QUIET, TABLES
from catalog.history.past import covered_until
from catalog.schema import HistoryChange, HistoryEntry

CHUNK = 500  # ids per IN list: well under every backend's parameter limit (old SQLite: 999)
OPS = {"insert": "created", "update": "updated", "delete": "deleted", "baseline": "recorded"}
_BORN = {"insert", "baseline"}  # where a row's life begins: anything older under its id was another row's


def recent_changes(session: Session, rows: dict[str, tuple[str, int]], per_node: int = 5, *,
                   as_of: datetime | None = None) -> dict[str, list[dict[str, Any]]]:
    """Per node id, its row's newest `per_node` changes, newest first.

    `rows` maps a node id to (entity, store row id), entity `datasets` or `models`. Each change is
    {"at": ISO moment, "actor", "source", "op": created|updated|deleted|recorded, "fields"}; `fields`
    names what an update changed, bookkeeping left out. A creation or a recorded baseline sets every
    field, so naming them all would say nothing and, over 5,000 nodes, weigh on the page: its list
    is empty. With `as_of`, only what was known by then (the page shows the catalog of that moment).
    """
    found: dict[str, list[dict[str, Any]]] = {node: [] for node in rows}
    if per_node <= 0 or not rows:
        return found
    until = None
    if as_of is not None:
        covered = covered_until(session, as_of)
        until = covered[0] if covered is not None else None
    nodes_of: dict[tuple[str, str], list[str]] = defaultdict(list)
    for node, (entity, row_id) in rows.items():
        nodes_of[(entity, str(row_id))].append(node)
    chosen = _newest(session, list(nodes_of), per_node, until)
    images = _images(session, [i for ids in chosen.values() for i in ids])
    owners = _owners(session, sorted(images))
    parsed = _Parsed()
    for key, ids in chosen.items():
        listed: list[dict[str, Any]] = []
        for change_id in ids:
            op, before, after = images[change_id]
            entry = owners.get(change_id)
            if entry is not None:  # None: written outside Headwater and not sealed yet, as node_history has it
                at, actor, source = entry
                listed.append({"at": at.isoformat(), "actor": actor, "source": source, "op": OPS[op],
                               "fields": parsed.changed(key[0], op, before, after)})
            if op in _BORN:  # SQLite reuses a deleted row's id when it was the largest
                break
        for node in nodes_of[key]:
            found[node] = listed
    return found


def _newest(session: Session, keys: list[tuple[str, str]], per_node: int,
            until: int | None) -> dict[tuple[str, str], list[int]]:
    """Per (entity, row id), its newest change ids, newest first."""
    by_entity: dict[str, list[str]] = defaultdict(list)
    for entity, row_id in keys:
        by_entity[entity].append(row_id)
    chosen: dict[tuple[str, str], list[int]] = defaultdict(list)
    for entity, row_ids in by_entity.items():
        for start in range(0, len(row_ids), CHUNK):
            rank = func.row_number().over(partition_by=HistoryChange.row_id,
                                          order_by=HistoryChange.id.desc()).label("rank")
            ranked = select(HistoryChange.row_id, HistoryChange.id, rank).where(
                HistoryChange.entity == entity, HistoryChange.row_id.in_(row_ids[start:start + CHUNK]))
            if until is not None:
                ranked = ranked.where(HistoryChange.id <= until)
            inner = ranked.subquery()
            query = select(inner.c.row_id, inner.c.id).where(inner.c.rank <= per_node).order_by(inner.c.id.desc())
            for row_id, change_id in session.execute(query):
                chosen[(entity, row_id)].append(int(change_id))
    return chosen


def _images(session: Session, ids: list[int]) -> dict[int, tuple[str, str | None, str | None]]:
    """Op and before/after images of the chosen changes, by id."""
    found: dict[int, tuple[str, str | None, str | None]] = {}
    for start in range(0, len(ids), CHUNK):
        query = select(HistoryChange.id, HistoryChange.op, HistoryChange.before, HistoryChange.after).where(
            HistoryChange.id.in_(ids[start:start + CHUNK]))
        for change_id, op, before, after in session.execute(query):
            found[int(change_id)] = (op, before, after)
    return found


def _owners(session: Session, ids: list[int]) -> dict[int, tuple[datetime, str, str]]:
    """(at, actor, source) of the entry owning each change id (`ids` sorted).

    Nothing indexes `first_change`/`last_change`, so a range join would scan the entries once per
    change. Instead one pass reads the bounds of the entries spanning the ids, each matched by
    bisection, and only the owners' own fields are then read, by primary key.
    """
    if not ids:
        return {}
    owner: dict[int, int] = {}
    spans = select(HistoryEntry.id, HistoryEntry.first_change, HistoryEntry.last_change).where(
        HistoryEntry.last_change >= ids[0], HistoryEntry.first_change <= ids[-1])
    for entry_id, first, last in session.execute(spans):
        k = bisect_left(ids, first)
        while k < len(ids) and ids[k] <= last:
            owner[ids[k]] = int(entry_id)
            k += 1
    entries: dict[int, tuple[datetime, str, str]] = {}
    wanted = sorted(set(owner.values()))
    for start in range(0, len(wanted), CHUNK):
        query = select(HistoryEntry.id, HistoryEntry.at, HistoryEntry.actor, HistoryEntry.source).where(
            HistoryEntry.id.in_(wanted[start:start + CHUNK]))
        for entry_id, at, actor, source in session.execute(query):
            entries[int(entry_id)] = (at, actor, source)
    return {change_id: entries[entry_id] for change_id, entry_id in owner.items() if entry_id in entries}


class _Parsed:
    """Images read once: a row's update's `before` is the text of its previous change's `after`."""

    def __init__(self) -> None:
        self.images: dict[str, dict[str, Any]] = {}
        self.columns = {entity: [c for c in TABLES[entity].__table__.c.keys() if c not in _QUIET]
                        for entity in ("datasets", "models")}

    def image(self, text: str) -> dict[str, Any]:
        found = self.images.get(text)
        if found is None:
            found = self.images[text] = json.loads(text)
        return found

    def changed(self, entity: str, op: str, before: str | None, after: str | None) -> list[str]:
        """The fields an update changed, in column order. Both images come from one trigger call, in
        one format, so comparing their JSON values is comparing the values (no `decode` needed)."""
        if op != "update" or not before or not after:
            return []
        old, new = self.image(before), self.image(after)
        return [c for c in self.columns[entity] if old.get(c) != new.get(c)]
