"""What the lineage graph is built from: plain rows of the six tables, read in one transaction.

One list of columns per table, so the graph of the present (`read_lineage_rows`) and the graph of a
past moment (`catalog.history.past`, from the history's row images) are built from the same fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from catalog.schema import Dataset, Derivation, Feed, Incident, Job, Model, StoreRevision

_OUT_OF_THE_GRAPH = {"created_at", "updated_at", "facets", "field_sources"}  # kept in the store only

TABLES: dict[str, Any] = {"datasets": Dataset, "jobs": Job, "models": Model, "derivations": Derivation,
                          "feeds": Feed, "incidents": Incident}
COLUMNS: dict[str, list[str]] = {
    "datasets": [c.name for c in Dataset.__table__.columns if c.name not in _OUT_OF_THE_GRAPH],
    "jobs": ["id", "namespace", "name", "description"],
    "models": [c.name for c in Model.__table__.columns if c.name not in _OUT_OF_THE_GRAPH],
    "derivations": ["input_id", "output_id", "job_id", "source"],
    "feeds": ["dataset_id", "model_id", "role", "fingerprint", "consumed_at"],
    "incidents": ["dataset_id", "kind", "opened", "resolved", "note", "effective_from", "due"],
}


@dataclass
class LineageRows:
    revision: int
    datasets: list[dict[str, Any]]
    jobs: list[dict[str, Any]]
    models: list[dict[str, Any]]
    derivations: list[dict[str, Any]]
    feeds: list[dict[str, Any]]
    incidents: list[dict[str, Any]]


def read_lineage_rows(connection: Connection) -> LineageRows:
    """The rows as they are now (call inside a transaction, so they agree with each other)."""
    tables = {}
    for name, table in TABLES.items():
        keys = COLUMNS[name]
        query = select(*(table.__table__.c[column] for column in keys))
        if name == "derivations":
            # integers and text only, which the driver returns as they are: a million rows without
            # SQLAlchemy's per-row processing take a third of the time
            result = connection.exec_driver_sql(str(query.compile(connection)))
        else:
            result = connection.execute(query)
        tables[name] = [dict(zip(keys, row, strict=True)) for row in result]
    return LineageRows(revision=int(connection.execute(select(StoreRevision.revision)).scalar_one()), **tables)
