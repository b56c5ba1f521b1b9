"""The sensitive columns a model is exposed to (`checks.exposure`) and the model report's section on them."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from catalog.loader import load_catalog
from catalog.store import Store
from checks import risk
from checks.exposure import ExposedColumn, exposure, exposure_of_findings
from checks.reports import markdown

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "columns" / "catalog.yaml"
PATIENTS = "dataset:clinic:patients"
FEATURES = "dataset:clinic:diagnosis_features"
EXPOSED = "model:clinic:readmission@1"
UNEXPOSED = "model:clinic:ward_occupancy@1"


@pytest.fixture
def clinic(tmp_path: Path) -> Store:
    store = Store(f"sqlite:///{tmp_path / 'h.db'}")
    load_catalog(store, [FIXTURE])
    yield store
    store.close()


def _section(report: str) -> str:
    start = report.index("## Sensitive columns it is exposed to")
    return report[start:report.index("\n## ", start + 1)]


def test_the_exposed_model_lists_the_health_column_and_its_path(clinic):
    assessment = risk.assess(clinic)
    found = exposure(assessment, EXPOSED)
    assert len(found) == 1
    (special,) = found
    assert (special.root, special.condition, special.severity, special.lineage) == (
        PATIENTS, "special_category_unbased", "critical", "column")
    assert special.columns == (ExposedColumn(
        dataset=PATIENTS, column="diagnosis", classifications=("health",), lineage="column",
        paths=(((PATIENTS, "diagnosis"), (FEATURES, "dx_code"), (EXPOSED, None)),)),)
    # the same answer from the report's findings, as the Markdown renderer works it out without an assessment
    findings, _ = risk.findings_on(assessment, [EXPOSED], risk.DEFAULT_PATH_LIMIT)
    assert exposure_of_findings(assessment.graph, EXPOSED, findings, assessment.policy) == found


def test_the_model_fed_only_other_columns_is_exposed_to_nothing(clinic):
    assessment = risk.assess(clinic)
    assert exposure(assessment, UNEXPOSED) == []
    findings, _ = risk.findings_on(assessment, [UNEXPOSED], risk.DEFAULT_PATH_LIMIT)
    assert exposure_of_findings(assessment.graph, UNEXPOSED, findings, assessment.policy) == []


def test_the_model_report_lists_the_exposed_columns(clinic):
    exposed = _section(risk.model_report(clinic, "readmission"))
    assert "| patients.diagnosis | health | critical: special_category_unbased (hard) | column: its values flow in | " \
           "patients.diagnosis → diagnosis_features.dx_code → readmission |" in exposed
    assert "nhs_number" not in exposed and "ward" not in exposed
    other = _section(risk.model_report(clinic, "ward_occupancy"))
    assert "diagnosis" not in other and "|" not in other
    assert "No classified column reaches this model." in other


def test_the_renderer_takes_the_assessments_exposure_as_given(clinic):
    assessment = risk.assess(clinic)
    report = risk.evaluate(clinic, model=EXPOSED)
    given = markdown.model_report(assessment.graph, EXPOSED, report, {}, datetime.now(timezone.utc),
                                  exposure=exposure(assessment, EXPOSED))
    assert _section(given) == _section(risk.model_report(clinic, "readmission"))
    empty = markdown.model_report(assessment.graph, EXPOSED, report, {}, datetime.now(timezone.utc), exposure=[])
    assert "diagnosis" not in _section(empty)


def test_a_hop_without_column_lineage_is_assumed(tmp_path):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(FIXTURE.read_text().replace(
        "      - dataset: patients\n        columns: {dx_code: diagnosis, patient_id: patient_id}",
        "      - dataset: patients"), encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path / 'h.db'}")
    load_catalog(store, [catalog])
    try:
        (special,) = exposure(risk.assess(store), EXPOSED)
        assert special.lineage == "assumed"
        assert [(c.column, c.classifications, c.lineage) for c in special.columns] == [("diagnosis", ("health",), "assumed")]
        assert special.columns[0].paths == ()  # past a hop without column lineage no column path is known
        section = _section(risk.model_report(store, "readmission"))
        assert "patients.diagnosis" in section and "assumed: column lineage incomplete" in section
        assert FEATURES  # the feature table is on the table path, not on a column path
        # still nothing for the model whose feature table names only other columns
        assert "No classified column reaches this model." in _section(risk.model_report(store, "ward_occupancy"))
    finally:
        store.close()
