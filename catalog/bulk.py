"""Set-at-a-time writes for loads of many rows, inside one `Store.transaction()`.

`Writer`'s upserts look a row up, then add or change it through the ORM: right for an API call that
touches a handful of rows, minutes of round trips for a catalog of 100,000 datasets and a million
edges. `Bulk` does the same upserts a table at a time: one read of what is stored, a comparison in
Python, then Core `update()` / `delete()` statements with many parameter sets each (executemany),
and inserts handed to the driver in bulk (`_insert_plain`: COPY on PostgreSQL). It reports the same
created / updated / unchanged as the per-row path, and marks the writer changed only when something
was written, so the store revision (and every lineage cache) moves exactly when it did before.

A dataset or model another writer created since our read makes the plain INSERT fail with a unique
violation: the transaction rolls back whole and the caller's `catalog.retry` runs it again, which
then reports that row as updated or unchanged, never as created twice (`INSERT ... ON CONFLICT DO
UPDATE` would hide the race and answer 201 to both). Bare jobs, which no one reports on, are
inserted with `ON CONFLICT DO NOTHING`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, tuple_, update

from catalog.changes import Change, Transaction
from catalog.history.triggers import recorded_set_wise
from catalog.ids import Key
from catalog.schema import Derivation, Feed, Incident, Job, Model, utcnow

CHUNK = 1000  # parameters per IN (...) list and rows per executemany call


def key_columns(table: Any) -> tuple[Any, ...]:
    """The columns a row is known by: (namespace, name), and the version too for a model version."""
    if table is Model:
        return (Model.namespace, Model.name, Model.version)
    return (table.namespace, table.name)


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class _Parameters:
    """What a column default's callable is handed in place of Core's execution context: the row."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row

    def get_current_parameters(self, isolate_multiinsert_groups: bool = True) -> dict[str, Any]:
        return self.row


def _bound(given: list[Any], processor: Any) -> list[Any]:
    """`given` as the driver receives them: each distinct value through the column's processor once."""
    if processor is None:
        return given
    memo: dict[Any, Any] = {}
    out: list[Any] = []
    for value in given:
        try:
            found = memo.get(value, memo)
        except TypeError:  # unhashable (a JSON list): processed on its own
            out.append(processor(value))
            continue
        if found is memo:
            found = memo[value] = processor(value)
        out.append(found)
    return out


class Bulk:
    """Bulk upserts on the session of one `Writer`; they set `writer.changed` as its own upserts do."""

    def __init__(self, writer: Transaction) -> None:
        self.writer = writer
        self.session = writer.session
        self.session.flush()  # Core statements below do not autoflush pending ORM objects
        self.dialect = self.session.get_bind().dialect.name

    # --- named rows: datasets, models, jobs ------------------------------------------------------
    def ids(self, table: Any, keys: Iterable[tuple[str, ...]] | None = None) -> dict[Any, int]:
        """key -> id, for `keys` (or every row when None); a key is (namespace, name), and for a
        model version (namespace, name, version)."""
        columns = key_columns(table)
        query = select(table.id, *columns)
        if keys is None:
            return {tuple(row[1:]): row[0] for row in self.session.execute(query)}
        found: dict[Any, int] = {}
        for chunk in chunks(sorted(set(keys))):
            rows = self.session.execute(query.where(tuple_(*columns).in_(chunk)))
            found.update({tuple(row[1:]): row[0] for row in rows})
        return found

    def stored_fields(self, table: Any, keys: Iterable[tuple[str, ...]], names: Iterable[str]) -> dict[Any, dict[str, Any]]:
        """key -> {column: value} of the rows `keys` that exist: what a merge of sources compares with."""
        keyed_by = key_columns(table)
        width = len(keyed_by)
        names = list(names)
        query = select(*keyed_by, *(getattr(table, name) for name in names))
        found: dict[Any, dict[str, Any]] = {}
        for chunk in chunks(sorted(set(keys))):
            for row in self.session.execute(query.where(tuple_(*keyed_by).in_(chunk))):
                found[tuple(row[:width])] = dict(zip(names, row[width:]))
        return found

    def upsert_named(self, table: Any, wanted: dict[Any, dict[str, Any]]) -> tuple[dict[Any, int], dict[Any, Change]]:
        """Make each row `key` hold `fields` (all rows share one set of field names); ids and changes."""
        if not wanted:
            return {}, {}
        names = list(next(iter(wanted.values())))
        columns = [getattr(table, name) for name in names]
        keyed_by = key_columns(table)
        width = len(keyed_by)
        stored: dict[Any, tuple[int, tuple[Any, ...]]] = {}
        query = select(table.id, *keyed_by, *columns)
        keys = sorted(wanted)
        everything = len(keys) > 20 * CHUNK  # a big load reads the table once instead of a thousand IN lists
        for chunk in ([None] if everything else chunks(keys)):
            rows = self.session.execute(query if chunk is None else query.where(tuple_(*keyed_by).in_(chunk)))
            for row in rows:
                stored[tuple(row[1:1 + width])] = (row[0], tuple(row[1 + width:]))
        now = utcnow()
        changes: dict[Any, Change] = {}
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for key, fields in wanted.items():
            values = tuple(fields[name] for name in names)
            have = stored.get(key)
            if have is None:
                inserts.append({**dict(zip((c.key for c in keyed_by), key)), **fields, "created_at": now,
                                "updated_at": now})
                changes[key] = "created"
            elif have[1] != values:
                updates.append({"_id": have[0], **fields, "updated_at": now})
                changes[key] = "updated"
            else:
                changes[key] = "unchanged"
        self._insert(table, inserts)
        self._update(table, [*names, "updated_at"], updates)
        if inserts or updates:
            self.writer.changed = True
        ids = {key: have[0] for key, have in stored.items() if key in wanted}
        if inserts:
            ids.update(self.ids(table, [tuple(row[c.key] for c in keyed_by) for row in inserts]))
        return ids, changes

    def ensure_jobs(self, keys: Iterable[Key]) -> dict[Key, int]:
        """Ids of the jobs `keys`, creating the missing ones bare."""
        keys = set(keys)
        found = self.ids(Job, keys)
        now = utcnow()
        missing = [{"namespace": ns, "name": name, "facets": {}, "created_at": now, "updated_at": now}
                   for ns, name in sorted(keys - found.keys())]
        if missing:
            self._insert_new(Job, missing)
            self.writer.changed = True
            found.update(self.ids(Job, [(r["namespace"], r["name"]) for r in missing]))
        return found

    def _insert_new(self, table: Any, rows: list[dict[str, Any]]) -> None:
        """INSERT ... ON CONFLICT (namespace, name) DO NOTHING: a row someone else just created is kept."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statement = insert(table.__table__).on_conflict_do_nothing(index_elements=["namespace", "name"])
        for chunk in chunks(rows, 10 * CHUNK):
            self.session.connection().execute(statement, list(chunk))

    def set_column(self, table: Any, values: dict[int, Any], column: str) -> set[int]:
        """Set `column` to values[id] where it differs; the ids that changed."""
        if not values:
            return set()
        col = getattr(table, column)
        current: dict[int, Any] = {}
        for chunk in chunks(sorted(values)):
            current.update(dict(self.session.execute(select(table.id, col).where(table.id.in_(chunk))).all()))
        changed = [{"_id": i, column: v, "updated_at": utcnow()} for i, v in values.items() if current.get(i) != v]
        if changed:
            self._update(table, [column, "updated_at"], changed)
            self.writer.changed = True
        return {row["_id"] for row in changed}

    # --- edges -----------------------------------------------------------------------------------
    def replace_derivations(self, wanted: dict[int, set[tuple[int, int | None]]], *, source: str) -> set[int]:
        """Make each output's derivations from `source` exactly wanted[output] ((input id, job id) pairs).

        Returns the outputs whose edges changed. Edges from other sources are left alone.
        """
        have: dict[int, dict[tuple[int, int | None], int]] = {output: {} for output in wanted}
        query = select(Derivation.id, Derivation.input_id, Derivation.output_id, Derivation.job_id).where(
            Derivation.source == source)
        for chunk in chunks(sorted(wanted)):
            for row_id, input_id, output_id, job_id in self.session.execute(query.where(Derivation.output_id.in_(chunk))):
                have[output_id][(input_id, job_id)] = row_id
        now = utcnow()
        stale: list[int] = []
        new: list[dict[str, Any]] = []
        changed: set[int] = set()
        for output, edges in wanted.items():
            existing = have[output]
            gone = existing.keys() - edges
            added = edges - existing.keys()
            stale += [existing[edge] for edge in gone]
            new += [{"input_id": i, "output_id": output, "job_id": j, "source": source, "created_at": now,
                     "updated_at": now} for i, j in sorted(added, key=lambda e: (e[0], e[1] or 0))]
            if gone or added:
                changed.add(output)
        self._delete(Derivation, stale)
        self._insert(Derivation, new)
        if changed:
            self.writer.changed = True
        return changed

    def replace_feeds(self, wanted: dict[int, dict[tuple[int, str], dict[str, Any]]], *, source: str) -> set[int]:
        """Make each model's feeds from `source` exactly wanted[model][(dataset id, role)] = values.

        One row per (model, dataset, role) whatever its source: a catalog file's feed takes over a
        row another source reported (the file is the declaration of record), and any other source
        leaves a catalog row as it is. Returns the models whose feeds changed.
        """
        rows: dict[int, list[Any]] = {model: [] for model in wanted}
        query = select(Feed.id, Feed.model_id, Feed.dataset_id, Feed.role, Feed.fingerprint, Feed.consumed_at,
                       Feed.features, Feed.source)
        for chunk in chunks(sorted(wanted)):
            for row in self.session.execute(query.where(Feed.model_id.in_(chunk))):
                rows[row.model_id].append(row)
        now = utcnow()
        new: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        stale: list[int] = []
        changed: set[int] = set()
        for model, feeds in wanted.items():
            existing = {(r.dataset_id, r.role): r for r in rows[model] if r.source == source}
            others = {(r.dataset_id, r.role): r for r in rows[model] if r.source != source}
            keep: set[tuple[int, str]] = set()
            for key, values in feeds.items():
                row = existing.get(key)
                if row is None and key in others:
                    if source != "catalog":
                        continue
                    row = others[key]
                    updates.append({"_id": row.id, "source": source, **values, "updated_at": now})
                    changed.add(model)
                    keep.add(key)
                    continue
                keep.add(key)
                if row is None:
                    new.append({"dataset_id": key[0], "model_id": model, "role": key[1], "source": source, **values,
                                "created_at": now, "updated_at": now})
                    changed.add(model)
                elif any(getattr(row, name) != value for name, value in values.items()):
                    updates.append({"_id": row.id, "source": source, **values, "updated_at": now})
                    changed.add(model)
            for key in existing.keys() - keep:
                stale.append(existing[key].id)
                changed.add(model)
        self._delete(Feed, stale)
        for names in {tuple(u) for u in updates}:  # callers that give features, and those that do not
            self._update(Feed, [n for n in names if n != "_id"], [u for u in updates if tuple(u) == names])
        self._insert(Feed, new)
        if changed:
            self.writer.changed = True
        return changed

    def upsert_incidents(self, wanted: dict[tuple[int, str, Any], dict[str, Any]]) -> dict[tuple[int, str, Any], Change]:
        """Incidents are identified by (dataset id, kind, opened); make each hold its fields."""
        if not wanted:
            return {}
        names = list(next(iter(wanted.values())))
        stored: dict[tuple[int, str, Any], tuple[int, tuple[Any, ...]]] = {}
        query = select(Incident.id, Incident.dataset_id, Incident.kind, Incident.opened,
                       *[getattr(Incident, n) for n in names])
        for chunk in chunks(sorted({key[0] for key in wanted})):
            for row in self.session.execute(query.where(Incident.dataset_id.in_(chunk))):
                stored[(row[1], row[2], row[3])] = (row[0], tuple(row[4:]))
        now = utcnow()
        changes: dict[tuple[int, str, Any], Change] = {}
        new: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for key, fields in wanted.items():
            have = stored.get(key)
            if have is None:
                new.append({"dataset_id": key[0], "kind": key[1], "opened": key[2], **fields,
                            "created_at": now, "updated_at": now})
                changes[key] = "created"
            elif have[1] != tuple(fields[n] for n in names):
                updates.append({"_id": have[0], **fields, "updated_at": now})
                changes[key] = "updated"
            else:
                changes[key] = "unchanged"
        self._insert(Incident, new)
        self._update(Incident, [*names, "updated_at"], updates)
        if new or updates:
            self.writer.changed = True
        return changes

    # --- plumbing --------------------------------------------------------------------------------
    def _insert(self, table: Any, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        if self._insert_plain(table, rows):
            return
        for chunk in chunks(rows, 10 * CHUNK):
            self.session.connection().execute(insert(table.__table__), list(chunk))

    def _insert_plain(self, table: Any, rows: list[dict[str, Any]]) -> bool:
        """Rows that all give the same columns go to the driver without Core's per-row work: on
        SQLite as tuples to its executemany, on PostgreSQL as COPY, each distinct value through its
        column's bind processor once.

        SQLAlchemy's executemany builds and processes a parameter dict per row: more time than the
        database took to insert the edges. On PostgreSQL (psycopg) it also sends one INSERT per row,
        and each fires the history's statement triggers once: a plpgsql call and an INSERT ... SELECT
        per row, most of a load's time in the server. One COPY per 10,000 rows fires them once per
        COPY, over a transition table of all its rows, which writes the same images in the same
        order (ORDER BY id, ids in row order). The values bound are the ones Core would bind, and a
        column left out that has a Python-side default (a dataset's skeleton) gets it as Core would
        compute it (`_defaults`). On SQLite the history records them set-wise
        (`catalog.history.triggers.recorded_set_wise`). Returns whether the rows were written.
        """
        given = rows[0].keys()
        if any(row.keys() != given for row in rows):
            return False
        rows = self._defaults(table, rows)
        if rows is None:
            return False
        columns = [c for c in table.__table__.columns if c.key in rows[0]]
        if len(columns) != len(rows[0]):
            return False
        dialect = self.session.get_bind().dialect
        values = [_bound([row[c.key] for row in rows], c.type._cached_bind_processor(dialect)) for c in columns]
        connection = self.session.connection()
        if self.dialect == "postgresql":
            self._copy(table, columns, list(zip(*values)))
            return True
        if self.dialect != "sqlite":
            return False
        compiled = insert(table.__table__).compile(dialect=dialect, column_keys=[c.key for c in columns])
        if not compiled.positional or sorted(compiled.positiontup) != sorted(c.key for c in columns):
            return False
        position = {c.key: i for i, c in enumerate(columns)}
        params = list(zip(*(values[position[name]] for name in compiled.positiontup)))
        with recorded_set_wise(connection, table.__tablename__, len(params)):
            for chunk in chunks(params, 10 * CHUNK):
                connection.exec_driver_sql(compiled.string, list(chunk))
        return True

    def _defaults(self, table: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """`rows` with the Python-side defaults Core would fill for the columns they leave out (None
        when one cannot be computed here: a SQL expression or a sequence, left to Core)."""
        missing = [c for c in table.__table__.columns
                   if c.key not in rows[0] and c.key != "id" and c.default is not None]
        if not missing:
            return rows
        if any(not (c.default.is_scalar or c.default.is_callable) for c in missing):
            return None
        filled = []
        for row in rows:
            context = _Parameters(row)
            filled.append({**row, **{c.key: c.default.arg if c.default.is_scalar else c.default.arg(context)
                                     for c in missing}})
        return filled

    def _copy(self, table: Any, columns: list[Any], params: list[tuple[Any, ...]]) -> None:
        """COPY the rows in, 10,000 per statement; a driver error is raised as SQLAlchemy's (a unique
        violation as IntegrityError), so `catalog.retry` sees a lost race as it does for an INSERT."""
        import psycopg
        from psycopg import sql
        from sqlalchemy.exc import DBAPIError

        raw = self.session.connection().connection.driver_connection
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table.__table__.name), sql.SQL(", ").join(sql.Identifier(c.name) for c in columns))
        try:
            with raw.cursor() as cursor:
                for chunk in chunks(params, 10 * CHUNK):
                    with cursor.copy(statement) as copy:
                        for row in chunk:
                            copy.write_row(row)
        except psycopg.Error as exc:
            raise DBAPIError.instance(statement.as_string(raw), None, exc, psycopg.Error,
                                      dialect=self.session.get_bind().dialect) from exc

    def _update(self, table: Any, names: list[str], rows: list[dict[str, Any]]) -> None:
        """UPDATE ... SET names WHERE id = :_id, once per row, many rows per call."""
        if not rows:
            return
        columns = table.__table__.c
        statement = update(table.__table__).where(columns.id == bindparam("_id")).values(
            {name: bindparam(name) for name in names})
        for chunk in chunks(rows, 10 * CHUNK):
            self.session.connection().execute(statement, list(chunk))

    def _delete(self, table: Any, ids: list[int]) -> None:
        for chunk in chunks(sorted(ids)):
            self.session.connection().execute(delete(table.__table__).where(table.__table__.c.id.in_(chunk)))
