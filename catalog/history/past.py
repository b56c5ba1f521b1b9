"""The catalog as it stood at a moment: the lineage rows rebuilt from the history's row images.

A moment is turned into the newest audit entry sealed by then; every tracked row's state is its
newest change up to that entry's last change (a delete means it was gone). A moment at or after the
newest entry is the present, answered from the live tables as before, so `--as-of` on today costs
one indexed look-up more than no `--as-of` at all. A moment before the first entry (when the store
was created, or upgraded to keep history) is refused: the store cannot say what it did not know.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Interval, func, select
from sqlalchemy.orm import Session

from catalog.errors import BeforeHistory
from catalog.lineage_rows import COLUMN_COLUMNS, COLUMNS, TABLES, ColumnRows, Derivations, LineageRows
from catalog.schema import HistoryChange, HistoryEntry, UTCDateTime


def history_span(session: Session) -> tuple[datetime | None, datetime | None]:
    """When the store's history begins, and its newest entry (None, None without a trail)."""
    first, newest = session.execute(select(func.min(HistoryEntry.at), func.max(HistoryEntry.at))).one()
    return first, newest


def covered_until(session: Session, moment: datetime) -> tuple[int, int] | None:
    """(last change, revision) of the newest entry sealed by `moment`; None when that is the newest of all."""
    first, newest = session.execute(select(func.min(HistoryEntry.at), func.max(HistoryEntry.at))).one()
    if first is None:
        return None  # a store without a trail (cannot happen after migration 0008): the present
    if moment < first:
        raise BeforeHistory(f"the store's history begins at {first:%Y-%m-%d %H:%M:%S} UTC; it cannot say what the "
                            f"catalog held at {moment:%Y-%m-%d %H:%M:%S} UTC")
    if moment >= newest:
        return None
    row = session.execute(select(HistoryEntry.last_change, HistoryEntry.revision).where(HistoryEntry.at <= moment)
                          .order_by(HistoryEntry.id.desc()).limit(1)).one()
    return int(row.last_change), int(row.revision)


def images_at(session: Session, entities: list[str], until: int) -> dict[str, dict[str, dict[str, Any]]]:
    """Per table, per row id, the row's image after its last change up to change `until` (gone rows left out)."""
    last = (select(HistoryChange.entity, HistoryChange.row_id, func.max(HistoryChange.id).label("id"))
            .where(HistoryChange.id <= until, HistoryChange.entity.in_(entities))
            .group_by(HistoryChange.entity, HistoryChange.row_id).subquery())
    query = (select(HistoryChange.entity, HistoryChange.row_id, HistoryChange.op, HistoryChange.after)
             .join(last, HistoryChange.id == last.c.id))
    found: dict[str, dict[str, dict[str, Any]]] = {entity: {} for entity in entities}
    for entity, row_id, op, after in session.execute(query):
        if op != "delete" and after is not None:
            found[entity][row_id] = json.loads(after)
    return found


def rows_at(session: Session, moment: datetime) -> LineageRows | None:
    """The lineage rows as they stood at `moment`; None when that is the present (read the live tables)."""
    covered = covered_until(session, moment)
    if covered is None:
        return None
    until, revision = covered
    images = images_at(session, [*TABLES, "dataset_columns", "column_flows"], until)
    dialect = session.get_bind().dialect.name
    tables = {name: [decode(TABLES[name], image, COLUMNS[name], dialect) for _, image in
                     sorted(images[name].items(), key=lambda item: int(item[0]))] for name in TABLES}
    datasets = {row["id"] for row in tables["datasets"]}
    models = {row["id"] for row in tables["models"]}
    jobs = {row["id"] for row in tables["jobs"]}
    # rows whose other end was gone at that moment cannot be: a cascade deletes them with it
    tables["derivations"] = [r for r in tables["derivations"] if {r["input_id"], r["output_id"]} <= datasets]
    for row in tables["derivations"]:
        if row["job_id"] not in jobs:
            row["job_id"] = None
    tables["feeds"] = [r for r in tables["feeds"] if r["dataset_id"] in datasets and r["model_id"] in models]
    tables["incidents"] = [r for r in tables["incidents"] if r["dataset_id"] in datasets]
    for row in tables["models"]:
        if row.get("base_model_id") not in models:
            row["base_model_id"] = None
    as_tuples = {name: [tuple(row[column] for column in COLUMNS[name]) for row in rows] for name, rows in tables.items()}
    as_tuples["derivations"] = Derivations.from_rows(as_tuples["derivations"])  # type: ignore[assignment]
    return LineageRows(revision=revision, columns=_column_rows(images, tables, datasets, dialect),
                       **as_tuples)  # type: ignore[arg-type]


def _column_rows(images: dict[str, dict[str, dict[str, Any]]], tables: dict[str, list[dict[str, Any]]],
                 datasets: set[int], dialect: str) -> ColumnRows:
    """The column-level rows at that moment, from the same images (a dataset's gone, its columns too)."""
    from catalog.schema import Feed
    from catalog.schema_columns import ColumnFlow, DatasetColumn

    def rows(table: Any, entity: str, keep: Any) -> list[tuple[Any, ...]]:
        decoded = [decode(table, image, COLUMN_COLUMNS[entity], dialect)
                   for _, image in sorted(images[entity].items(), key=lambda item: int(item[0]))]
        return [tuple(row[c] for c in COLUMN_COLUMNS[entity]) for row in decoded if keep(row)]

    features = [(feed["dataset_id"], feed["model_id"], feed["features"])
                for feed in (decode(Feed, image, ["dataset_id", "model_id", "features"], dialect)
                             for _, image in sorted(images["feeds"].items(), key=lambda item: int(item[0])))
                if feed["features"]]
    kept = {(r["dataset_id"], r["model_id"]) for r in tables["feeds"]}
    return ColumnRows(
        dataset_columns=rows(DatasetColumn, "dataset_columns", lambda r: r["dataset_id"] in datasets),
        column_flows=rows(ColumnFlow, "column_flows", lambda r: {r["input_id"], r["output_id"]} <= datasets),
        features=[f for f in features if (f[0], f[1]) in kept])


# --- images back to Python values ------------------------------------------------------------------------

_EPOCH = datetime(1970, 1, 1)
_ISO_DURATION = re.compile(r"(-)?P(?:(-?\d+)Y)?(?:(-?\d+)M)?(?:(-?\d+)W)?(?:(-?\d+)D)?"
                           r"(?:T(?:(-?\d+)H)?(?:(-?\d+)M)?(?:(-?\d+(?:\.\d+)?)S)?)?")


def decode(table: Any, image: dict[str, Any], columns: list[str], dialect: str) -> dict[str, Any]:
    """An image's values as the ORM reads them from the live table (times aware, durations timedelta)."""
    types = table.__table__.c
    return {name: _value(types[name].type, image.get(name), dialect) for name in columns}


def _value(kind: Any, value: Any, dialect: str) -> Any:
    if value is None:
        return [] if isinstance(kind, JSON) else None
    if isinstance(kind, UTCDateTime):
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    if isinstance(kind, Interval):
        return _interval(value, dialect)
    if isinstance(kind, Date):
        return date.fromisoformat(value[:10])
    if isinstance(kind, Boolean):
        return bool(value)
    return value


def _interval(value: Any, dialect: str) -> timedelta:
    """SQLite keeps a duration as the moment that long after 1970-01-01; PostgreSQL writes ISO 8601
    (the trigger function pins IntervalStyle)."""
    if dialect == "sqlite":
        return datetime.fromisoformat(value) - _EPOCH
    match = _ISO_DURATION.fullmatch(value)
    if match is None:
        raise ValueError(f"unreadable duration in the history: {value!r}")
    sign, years, months, weeks, days, hours, minutes, seconds = match.groups()
    total = timedelta(days=365 * int(years or 0) + 30 * int(months or 0) + 7 * int(weeks or 0) + int(days or 0),
                      hours=int(hours or 0), minutes=int(minutes or 0), seconds=float(seconds or 0))
    return -total if sign else total
