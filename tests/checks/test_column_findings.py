"""Privacy findings through columns (issue 21): the scenario of the issue, and what keeps the table rule.

One patient table with a `diagnosis` column classified health and non-sensitive columns; two feature
tables built from it by column lineage, one from `diagnosis`, one without; two models. Only the first
model gets the special-category finding; take the column lineage away from one hop and the second
gets it back, marked assumed.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import yaml

from catalog.loader import load_catalog
from checks import risk

AS_OF = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)
PATIENTS = {
    "name": "patients", "owner": "clinic", "origin": "internal", "personal_data": True, "legal_basis": "public_task",
    "purpose": "care", "special_categories": ["health"],
    "columns": ["admission_id", {"name": "patient_id", "classifications": ["direct_identifier"]}, "ward",
                "admitted_at", {"name": "diagnosis", "type": "string", "classifications": ["health"]}],
}


def scenario(*, ward_mapping: bool = True, features: list[str] | None = None) -> dict:
    ward_input = ({"dataset": "patients", "columns": {"ward": "ward", "admitted_at": "admitted_at",
                                                       "admission_id": "admission_id"}} if ward_mapping else "patients")
    feed = {"dataset": "patients"} | ({"features": features} if features is not None else {})
    return {
        "catalog": "clinic",
        "datasets": [
            PATIENTS,
            {"name": "dx_features", "derived_from": [{"dataset": "patients", "columns": {"dx_code": "diagnosis",
                                                                                        "admission_id": "admission_id"}}]},
            {"name": "ward_features", "derived_from": [ward_input]},
            {"name": "ward_counts", "derived_from": [{"dataset": "patients", "columns": {"ward": "ward"},
                                                      "indirect": ["diagnosis"]}]},
        ],
        "models": [
            {"name": "readmission", "risk_tier": "high", "trained_on": [{"dataset": "dx_features"}]},
            {"name": "ward_occupancy", "risk_tier": "high", "trained_on": [{"dataset": "ward_features"}]},
            {"name": "ward_demand", "risk_tier": "high", "trained_on": [{"dataset": "ward_counts"}]},
            {"name": "direct_reader", "risk_tier": "high", "trained_on": [feed]},
        ],
    }


def load(store, tmp_path: Path, document: dict, name: str = "catalog.yaml") -> None:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    load_catalog(store, [path])


def on(store, model: str, condition: str) -> list:
    report = risk.evaluate(store, as_of=AS_OF, model=model)
    return [f for f in report.findings if f.root_condition == condition]


def test_only_the_model_fed_from_the_health_column_gets_the_special_category_finding(store, tmp_path):
    load(store, tmp_path, scenario())
    (exposed,) = on(store, "readmission", "special_category_unbased")
    assert exposed.column_lineage == "column" and exposed.mode == "hard"
    assert [[(s.node, s.column) for s in path] for path in exposed.column_paths] == [[
        ("dataset:clinic:patients", "diagnosis"), ("dataset:clinic:dx_features", "dx_code"),
        ("model:clinic:readmission@1", None)]]
    assert on(store, "ward_occupancy", "special_category_unbased") == []
    # the patients table keeps its own finding, whatever its columns say
    own = [f for f in risk.evaluate(store, as_of=AS_OF).findings
           if f.node == "dataset:clinic:patients" and f.condition == "special_category_unbased"]
    assert len(own) == 1 and own[0].column_lineage is None


def test_a_hop_without_column_lineage_brings_the_finding_back_as_assumed(store, tmp_path):
    load(store, tmp_path, scenario())
    assert on(store, "ward_occupancy", "special_category_unbased") == []
    load(store, tmp_path, scenario(ward_mapping=False))
    (assumed,) = on(store, "ward_occupancy", "special_category_unbased")
    assert assumed.column_lineage == "assumed"
    assert "column lineage incomplete: assumed" in assumed.detail
    assert assumed.column_paths == []
    # the other model's precise finding is untouched by the other hop
    assert [f.column_lineage for f in on(store, "readmission", "special_category_unbased")] == ["column"]


def test_a_filter_on_the_health_column_carries_the_finding_as_indirect(store, tmp_path):
    load(store, tmp_path, scenario())
    (indirect,) = on(store, "ward_demand", "special_category_unbased")
    assert indirect.column_lineage == "indirect"
    assert "indirect" in indirect.detail
    assert [(s.node, s.column) for s in indirect.column_paths[0]] == [
        ("dataset:clinic:patients", "diagnosis"), ("dataset:clinic:ward_counts", ""), ("model:clinic:ward_demand@1", None)]


def test_a_model_reading_named_features_is_exposed_only_through_them(store, tmp_path):
    load(store, tmp_path, scenario(features=["ward", "admitted_at"]))
    assert on(store, "direct_reader", "special_category_unbased") == []
    load(store, tmp_path, scenario(features=["ward", "diagnosis"]))
    assert [f.column_lineage for f in on(store, "direct_reader", "special_category_unbased")] == ["column"]
    load(store, tmp_path, scenario())  # no features: the model read every column
    assert [f.column_lineage for f in on(store, "direct_reader", "special_category_unbased")] == ["column"]


def test_consent_withdrawal_travels_through_the_personal_columns_only(store, tmp_path):
    document = scenario()
    document["incidents"] = [{"dataset": "patients", "kind": "consent_withdrawn", "opened": "2026-11-01"}]
    load(store, tmp_path, document)
    # patient_id and diagnosis are personal; dx_features takes diagnosis, ward_features neither
    assert [f.column_lineage for f in on(store, "readmission", "consent_withdrawn")] == ["column"]
    assert on(store, "ward_occupancy", "consent_withdrawn") == []


def test_integrity_conditions_keep_the_table_rule(store, tmp_path):
    document = scenario()
    document["incidents"] = [{"dataset": "patients", "kind": "breach", "opened": "2026-11-01"}]
    load(store, tmp_path, document)
    for model in ("readmission", "ward_occupancy", "ward_demand", "direct_reader"):
        found = on(store, model, "breach_flagged")
        assert len(found) == 1 and found[0].column_lineage is None, model


def test_without_classified_columns_the_table_rule_holds(store, tmp_path):
    document = scenario()
    document["datasets"][0] = PATIENTS | {"columns": ["admission_id", "patient_id", "ward", "admitted_at", "diagnosis"]}
    load(store, tmp_path, document)
    for model in ("readmission", "ward_occupancy"):
        found = on(store, model, "special_category_unbased")
        assert len(found) == 1 and found[0].column_lineage is None, model


def test_a_column_classification_alone_makes_the_dataset_hold_special_category_data(store, tmp_path):
    document = scenario()
    document["datasets"][0] = {k: v for k, v in PATIENTS.items() if k not in ("special_categories", "personal_data")}
    load(store, tmp_path, document)
    (found,) = on(store, "readmission", "special_category_unbased")
    assert "health" in found.detail and found.column_lineage == "column"
    assert on(store, "ward_occupancy", "special_category_unbased") == []


def test_a_past_moment_is_judged_with_the_column_lineage_of_then(store_url, tmp_path):
    from catalog.store import Store
    from tests.catalog.test_history import Clock

    clock = Clock()
    timed = Store(store_url, clock=clock)
    try:
        load(timed, tmp_path, scenario())
        before = clock.advance()
        clock.advance()
        load(timed, tmp_path, scenario(ward_mapping=False))
        then = risk.evaluate(timed, as_of=before, model="ward_occupancy")
        assert [f for f in then.findings if f.root_condition == "special_category_unbased"] == []
        now = risk.evaluate(timed, as_of=clock.advance(), model="ward_occupancy")
        assert [f.column_lineage for f in now.findings if f.root_condition == "special_category_unbased"] == ["assumed"]
    finally:
        timed.close()


def test_the_example_in_the_docs_gives_what_the_docs_say(store, tmp_path):
    """docs/columns.md's catalog, pasted as it is: readmission is exposed through `diagnosis`, the
    ward models are not, and the filter on `diagnosis` is indirect."""
    from tests.conftest import ROOT

    page = (ROOT / "docs" / "columns.md").read_text(encoding="utf-8")
    block = page.split("```yaml\n", 1)[1].split("```", 1)[0]
    load(store, tmp_path, yaml.safe_load(block))
    (exposed,) = on(store, "readmission", "special_category_unbased")
    assert exposed.column_lineage == "column"
    assert [(s.node, s.column) for s in exposed.column_paths[0]] == [
        ("dataset:clinic:admissions", "diagnosis"), ("dataset:clinic:diagnosis_features", "dx_code"),
        ("model:clinic:readmission@1", None)]
    assert on(store, "ward_occupancy", "special_category_unbased") == []
    report = risk.evaluate(store, as_of=AS_OF)
    counts = [f for f in report.findings if f.node == "dataset:clinic:ward_counts"
              and f.root_condition == "special_category_unbased"]
    assert [f.column_lineage for f in counts] == ["indirect"]
