"""One node's history: its own row's changes and those of the rows about it (its feeds, derivations
and incidents), newest first, each with who, when, through what, and a field-level difference.

A node deleted long ago still has a history: it is found by the key in its row images, not in the
live table. Related rows are found by scanning their images for the node's id: an audit question,
paid for when asked rather than by an index every write would have to keep.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import BigInteger, cast, func, or_, select
from sqlalchemy.dialects.postgresql import JSONB  # a type object: no driver needed
from sqlalchemy.orm import Session

from catalog.durations import format_duration
from catalog.errors import AmbiguousName, NotFound
from catalog.history.past import decode
from catalog.ids import NodeId, node_id
from catalog.schema import Dataset, Derivation, Feed, HistoryChange, HistoryEntry, Incident, Job, Model, Setting
from catalog.schema_columns import ColumnFlow, DatasetColumn

TABLES: dict[str, Any] = {"datasets": Dataset, "models": Model, "jobs": Job, "feeds": Feed, "derivations": Derivation,
                          "incidents": Incident, "settings": Setting, "dataset_columns": DatasetColumn,
                          "column_flows": ColumnFlow}
# bookkeeping, not what anyone changed (`catalog_line` moves when lines are added above an entry)
_QUIET = {"id", "updated_at", "created_at", "skeleton", "field_sources", "catalog_line"}
# the rows about a node, by the column that points at it
_ABOUT = {"dataset": {"feeds": ["dataset_id"], "derivations": ["input_id", "output_id"], "incidents": ["dataset_id"],
                      "dataset_columns": ["dataset_id"], "column_flows": ["input_id", "output_id"]},
          "model": {"feeds": ["model_id"], "models": ["base_model_id"]}}  # models: versions fine-tuned from it


class FieldChange(BaseModel):
    before: Any = None
    after: Any = None


class ChangeRecord(BaseModel):
    entry: int
    at: datetime
    actor: str
    source: str
    detail: dict[str, Any]
    entity: str  # the table: datasets, feeds, ...
    row: str  # what the row is, in words: the node itself, or "feed (training) -> model:..."
    op: str  # created | updated | deleted | recorded (already there when history began)
    fields: dict[str, FieldChange]


class NodeHistory(BaseModel):
    node: str
    exists: bool
    changes: list[ChangeRecord]


def find_node(session: Session, reference: str, kind: str | None = None) -> NodeId:
    """The dataset or model a reference names, in the store or only in its history (deleted since):
    an id, `NAMESPACE:NAME[@VERSION]` with `kind`, or a bare name that one node has had."""
    try:
        return NodeId.parse(reference, kind)  # type: ignore[arg-type]  # kind is a Kind or None
    except ValueError:
        if ":" in reference and kind is None and reference.partition(":")[0] in ("dataset", "model"):
            raise NotFound(f"{reference!r} is not a dataset or model id") from None
    name, _, version = reference.rpartition("@") if "@" in reference else (reference, "", "")
    dialect = session.get_bind().dialect.name
    found: set[str] = set()
    for entity, node_kind in (("datasets", "dataset"), ("models", "model")):
        if kind not in (None, node_kind) or (version and node_kind == "dataset"):
            continue
        query = select(_field("namespace", dialect)).where(HistoryChange.entity == entity,
                                                            _field("name", dialect) == name).distinct()
        found |= {node_id(node_kind, namespace, name, version or None) for namespace in session.scalars(query)}
    if not found:
        raise NotFound(f"no dataset or model named {reference!r} in the store or its history")
    if len(found) > 1:
        raise AmbiguousName(reference, sorted(found))
    return NodeId.parse(found.pop())


def node_history(session: Session, reference: NodeId, *, since: datetime | None = None,
                 limit: int = 200) -> NodeHistory:
    """The changes about `reference` (a dataset, a model version, or every version of a model named
    without one), newest first, at most `limit`."""
    entity = "datasets" if reference.kind == "dataset" else "models"
    ids = _row_ids(session, entity, reference)
    if not ids:
        raise NotFound(f"no {reference.kind} {reference.qualified} in the store or its history")
    dialect = session.get_bind().dialect.name
    own = (HistoryChange.entity == entity) & HistoryChange.row_id.in_([str(i) for i in ids])
    related = [(HistoryChange.entity == table) & or_(*[_points_at(column, ids, dialect) for column in columns])
               for table, columns in _ABOUT[reference.kind].items()]
    query = (select(HistoryChange, HistoryEntry).join(HistoryEntry, HistoryChange.id.between(
        HistoryEntry.first_change, HistoryEntry.last_change)).where(or_(own, *related)))
    if since is not None:
        query = query.where(HistoryEntry.at >= since)
    rows = session.execute(query.order_by(HistoryChange.id.desc()).limit(limit)).all()
    lives = _lives(session, entity, reference, ids)
    rows = [(change, entry) for change, entry in rows if any(first <= change.id <= last for first, last in lives)]
    names = _Names(session, dialect)
    records = [_record(change, entry, names, entity, ids, dialect) for change, entry in rows]
    records = [r for r in records if r.op != "updated" or r.fields]  # only bookkeeping moved
    live = session.scalar(select(func.count()).select_from(TABLES[entity]).where(TABLES[entity].id.in_(ids)))
    return NodeHistory(node=str(reference), exists=bool(live), changes=records)


def _lives(session: Session, entity: str, reference: NodeId, ids: list[int]) -> list[tuple[int, int]]:
    """The spans of change ids in which the node's rows were the node's. SQLite gives a new row the
    id of a deleted last one, so changes under that id, before its birth or after its death, are
    another row's: theirs, and their feeds', are left out."""
    spans: list[tuple[int, int]] = []
    query = (select(HistoryChange.id, HistoryChange.op, HistoryChange.after, HistoryChange.before)
             .where(HistoryChange.entity == entity, HistoryChange.row_id.in_([str(i) for i in ids]))
             .order_by(HistoryChange.row_id, HistoryChange.id))
    born: int | None = None
    for change_id, op, after, before in session.execute(query):
        image = json.loads(after or before)
        ours = (image.get("namespace"), image.get("name")) == (reference.namespace, reference.name) and (
            reference.kind != "model" or reference.version is None or image.get("version") == reference.version)
        if op in ("insert", "baseline"):
            born = change_id if ours else None
        elif op == "delete" and born is not None:  # its end: the whole transaction, cascades included
            end = session.scalar(select(HistoryEntry.last_change).where(HistoryEntry.first_change <= change_id,
                                                                        HistoryEntry.last_change >= change_id))
            spans.append((born, end or change_id))
            born = None
        elif born is None and ours:  # renamed into the node's name (an update): its life begins here
            born = change_id
    if born is not None:
        spans.append((born, 2**62))
    return spans


def _row_ids(session: Session, entity: str, reference: NodeId) -> list[int]:
    """The row ids the node has had (a dataset deleted and created again has two)."""
    dialect = session.get_bind().dialect.name
    wanted = [_field("namespace", dialect) == reference.namespace, _field("name", dialect) == reference.name]
    if reference.kind == "model" and reference.version is not None:
        wanted.append(_field("version", dialect) == reference.version)
    found = session.scalars(select(HistoryChange.row_id).where(HistoryChange.entity == entity, *wanted).distinct())
    return sorted(int(i) for i in found)


def _image() -> Any:
    return func.coalesce(HistoryChange.after, HistoryChange.before)


def _field(name: str, dialect: str) -> Any:
    if dialect == "postgresql":
        return cast(_image(), JSONB)[name].astext
    return func.json_extract(_image(), f"$.{name}")


def _points_at(column: str, ids: list[int], dialect: str) -> Any:
    if dialect == "postgresql":
        return cast(cast(_image(), JSONB)[column].astext, BigInteger).in_(ids)
    return func.json_extract(_image(), f"$.{column}").in_(ids)


class _Names:
    """Node ids for the row ids a related row points at, from their newest images."""

    def __init__(self, session: Session, dialect: str) -> None:
        self.session, self.dialect = session, dialect
        self.known: dict[tuple[str, int], str] = {}

    def of(self, entity: str, row_id: int | None) -> str:
        if row_id is None:
            return "?"
        key = (entity, row_id)
        if key not in self.known:
            text = self.session.scalar(select(_image()).where(
                HistoryChange.entity == entity, HistoryChange.row_id == str(row_id)).order_by(HistoryChange.id.desc())
                .limit(1))
            image = json.loads(text) if text else {}
            kind = "dataset" if entity == "datasets" else "model"
            self.known[key] = node_id(kind, image.get("namespace", "?"), image.get("name", "?"),
                                      image.get("version") if kind == "model" else None)
        return self.known[key]


def _record(change: HistoryChange, entry: HistoryEntry, names: _Names, entity: str, ids: list[int],
            dialect: str) -> ChangeRecord:
    table = TABLES[change.entity]
    before = json.loads(change.before) if change.before else {}
    after = json.loads(change.after) if change.after else {}
    columns = [c for c in dict.fromkeys([*before, *after]) if c not in _QUIET and c in table.__table__.c]
    old = decode(table, before, columns, dialect) if before else {}
    new = decode(table, after, columns, dialect) if after else {}
    fields = {c: FieldChange(before=_shown(old.get(c)), after=_shown(new.get(c))) for c in columns
              if change.op in ("insert", "baseline", "delete") or old.get(c) != new.get(c)}
    if change.op in ("insert", "baseline", "delete"):
        fields = {c: f for c, f in fields.items() if f.before not in (None, [], {}) or f.after not in (None, [], {})}
    image = after or before
    return ChangeRecord(entry=entry.id, at=entry.at, actor=entry.actor, source=entry.source, detail=entry.detail or {},
                        entity=change.entity, row=_describe(change.entity, image, names, entity, ids),
                        op={"insert": "created", "update": "updated", "delete": "deleted",
                            "baseline": "recorded"}[change.op], fields=fields)


def _describe(table: str, image: dict[str, Any], names: _Names, entity: str, ids: list[int]) -> str:
    if table == entity and image.get("id") in ids:
        return "itself"
    if table == "feeds":
        return (f"feed ({image.get('role')}): {names.of('datasets', image.get('dataset_id'))} -> "
                f"{names.of('models', image.get('model_id'))}")
    if table == "derivations":
        return (f"derivation: {names.of('datasets', image.get('input_id'))} -> "
                f"{names.of('datasets', image.get('output_id'))}")
    if table == "incidents":
        return f"incident ({image.get('kind')}) on {names.of('datasets', image.get('dataset_id'))}"
    if table == "dataset_columns":
        return f"column {image.get('name')} of {names.of('datasets', image.get('dataset_id'))}"
    if table == "column_flows":
        output = image.get("output_column") or "(every row)"
        return (f"column flow ({str(image.get('kind')).lower()}): {names.of('datasets', image.get('input_id'))}."
                f"{image.get('input_column')} -> {names.of('datasets', image.get('output_id'))}.{output}")
    if table == "models":
        return f"fine-tuned version {names.of('models', image.get('id'))}"
    return table


def _shown(value: Any) -> Any:
    """A value as JSON shows it: durations in the catalog's own notation, moments and dates in ISO."""
    if isinstance(value, timedelta):
        return format_duration(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value

