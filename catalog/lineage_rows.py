"""What the lineage graph is built from: plain rows of the six tables, read in one transaction.

One list of columns per table, so the graph of the present (`read_lineage_rows`) and the graph of a
past moment (`catalog.history.past`, from the history's row images) are built from the same fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, case, func, select

from catalog.schema import Dataset, Derivation, Feed, HistoryChange, Incident, Job, Model, StoreRevision
from catalog.schema_columns import ColumnFlow, DatasetColumn

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


# Column-level lineage (issue 21), in rows of their own: most stores have none, and the graph build
# stays as fast without it.
COLUMN_TABLES: dict[str, Any] = {"dataset_columns": DatasetColumn, "column_flows": ColumnFlow, "features": Feed}
COLUMN_COLUMNS: dict[str, list[str]] = {
    "dataset_columns": ["dataset_id", "name", "type", "description", "classifications", "position", "source"],
    "column_flows": ["input_id", "input_column", "output_id", "output_column", "kind", "subtype", "masking", "source"],
    "features": ["dataset_id", "model_id", "features"],
}


@dataclass
class ColumnRows:
    """Columns, column flows and feed features, as tuples in `COLUMN_COLUMNS` order (decoded)."""

    dataset_columns: list[tuple[Any, ...]] = field(default_factory=list)
    column_flows: list[tuple[Any, ...]] = field(default_factory=list)
    features: list[tuple[Any, ...]] = field(default_factory=list)  # only feeds that name their features

    def __bool__(self) -> bool:
        return bool(self.dataset_columns or self.column_flows or self.features)


def read_column_rows(connection: Connection) -> ColumnRows:
    """The column-level rows as they are now (in the transaction that reads the lineage rows)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for name, table in COLUMN_TABLES.items():
        columns = [table.__table__.c[column] for column in COLUMN_COLUMNS[name]]
        query = select(*columns)
        if name == "features":
            query = query.where(Feed.features.is_not(None))
        found[name] = [tuple(row) for row in connection.execute(query.order_by(table.__table__.c.id))]
    return ColumnRows(**found)


@dataclass
class LineageRows:
    """Each table's rows as tuples, in `COLUMNS[table]` order: a million derivations as dicts held
    half a gigabyte while the graph was built from them, and the build reads them by position."""

    revision: int
    datasets: list[tuple[Any, ...]]
    jobs: list[tuple[Any, ...]]
    models: list[tuple[Any, ...]]
    derivations: "Derivations"
    feeds: list[tuple[Any, ...]]
    incidents: list[tuple[Any, ...]]
    columns: ColumnRows = field(default_factory=ColumnRows)
    # per table, the processors still to apply to its raw rows (`decode` or `lineage.row_attrs`);
    # a table not named here came decoded
    decoders: dict[str, list[Any]] = field(default_factory=dict)

    def decoded(self, table: str) -> list[tuple[Any, ...]]:
        """A table's rows with every value as a normal query returns it."""
        rows = self.derivations.rows() if table == "derivations" else getattr(self, table)
        decoders = self.decoders.get(table)
        if decoders is None:
            return rows
        return [tuple(v if d is None else d(v) for v, d in zip(row, decoders, strict=True)) for row in rows]

    def records(self, table: str) -> list[dict[str, Any]]:
        """A table's rows as dicts keyed by column (for readers that want names, not speed)."""
        return [dict(zip(COLUMNS[table], row, strict=True)) for row in self.decoded(table)]


@dataclass
class Derivations:
    """The derivations table as four numpy columns (`job_id` -1 where there is none, `source` a code
    into `sources`): the largest table by far, and the graph build works on it with numpy anyway."""

    input_id: Any
    output_id: Any
    job_id: Any
    source: Any
    sources: list[str]

    def __len__(self) -> int:
        return len(self.input_id)

    @classmethod
    def from_rows(cls, rows: list[tuple[Any, ...]]) -> "Derivations":
        import numpy as np

        codes: dict[str, int] = {}
        columns = [np.array([row[i] for row in rows], dtype=np.int64) for i in (0, 1)]
        jobs = np.array([-1 if row[2] is None else row[2] for row in rows], dtype=np.int64)
        source = np.array([codes.setdefault(row[3], len(codes)) for row in rows], dtype=np.int64)
        return cls(columns[0], columns[1], jobs, source, list(codes))

    def rows(self) -> list[tuple[Any, ...]]:
        return [(i, o, None if j < 0 else j, self.sources[s]) for i, o, j, s in
                zip(self.input_id.tolist(), self.output_id.tolist(), self.job_id.tolist(), self.source.tolist())]


def read_present_rows(engine: Engine) -> LineageRows:
    """The rows as they are now, the derivations read on a second connection meanwhile.

    The derivations are most of the read (0.75 s of 1.6 s on the reference catalog), and the
    database does that work with the GIL released, while this thread turns the other tables into
    Python rows. The two reads are two transactions, so they are kept only when both saw the same
    snapshot: the same store revision and newest history change (every write moves the revision).
    When a write landed between the two, everything is read again in one transaction.
    """
    if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return _in_one_transaction(engine)  # one shared connection: nothing to read beside it
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="headwater-derivations") as pool:
        beside = pool.submit(_marked_derivations, engine)
        with _snapshot(engine) as connection:
            mark = _snapshot_mark(connection)
            rows = read_lineage_rows(connection, derivations=False)
        their_mark, derivations = beside.result()
    if their_mark != mark:
        return _in_one_transaction(engine)
    rows.derivations = derivations
    return rows


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A read transaction that sees one snapshot throughout: SQLite's always does from its first
    read; PostgreSQL's default (READ COMMITTED) takes a new one per statement, so a write committed
    between two of the reads could give a derivation whose dataset was not read."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            yield connection


def _in_one_transaction(engine: Engine) -> LineageRows:
    with _snapshot(engine) as connection:
        return read_lineage_rows(connection)


def _marked_derivations(engine: Engine) -> tuple[tuple[Any, ...], "Derivations"]:
    with _snapshot(engine) as connection:
        mark = _snapshot_mark(connection)
        columns = [Derivation.__table__.c[column] for column in COLUMNS["derivations"]]
        return mark, _derivations(connection, select(*columns))


def _snapshot_mark(connection: Connection) -> tuple[Any, ...]:
    """What tells two snapshots apart (read first, it fixes the snapshot): the revision and the newest history change."""
    newest_change = select(func.max(HistoryChange.__table__.c.id)).scalar_subquery()
    return tuple(connection.execute(select(StoreRevision.revision, newest_change)).one())


def read_lineage_rows(connection: Connection, *, derivations: bool = True) -> LineageRows:
    """The rows as they are now (call inside a transaction, so they agree with each other).

    `derivations=False` leaves them out (an empty placeholder) for `read_present_rows` to fill in."""
    tables: dict[str, Any] = {}
    decoders: dict[str, list[Any]] = {}
    for name, table in TABLES.items():
        columns = [table.__table__.c[column] for column in COLUMNS[name]]
        query = select(*columns)
        if name == "derivations":
            tables[name] = _derivations(connection, query) if derivations else Derivations.from_rows([])
        elif name in _DECODED_LATER:
            # as the driver returns them; the graph decodes a node's row when a typed field is read
            tables[name] = _driver_rows(connection, query)
            decoders[name] = decoders_for(columns, connection.dialect)
        else:
            tables[name] = _decode(_driver_rows(connection, query), decoders_for(columns, connection.dialect))
    return LineageRows(revision=int(connection.execute(select(StoreRevision.revision)).scalar_one()),
                       decoders=decoders, columns=read_column_rows(connection), **tables)


_DECODED_LATER = {"datasets"}


def _driver_rows(connection: Connection, query: Any) -> list[tuple[Any, ...]]:
    """All rows as the driver's own tuples, fetched at once: SQLAlchemy's row objects, fetched one
    by one, cost a second on the reference catalog's 270,000 rows of these tables."""
    result = connection.exec_driver_sql(str(query.compile(connection)))
    try:
        return [tuple(row) for row in result.cursor.fetchall()]
    finally:
        result.close()


def _decode(rows: list[tuple[Any, ...]], decoders: list[Any]) -> list[tuple[Any, ...]]:
    """`rows` with SQLAlchemy's result processors applied, only to the columns that have one."""
    active = [(i, d) for i, d in enumerate(decoders) if d is not None]
    if not active or not rows:
        return rows
    decoded = []
    for row in rows:
        values = list(row)
        for i, d in active:
            values[i] = d(values[i])
        decoded.append(tuple(values))
    return decoded


def decoders_for(columns: list[Any], dialect: Any) -> list[Any]:
    """The result processors SQLAlchemy applies to each column's raw driver value on this dialect
    (None where the value is used as it is): applied later, they give what the query would have."""
    return [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]


def _derivations(connection: Connection, query: Any) -> Derivations:
    """On SQLite, each column comes back as one text of fixed-width hex numbers (`group_concat` of
    `printf('%016x')`, all columns in one pass, so in the same row order), which numpy reads as it
    is: a million rows as Python tuples cost most of a second of the graph build, the texts a third
    of that. Elsewhere, or with many distinct sources, rows as the driver returns them (integers and
    text only: no SQLAlchemy processing needed)."""
    import numpy as np

    if connection.dialect.name == "sqlite":
        sources = list(connection.execute(select(Derivation.source).distinct()).scalars())
        if not sources:
            return Derivations.from_rows([])
        if len(sources) <= _SOURCES_AS_CODES and None not in sources:
            code = case({value: i for i, value in enumerate(sources)}, value=Derivation.source, else_=-1)
            hexed = [func.group_concat(func.printf("%016x", column), "") for column in
                     (Derivation.input_id, Derivation.output_id, func.coalesce(Derivation.job_id, -1), code)]
            count, *texts = connection.execute(select(func.count(), *hexed)).one()
            if not count:
                return Derivations.from_rows([])
            columns = [np.frombuffer(bytes.fromhex(text), dtype=">i8").astype(np.int64) for text in texts]
            if any(len(column) != count for column in columns):
                raise RuntimeError("derivations read back with a different row count per column")
            return Derivations(*columns, sources=sources)
    return Derivations.from_rows(_driver_rows(connection, query))


_SOURCES_AS_CODES = 32
