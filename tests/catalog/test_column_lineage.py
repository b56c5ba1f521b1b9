"""`catalog.openlineage.column_lineage` on facets written by real producers: the checked-in Spark and
dbt-ol events, and facets built with openlineage-python's own classes in both facet versions."""

from __future__ import annotations

import json

from openlineage.client import facet as facet_v1
from openlineage.client.facet_v2 import column_lineage_dataset as cl
from openlineage.client.facet_v2 import schema_dataset
from openlineage.client.serde import Serde

from catalog.openlineage.column_lineage import ColumnFlow, SchemaColumn, column_flows, schema_columns
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures"


def _output_facets(event: dict) -> list[tuple[str, dict]]:
    return [(output["name"], output.get("facets", {})) for output in event.get("outputs", [])]


def test_the_spark_fixture_maps_each_output_column_to_its_input_column() -> None:
    event = json.loads((FIXTURES / "openlineage/events/valid/spark-cli-simple-complete.json").read_text())
    ((_name, facets),) = [o for o in _output_facets(event) if "columnLineage" in o[1]]
    source = "/opt/spark/work-dir/spark-warehouse/t1"
    assert column_flows(facets["columnLineage"]) == [
        ColumnFlow("a", "file", source, "a", "DIRECT"), ColumnFlow("b", "file", source, "b", "DIRECT")]


def test_dbt_ol_events_give_derived_columns_their_sources() -> None:
    """dbt-ol's facet for applicant_features: `is_young_applicant` comes from `age`, `region_name` from
    the other input (region_codes), and nothing is flowing from a column the facet does not name."""
    flows: dict[str, list[ColumnFlow]] = {}
    for line in (FIXTURES / "dbt/run_a/openlineage.jsonl").read_text().splitlines():
        for name, facets in _output_facets(json.loads(line)):
            if "columnLineage" in facets:
                flows[name] = column_flows(facets["columnLineage"])
    features = {(f.output_column, f.input_name.rsplit(".", 1)[1], f.input_column) for f in flows["headwater.main.applicant_features"]}
    assert ("is_young_applicant", "stg_applicants", "age") in features
    assert ("region_name", "region_codes", "region_name") in features
    assert ("monthly_income", "stg_applicants", "income") in features
    assert all(f.kind == "DIRECT" and f.subtype is None for f in flows["headwater.main.applicant_features"])
    assert not any(source == "age" and output == "region_name" for output, _, source in features)


def test_the_1_0_facet_says_identity_or_masked_once_for_all_inputs() -> None:
    legacy = facet_v1.ColumnLineageDatasetFacet(fields={
        "email_hash": facet_v1.ColumnLineageDatasetFacetFieldsAdditional(
            inputFields=[facet_v1.ColumnLineageDatasetFacetFieldsAdditionalInputFields("pg", "crm.users", "email")],
            transformationDescription="sha256(email)", transformationType="MASKED"),
        "country": facet_v1.ColumnLineageDatasetFacetFieldsAdditional(
            inputFields=[facet_v1.ColumnLineageDatasetFacetFieldsAdditionalInputFields("pg", "crm.users", "country")],
            transformationDescription="", transformationType="IDENTITY"),
    })
    assert column_flows(Serde.to_dict(legacy)) == [
        ColumnFlow("country", "pg", "crm.users", "country", "DIRECT", "IDENTITY", False),
        ColumnFlow("email_hash", "pg", "crm.users", "email", "DIRECT", "MASKED", True),
    ]


def test_the_1_2_facet_keeps_each_transformation_and_the_dataset_level_inputs() -> None:
    facet = cl.ColumnLineageDatasetFacet(
        fields={"total": cl.Fields(inputFields=[
            cl.InputField("pg", "shop.orders", "amount", transformations=[
                cl.Transformation(type="DIRECT", subtype="AGGREGATION", masking=False)]),
            cl.InputField("pg", "shop.orders", "status", transformations=[
                cl.Transformation(type="INDIRECT", subtype="FILTER")]),
        ])},
        dataset=[cl.InputField("pg", "shop.orders", "customer_id", transformations=[
            cl.Transformation(type="INDIRECT", subtype="GROUP_BY")])],
    )
    assert column_flows(Serde.to_dict(facet)) == [
        ColumnFlow("total", "pg", "shop.orders", "amount", "DIRECT", "AGGREGATION", False),
        ColumnFlow("total", "pg", "shop.orders", "status", "INDIRECT", "FILTER", False),
        ColumnFlow(None, "pg", "shop.orders", "customer_id", "INDIRECT", "GROUP_BY", False),
    ]


def test_an_unknown_transformation_type_is_read_as_direct_and_kept() -> None:
    facet = {"fields": {"x": {"inputFields": [{"namespace": "n", "name": "t", "field": "y",
                                               "transformations": [{"type": "reversible", "subtype": "CAST"}]}]}}}
    assert column_flows(facet) == [ColumnFlow("x", "n", "t", "y", "DIRECT", "REVERSIBLE/CAST", False)]


def test_malformed_parts_are_skipped_not_raised() -> None:
    facet = {"fields": {"x": "not an object", "y": {"inputFields": [{"namespace": "n", "name": "t"}, 7]},
                        "z": {"inputFields": [{"namespace": "n", "name": "t", "field": "w"}]}},
             "dataset": "nope"}
    assert column_flows(facet) == [ColumnFlow("z", "n", "t", "w", "DIRECT")]
    assert column_flows(None) == [] and schema_columns("x") == []  # type: ignore[arg-type]


def test_schema_fields_are_flattened_with_their_types_and_positions() -> None:
    facet = schema_dataset.SchemaDatasetFacet(fields=[
        schema_dataset.SchemaDatasetFacetFields(name="patient_id", type="BIGINT", ordinal_position=1),
        schema_dataset.SchemaDatasetFacetFields(name="address", type="STRUCT", fields=[
            schema_dataset.SchemaDatasetFacetFields(name="city", type="STRING", description="town of residence")]),
    ])
    assert schema_columns(Serde.to_dict(facet)) == [
        SchemaColumn("patient_id", "BIGINT", None, 1), SchemaColumn("address", "STRUCT"),
        SchemaColumn("address.city", "STRING", "town of residence")]


def test_the_dbt_ol_schema_facet_lists_the_model_columns() -> None:
    """dbt-ol sends names with empty descriptions and no types: the names are kept, the blanks are None."""
    for line in (FIXTURES / "dbt/run_a/openlineage.jsonl").read_text().splitlines():
        for name, facets in _output_facets(json.loads(line)):
            if name == "headwater.main.stg_applicants" and "schema" in facets:
                assert schema_columns(facets["schema"]) == [
                    SchemaColumn(n) for n in ("applicant_id", "age", "income", "region")]
                return
    raise AssertionError("no schema facet for stg_applicants in the dbt-ol fixture")
