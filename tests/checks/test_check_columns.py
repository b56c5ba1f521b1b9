"""`headwater check` records the columns the data's header or schema names (source "check", issue 21),
on real CSV, Parquet, SQLite and PostgreSQL data. The store fixture runs each test on SQLite and on
PostgreSQL.
"""

from __future__ import annotations

import sqlite3
import textwrap

import pandas as pd
import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine, select, text

from catalog.bulk import Bulk
from catalog.bulk_columns import ColumnValues, replace_columns
from catalog.data_columns import read_columns
from catalog.fingerprint import Unreadable
from catalog.locations import Location
from catalog.schema import Dataset
from catalog.schema_columns import DatasetColumn
from checks import service

SUITE = """\
    catalog: t
    datasets:
      - name: people
        location: {location}
        expectations:
          - expect_column_values_to_not_be_null: {{column: id}}
"""
BARE = """\
    catalog: t
    datasets:
      - name: people
        location: {location}
"""


def _columns(store) -> list[tuple]:
    with store.read() as session:
        rows = session.execute(
            select(DatasetColumn.name, DatasetColumn.type, DatasetColumn.description, DatasetColumn.classifications,
                   DatasetColumn.position, DatasetColumn.source)
            .join(Dataset, Dataset.id == DatasetColumn.dataset_id)
            .where(Dataset.namespace == "t", Dataset.name == "people").order_by(DatasetColumn.position))
        return [(r.name, r.type, r.description, list(r.classifications or ()), r.position, r.source) for r in rows]


def test_a_csv_header_gives_names_and_positions_and_no_types(store, load, people_csv):
    load(SUITE.format(location=people_csv.name))
    (run,) = service.run_checks(store).runs
    assert run.outcome == "passed"
    assert _columns(store) == [("id", None, None, [], 0, "check"), ("age", None, None, [], 1, "check"),
                               ("country", None, None, [], 2, "check"), ("email", None, None, [], 3, "check")]


def test_a_dataset_without_expectations_is_read_for_its_columns_too(store, load, people_csv):
    load(BARE.format(location=people_csv.name))
    (run,) = service.run_checks(store).runs
    assert run.outcome == "unchecked"
    assert [c[0] for c in _columns(store)] == ["id", "age", "country", "email"]


def test_a_parquet_schema_gives_arrow_types_without_pandas_index(store, load, people_csv, tmp_path):
    target = tmp_path / "people.parquet"
    frame = pd.read_csv(people_csv)
    frame.index = [10, 20, 30, 40, 50]  # not a range: pandas stores it as a column __index_level_0__
    frame.to_parquet(target, index=True)
    assert "__index_level_0__" in pq.read_schema(target).names
    load(SUITE.format(location=target.name))
    service.run_checks(store)
    columns = _columns(store)
    assert [(c[0], c[1], c[4]) for c in columns[:2]] == [("id", "int64", 0), ("age", "int64", 1)]
    assert [(c[0], c[1] in ("string", "large_string"), c[4]) for c in columns[2:]] == [("country", True, 2),
                                                                                       ("email", True, 3)]


def test_a_sqlite_tables_columns_come_from_the_database_catalog(store, load, tmp_path):
    database = tmp_path / "crm.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE people (id INTEGER NOT NULL, name VARCHAR(40), joined DATE, score)")
        connection.execute("INSERT INTO people VALUES (1, 'a', '2024-01-01', 3)")
    connection.close()
    load(SUITE.format(location="sqlite:///crm.db#people"))
    service.run_checks(store)
    assert [(c[0], c[1], c[4], c[5]) for c in _columns(store)] == [
        ("id", "INTEGER", 0, "check"), ("name", "VARCHAR(40)", 1, "check"), ("joined", "DATE", 2, "check"),
        ("score", None, 3, "check")]


@pytest.mark.postgres
def test_a_postgres_tables_columns_and_comments(store, load, pg_url):
    engine = create_engine(pg_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE SCHEMA crm"))
        connection.execute(text("CREATE TABLE crm.people (id integer, email text, score numeric(5, 2))"))
        connection.execute(text("COMMENT ON COLUMN crm.people.email IS 'Contact address'"))
        connection.execute(text("INSERT INTO crm.people VALUES (1, 'a@x', 1.5)"))
    engine.dispose()
    load(SUITE.format(location=f"{pg_url}#crm.people"))
    (run,) = service.run_checks(store).runs
    assert run.outcome == "passed"
    assert _columns(store) == [("id", "INTEGER", None, [], 0, "check"), ("email", "TEXT", "Contact address", [], 1, "check"),
                               ("score", "NUMERIC(5, 2)", None, [], 2, "check")]


def test_a_column_gone_from_the_data_goes_and_a_rerun_keeps_the_rest(store, load, tmp_path):
    data = tmp_path / "people.csv"
    data.write_text("id,age,email\n1,30,a\n")
    load(BARE.format(location=data.name))
    service.run_checks(store)
    service.run_checks(store)
    assert [c[0] for c in _columns(store)] == ["id", "age", "email"]
    data.write_text("id,email,city\n1,a,x\n")
    service.run_checks(store)
    assert [(c[0], c[4]) for c in _columns(store)] == [("id", 0), ("email", 1), ("city", 2)]


def test_a_catalog_files_columns_keep_what_they_say_and_the_data_fills_the_type(store, load, people_csv, tmp_path):
    target = tmp_path / "people.parquet"
    pd.read_csv(people_csv).to_parquet(target, index=False)
    load(textwrap.dedent(f"""\
        catalog: t
        datasets:
          - name: people
            location: {target.name}
            columns:
              - name: email
                type: varchar
                classifications: [direct_identifier]
              - name: age
        """))
    service.run_checks(store)
    columns = {c[0]: c for c in _columns(store)}
    assert columns["email"] == ("email", "varchar", None, ["direct_identifier"], 0, "catalog")
    assert columns["age"] == ("age", "int64", None, [], 1, "catalog")
    assert columns["id"] == ("id", "int64", None, [], 0, "check")


def test_another_pipelines_column_is_only_filled_in_never_overwritten(store, load, people_csv):
    load(BARE.format(location=people_csv.name))
    with store.transaction("test") as writer:
        dataset_id = writer.session.scalar(select(Dataset.id).where(Dataset.name == "people"))
        replace_columns(Bulk(writer), {dataset_id: [ColumnValues("id", "BIGINT", "Person key", ("pseudonymous",), 0),
                                                    ColumnValues("age", None, None, (), None)]}, source="openlineage")
    service.run_checks(store)
    service.run_checks(store)
    columns = {c[0]: c for c in _columns(store)}
    assert columns["id"] == ("id", "BIGINT", "Person key", ["pseudonymous"], 0, "openlineage")  # nothing to add
    assert columns["age"] == ("age", None, None, [], 1, "openlineage")  # the position filled in; the row stays its
    assert columns["email"][5] == "check"


def test_unreadable_data_records_no_columns_and_keeps_the_ones_seen_before(store, load, tmp_path):
    data = tmp_path / "people.csv"
    data.write_text("id,age\n1,30\n")
    load(SUITE.format(location=data.name))
    service.run_checks(store)
    data.unlink()
    (run,) = service.run_checks(store).runs
    assert run.outcome == "errored"
    assert [c[0] for c in _columns(store)] == ["id", "age"]


def test_only_the_header_is_read_and_odd_names_are_left_out(tmp_path):
    data = tmp_path / "odd.csv"
    data.write_bytes("\ufeffid,,id,na\u200bme,\"a,b\"\n".encode() + b"\xff\xfe not text at all\n" * 3)
    columns = read_columns(Location("file", str(data), format="csv"))
    assert [(c.name, c.position) for c in columns] == [("id", 0), ("a,b", 4)]
    assert read_columns(Location("file", str(data), format="jsonl")) is None
    with pytest.raises(Unreadable):
        read_columns(Location("file", str(tmp_path / "missing.parquet"), format="parquet"))
