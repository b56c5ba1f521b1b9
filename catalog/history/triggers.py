"""The triggers that write `history_changes`, generated from the tables as the database has them.

Triggers, not Python: the loader writes with Core statements many rows at a time, the API through
the ORM, and deleting a dataset removes its feeds, derivations and incidents by foreign-key cascade,
which no Python code sees. A trigger sees all three. Each change keeps the row's whole image before
and after, as JSON text the database writes:

- SQLite: row triggers with `json_object` over the columns (JSON columns embedded with `json()`);
  an UPDATE that changes nothing but `updated_at` is not a change.
- PostgreSQL: statement triggers over transition tables, so a bulk statement of 100,000 rows costs
  one INSERT ... SELECT, not 100,000 function calls. The function pins `TimeZone`, `DateStyle`
  and `IntervalStyle`, so the images read the same whatever the session's settings.

`install` is idempotent (drop, then create): a migration that rebuilds a tracked table (SQLite's
batch mode copies it, which drops its triggers) must call it again at its end.

A load's bulk INSERT on SQLite (`catalog.bulk`) is recorded set-wise instead (`recorded_set_wise`):
the table's insert trigger dropped for the statement, then one INSERT ... SELECT writes the rows it
added with the trigger's own image expression, in id order, and the trigger is created again, all
in the load's transaction (DDL is transactional in SQLite; no one else writes meanwhile). The same
change rows, without running a trigger program per row: about 60% of the history's share of
inserting a million edges.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, inspect, text

# Tracked tables and the column that identifies a row. What the graph and the catalog consist of;
# check runs and raw OpenLineage events are append-only records with their own timestamps.
TRACKED: dict[str, str] = {
    "datasets": "id", "jobs": "id", "models": "id", "feeds": "id", "derivations": "id", "incidents": "id",
    "settings": "key", "dataset_columns": "id", "column_flows": "id",
}
_NOT_A_CHANGE = {"updated_at"}  # a row whose only difference is this was touched, not changed
_PAIRS_PER_CALL = 40  # SQLite functions take at most 100 arguments in older builds


def install(connection: Connection) -> None:
    """(Re)create the history triggers on every tracked table the store has so far: a migration
    that adds a tracked table or column installs them again (0008 ran before 0010's tables existed)."""
    present = set(inspect(connection).get_table_names())
    tables = {table: key for table, key in TRACKED.items() if table in present}
    if connection.dialect.name == "postgresql":
        _install_postgresql(connection, tables)
    else:
        _install_sqlite(connection, tables)


def uninstall(connection: Connection) -> None:
    """Drop the history triggers (a downgrade; the benchmark's history-off baseline)."""
    present = set(inspect(connection).get_table_names())
    for table in (t for t in TRACKED if t in present):
        for op in ("insert", "update", "delete"):
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS headwater_history_{op} ON {table}")
            else:
                connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS headwater_history_{table}_{op}")


def record_baseline(connection: Connection, only: tuple[str, ...] | None = None) -> None:
    """Every row already in the store as a `baseline` change: where its history begins."""
    present = set(inspect(connection).get_table_names())
    for table, key in TRACKED.items():
        if table not in present or (only is not None and table not in only):
            continue
        if connection.dialect.name == "postgresql":
            connection.execute(text(
                f"INSERT INTO history_changes (entity, row_id, op, after) SELECT '{table}', r.{key}::text, "
                f"'baseline', to_jsonb(r)::text FROM {table} r ORDER BY r.{key}"))
        else:
            image = _sqlite_image(_columns(connection, table), "r")
            connection.execute(text(
                f"INSERT INTO history_changes (entity, row_id, op, after) SELECT '{table}', CAST(r.{key} AS TEXT), "
                f"'baseline', {image} FROM {table} r ORDER BY r.{key}"))


@contextmanager
def recorded_set_wise(connection: Connection, table: str, rows: int) -> Iterator[None]:
    """Around a plain INSERT of `rows` rows into `table` that gives no ids (SQLite): the `insert`
    changes its trigger would have written, written by one statement after it. A table without
    the trigger (history off) records nothing, as before. The new rows are those above the largest
    id before (the write lock keeps other writers out); when their count is not `rows` (an id
    chosen below it) this raises, and the transaction rolls back, rather than record less. Rows a
    failing INSERT wrote before its failure are recorded too, and the trigger is back either way."""
    name = f"headwater_history_{table}_insert"
    trigger = None
    if connection.dialect.name == "sqlite" and TRACKED.get(table) == "id":
        trigger = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,)).scalar()
    if trigger is None:
        yield
        return
    since = int(connection.exec_driver_sql(f"SELECT max(id) FROM {table}").scalar() or 0)
    connection.exec_driver_sql(f"DROP TRIGGER {name}")
    failed = False
    try:
        yield
    except BaseException:
        failed = True
        raise
    finally:
        image = _sqlite_image(_columns(connection, table), "r")
        written = connection.exec_driver_sql(
            f"INSERT INTO history_changes (entity, row_id, op, after) SELECT '{table}', CAST(r.id AS TEXT), "
            f"'insert', {image} FROM {table} r WHERE r.id > ? ORDER BY r.id", (since,)).rowcount
        connection.exec_driver_sql(trigger)
        if written != rows and not failed:
            raise RuntimeError(f"a bulk insert of {rows} rows into {table} added {written} above id {since}: "
                               f"their history cannot be written set-wise")


def pin_image_format(connection: Connection) -> None:
    """On PostgreSQL, the settings the trigger function pins, for images written outside it."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL TimeZone = 'UTC'; SET LOCAL IntervalStyle = 'iso_8601'; "
                                "SET LOCAL DateStyle = 'ISO, YMD'"))


def _columns(connection: Connection, table: str) -> list[dict[str, Any]]:
    return list(inspect(connection).get_columns(table))


# --- SQLite -------------------------------------------------------------------------------------------

def _sqlite_value(column: dict[str, Any], row: str) -> str:
    name = column["name"]
    return f"json({row}.{name})" if str(column["type"]).upper() == "JSON" else f"{row}.{name}"


def _sqlite_image(columns: list[dict[str, Any]], row: str) -> str:
    pairs = [(column["name"], _sqlite_value(column, row)) for column in columns]
    first, rest = pairs[:_PAIRS_PER_CALL], pairs[_PAIRS_PER_CALL:]
    image = "json_object(" + ", ".join(f"'{name}', {value}" for name, value in first) + ")"
    for start in range(0, len(rest), _PAIRS_PER_CALL):
        chunk = rest[start:start + _PAIRS_PER_CALL]
        image = f"json_insert({image}, " + ", ".join(f"'$.{name}', {value}" for name, value in chunk) + ")"
    return image


def _install_sqlite(connection: Connection, tables: dict[str, str]) -> None:
    for table, key in tables.items():
        columns = _columns(connection, table)
        new, old = _sqlite_image(columns, "NEW"), _sqlite_image(columns, "OLD")
        changed = " OR ".join(f"OLD.{c['name']} IS NOT NEW.{c['name']}" for c in columns
                              if c["name"] not in _NOT_A_CHANGE)
        statements = {
            "insert": f"AFTER INSERT ON {table} BEGIN INSERT INTO history_changes (entity, row_id, op, after) "
                      f"VALUES ('{table}', CAST(NEW.{key} AS TEXT), 'insert', {new}); END",
            "update": f"AFTER UPDATE ON {table} WHEN {changed} BEGIN INSERT INTO history_changes "
                      f"(entity, row_id, op, before, after) VALUES ('{table}', CAST(NEW.{key} AS TEXT), 'update', "
                      f"{old}, {new}); END",
            "delete": f"AFTER DELETE ON {table} BEGIN INSERT INTO history_changes (entity, row_id, op, before) "
                      f"VALUES ('{table}', CAST(OLD.{key} AS TEXT), 'delete', {old}); END",
        }
        for op, body in statements.items():
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS headwater_history_{table}_{op}")
            connection.exec_driver_sql(f"CREATE TRIGGER headwater_history_{table}_{op} {body}")


# --- PostgreSQL ---------------------------------------------------------------------------------------

_PG_SETTINGS = "SET TimeZone = 'UTC' SET IntervalStyle = 'iso_8601' SET DateStyle = 'ISO, YMD'"


def _pg_functions(key: str) -> dict[str, str]:
    """The three statement-trigger bodies for tables keyed by `key` (`id`, or `key` for settings)."""
    unchanged = "(to_jsonb(o) - 'updated_at') = (to_jsonb(n) - 'updated_at')"
    return {
        "insert": f"INSERT INTO history_changes (entity, row_id, op, after) SELECT TG_TABLE_NAME, n.{key}::text, "
                  f"'insert', to_jsonb(n)::text FROM new_rows n ORDER BY n.{key};",
        "update": f"INSERT INTO history_changes (entity, row_id, op, before, after) SELECT TG_TABLE_NAME, "
                  f"n.{key}::text, 'update', to_jsonb(o)::text, to_jsonb(n)::text FROM old_rows o JOIN new_rows n "
                  f"ON o.{key} = n.{key} WHERE NOT {unchanged} ORDER BY n.{key};",
        "delete": f"INSERT INTO history_changes (entity, row_id, op, before) SELECT TG_TABLE_NAME, o.{key}::text, "
                  f"'delete', to_jsonb(o)::text FROM old_rows o ORDER BY o.{key};",
    }


def _install_postgresql(connection: Connection, tables: dict[str, str]) -> None:
    for key in sorted(set(tables.values())):
        for op, body in _pg_functions(key).items():
            connection.exec_driver_sql(
                f"CREATE OR REPLACE FUNCTION headwater_history_{op}_by_{key}() RETURNS trigger LANGUAGE plpgsql "
                f"{_PG_SETTINGS} AS $$ BEGIN {body} RETURN NULL; END $$")
    transition = {"insert": "NEW TABLE AS new_rows", "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
                  "delete": "OLD TABLE AS old_rows"}
    for table, key in tables.items():
        for op, referencing in transition.items():
            name = f"headwater_history_{op}"
            connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            connection.exec_driver_sql(
                f"CREATE TRIGGER {name} AFTER {op.upper()} ON {table} REFERENCING {referencing} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION headwater_history_{op}_by_{key}()")
