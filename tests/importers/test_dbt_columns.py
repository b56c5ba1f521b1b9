"""`headwater import dbt` records each table's columns from catalog.json (issue 21), on the real
artifacts of tests/fixtures/dbt (README there): run A's catalog.json has no credit_training_set (dbt
skipped building it), run B's has every table. Runs on SQLite and PostgreSQL (the `store` fixture).
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select

from catalog.errors import ConfigurationError
from catalog.importers.dbt import plan_import
from catalog.imports import apply_import
from catalog.loader import load_catalog
from catalog.schema import Dataset
from catalog.schema_columns import DatasetColumn
from tests.paths import FIXTURES

DBT = FIXTURES / "dbt"
NAMESPACE = "duckdb:///tmp/headwater-dbt-fixtures/headwater.duckdb"
FEATURES = "headwater.main.applicant_features"
TRAINING_SET = "headwater.main.credit_training_set"


def _import(store, target: Path):
    return apply_import(store, plan_import(target, namespace=NAMESPACE))


def _columns(store, name: str) -> list[tuple]:
    with store.read() as session:
        rows = session.execute(
            select(DatasetColumn.name, DatasetColumn.type, DatasetColumn.description, DatasetColumn.classifications,
                   DatasetColumn.position, DatasetColumn.source)
            .join(Dataset, Dataset.id == DatasetColumn.dataset_id)
            .where(Dataset.namespace == NAMESPACE, Dataset.name == name).order_by(DatasetColumn.position))
        return [(r.name, r.type, r.description, list(r.classifications or ()), r.position, r.source) for r in rows]


def _copy(tmp_path: Path, run: str = "run_a") -> Path:
    target = tmp_path / "target"
    shutil.copytree(DBT / run / "target", target)
    return target


def _edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_catalog_json_gives_each_built_table_its_columns_with_types_positions_and_descriptions(store):
    assert (DBT / "run_a" / "target" / "catalog.json").is_file()
    result = _import(store, DBT / "run_a" / "target")
    assert result.columns_changed == 5  # three models and two seeds
    assert _columns(store, FEATURES) == [
        ("applicant_id", "INTEGER", "Applicant key; must be present and unique.", [], 0, "dbt"),
        ("age", "INTEGER", None, [], 1, "dbt"),
        ("income", "INTEGER", None, [], 2, "dbt"),
        ("region", "VARCHAR", "One-letter region code.", [], 3, "dbt"),  # schema.yml's description
        ("region_name", "VARCHAR", None, [], 4, "dbt"),
        ("monthly_income", "DOUBLE", None, [], 5, "dbt"),
        ("is_young_applicant", "INTEGER", None, [], 6, "dbt"),
    ]
    assert [c[:2] for c in _columns(store, "headwater.main.region_codes")] == [("region", "VARCHAR"),
                                                                                ("region_name", "VARCHAR")]
    # never built in run A: only what schema.yml declares, without types
    assert _columns(store, TRAINING_SET) == [("applicant_id", None, None, [], 0, "dbt"),
                                             ("income", None, None, [], 1, "dbt")]


def test_importing_again_changes_nothing_and_a_later_build_replaces_dbts_columns(store):
    _import(store, DBT / "run_a" / "target")
    revision = store.revision()
    again = _import(store, DBT / "run_a" / "target")
    assert again.columns_changed == 0 and store.revision() == revision
    later = _import(store, DBT / "run_b" / "target")
    assert later.columns_changed >= 1
    run_b = json.loads((DBT / "run_b" / "target" / "catalog.json").read_text())
    built = run_b["nodes"]["model.headwater_loans.credit_training_set"]["columns"]
    assert [(c[0], c[1], c[4]) for c in _columns(store, TRAINING_SET)] == [
        (c["name"], c["type"], c["index"] - 1) for c in sorted(built.values(), key=lambda c: c["index"])]


def test_a_catalog_files_column_keeps_its_classifications_and_dbt_fills_its_type(store, tmp_path):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(textwrap.dedent(f"""\
        catalog: acme
        datasets:
          - name: {FEATURES}
            namespace: "{NAMESPACE}"
            columns:
              - name: applicant_id
                description: Our applicant key.
                classifications: [pseudonymous]
              - name: region
        """))
    load_catalog(store, [catalog])
    _import(store, DBT / "run_a" / "target")
    columns = {c[0]: c for c in _columns(store, FEATURES)}
    assert columns["applicant_id"] == ("applicant_id", "INTEGER", "Our applicant key.", ["pseudonymous"], 0, "catalog")
    assert columns["region"] == ("region", "VARCHAR", "One-letter region code.", [], 1, "catalog")
    assert columns["income"][1:] == ("INTEGER", None, [], 2, "dbt")


def test_classifications_come_from_the_columns_meta_under_headwater(store, tmp_path):
    target = _copy(tmp_path)

    def classify(manifest):
        column = manifest["nodes"]["model.headwater_loans.applicant_features"]["columns"]["income"]
        column["meta"] = {"headwater": {"classifications": ["personal_data"]}}
        column["config"]["meta"] = {"headwater": {"classifications": ["personal_data", "health"]}}
        column["tags"] = ["free_text"]  # tags are the project's own words: not read as classifications

    _edit(target / "manifest.json", classify)
    _import(store, target)
    income = next(c for c in _columns(store, FEATURES) if c[0] == "income")
    assert income[3] == ["personal_data", "health"]
    assert all(c[3] == [] for c in _columns(store, FEATURES) if c[0] != "income")


@pytest.mark.parametrize("meta", [{"headwater": {"classifications": ["helth"]}},
                                  {"headwater": {"classifications": "health"}},
                                  {"headwater": ["health"]}])
def test_a_classification_that_is_not_one_refuses_the_import_whole(store, tmp_path, meta):
    target = _copy(tmp_path)

    def classify(manifest):
        manifest["nodes"]["model.headwater_loans.applicant_features"]["columns"]["region"]["meta"] = meta

    _edit(target / "manifest.json", classify)
    with pytest.raises(ConfigurationError, match="region.*meta.headwater"):
        plan_import(target, namespace=NAMESPACE)


def test_catalog_json_is_optional_but_its_schema_version_is_checked(store, tmp_path):
    target = _copy(tmp_path)
    (target / "catalog.json").unlink()
    _import(store, target)
    # without catalog.json: what schema.yml declares, in its order
    assert [(c[0], c[1], c[2]) for c in _columns(store, FEATURES)] == [
        ("applicant_id", None, "Applicant key; must be present and unique."),
        ("region", None, "One-letter region code."), ("region_name", None, None), ("income", None, None)]
    assert _columns(store, "headwater.main.region_codes") == []  # nothing declared, nothing known

    shutil.copy(DBT / "run_a" / "target" / "catalog.json", target / "catalog.json")
    _edit(target / "catalog.json",
          lambda c: c["metadata"].update(dbt_schema_version="https://schemas.getdbt.com/dbt/catalog/v9.json"))
    with pytest.raises(ConfigurationError, match="catalog.json.*catalog v1"):
        plan_import(target, namespace=NAMESPACE)
