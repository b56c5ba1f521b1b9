"""Expectations are checked by GX at load time: a bad one names the dataset and its index."""

from __future__ import annotations

import json
import textwrap

import pytest

from catalog.errors import InvalidCatalogFile
from catalog.expectations import ExpectationProblem, normalise, suite_hash
from catalog.loader import load_catalog


def load_text(store, tmp_path, body: str):
    path = tmp_path / "catalog.yaml"
    path.write_text("catalog: t\ndatasets:\n  - name: people\n    location: people.csv\n    expectations:\n"
                    + textwrap.indent(textwrap.dedent(body), "      "))
    return load_catalog(store, [path]), path


def problems(store, tmp_path, body: str):
    with pytest.raises(InvalidCatalogFile) as raised:
        load_text(store, tmp_path, body)
    return raised.value.problems


@pytest.mark.parametrize("body, path, line, fragment", [
    ("- expect_column_values_to_be_betwen: {column: age}\n", "datasets[0].expectations[0]", 6,
     "unknown expectation 'expect_column_values_to_be_betwen'; did you mean 'expect_column_values_to_be_between'?"),
    ("- expect_column_values_to_not_be_null: {colum: age}\n", "datasets[0].expectations[0].expect_column_values_to_not_be_null",
     6, "column: field required; colum: unknown argument"),
    ("- expect_column_values_to_be_between: {column: age}\n", "datasets[0].expectations[0].expect_column_values_to_be_between",
     6, "min_value and max_value cannot both be None"),
    ("- expect_column_values_to_not_be_null: {column: id}\n  severity: fatal\n", "datasets[0].expectations[0].severity",
     7, "'critical' or 'warning'"),
    ("- expect_column_values_to_not_be_null: {column: id}\n  expect_column_values_to_be_unique: {column: id}\n",
     "datasets[0].expectations[0]", 6, "exactly one expectation"),
    ("- not_an_expectation: {column: id}\n", "datasets[0].expectations[0]", 6, "starting with 'expect_'"),
], ids=["misspelt name", "bad argument", "invalid arguments", "bad severity", "two in one", "not gx"])
def test_bad_expectation_is_a_load_error_naming_dataset_and_index(store, tmp_path, body, path, line, fragment):
    (problem,) = problems(store, tmp_path, body)
    assert problem.path == path and problem.line == line
    assert fragment in problem.message
    assert store.counts()["datasets"] == 0


def test_second_bad_expectation_is_reported_at_its_own_index(store, tmp_path):
    found = problems(store, tmp_path, "- expect_column_values_to_not_be_null: {column: id}\n"
                                      "- expect_column_to_exist: {}\n")
    assert [p.path for p in found] == ["datasets[0].expectations[1].expect_column_to_exist"]


def test_suite_file_problems_name_the_file_entry(store, tmp_path):
    (tmp_path / "suite.json").write_text(json.dumps({"expectations": [
        {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}},
        {"type": "expect_nothing_at_all", "kwargs": {}},
    ]}))
    path = tmp_path / "catalog.yaml"
    path.write_text("catalog: t\ndatasets:\n  - name: people\n    expectations_file: suite.json\n")
    with pytest.raises(InvalidCatalogFile) as raised:
        load_catalog(store, [path])
    (problem,) = raised.value.problems
    assert problem.path == "datasets[0].expectations_file" and problem.line == 4
    assert "expectation 1 of the suite file" in problem.message and "expect_nothing_at_all" in problem.message
    (tmp_path / "suite.json").write_text("{not json")
    with pytest.raises(InvalidCatalogFile) as raised:
        load_catalog(store, [path])
    assert "cannot read suite file" in raised.value.problems[0].message


def test_missing_suite_file_is_a_load_error(store, tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text("catalog: t\ndatasets:\n  - name: people\n    expectations_file: nope.json\n")
    with pytest.raises(InvalidCatalogFile) as raised:
        load_catalog(store, [path])
    assert "not found" in raised.value.problems[0].message


def test_catalog_and_gx_shapes_normalise_to_the_same_entry():
    catalog_form = {"expect_column_values_to_not_be_null": {"column": "id"}, "severity": "critical"}
    gx_form = {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}, "severity": "critical",
               "meta": {}, "id": "abc"}
    assert normalise(catalog_form) == normalise(gx_form) == {
        "type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}, "severity": "critical"}
    assert normalise({"expect_table_row_count_to_be_between": None})["kwargs"] == {}
    with pytest.raises(ExpectationProblem):
        normalise("expect_column_values_to_not_be_null")


def test_suite_hash_ignores_key_order_but_not_content():
    a = [{"type": "x", "kwargs": {"a": 1, "b": 2}, "severity": "warning"}]
    b = [{"severity": "warning", "kwargs": {"b": 2, "a": 1}, "type": "x"}]
    assert suite_hash(a) == suite_hash(b)
    assert suite_hash(a) != suite_hash([{"type": "x", "kwargs": {"a": 1, "b": 3}, "severity": "warning"}])
