"""dbt tests are evidence: real dbt-ol events and real dbt artifacts (tests/fixtures/dbt/README.md).

Run A: `unique` (error) fails and `accepted_values` (warn) warns on applicant_features, and dbt skips
credit_training_set's test. Run B: the seed fixed, everything passes.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from catalog.store import Store
from tests.paths import FIXTURES

DBT = FIXTURES / "dbt"
NAMESPACE = "duckdb:///tmp/headwater-dbt-fixtures/headwater.duckdb"
TRAINING_SET = f"dataset:{NAMESPACE}:headwater.main.credit_training_set"
FEATURES = f"dataset:{NAMESPACE}:headwater.main.applicant_features"


def _catalog(tmp_path: Path) -> Path:
    """A high-risk model trained on the dbt project's training set, declared in a catalog file."""
    path = tmp_path / "models.yaml"
    path.write_text(yaml.safe_dump({"catalog": "acme", "models": [{
        "name": "credit-scorer", "version": "4", "risk_tier": "high", "deployed": True,
        "trained_on": [{"dataset": TRAINING_SET, "role": "training"}]}]}))
    return path


def _quality(headwater, db: str) -> list[dict]:
    findings = json.loads(headwater("risk", "--format", "json", db=db).stdout)["findings"]
    return [f for f in findings if f["root_condition"] == "quality_check_failed"]


def test_a_failing_dbt_test_reaches_the_model_and_a_later_passing_run_clears_it(headwater, sqlite_url, tmp_path):
    assert headwater("ingest", str(DBT / "run_a" / "openlineage.jsonl"), db=sqlite_url).returncode == 0
    assert headwater("load", str(_catalog(tmp_path)), db=sqlite_url).returncode == 0
    failing = _quality(headwater, sqlite_url)
    on_model = [f for f in failing if f["node"] == "model:acme:credit-scorer@4"]
    # dbt skipped building the training set in run A, so dbt-ol sent no event joining it to the features
    assert {f["root"] for f in on_model} == {TRAINING_SET}
    features = next(f for f in failing if f["node"] == FEATURES)
    assert "unique_applicant_features_applicant_id" in features["detail"] and "(dbt)" in features["detail"]
    assert "accepted_values" not in features["detail"]  # a warn-severity test warns, it does not fail
    skipped = next(f for f in failing if f["node"] == TRAINING_SET)
    assert "could not be checked (dbt)" in skipped["detail"]  # dbt skipped it: nothing was judged
    report = tmp_path / "gate.json"
    gate = headwater("gate", "--model", "credit-scorer", "--json", str(report), db=sqlite_url)
    assert gate.returncode == 1
    assert "quality_check_failed" in {i["finding"]["root_condition"] for i in json.loads(report.read_text())["items"]
                                      if i["status"] == "failing"}

    assert headwater("ingest", str(DBT / "run_b" / "openlineage.jsonl"), db=sqlite_url).returncode == 0
    assert _quality(headwater, sqlite_url) == []
    assert headwater("gate", "--model", "credit-scorer", "--fail-on", "critical", db=sqlite_url).returncode == 0
    history = json.loads(headwater("check", "--history", FEATURES, "--format", "json", db=sqlite_url).stdout)
    assert [run["outcome"] for run in history["runs"]] == ["passed", "failed"]
    severities = {r["expectation"]: r["severity"] for r in history["runs"][1]["results"]}
    assert severities["unique_applicant_features_applicant_id"] == "critical"
    assert severities["accepted_values_applicant_features_region__N__S__E__W"] == "warning"


def test_dbt_run_and_dbt_build_name_one_producer(headwater, sqlite_url):
    for capture in ("openlineage_run.jsonl", "openlineage.jsonl"):
        assert headwater("ingest", str(DBT / "run_a" / capture), db=sqlite_url).returncode == 0
    from catalog import service

    edges = service.list_derivations(Store(sqlite_url)).items
    jobs = {e["job"] for e in edges if e["output"] == FEATURES}
    assert jobs == {"job:dbt:headwater.main.headwater_loans.applicant_features"}


def test_import_dbt_reads_the_whole_dag_seeds_included_and_the_test_outcomes(headwater, sqlite_url):
    first = headwater("import", "dbt", str(DBT / "run_a" / "target"), "--namespace", NAMESPACE, "--format", "json",
                      db=sqlite_url)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["checks_recorded"] == 2
    lineage = json.loads(headwater("lineage", FEATURES, "--format", "json", db=sqlite_url).stdout)
    upstream = {n["node"]["name"] for n in lineage["nodes"] if n["node"]["kind"] == "dataset"}
    assert {"headwater.main.region_codes", "headwater.main.raw_applicants", "headwater.main.stg_applicants"} <= upstream
    revision = Store(sqlite_url).revision()
    again = headwater("import", "dbt", str(DBT / "run_a" / "target"), "--namespace", NAMESPACE, "--format", "json",
                      db=sqlite_url)
    assert json.loads(again.stdout)["checks_recorded"] == 0 and Store(sqlite_url).revision() == revision
    assert {f["node"] for f in _quality(headwater, sqlite_url)} >= {FEATURES}
    headwater("import", "dbt", str(DBT / "run_b" / "target"), "--namespace", NAMESPACE, db=sqlite_url)
    assert _quality(headwater, sqlite_url) == []


def test_an_unsupported_manifest_is_exit_2_and_writes_nothing(headwater, sqlite_url, tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    manifest = json.loads((DBT / "run_a" / "target" / "manifest.json").read_text())
    manifest["metadata"]["dbt_schema_version"] = "https://schemas.getdbt.com/dbt/manifest/v4.json"
    (target / "manifest.json").write_text(json.dumps(manifest))
    result = headwater("import", "dbt", str(target), db=sqlite_url)
    assert result.returncode == 2 and "manifest v10, v11, v12" in result.stderr and "manifest.json" in result.stderr
    manifest["metadata"]["dbt_schema_version"] = "https://schemas.getdbt.com/dbt/manifest/v12.json"
    manifest["nodes"]["model.headwater_loans.applicant_features"]["alias"] = "applicant\u202efeatures"
    (target / "manifest.json").write_text(json.dumps(manifest))
    hidden = headwater("import", "dbt", str(target), db=sqlite_url)  # a name no catalog file could give
    assert hidden.returncode == 2 and "dbt import" in hidden.stderr and "cannot be a name" in hidden.stderr
    missing = headwater("import", "dbt", str(tmp_path / "nowhere"), db=sqlite_url)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    assert Store(sqlite_url).counts()["datasets"] == 0
