"""OpenLineage `schema` and `columnLineage` facets into column edges (issue 21): the checked-in events
of real producers (Spark, dbt-ol), then what a later, an older and a re-sent event do."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone

import pytest
import yaml
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import Settings
from catalog.errors import InvalidEvent
from catalog.loader import load_catalog
from catalog.openlineage.ingest import ingest_events
from catalog.openlineage.limits import EventLimits
from lineage import column_service
from tests.conftest import ROOT

FIXTURES = ROOT / "tests" / "fixtures"
SPARK = FIXTURES / "openlineage/events/valid/spark-cli-simple-complete.json"
DBT_RUN = FIXTURES / "dbt/run_a/openlineage_run.jsonl"
T1, T2 = "/opt/spark/work-dir/spark-warehouse/t1", "/opt/spark/work-dir/spark-warehouse/t2"


def events(path) -> list[dict]:
    text = path.read_text()
    return [json.loads(line) for line in text.splitlines() if line.strip()] if path.suffix == ".jsonl" else [json.loads(text)]


def test_the_spark_event_gives_each_output_column_its_input_column(store):
    ingest_events(store, events(SPARK))
    answer = column_service.column_lineage(store, f"dataset:file:{T2}")
    assert {(f.input, f.input_column, f.output_column, f.kind) for f in answer.inputs} == {
        (f"dataset:file:{T1}", "a", "a", "DIRECT"), (f"dataset:file:{T1}", "b", "b", "DIRECT")}
    assert answer.unknown_inputs == []  # the one hop of the table lineage has column lineage
    assert [(c.name, c.type, c.source) for c in answer.columns] == [("a", "integer", "openlineage"),
                                                                     ("b", "string", "openlineage")]


def test_dbt_ol_column_lineage_walks_back_to_the_raw_columns(store):
    ingest_events(store, events(DBT_RUN))
    walk = column_service.column_lineage(store, _named(store, "applicant_features"), column="is_young_applicant",
                                         direction="upstream")
    assert [(s.dataset.rsplit(".", 1)[1], s.column, s.distance) for s in walk.steps] == [
        ("stg_applicants", "age", 1), ("raw_applicants", "age", 2)]
    down = column_service.column_lineage(store, _named(store, "stg_applicants"), column="income",
                                         direction="downstream")
    found = {(s.dataset.rsplit(".", 1)[1], s.column) for s in down.steps}
    assert {("applicant_features", "income"), ("applicant_features", "monthly_income")} <= found
    assert not any(column == "age" for _, column in found)


def _named(store, table: str) -> str:
    from lineage.service import graph_of

    (node,) = [n for n in graph_of(store) if n.startswith("dataset:") and n.endswith("." + table)]
    return node


def _event(time: datetime, fields: dict[str, str], *, run: str = "5f1e0c1e-7c55-4f44-9a5f-0d5f2c7a8b01") -> dict:
    source = {"namespace": "pg", "name": "crm.users"}
    return {
        "eventType": "COMPLETE", "eventTime": time.isoformat(), "producer": "https://example.com/etl",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/definitions/RunEvent",
        "run": {"runId": run}, "job": {"namespace": "etl", "name": "features"},
        "inputs": [source],
        "outputs": [{"namespace": "pg", "name": "features", "facets": {"columnLineage": {
            "_producer": "https://example.com/etl",
            "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
            "fields": {out: {"inputFields": [{**source, "field": col, "transformations": [
                {"type": "DIRECT", "subtype": "IDENTITY"}]}]} for out, col in fields.items()}}}}],
    }


def test_the_newest_column_lineage_wins_and_a_resent_event_changes_nothing(store):
    now = datetime.now(timezone.utc)
    ingest_events(store, [_event(now - timedelta(minutes=2), {"country": "country"})])
    ingest_events(store, [_event(now - timedelta(minutes=1), {"email_domain": "email"})])
    late = ingest_events(store, [_event(now - timedelta(minutes=3), {"phone": "phone"})])  # older, arrives last

    def flows() -> set:
        return {(f.input_column, f.output_column) for f in column_service.column_lineage(store, "pg:features").inputs}

    assert flows() == {("email", "email_domain")}
    again = ingest_events(store, [_event(now - timedelta(minutes=1), {"email_domain": "email"})])
    assert again.duplicates == 1 and again.revision == late.revision and flows() == {("email", "email_domain")}


def test_openlineage_leaves_the_catalog_files_columns_and_flows_alone(store, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"catalog": "pg", "datasets": [
        {"name": "crm.users", "columns": [{"name": "email", "classifications": ["direct_identifier"]}]},
        {"name": "features", "derived_from": [{"dataset": "crm.users", "columns": {"email_hash": "email"}}]}]}))
    load_catalog(store, [path])
    event = _event(datetime.now(timezone.utc), {"email_domain": "email"})
    event["inputs"][0]["facets"] = {"schema": {
        "_producer": "https://example.com/etl", "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json",
        "fields": [{"name": "email", "type": "varchar", "description": "login"}, {"name": "country", "type": "char(2)"}]}}
    ingest_events(store, [event])
    users = column_service.column_lineage(store, "pg:crm.users")
    shown = {c.name: (c.type, c.description, c.classifications, c.source) for c in users.columns}
    assert shown == {"email": ("varchar", "login", ["direct_identifier"], "catalog"),
                     "country": ("char(2)", None, [], "openlineage")}
    features = column_service.column_lineage(store, "pg:features")
    assert {(f.output_column, f.source) for f in features.inputs} == {("email_hash", "catalog"),
                                                                       ("email_domain", "openlineage")}


def test_column_flows_count_against_the_per_event_limit(store):
    event = _event(datetime.now(timezone.utc), {f"c{i}": f"s{i}" for i in range(4)})
    with pytest.raises(InvalidEvent) as refused:
        ingest_events(store, [copy.deepcopy(event)], limits=EventLimits(max_edges_per_event=3))
    assert "columnLineage" in str(refused.value.field if hasattr(refused.value, "field") else refused.value)
    assert "4 column flows" in str(refused.value)
    assert ingest_events(store, [event]).stored == 1  # under the default limit it is taken


def test_the_column_lineage_endpoint(store_url, tmp_path):
    settings = Settings(db=store_url)
    with TestClient(create_app(settings)) as client:
        from catalog.store import Store

        store = Store(store_url)
        ingest_events(store, events(SPARK))
        store.close()
        answer = client.get(f"/api/v1/column-lineage/dataset:file:{T2}", params={"column": "a"})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["steps"] == [{"dataset": f"dataset:file:{T1}", "column": "a", "kind": "DIRECT", "distance": 1}]
        missing = client.get(f"/api/v1/column-lineage/dataset:file:{T2}", params={"column": "zz"})
        assert missing.status_code == 404 and "no column 'zz'" in missing.text


def test_a_models_features_are_its_feeds_list_else_the_datasets_columns(store_url, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"catalog": "f", "datasets": [
        {"name": "people", "columns": ["id", {"name": "email", "classifications": ["direct_identifier"]}, "age"]},
        {"name": "events"}],
        "models": [{"name": "m", "risk_tier": "minimal", "trained_on": [
            {"dataset": "people", "features": ["age", "id"]}, {"dataset": "events"}]},
            {"name": "all", "risk_tier": "minimal", "trained_on": [{"dataset": "people"}]}]}))
    from catalog.store import Store

    store = Store(store_url)
    load_catalog(store, [path])
    store.close()
    with TestClient(create_app(Settings(db=store_url))) as client:
        body = client.get("/api/v1/features/f:m").json()
        assert [(f["dataset"], f["declared"], [c["name"] for c in f["columns"]]) for f in body["feeds"]] == [
            ("dataset:f:events", "unknown", []), ("dataset:f:people", "features", ["age", "id"])]
        every = client.get("/api/v1/features/f:all").json()["feeds"][0]
        assert every["declared"] == "schema" and [c["name"] for c in every["columns"]] == ["id", "email", "age"]
        assert every["columns"][1]["classifications"] == ["direct_identifier"]
