"""`run_checks`, `history` and `snapshot` with real Great Expectations runs on real data.

The store fixture runs every test here on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, select, text

from catalog.errors import NotFound
from catalog.schema import CheckResult, Feed
from checks import service
from tests.checks.conftest import write_people_csv

SUITE = """\
    catalog: t
    datasets:
      - name: people
        location: {location}
        personal_data: {personal}
        expectations:
          - expect_column_values_to_not_be_null: {{column: id}}
            severity: critical
          - expect_column_values_to_be_between: {{column: age, min_value: 18, max_value: 120}}
            severity: {age_severity}
          - expect_column_values_to_be_in_set: {{column: country, value_set: [DE, FR, NL]}}
          - expect_table_row_count_to_be_between: {{min_value: 1, max_value: 100}}
"""


def catalog(location: str, *, personal: bool = False, age_severity: str = "critical") -> str:
    return SUITE.format(location=location, personal=str(personal).lower(), age_severity=age_severity)


def sha256_of(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_failing_critical_expectation_fails_the_dataset_with_details(store, load, people_csv):
    load(catalog("people.csv"))
    report = service.run_checks(store)
    (run,) = report.runs
    assert run.outcome == "failed" and not report.ok
    assert [(r.expectation, r.success) for r in run.results] == [
        ("expect_column_values_to_not_be_null", True),
        ("expect_column_values_to_be_between", False),
        ("expect_column_values_to_be_in_set", False),
        ("expect_table_row_count_to_be_between", True),
    ]
    age = run.results[1]
    assert age.unexpected_count == 2 and age.unexpected_percent == pytest.approx(40.0)
    assert sorted(age.sample) == [15, 17]
    assert run.results[2].sample == ["XX"]
    assert (run.evaluated, run.failed, run.errored) == (4, 2, 0)
    assert run.fingerprint == sha256_of(people_csv)


def test_only_warning_failures_leave_the_run_ok(store, load, people_csv, tmp_path):
    write_people_csv(people_csv, [row for row in [(1, 34, "DE", "a"), (2, 17, "FR", "b")]])
    load(catalog("people.csv", age_severity="warning"))
    report = service.run_checks(store)
    assert report.runs[0].outcome == "warning"
    assert report.ok


def test_missing_column_is_errored_not_failed(store, load, tmp_path):
    (tmp_path / "people.csv").write_text("id,years,country\n1,30,DE\n")
    load(catalog("people.csv"))
    (run,) = service.run_checks(store).runs
    assert run.outcome == "errored"
    age = run.results[1]
    assert age.errored and age.success is None and "age" in age.error
    assert run.results[0].success is True  # the other expectations were still judged


def test_missing_file_is_errored_and_has_no_fingerprint(store, load):
    load(catalog("nowhere.csv"))
    report = service.run_checks(store)
    (run,) = report.runs
    assert run.outcome == "errored" and not report.ok
    assert run.fingerprint is None and "file not found" in run.error
    assert run.results == []


def test_malformed_parquet_is_errored(store, load, tmp_path):
    (tmp_path / "people.parquet").write_bytes(b"this is not parquet")
    load(catalog("people.parquet"))
    (run,) = service.run_checks(store).runs
    assert run.outcome == "errored" and "parquet" in run.error
    assert run.fingerprint == sha256_of(tmp_path / "people.parquet")  # readable bytes, unreadable content


@pytest.mark.parametrize("suffix", ["parquet", "jsonl"])
def test_parquet_and_json_lines_are_validated(store, load, people_csv, tmp_path, suffix):
    frame = pd.read_csv(people_csv)
    target = tmp_path / f"people.{suffix}"
    if suffix == "parquet":
        frame.to_parquet(target)
    else:
        frame.to_json(target, orient="records", lines=True)
    load(catalog(target.name))
    (run,) = service.run_checks(store).runs
    assert run.outcome == "failed"
    assert [r.success for r in run.results] == [True, False, False, True]
    assert run.results[1].unexpected_count == 2


def test_sqlite_table_is_validated_inside_the_database(store, load, people_csv, tmp_path):
    database = tmp_path / "crm.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE people (id INTEGER, age INTEGER, country TEXT, email TEXT)")
        connection.executemany("INSERT INTO people VALUES (?, ?, ?, ?)", [(1, 30, "DE", "a"), (2, 12, "DE", "b")])
    connection.close()
    load(catalog("sqlite:///crm.db#people"))
    (run,) = service.run_checks(store).runs
    assert run.outcome == "failed"
    assert [r.success for r in run.results] == [True, False, True, True]
    assert run.results[1].unexpected_count == 1 and run.results[1].sample == [12]
    assert run.fingerprint.startswith("sha256:") and len(run.fingerprint) == 71


@pytest.mark.postgres
def test_postgres_table_is_validated_inside_the_database(store, load, pg_url):
    engine = create_engine(pg_url)
    with engine.begin() as connection:
        connection.execute(text("CREATE SCHEMA crm"))
        connection.execute(text("CREATE TABLE crm.people (id integer, age integer, country text, email text)"))
        connection.execute(text("INSERT INTO crm.people VALUES (1, 30, 'DE', 'a'), (NULL, 40, 'FR', 'b'), (3, 99, 'US', 'c')"))
    engine.dispose()
    load(catalog(f"{pg_url}#crm.people"))
    (run,) = service.run_checks(store).runs
    assert run.outcome == "failed"
    assert [r.success for r in run.results] == [False, True, False, True]
    assert run.results[0].unexpected_count == 1
    assert run.results[2].sample == ["US"]


def test_unreachable_database_is_errored_with_the_password_masked(store, load):
    load(catalog("postgresql+psycopg://bob:hunter2@127.0.0.1:1/crm#people"))
    (run,) = service.run_checks(store).runs
    assert run.outcome == "errored"
    assert "hunter2" not in run.error and "bob:***@127.0.0.1:1" in run.error


def test_personal_data_keeps_counts_but_never_samples(store, load, people_csv):
    load(catalog("people.csv", personal=True))
    (run,) = service.run_checks(store).runs
    age = run.results[1]
    assert age.success is False and age.unexpected_count == 2
    assert age.sample is None and age.observed_value is None
    with store.read() as session:
        stored = session.scalars(select(CheckResult)).all()
    assert stored and all(result.sample is None for result in stored)
    assert all(not (isinstance(r.observed_value, list) and r.observed_value) for r in stored)


def test_unchanged_data_and_suite_reuse_the_verdict(store, load, people_csv):
    load(catalog("people.csv"))
    first = service.run_checks(store)
    second = service.run_checks(store)
    assert (first.validated, first.reused) == (1, 0)
    assert (second.validated, second.reused) == (0, 1)
    assert second.runs[0].reused_from == first.runs[0].id
    assert [r.model_dump() for r in second.runs[0].results] == [r.model_dump() for r in first.runs[0].results]
    assert second.runs[0].fingerprint_observed_at > first.runs[0].fingerprint_observed_at
    third = service.run_checks(store)
    assert third.runs[0].reused_from == first.runs[0].id  # points at the run that actually validated


def test_force_validates_again(store, load, people_csv):
    load(catalog("people.csv"))
    service.run_checks(store)
    forced = service.run_checks(store, force=True)
    assert (forced.validated, forced.reused) == (1, 0) and forced.runs[0].reused_from is None


def test_changed_data_is_validated_again_with_a_new_fingerprint(store, load, people_csv):
    load(catalog("people.csv"))
    before = service.run_checks(store).runs[0]
    write_people_csv(people_csv, [(1, 30, "DE", "a")])
    after = service.run_checks(store).runs[0]
    assert after.reused_from is None and after.fingerprint != before.fingerprint
    assert after.outcome == "passed"


def test_changed_suite_is_validated_again(store, load, people_csv):
    load(catalog("people.csv"))
    service.run_checks(store)
    load(catalog("people.csv").replace("min_value: 18", "min_value: 10"))
    report = service.run_checks(store)
    assert report.validated == 1
    assert report.runs[0].results[1].success is True


def test_an_earlier_errored_run_is_never_reused(store, load, tmp_path, people_csv):
    load(catalog("people.csv").replace("column: age,", "column: years,"))
    assert service.run_checks(store).runs[0].outcome == "errored"
    assert service.run_checks(store).validated == 1


def test_datasets_without_expectations_are_fingerprinted_like_sha256sum(store, load, people_csv):
    load("catalog: t\ndatasets:\n  - name: plain\n    location: people.csv\n  - name: remote\n    location: s3://b/k.csv\n"
         "  - name: nowhere\n")
    report = service.run_checks(store)
    (run,) = report.runs
    assert run.outcome == "unchecked" and run.results == []
    assert run.fingerprint == sha256_of(people_csv)
    assert {s.dataset: s.reason for s in report.skipped} == {
        "dataset:t:nowhere": "no location", "dataset:t:remote": "s3://b/k.csv is not a file or SQL table"}
    assert report.validated == 0 and report.ok


def test_selected_datasets_only_and_unknown_names_refused(store, load, people_csv):
    load("catalog: t\ndatasets:\n  - name: a\n    location: people.csv\n  - name: b\n    location: people.csv\n")
    assert [run.dataset for run in service.run_checks(store, ["b"]).runs] == ["dataset:t:b"]
    with pytest.raises(NotFound):
        service.run_checks(store, ["c"])


def test_history_lists_runs_newest_first(store, load, people_csv):
    load(catalog("people.csv"))
    ids = [service.run_checks(store).runs[0].id for _ in range(3)]
    history = service.history(store, "people")
    assert [run.id for run in history.runs] == ids[::-1]
    assert history.dataset == "dataset:t:people"
    assert len(service.history(store, "people", limit=2).runs) == 2


def test_suite_exported_from_gx_is_used_as_it_is(store, load, people_csv, tmp_path):
    suite = {
        "name": "people_suite", "meta": {"great_expectations_version": "1.24.1"},
        "expectations": [
            {"type": "expect_column_values_to_be_between", "kwargs": {"column": "age", "min_value": 10},
             "meta": {}, "severity": "critical", "id": "0d1f"},
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "email"}, "meta": {}},
        ],
    }
    (tmp_path / "people_suite.json").write_text(json.dumps(suite))
    load("catalog: t\ndatasets:\n  - name: people\n    location: people.csv\n    expectations_file: people_suite.json\n")
    (run,) = service.run_checks(store).runs
    assert [(r.expectation, r.severity, r.success) for r in run.results] == [
        ("expect_column_values_to_be_between", "critical", True),
        ("expect_column_values_to_not_be_null", "warning", False),
    ]
    assert run.outcome == "warning"


# --- snapshots ------------------------------------------------------------------------------------

SNAPSHOT_CATALOG = """\
catalog: t
datasets:
  - name: people
    location: people.csv
  - name: extra
    location: extra.csv
models:
  - name: scorer
    version: "1.0"
    risk_tier: high
    trained_on:
      - dataset: people
      - dataset: extra
        role: validation
"""


def test_snapshot_records_fingerprints_and_a_later_change_is_visible(store, load, people_csv, tmp_path):
    (tmp_path / "extra.csv").write_text("id\n1\n")
    load(SNAPSHOT_CATALOG)
    manifest = service.snapshot(store, "scorer")
    assert manifest.model == "model:t:scorer@1.0" and manifest.version == "1.0"
    recorded = {entry.dataset: entry.fingerprint for entry in manifest.feeds}
    assert recorded == {"dataset:t:people": sha256_of(people_csv), "dataset:t:extra": sha256_of(tmp_path / "extra.csv")}
    with store.read() as session:
        assert sorted(f.fingerprint for f in session.scalars(select(Feed))) == sorted(recorded.values())
    write_people_csv(people_csv, [(9, 60, "NL", "z")])
    check = service.run_checks(store, ["people"]).runs[0]
    assert check.fingerprint != recorded["dataset:t:people"]
    again = service.snapshot(store, "scorer")
    changed = {e.dataset: e.previous_fingerprint != e.fingerprint for e in again.feeds}
    assert changed == {"dataset:t:people": True, "dataset:t:extra": False}


def test_snapshot_refuses_when_a_source_is_unreadable_and_records_nothing(store, load, people_csv):
    load(SNAPSHOT_CATALOG)  # extra.csv does not exist
    revision = store.revision()
    with pytest.raises(service.SnapshotRefused) as refused:
        service.snapshot(store, "scorer")
    assert "dataset:t:extra" in str(refused.value) and "file not found" in str(refused.value)
    assert store.revision() == revision
    with store.read() as session:
        assert [f.fingerprint for f in session.scalars(select(Feed))] == [None, None]


def test_mean_of_a_decimal_column_is_still_judged(store, load, tmp_path):
    """GX's pandas mean looks for `Decimal` values; the shortcut that skips the look on typed
    columns (checks/validator.py) must leave object columns of decimals judged as GX judges them."""
    from decimal import Decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    amounts = pa.array([Decimal("10.50"), Decimal("20.25"), Decimal("14.25")], type=pa.decimal128(9, 2))
    pq.write_table(pa.table({"id": [1, 2, 3], "amount": amounts, "score": [1.0, 2.0, 3.0]}), tmp_path / "pay.parquet")
    load("""\
        catalog: t
        datasets:
          - name: pay
            location: pay.parquet
            personal_data: false
            expectations:
              - expect_column_mean_to_be_between: {column: amount, min_value: 15, max_value: 16}
              - expect_column_mean_to_be_between: {column: score, min_value: 2.5, max_value: 3}
    """)
    (run,) = service.run_checks(store).runs
    assert [r.success for r in run.results] == [True, False]
    assert run.results[1].observed_value == 2.0


def test_only_the_columns_the_suite_names_are_read_unless_it_asks_about_the_columns(store, load, tmp_path,
                                                                                    monkeypatch):
    from checks import frames

    pd.DataFrame({"id": [1, 2], "age": [30, 12], "country": ["DE", "FR"], "note": ["x", "y"]}).to_parquet(
        tmp_path / "p.parquet", index=False)
    read: list[list[str]] = []
    real = frames.read_frame

    def recorded(path, fmt, columns=None):
        frame = real(path, fmt, columns)
        read.append(list(frame.columns))
        return frame

    monkeypatch.setattr(frames, "read_frame", recorded)
    load("""\
        catalog: t
        datasets:
          - name: narrow
            location: p.parquet
            personal_data: false
            expectations:
              - expect_column_values_to_be_between: {column: age, min_value: 18, row_condition: "country == 'DE'"}
              - expect_column_values_to_not_be_null: {column: missing}
          - name: wide
            location: p.parquet
            personal_data: false
            expectations:
              - expect_column_values_to_be_between: {column: age, min_value: 18}
              - expect_table_column_count_to_equal: {value: 4}
    """)
    narrow, wide = service.run_checks(store).runs
    assert read == [["age", "country"], ["id", "age", "country", "note"]]
    assert [r.success for r in narrow.results] == [True, None]
    assert narrow.results[1].errored  # a column the file lacks is missing, as with every column read
    assert [r.success for r in wide.results] == [False, True]
