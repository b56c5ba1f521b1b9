"""Writing column-level lineage: a dataset's columns and the column flows into it, per source.

Each writer (a catalog file, OpenLineage, dbt, a check run) replaces what it declared and leaves the
rest alone, as derivations do. A column is one row per (dataset, name) whatever its source: a catalog
file's declaration takes the row over (the file is the declaration of record), while any other source
only fills in what another's row does not say yet (a type, a description, classifications from dbt's
`meta`), so two pipelines describing one column do not take it back and forth.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update

from catalog.bulk import Bulk, chunks
from catalog.schema import utcnow
from catalog.schema_columns import ColumnFlow, DatasetColumn


@dataclass(frozen=True)
class ColumnValues:
    name: str
    type: str | None = None
    description: str | None = None
    classifications: tuple[str, ...] = ()
    position: int | None = None


FlowValues = tuple[int, str, str, str, str | None, bool]  # input id, input column, output column, kind, subtype, masking


def trimmed(bulk: Bulk, table: Any, wanted: dict[int, list[Any]], *, source: str) -> dict[int, list[Any]]:
    """`wanted` without its empty entries when the store holds no row of `table` from `source`: a
    catalog of 100,000 datasets without columns then costs one query, not one per chunk of datasets."""
    if all(wanted.values()):
        return wanted
    held = bulk.session.execute(select(table.id).where(table.source == source).limit(1)).first()
    return wanted if held is not None else {key: rows for key, rows in wanted.items() if rows}


def replace_columns(bulk: Bulk, wanted: dict[int, list[ColumnValues]], *, source: str) -> set[int]:
    """Make each dataset's columns from `source` exactly `wanted[dataset]`; the datasets that changed.

    `source` "catalog" takes over a row another source wrote; any other source fills only the empty
    type, description, classifications and position of a row another source wrote."""
    session = bulk.session
    stored: dict[int, dict[str, Any]] = {dataset: {} for dataset in wanted}
    query = select(DatasetColumn.id, DatasetColumn.dataset_id, DatasetColumn.name, DatasetColumn.type,
                   DatasetColumn.description, DatasetColumn.classifications, DatasetColumn.position,
                   DatasetColumn.source)
    for chunk in chunks(sorted(wanted)):
        for row in session.execute(query.where(DatasetColumn.dataset_id.in_(chunk))):
            stored[row.dataset_id][row.name] = row
    now = utcnow()
    new, updates, stale = [], [], []
    changed: set[int] = set()
    for dataset, columns in wanted.items():
        here = stored[dataset]
        names = {c.name for c in columns}
        gone = [row.id for name, row in here.items() if row.source == source and name not in names]
        if gone:
            stale.extend(gone)
            changed.add(dataset)
        for column in columns:
            row = here.get(column.name)
            values = {"type": column.type, "description": column.description,
                      "classifications": list(column.classifications), "position": column.position}
            if row is None:
                new.append({"dataset_id": dataset, "name": column.name, "source": source, **values,
                            "created_at": now, "updated_at": now})
                changed.add(dataset)
                continue
            if source != "catalog" and row.source != source:  # another's row: fill in only what it lacks
                values = {"type": row.type or column.type, "description": row.description or column.description,
                          "classifications": list(row.classifications or ()) or list(column.classifications),
                          "position": row.position if row.position is not None else column.position}
                keep_source = row.source
            else:
                keep_source = source
            current = {"type": row.type, "description": row.description,
                       "classifications": list(row.classifications or ()), "position": row.position}
            if current != values or row.source != keep_source:
                updates.append({"_id": row.id, **values, "source": keep_source, "updated_at": now})
                changed.add(dataset)
    for chunk in chunks(sorted(stale)):
        session.execute(delete(DatasetColumn).where(DatasetColumn.id.in_(chunk)))
    table = DatasetColumn.__table__
    if updates:
        statement = update(table).where(table.c.id == _bind("_id")).values(
            {name: _bind(name) for name in ("type", "description", "classifications", "position", "source",
                                             "updated_at")})
        session.connection().execute(statement, updates)
    if new:
        session.connection().execute(insert(table), new)
    if changed:
        bulk.writer.changed = True
    return changed


def replace_flows(bulk: Bulk, wanted: dict[int, Iterable[FlowValues]], *, source: str) -> set[int]:
    """Make the column flows from `source` into each output dataset exactly `wanted[output]`."""
    session = bulk.session
    stored: dict[int, dict[FlowValues, int]] = {output: {} for output in wanted}
    query = select(ColumnFlow.id, ColumnFlow.output_id, ColumnFlow.input_id, ColumnFlow.input_column,
                   ColumnFlow.output_column, ColumnFlow.kind, ColumnFlow.subtype, ColumnFlow.masking)
    for chunk in chunks(sorted(wanted)):
        rows = session.execute(query.where(ColumnFlow.output_id.in_(chunk), ColumnFlow.source == source))
        for row in rows:
            key = (row.input_id, row.input_column, row.output_column, row.kind, row.subtype, bool(row.masking))
            stored[row.output_id][key] = row.id
    now = utcnow()
    new, stale = [], []
    changed: set[int] = set()
    for output, flows in wanted.items():
        flows = list(dict.fromkeys(flows))  # in the order declared: a GET shows them so
        here = stored[output]
        gone = [i for key, i in here.items() if key not in set(flows)]
        added = [key for key in flows if key not in here]
        if gone or added:
            changed.add(output)
        stale.extend(gone)
        new.extend({"output_id": output, "input_id": i, "input_column": ic, "output_column": oc, "kind": kind,
                    "subtype": subtype, "masking": masking, "source": source, "created_at": now, "updated_at": now}
                   for i, ic, oc, kind, subtype, masking in added)
    for chunk in chunks(sorted(stale)):
        session.execute(delete(ColumnFlow).where(ColumnFlow.id.in_(chunk)))
    if new:
        session.connection().execute(insert(ColumnFlow.__table__), new)
    if changed:
        bulk.writer.changed = True
    return changed


def _bind(name: str) -> Any:
    from sqlalchemy import bindparam

    return bindparam(name)
