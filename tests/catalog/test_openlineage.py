"""OpenLineage ingestion: validation, raw storage, mapping onto the catalog, models, idempotence.

The reference events are the OpenLineage repository's own fixtures (tests/fixtures/openlineage):
409 that pass the spec and its facet schemas, 6 that do not. Tests that need a store run on SQLite
and PostgreSQL and ingest the whole reference set in one call, so the PostgreSQL half stays short.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from catalog.errors import HeadwaterError, InvalidEvent
from catalog.openlineage import (
    IngestResult, ingest_events, location_from_data_source, parse_event, parse_events,
)
from catalog.schema import Dataset, Derivation, Feed, Job, LineageEvent, Model
from tests.openlineage_facets import facet_classes
from tests.paths import OPENLINEAGE_EVENTS

REFERENCE = OPENLINEAGE_EVENTS
VALID_FILES = sorted((REFERENCE / "valid").glob("*.json"))
INVALID_FILES = sorted((REFERENCE / "invalid").glob("*.json"))
if not VALID_FILES:  # never skip silently: an empty parametrisation would pass with nothing tested
    raise RuntimeError(f"OpenLineage reference events not found under {REFERENCE}")

PG = "postgres://postgres:5432"
SNOWFLAKE = "snowflake://mysnowflakeaccount.us-east-1.aws"
DBT = "dbt-test-namespace"
PRODUCER = "https://github.com/acme/pipelines/tree/v1"
RUN_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def valid_events() -> list[dict]:
    return [_load(p) for p in VALID_FILES]


# --- helpers -------------------------------------------------------------------------------------

def facet(**fields) -> dict:
    return {"_producer": PRODUCER, "_schemaURL": "https://example.com/facets/Custom.json", **fields}


def run_event(run_id: str, event_type: str, at: str, *, job: str = "build", inputs=(), outputs=(),
              namespace: str = "acme") -> dict:
    def dataset(d):
        return d if isinstance(d, dict) else {"namespace": namespace, "name": d}

    return {
        "eventType": event_type, "eventTime": at, "producer": PRODUCER, "schemaURL": RUN_SCHEMA,
        "run": {"runId": run_id}, "job": {"namespace": namespace, "name": job},
        "inputs": [dataset(d) for d in inputs], "outputs": [dataset(d) for d in outputs],
    }


def uid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def edges(store) -> set[tuple[str, str, str | None]]:
    """(input, output, job) as `ns:name` strings, for OpenLineage derivations."""
    with store.read() as session:
        inp, out = Dataset.__table__.alias("i"), Dataset.__table__.alias("o")
        rows = session.execute(
            select(inp.c.namespace, inp.c.name, out.c.namespace, out.c.name, Job.name)
            .select_from(Derivation)
            .join(inp, inp.c.id == Derivation.input_id).join(out, out.c.id == Derivation.output_id)
            .outerjoin(Job, Job.id == Derivation.job_id)
            .where(Derivation.source == "openlineage")
        ).all()
    return {(f"{a}:{b}", f"{c}:{d}", j) for a, b, c, d, j in rows}


def dataset_row(store, namespace: str, name: str) -> Dataset:
    with store.read() as session:
        return session.scalar(select(Dataset).where(Dataset.namespace == namespace, Dataset.name == name))


def raw_event_count(store) -> int:
    with store.read() as session:
        return session.scalar(select(func.count()).select_from(LineageEvent))


# --- parsing: no store needed --------------------------------------------------------------------

def test_every_valid_reference_event_parses_as_the_kind_its_shape_says(valid_events):
    kinds = [parse_event(e).kind for e in valid_events]
    assert len(kinds) == 409
    assert kinds.count("RunEvent") == 407 and kinds.count("DatasetEvent") == 1 and kinds.count("JobEvent") == 1
    # run + job + dataset together is a RunEvent, as the spec's oneOf says
    spec_full = parse_event(_load(REFERENCE / "valid" / "spec-full-event.json"))
    assert spec_full.kind == "RunEvent" and spec_full.dataset is None


@pytest.mark.parametrize("name, path, reason", [
    ("fluentd-no-run-id.json", "run.runId", "required field is missing"),
    ("fluentd-invalid-run-facet.json", "run.facets.parent.run.runId", "required field is missing (ParentRunFacet"),
    ("fluentd-invalid-job-facet.json", "job.facets.ownership.owners[0].name", "required field is missing (OwnershipJobFacet"),
    ("fluentd-invalid-dataset-facet.json", "outputs[0].facets.ownership.owners[0].name",
     "required field is missing (OwnershipDatasetFacet"),
    ("fluentd-invalid-output-dataset-facet.json", "outputs[0].outputFacets.outputStatistics.rowCount",
     'expected an integer, got "wrong"'),
    ("fluentd-invalid-input-dataset-facet.json", "inputs[0].inputFacets.dataQualityMetrics.columnMetrics",
     "required field is missing (DataQualityMetricsInputDatasetFacet"),
])
def test_each_invalid_reference_event_is_rejected_naming_the_path(name, path, reason):
    assert sorted(p.name for p in INVALID_FILES) == sorted([
        "fluentd-no-run-id.json", "fluentd-invalid-run-facet.json", "fluentd-invalid-job-facet.json",
        "fluentd-invalid-dataset-facet.json", "fluentd-invalid-output-dataset-facet.json",
        "fluentd-invalid-input-dataset-facet.json",
    ])
    with pytest.raises(InvalidEvent) as caught:
        parse_event(_load(REFERENCE / "invalid" / name))
    assert isinstance(caught.value, HeadwaterError)
    assert caught.value.path == path
    assert str(caught.value).startswith(f"{path}: {reason}")


BASE = run_event(uid(1), "COMPLETE", "2026-11-20T10:00:00Z", inputs=["raw"], outputs=["clean"])


@pytest.mark.parametrize("change, path, reason", [
    (lambda e: e["run"].update(runId="run-1"), "run.runId", "expected a UUID"),
    (lambda e: e.update(eventTime="2026-11-20"), "eventTime", "expected an ISO 8601 date-time"),
    (lambda e: e.update(eventTime=1732096800), "eventTime", "expected a string, got a number"),
    (lambda e: e.update(producer="acme pipelines"), "producer", "expected a URI"),
    (lambda e: e.pop("schemaURL"), "schemaURL", "required field is missing"),
    (lambda e: e.update(eventType="DONE"), "eventType", "expected one of START, RUNNING, COMPLETE, ABORT, FAIL or OTHER"),
    (lambda e: e.pop("job"), "job", "required field is missing (a RunEvent needs 'run' and 'job')"),
    (lambda e: e["job"].pop("name"), "job.name", "required field is missing"),
    (lambda e: e["outputs"][0].pop("namespace"), "outputs[0].namespace", "required field is missing"),
    (lambda e: e["inputs"][0].update(name=""), "inputs[0].name", "must not be empty"),
    (lambda e: e.update(inputs={"namespace": "acme"}), "inputs", "expected an array"),
    (lambda e: e["outputs"][0].update(name="clean\x00"), "outputs[0].name", "must not contain a NUL character"),
    (lambda e: e.update(sampleRate=float("nan")), "", "contains NaN or Infinity"),
    (lambda e: e["job"].update(facets={"custom": facet(note="\ud800")}), "", "contains a lone UTF-16 surrogate"),
    (lambda e: e["inputs"][0].update(facets={"custom": {"_schemaURL": "https://x/y"}}), "inputs[0].facets.custom._producer",
     "required field is missing"),
    (lambda e: e["run"].update(facets={"nominalTime": facet(nominalStartTime="2026-11-20")}),
     "run.facets.nominalTime.nominalStartTime", "expected an ISO 8601 date-time (NominalTimeRunFacet schema)"),
    (lambda e: (e.pop("run"), e.update(dataset={"namespace": "acme", "name": "raw"})), "",
     "an event with 'dataset' and 'job' but no 'run' is both a DatasetEvent and a JobEvent"),
    (lambda e: (e.pop("job"), e.pop("run")), "", "not an OpenLineage event"),
    (lambda e: e["outputs"][0].update(outputFacets={"headwater_model": facet(riskTier="huge")}),
     "outputs[0].outputFacets.headwater_model.riskTier", "expected one of prohibited, high, gpai, limited or minimal"),
    (lambda e: e["inputs"][0].update(inputFacets={"headwater_feed": facet(role="training", fingerprint="md5:1")}),
     "inputs[0].inputFacets.headwater_feed.fingerprint", "expected 'sha256:' followed by 64 lowercase hex digits"),
])
def test_malformed_events_are_rejected_with_the_json_path(change, path, reason):
    event = copy.deepcopy(BASE)
    change(event)
    with pytest.raises(InvalidEvent) as caught:
        parse_event(event)
    assert caught.value.path == path
    assert caught.value.reason.startswith(reason)


def test_a_body_that_is_not_an_object_is_rejected():
    for body in (None, [], "event", 3):
        with pytest.raises(InvalidEvent, match="expected a JSON object"):
            parse_event(body)


def test_lenient_where_the_spec_and_marquez_are():
    event = copy.deepcopy(BASE)
    event["eventTime"] = "2026-11-20T10:00:00.123456789"  # no offset (the Python client), nanoseconds (Java)
    event.pop("eventType")  # the schema does not require it
    event["run"]["runId"] = event["run"]["runId"].upper()
    parsed = parse_event(event)
    assert parsed.event_time == datetime(2026, 11, 20, 10, 0, 0, 123456, tzinfo=timezone.utc)
    assert parsed.run_id == uid(1)
    dataset_with_run = {"eventTime": "2026-11-20T10:00:00Z", "producer": PRODUCER, "schemaURL": RUN_SCHEMA,
                        "run": {"anything": 1}, "dataset": {"namespace": "acme", "name": "raw"}}
    assert parse_event(dataset_with_run).kind == "DatasetEvent"  # `run` without `job` is a DatasetEvent
    job_event = copy.deepcopy(BASE)
    job_event.pop("run")
    assert parse_event(job_event).kind == "JobEvent"  # eventType does not stop it being a JobEvent


def test_a_batch_reports_every_invalid_event_with_its_index(valid_events):
    batch = valid_events[:5] + [_load(p) for p in INVALID_FILES] + valid_events[5:10]
    with pytest.raises(InvalidEvent) as caught:
        parse_events(batch)
    assert [e.index for e in caught.value.errors] == list(range(5, 11))
    assert caught.value.location.startswith("events[5].")
    assert str(caught.value).endswith("(and 5 more invalid events)")


def test_data_source_locations():
    assert location_from_data_source("file", "file", "/data/loans.csv") == "/data/loans.csv"
    assert location_from_data_source("file:///data/loans.parquet", "s3-ish", "loans") == "/data/loans.parquet"
    assert location_from_data_source("file", "file", "/opt/spark/work-dir/spark-warehouse/t2") is None  # a folder
    assert location_from_data_source("sqlite:////srv/crm.db", "sqlite", "customers") == "sqlite:////srv/crm.db#customers"
    assert (location_from_data_source("postgresql://db.acme:5432/sales", "postgres://db.acme:5432", "sales.public.orders")
            == "postgresql://db.acme:5432/sales#public.orders")
    # OpenLineage namespaces that are no SQLAlchemy URL stay in the facet only
    for uri in (PG, "bigquery", "duckdb://duckdb.db", SNOWFLAKE, "s3://bucket/path", "postgresql://host:5432"):
        assert location_from_data_source(uri, uri, "db.schema.table") is None


# --- ingestion -----------------------------------------------------------------------------------

def test_every_valid_reference_event_ingests_into_datasets_jobs_and_derivations(store, valid_events):
    result = ingest_events(store, valid_events)
    assert isinstance(result, IngestResult)
    assert (result.events, result.stored, result.duplicates) == (409, 409, 0)
    assert (result.run_events, result.dataset_events, result.job_events) == (407, 1, 1)
    assert (result.datasets_created, result.jobs_created, result.derivations_added) == (43, 117, 32)
    assert (result.models_created, result.feeds_added, result.derivations_removed) == (0, 0, 0)
    assert result.revision == store.revision() == 1
    assert store.counts() == {"datasets": 43, "jobs": 117, "models": 0, "feeds": 0, "derivations": 32, "incidents": 0}
    assert raw_event_count(store) == 409

    found = edges(store)
    public = f"{PG}:postgres.public"
    audit = f"{PG}:postgres.public_dbt_test__audit"
    # dbt models: staging from seeds, marts from staging
    assert (f"{public}.raw_customers", f"{public}.stg_customers", "model.jaffle_shop.stg_customers") in found
    assert {e for e in found if e[1] == f"{public}.customers"} == {
        (f"{public}.{i}", f"{public}.customers", "model.jaffle_shop.customers")
        for i in ("stg_customers", "stg_orders", "stg_payments")
    }
    # the run of `orders` that FAILed still declared its lineage in its START event
    assert {e for e in found if e[1] == f"{public}.orders"} == {
        (f"{public}.stg_orders", f"{public}.orders", "model.jaffle_shop.orders"),
        (f"{public}.stg_payments", f"{public}.orders", "model.jaffle_shop.orders"),
    }
    # the same dbt job also wrote Snowflake tables: both outputs keep their edges
    assert (f"{SNOWFLAKE}:REPORTING.TEST_GENERAL.stg_orders", f"{SNOWFLAKE}:REPORTING.TEST_GENERAL.orders",
            "model.jaffle_shop.orders") in found
    # a run is the union of its events: the START of this test lists customers and orders, its COMPLETE only orders
    relationships = f"{audit}.relationships_orders_customer_id__customer_id__ref_customers_"
    assert {e[0] for e in found if e[1] == relationships} == {f"{public}.customers", f"{public}.orders"}
    assert ("bigquery:example-bigquery-project.raw.raw_stores", "bigquery:example-bigquery-project.jaffle_shop.stg_locations",
            "model.jaffle_shop.stg_locations") in found
    assert ("my-datasource-namespace:instance.schema.input-1", "my-datasource-namespace:instance.schema.output-1",
            "myjob") in found
    # a JobEvent declares its job's static lineage
    assert ("openlineage:dataset_a", "openlineage:dataset_b", "name") in found
    # a job that reads and writes the same table adds no self-edge
    assert not any(i == o for i, o, _ in found)
    # the Spark fixtures' START (t1 in) and COMPLETE (t2 out) carry different runIds: two runs, no edge
    assert dataset_row(store, "file", "/opt/spark/work-dir/spark-warehouse/t1") is not None
    assert not any(o.endswith("/t2") for _, o, _ in found)

    # facets are kept on datasets and jobs; the DatasetEvent's dataset exists with its schema
    customers = dataset_row(store, PG, "postgres.public.customers")
    assert {"schema", "dataSource"} <= set(customers.facets)
    assert customers.facets["dataSource"]["uri"] == PG and customers.location is None
    assert [f["name"] for f in dataset_row(store, "openlineage", "name").facets["schema"]["fields"]] == ["a", "b"]
    t2 = dataset_row(store, "file", "/opt/spark/work-dir/spark-warehouse/t2")
    assert {"columnLineage", "symlinks", "lifecycleStateChange"} <= set(t2.facets) and "dropped" not in t2.tags
    table = dataset_row(store, "my-datasource-namespace", "instance.schema.table")
    assert table.facets["dataQualityAssertions"]["assertions"][0]["assertion"] == "row_count_equal_to"
    assert table.facets["outputStatistics"]["rowCount"] == 2000
    with store.read() as session:
        job = session.scalar(select(Job).where(Job.namespace == "my-scheduler-namespace", Job.name == "myjob.mytask"))
        assert job.description == "string" and "documentation" in job.facets
        stored = session.scalar(select(LineageEvent).where(LineageEvent.kind == "DatasetEvent"))
        assert stored.payload == _load(REFERENCE / "valid" / "python-client-serde-dataset-event.json")
        assert stored.run_id is None and stored.event_type is None

    # the graph sees OpenLineage lineage like any other
    from lineage.service import impact

    reached = {r.node.id for r in impact(store, f"dataset:{public}.raw_customers").datasets}
    assert f"dataset:{public}.customers" in reached and f"dataset:{audit}.unique_customers_customer_id" in reached


def test_ingesting_again_changes_nothing(store, valid_events):
    ingest_events(store, valid_events)
    revision, counts = store.revision(), store.counts()
    again = ingest_events(store, list(reversed(valid_events)) + valid_events[:3])
    assert (again.stored, again.duplicates) == (0, 412)
    assert (again.datasets_created, again.datasets_updated, again.jobs_updated, again.derivations_added) == (0, 0, 0, 0)
    assert again.revision == store.revision() == revision
    assert store.counts() == counts and raw_event_count(store) == 409


def test_a_batch_with_one_invalid_event_writes_nothing(store, valid_events):
    first = ingest_events(store, valid_events[:2])
    revision, counts = store.revision(), store.counts()
    for invalid in INVALID_FILES:
        with pytest.raises(InvalidEvent) as caught:
            ingest_events(store, valid_events[2:] + [_load(invalid)])
        assert caught.value.index == 407 and caught.value.location.startswith("events[407].")
    malformed = copy.deepcopy(valid_events[200])
    malformed["run"]["runId"] = "not-a-uuid"
    with pytest.raises(InvalidEvent, match=r"^events\[198\]\.run\.runId: expected a UUID$"):
        ingest_events(store, valid_events[2:200] + [malformed] + valid_events[201:])
    assert store.revision() == revision == first.revision
    assert store.counts() == counts and raw_event_count(store) == 2


def test_unknown_fields_and_facets_are_kept(store):
    event = run_event(uid(2), "COMPLETE", "2026-11-20T10:00:00Z", inputs=["raw"], outputs=["clean"])
    event["x-trace"] = {"id": "abc"}
    event["run"]["facets"] = {"acme_cost": facet(eur=1.25)}
    event["job"]["facets"] = {"acme_team": facet(team="risk"),
                              "sql": {**facet(query="select 1"), "dialect": "postgres", "x-extra": [1, 2]}}
    event["inputs"][0]["facets"] = {"acme_pii": facet(columns=["ssn"]), "x-unregistered": facet(note="kept")}
    event["inputs"][0]["x-field"] = True
    event["outputs"][0]["outputFacets"] = {"acme_rows": facet(rows=10)}
    result = ingest_events(store, [event])
    assert (result.datasets_created, result.derivations_added) == (2, 1)
    raw = dataset_row(store, "acme", "raw")
    assert raw.facets["acme_pii"]["columns"] == ["ssn"] and raw.facets["x-unregistered"]["note"] == "kept"
    assert dataset_row(store, "acme", "clean").facets["acme_rows"]["rows"] == 10
    with store.read() as session:
        job = session.scalar(select(Job).where(Job.name == "build"))
        assert job.facets["acme_team"]["team"] == "risk" and job.facets["sql"]["x-extra"] == [1, 2]
        assert session.scalar(select(LineageEvent.payload)) == event


def test_facets_fill_fields_but_never_blank_them_nor_override_a_catalog_file(store, tmp_path):
    csv = tmp_path / "loans.csv"
    csv.write_text("id\n1\n")
    with store.transaction() as writer:
        writer.upsert_dataset("acme", "declared", {"owner": "dpo@acme.example", "description": "from the catalog",
                                                   "catalog_file": "/catalog/acme.yaml", "tags": ["pii"]})
    outputs = [
        {"namespace": "acme", "name": "declared", "facets": {
            "ownership": facet(owners=[{"name": "team:data"}]), "documentation": facet(description="from the pipeline"),
            "dataSource": facet(name="file", uri=f"file://{csv}"),
        }},
        {"namespace": "file", "name": str(csv), "facets": {
            "ownership": facet(owners=[{"name": "user:ann", "type": "MAINTAINER"}, {"name": "team:risk"}]),
            "documentation": facet(description="loan applications"),
            "dataSource": facet(name="file", uri="file"),
            "lifecycleStateChange": facet(lifecycleStateChange="DROP"),
        }},
    ]
    ingest_events(store, [run_event(uid(3), "COMPLETE", "2026-11-20T10:00:00Z", outputs=outputs)])
    declared = dataset_row(store, "acme", "declared")
    assert (declared.owner, declared.description) == ("dpo@acme.example", "from the catalog")
    assert declared.location == str(csv)  # the catalog left it blank: OpenLineage fills it
    assert declared.facets["ownership"]["owners"] == [{"name": "team:data"}]  # the facet itself is kept
    observed = dataset_row(store, "file", str(csv))
    assert (observed.owner, observed.description, observed.location) == ("user:ann, team:risk", "loan applications", str(csv))
    assert observed.tags == ["dropped"]

    # a later event without those facets blanks nothing; a re-creation lifts `dropped`; _deleted drops a facet
    later = [{"namespace": "file", "name": str(csv), "facets": {
        "lifecycleStateChange": facet(lifecycleStateChange="CREATE"), "documentation": {**facet(), "_deleted": True},
    }}]
    ingest_events(store, [run_event(uid(4), "COMPLETE", "2026-11-21T10:00:00Z", outputs=later)])
    observed = dataset_row(store, "file", str(csv))
    assert (observed.owner, observed.description, observed.location) == ("user:ann, team:risk", "loan applications", str(csv))
    assert observed.tags == [] and "documentation" not in observed.facets and "ownership" in observed.facets


def test_a_job_s_newest_run_defines_its_edges_and_a_late_older_event_does_not(store):
    ingest_events(store, [
        run_event(uid(10), "START", "2026-11-20T10:00:00Z", inputs=["a"]),  # inputs first ...
        run_event(uid(10), "COMPLETE", "2026-11-20T10:05:00Z", outputs=["out"]),  # ... outputs later: one run
    ])
    assert edges(store) == {("acme:a", "acme:out", "build")}
    result = ingest_events(store, [run_event(uid(11), "COMPLETE", "2026-11-21T10:00:00Z", inputs=["b"], outputs=["out"])])
    assert (result.derivations_added, result.derivations_removed) == (1, 1)
    assert edges(store) == {("acme:b", "acme:out", "build")}
    revision = store.revision()
    late = ingest_events(store, [run_event(uid(10), "RUNNING", "2026-11-20T10:03:00Z", inputs=["a"], outputs=["out"])])
    assert late.stored == 1 and edges(store) == {("acme:b", "acme:out", "build")} and store.revision() == revision
    # FAIL, ABORT and OTHER add datasets, not lineage; another job's edges into the same output stay
    ingest_events(store, [
        run_event(uid(12), "FAIL", "2026-11-22T10:00:00Z", inputs=["c"], outputs=["out"]),
        run_event(uid(13), "COMPLETE", "2026-11-22T11:00:00Z", job="backfill", inputs=["d"], outputs=["out"]),
    ])
    assert dataset_row(store, "acme", "c") is not None
    assert edges(store) == {("acme:b", "acme:out", "build"), ("acme:d", "acme:out", "backfill")}
    # a newer run of `build` that writes elsewhere leaves `out`'s content (and its lineage) as it was
    ingest_events(store, [run_event(uid(14), "COMPLETE", "2026-11-23T10:00:00Z", inputs=["e"], outputs=["other"])])
    assert edges(store) == {("acme:b", "acme:out", "build"), ("acme:d", "acme:out", "backfill"),
                            ("acme:e", "acme:other", "build")}


def test_catalog_edges_are_never_touched(store, tmp_path):
    from catalog.loader import load_catalog

    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("catalog: acme\ndatasets:\n  - name: a\n  - name: out\n    derived_from: [a]\n")
    load_catalog(store, [catalog])
    ingest_events(store, [run_event(uid(20), "COMPLETE", "2026-11-20T10:00:00Z", inputs=["b"], outputs=["out"])])
    ingest_events(store, [run_event(uid(21), "COMPLETE", "2026-11-21T10:00:00Z", inputs=["c"], outputs=["out"])])
    with store.read() as session:
        sources = sorted(session.execute(select(Derivation.source, func.count()).group_by(Derivation.source)).all())
    assert sources == [("catalog", 1), ("openlineage", 1)]
    load_catalog(store, [catalog])  # reloading the file keeps OpenLineage's edge
    assert edges(store) == {("acme:c", "acme:out", "build")}


# --- AI models -----------------------------------------------------------------------------------

def _client_training_events(run_id: str, version: str, inputs: list[tuple[str, str | None, str | None]],
                            start: str, end: str) -> list[dict]:
    """A training run as openlineage-python emits it, with Headwater's custom facets."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.serde import Serde

    HeadwaterModel, HeadwaterFeed = facet_classes()
    job = Job(namespace="acme-ml", name="train_credit_scorer")
    datasets = [
        InputDataset(namespace="acme", name=name,
                     inputFacets={"headwater_feed": HeadwaterFeed(role=role, fingerprint=fp)} if role else {})
        for name, role, fp in inputs
    ]
    model = OutputDataset(namespace="s3://acme-models", name=f"credit-scorer/{version}", outputFacets={
        "headwater_model": HeadwaterModel(name="credit-scorer", version=version, riskTier="high", deployed=True)})
    events = [
        RunEvent(eventType=RunState.START, eventTime=start, run=Run(runId=run_id), job=job, inputs=datasets,
                 producer=PRODUCER),
        RunEvent(eventType=RunState.COMPLETE, eventTime=end, run=Run(runId=run_id), job=job, outputs=[model],
                 producer=PRODUCER),
    ]
    return [Serde.to_dict(e) for e in events]


def test_a_training_run_with_the_model_facet_creates_a_model_that_impact_reaches(store):
    from lineage.service import impact

    fingerprint = "sha256:" + "ab" * 32
    pipeline = run_event(uid(30), "COMPLETE", "2026-11-19T08:00:00Z", job="build_features",
                         inputs=["raw.loan_applications"], outputs=["features.credit_features"])
    training = _client_training_events(uid(31), "3.2.0", [
        ("features.credit_features", "training", fingerprint), ("features.holdout", "evaluation", None),
        ("reference.postcodes", None, None),
    ], "2026-11-20T10:00:00Z", "2026-11-20T12:00:00Z")
    result = ingest_events(store, [pipeline, *training])
    assert (result.models_created, result.feeds_added, result.derivations_added) == (1, 3, 1)
    assert dataset_row(store, "s3://acme-models", "credit-scorer/3.2.0") is None  # a model, not a dataset

    with store.read() as session:
        model = session.scalar(select(Model))
        assert (model.namespace, model.name, model.version, model.risk_tier, model.deployed) == (
            "s3://acme-models", "credit-scorer", "3.2.0", "high", True)
        feeds = {(d.name, f.role): f for f, d in session.execute(
            select(Feed, Dataset).join(Dataset, Dataset.id == Feed.dataset_id))}
    assert set(feeds) == {("features.credit_features", "training"), ("features.holdout", "evaluation"),
                          ("reference.postcodes", "training")}
    assert feeds[("features.credit_features", "training")].fingerprint == fingerprint
    assert {f.source for f in feeds.values()} == {"openlineage"}
    assert {f.consumed_at for f in feeds.values()} == {datetime(2026, 11, 20, 10, tzinfo=timezone.utc)}

    affected = impact(store, "dataset:acme:raw.loan_applications")
    assert [(m.model.id, m.version, m.risk_tier, m.deployed) for m in affected.models] == [
        ("model:s3://acme-models:credit-scorer@3.2.0", "3.2.0", "high", True)]
    assert affected.models[0].distance == 2

    # the next training run: a new version, a model version of its own with its own inputs as feeds;
    # the version trained before keeps the feeds it was trained on
    revision = store.revision()
    retrain = _client_training_events(uid(32), "3.3.0", [("features.credit_features_v2", "training", None)],
                                      "2026-11-25T10:00:00Z", "2026-11-25T12:00:00Z")
    again = ingest_events(store, retrain)
    assert (again.models_created, again.models_updated, again.feeds_added, again.feeds_removed) == (1, 0, 1, 0)

    def feeds_of(version: str) -> list[str]:
        return sorted(session.execute(
            select(Dataset.name).join(Feed, Feed.dataset_id == Dataset.id).join(Model, Model.id == Feed.model_id)
            .where(Model.version == version)).scalars())

    with store.read() as session:
        assert sorted(session.execute(select(Model.name, Model.version)).all()) == [
            ("credit-scorer", "3.2.0"), ("credit-scorer", "3.3.0")]
        assert feeds_of("3.3.0") == ["features.credit_features_v2"]
        assert feeds_of("3.2.0") == ["features.credit_features", "features.holdout", "reference.postcodes"]
    assert store.revision() == revision + 1
    assert ingest_events(store, training + retrain).stored == 0 and store.revision() == revision + 1


def test_a_catalog_declared_model_keeps_its_risk_tier_and_gets_the_trained_version(store, tmp_path):
    from catalog.loader import load_catalog

    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(
        "catalog: acme-ml\ndatasets:\n  - name: features\n"
        "models:\n  - name: scorer\n    version: '1.0'\n    risk_tier: high\n    deployed: true\n"
        "    trained_on: [{dataset: features}]\n"
    )
    load_catalog(store, [catalog])
    # a run that trained the version the catalog declares (a model version is namespace, name and version)
    event = run_event(uid(40), "COMPLETE", "2026-11-20T10:00:00Z", namespace="acme-ml", job="train",
                      inputs=["features", "extra"], outputs=[{"namespace": "acme-ml", "name": "scorer", "outputFacets": {
                          "headwater_model": facet(version="1.0", riskTier="minimal", deployed=False)}}])
    result = ingest_events(store, [event])
    # (features, training) is the catalog's feed already: OpenLineage adds only `extra`; the catalog's
    # risk tier and deployed win over the facet's, so the model row itself is unchanged
    assert (result.models_created, result.models_updated, result.feeds_added) == (0, 0, 1)

    def feed_sources(version: str = "1.0"):
        with store.read() as session:
            return sorted(session.execute(
                select(Dataset.name, Feed.source).join(Dataset, Dataset.id == Feed.dataset_id)
                .join(Model, Model.id == Feed.model_id).where(Model.version == version)).all())

    with store.read() as session:
        model = session.scalar(select(Model))
        assert (model.version, model.risk_tier, model.deployed) == ("1.0", "high", True)
    assert feed_sources() == [("extra", "openlineage"), ("features", "catalog")]
    # a catalog file that later declares the feed OpenLineage reported takes the row over
    catalog.write_text(catalog.read_text().replace("[{dataset: features}]", "[{dataset: features}, {dataset: extra}]"))
    load_catalog(store, [catalog])
    assert feed_sources() == [("extra", "catalog"), ("features", "catalog")]

    # a run that trained a newer version adds that version beside the declared one, which stays as declared
    retrain = run_event(uid(41), "COMPLETE", "2026-11-21T10:00:00Z", namespace="acme-ml", job="train",
                        inputs=["features", "extra"], outputs=[{"namespace": "acme-ml", "name": "scorer", "outputFacets": {
                            "headwater_model": facet(version="1.1", riskTier="minimal", deployed=False)}}])
    again = ingest_events(store, [retrain])
    assert (again.models_created, again.models_updated, again.feeds_added) == (1, 0, 2)
    with store.read() as session:
        versions = {m.version: (m.risk_tier, m.deployed) for m in session.scalars(select(Model))}
    assert set(versions) == {"1.0", "1.1"} and versions["1.0"] == ("high", True)
    assert feed_sources() == [("extra", "catalog"), ("features", "catalog")]
    assert feed_sources("1.1") == [("extra", "openlineage"), ("features", "openlineage")]


def test_concurrent_writers_sending_the_same_events_store_each_once(store, valid_events):
    """What several API workers receiving retries of the same batches do: nothing lost, nothing doubled."""
    from concurrent.futures import ThreadPoolExecutor

    batches = [valid_events[i::4] + valid_events[:40] for i in range(4)]  # overlapping on purpose
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda batch: ingest_events(store, batch), batches))
    assert sum(r.stored for r in results) == 409
    assert store.counts() == {"datasets": 43, "jobs": 117, "models": 0, "feeds": 0, "derivations": 32, "incidents": 0}
    assert raw_event_count(store) == 409


# --- events cannot rewrite the past or the future (issue 15, finding 5) ----------------------------

def _at(delta: timedelta) -> str:
    return (datetime.now(timezone.utc) + delta).isoformat().replace("+00:00", "Z")


def test_an_event_dated_past_the_clock_skew_is_refused_naming_event_time():
    from catalog.openlineage import EventLimits

    assert parse_event(run_event(uid(1), "COMPLETE", _at(timedelta(minutes=4)), outputs=["x"])).kind == "RunEvent"
    for ahead in (timedelta(minutes=6), timedelta(days=3650)):
        with pytest.raises(InvalidEvent) as error:
            parse_event(run_event(uid(1), "COMPLETE", _at(ahead), outputs=["x"]))
        assert error.value.path == "eventTime"
        assert "ahead of the server's clock" in error.value.reason and "HEADWATER_MAX_CLOCK_SKEW" in error.value.reason
    tight = EventLimits(max_clock_skew=timedelta(seconds=10))
    with pytest.raises(InvalidEvent, match="at most 10s ahead"):
        parse_event(run_event(uid(1), "COMPLETE", _at(timedelta(minutes=1)), outputs=["x"]), limits=tight)
    far = run_event(uid(1), "COMPLETE", "9999-12-31T23:59:59Z", outputs=["x"])
    with pytest.raises(InvalidEvent) as error:
        parse_events([run_event(uid(2), "COMPLETE", "2026-11-20T10:00:00Z", outputs=["x"]), far])
    assert error.value.location == "events[1].eventTime"


def test_the_clock_skew_and_edge_limits_are_read_as_durations_and_counts():
    from catalog.errors import ConfigurationError
    from catalog.openlineage import EventLimits

    assert EventLimits.from_env({}) == EventLimits()
    assert EventLimits.from_env({}).max_clock_skew == timedelta(minutes=5)
    assert EventLimits.from_env({}).max_edges_per_event == 10_000
    assert EventLimits.from_env({"HEADWATER_MAX_CLOCK_SKEW": "10s"}).max_clock_skew == timedelta(seconds=10)
    assert EventLimits.from_env({"HEADWATER_MAX_CLOCK_SKEW": "5min"}).max_clock_skew == timedelta(minutes=5)
    assert EventLimits.from_env({"HEADWATER_MAX_EDGES_PER_EVENT": "250"}).max_edges_per_event == 250
    for variable, value in (("HEADWATER_MAX_CLOCK_SKEW", "6m"), ("HEADWATER_MAX_CLOCK_SKEW", "soon"),
                            ("HEADWATER_MAX_EDGES_PER_EVENT", "0"), ("HEADWATER_MAX_EDGES_PER_EVENT", "many")):
        with pytest.raises(ConfigurationError, match=variable):
            EventLimits.from_env({variable: value})


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_event_times_with_no_utc_equivalent_are_refused_not_a_crash(at):
    with pytest.raises(InvalidEvent) as error:
        parse_events([run_event(uid(1), "COMPLETE", at, outputs=["x"])])
    assert error.value.location == "events[0].eventTime" and "outside the years 1-9999" in error.value.reason
    assert parse_event(run_event(uid(1), "COMPLETE", "0001-01-01T00:00:00Z", outputs=["x"])).event_time.year == 1


def _ownership(*owners: str) -> dict:
    return {"_producer": PRODUCER, "owners": [{"name": o} for o in owners],
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/OwnershipDatasetFacet.json#/$defs/OwnershipDatasetFacet"}


def _documentation(text: str) -> dict:
    return {"_producer": PRODUCER, "description": text,
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DocumentationDatasetFacet.json#/$defs/DocumentationDatasetFacet"}


def _dataset_event(at: str, name: str = "t", **facets) -> dict:
    return {"eventTime": at, "producer": PRODUCER,
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
            "dataset": {"namespace": "acme", "name": name, "facets": facets}}


def test_an_older_event_arriving_later_never_overwrites_newer_facets_or_fields(store):
    ingest_events(store, [_dataset_event("2026-11-20T12:00:00Z", ownership=_ownership("team:new"),
                                         documentation=_documentation("the new text"), acme=facet(v=2))])
    revision = store.revision()
    late = ingest_events(store, [_dataset_event("2026-11-20T11:00:00Z", ownership=_ownership("team:old"),
                                                documentation=_documentation("the old text"), acme=facet(v=1))])
    assert late.stored == 1 and late.datasets_updated == 0 and store.revision() == revision
    row = dataset_row(store, "acme", "t")
    assert (row.owner, row.description) == ("team:new", "the new text")
    assert row.facets["ownership"]["owners"] == [{"name": "team:new"}] and row.facets["acme"]["v"] == 2
    # the same facet again, newer: only its time moves (the revision stays), and that time still guards it
    ingest_events(store, [_dataset_event("2026-11-20T12:10:00Z", ownership=_ownership("team:new"))])
    assert store.revision() == revision
    ingest_events(store, [_dataset_event("2026-11-20T12:05:00Z", ownership=_ownership("team:between"))])
    assert dataset_row(store, "acme", "t").owner == "team:new"
    # an older deletion changes nothing either; a newer event still wins, facet by facet
    ingest_events(store, [_dataset_event("2026-11-20T10:00:00Z", ownership={**_ownership(), "_deleted": True})])
    assert "ownership" in dataset_row(store, "acme", "t").facets
    ingest_events(store, [_dataset_event("2026-11-20T13:00:00Z", ownership=_ownership("team:newest")),
                          _dataset_event("2026-11-20T11:30:00Z", documentation=_documentation("older again"))])
    row = dataset_row(store, "acme", "t")
    assert (row.owner, row.description) == ("team:newest", "the new text")
    assert row.facets["_eventTimes"]["ownership"] == "2026-11-20T13:00:00+00:00"
    # a newer deletion deletes; an older set that arrives after it does not bring the facet back
    ingest_events(store, [_dataset_event("2026-11-20T14:00:00Z", acme={**facet(), "_deleted": True})])
    ingest_events(store, [_dataset_event("2026-11-20T12:30:00Z", acme=facet(v=3))])
    assert "acme" not in dataset_row(store, "acme", "t").facets


def test_an_older_job_event_arriving_later_keeps_the_newer_job_description(store):
    documented = run_event(uid(30), "COMPLETE", "2026-11-20T12:00:00Z", inputs=["a"], outputs=["b"])
    documented["job"]["facets"] = {"documentation": {**_documentation("new"), "_schemaURL":
                                   "https://openlineage.io/spec/facets/1-0-1/DocumentationJobFacet.json#/$defs/DocumentationJobFacet"}}
    older = copy.deepcopy(documented)
    older["eventTime"], older["run"]["runId"] = "2026-11-19T12:00:00Z", uid(31)
    older["job"]["facets"]["documentation"]["description"] = "old"
    ingest_events(store, [documented])
    ingest_events(store, [older])
    with store.read() as session:
        job = session.scalar(select(Job).where(Job.name == "build"))
    assert job.description == "new" and job.facets["documentation"]["description"] == "new"


def test_a_facet_named_like_headwater_s_bookkeeping_is_refused():
    with pytest.raises(InvalidEvent) as error:
        parse_event(_dataset_event("2026-11-20T12:00:00Z", _eventTimes=facet(ownership="0001-01-01T00:00:00Z")))
    assert error.value.path == "dataset.facets._eventTimes" and "reserved" in error.value.reason


def test_a_far_future_event_is_refused_so_real_runs_keep_defining_the_edges(store):
    with pytest.raises(InvalidEvent, match="eventTime"):
        ingest_events(store, [run_event(uid(40), "COMPLETE", "9999-12-31T23:59:59Z", inputs=["evil"], outputs=["out"])])
    assert raw_event_count(store) == 0 and edges(store) == set()
    ingest_events(store, [run_event(uid(41), "COMPLETE", _at(-timedelta(hours=2)), inputs=["a"], outputs=["out"])])
    ingest_events(store, [run_event(uid(42), "COMPLETE", _at(-timedelta(minutes=1)), inputs=["b"], outputs=["out"])])
    assert edges(store) == {("acme:b", "acme:out", "build")}
    # an older run arriving after a newer one, in its own request, defines nothing
    ingest_events(store, [run_event(uid(43), "COMPLETE", _at(-timedelta(hours=1)), inputs=["c"], outputs=["out"])])
    assert edges(store) == {("acme:b", "acme:out", "build")}


def test_events_closing_a_derivation_cycle_are_refused_whole(store, cycle_search):
    from catalog.errors import LineageCycle

    ingest_events(store, [run_event(uid(50), "COMPLETE", "2026-11-20T10:00:00Z", job="make_b", inputs=["a"], outputs=["b"])])
    before = (raw_event_count(store), edges(store), store.revision())
    closing = [run_event(uid(51), "COMPLETE", "2026-11-20T11:00:00Z", job="unrelated", inputs=["x"], outputs=["y"]),
               run_event(uid(52), "COMPLETE", "2026-11-20T11:00:00Z", job="make_a", inputs=["b"], outputs=["a"])]
    with pytest.raises(LineageCycle) as error:
        ingest_events(store, closing)
    message = str(error.value)
    assert error.value.location == "events[1].outputs[0]"
    assert "acme:a -> acme:b -> acme:a" in message or "acme:b -> acme:a -> acme:b" in message
    assert "job acme:make_b" in message and "job acme:make_a" in message and "nothing of this request" in message
    assert (raw_event_count(store), edges(store), store.revision()) == before  # the unrelated event too
    assert dataset_row(store, "acme", "y") is None
    # a longer loop, and one closed inside a single batch, are refused the same way
    ingest_events(store, [run_event(uid(53), "COMPLETE", "2026-11-20T12:00:00Z", job="make_c", inputs=["b"], outputs=["c"])])
    with pytest.raises(LineageCycle, match="acme:c"):
        ingest_events(store, [run_event(uid(54), "COMPLETE", "2026-11-20T13:00:00Z", job="make_a", inputs=["c"], outputs=["a"])])
    with pytest.raises(LineageCycle, match="acme:q"):
        ingest_events(store, [
            run_event(uid(55), "COMPLETE", "2026-11-20T13:00:00Z", job="make_q", inputs=["p"], outputs=["q"]),
            run_event(uid(56), "COMPLETE", "2026-11-20T13:00:00Z", job="make_p", inputs=["q"], outputs=["p"])])
    # a job whose newest run rewires its output away from the loop is fine
    ingest_events(store, [run_event(uid(57), "COMPLETE", "2026-11-20T14:00:00Z", job="make_b", inputs=["z"], outputs=["b"])])
    ingest_events(store, [run_event(uid(58), "COMPLETE", "2026-11-20T15:00:00Z", job="make_a", inputs=["b"], outputs=["a"])])
    assert ("acme:b", "acme:a", "make_a") in edges(store)


@pytest.fixture(params=["walk", "whole graph"])
def cycle_search(request, monkeypatch) -> str:
    """Both ways `catalog.openlineage.cycles` searches: walking from the batch's edges, or reading every edge
    (which it does when the batch joins a good share of the store, as in these small stores)."""
    from catalog.openlineage import cycles

    monkeypatch.setattr(cycles, "WHOLE_GRAPH_SHARE", 0 if request.param == "walk" else 10**9)
    return request.param


def test_one_batch_of_many_new_edges_is_checked_for_cycles_as_a_whole(store, cycle_search):
    """Many new edges in one batch (one walk for all of them): the one closing a loop far down a
    chain is found and named; the batch without it is written whole; a loop built wholly inside
    one batch is found too."""
    from catalog.errors import LineageCycle

    chain = [run_event(uid(300 + n), "COMPLETE", "2026-11-20T10:00:00Z", job=f"step{n}", inputs=[f"c{n}"],
                       outputs=[f"c{n + 1}"]) for n in range(30)]
    ingest_events(store, chain)
    fan = [run_event(uid(400 + n), "COMPLETE", "2026-11-20T10:00:00Z", job=f"fan{n}", inputs=["c5", f"f{n}"],
                     outputs=[f"g{n}"]) for n in range(30)]
    closing = run_event(uid(500), "COMPLETE", "2026-11-20T10:00:00Z", job="back", inputs=["c30"], outputs=["c3"])
    before = (raw_event_count(store), edges(store))
    with pytest.raises(LineageCycle) as error:
        ingest_events(store, [*fan, closing])
    message = str(error.value)
    assert error.value.location == "events[30].outputs[0]"
    assert "closed by this request's edge acme:c30 -> acme:c3" in message and "job acme:back" in message
    assert " -> ".join(f"acme:c{n}" for n in range(3, 31)) + " -> acme:c3" in message
    assert (raw_event_count(store), edges(store)) == before
    ingest_events(store, fan)
    assert len(edges(store)) == 30 + 60
    with pytest.raises(LineageCycle) as error:
        ingest_events(store, [run_event(uid(502 + n), "COMPLETE", "2026-11-20T10:00:00Z", job=f"x{n}",
                                        inputs=[f"x{n}"], outputs=[f"x{n % 3 + 1}"]) for n in (1, 2, 3)])
    loops = ["acme:x1 -> acme:x2 -> acme:x3 -> acme:x1", "acme:x2 -> acme:x3 -> acme:x1 -> acme:x2",
             "acme:x3 -> acme:x1 -> acme:x2 -> acme:x3"]
    assert any(f"derivation cycle: {loop}," in str(error.value) for loop in loops)
    with pytest.raises(LineageCycle, match="acme:g7 -> acme:c0"):  # a loop through the fan, in a later request
        ingest_events(store, [run_event(uid(501), "COMPLETE", "2026-11-20T11:00:00Z", job="loop", inputs=["g7"],
                                        outputs=["c0"])])


def test_a_cycle_already_in_the_store_is_not_blamed_on_a_batch_that_does_not_touch_it(store, cycle_search):
    """A loop written past the check (by SQL, or before the check existed) is the catalog load's to
    report; a batch whose new edges close no loop of their own is written, and one that does is refused."""
    from sqlalchemy import insert

    from catalog.errors import LineageCycle

    ingest_events(store, [run_event(uid(510), "COMPLETE", "2026-11-20T10:00:00Z", job="make_b", inputs=["a"],
                                    outputs=["b"])])
    with store.transaction() as writer:
        ids = dict(writer.session.execute(select(Dataset.name, Dataset.id)).all())
        writer.session.execute(insert(Derivation).values(input_id=ids["b"], output_id=ids["a"], source="catalog"))
    ingest_events(store, [run_event(uid(511), "COMPLETE", "2026-11-20T11:00:00Z", job="more", inputs=["b"],
                                    outputs=["c"])])  # downstream of the old loop, closing none
    assert ("acme:b", "acme:c", "more") in edges(store)
    with pytest.raises(LineageCycle, match="closed by this request's edge acme:c -> acme:a"):
        ingest_events(store, [run_event(uid(512), "COMPLETE", "2026-11-20T12:00:00Z", job="back", inputs=["c"],
                                        outputs=["a"])])


def test_an_event_closing_a_cycle_with_a_catalog_edge_is_refused(store, tmp_path):
    from catalog.errors import LineageCycle
    from catalog.loader import load_catalog

    catalog = tmp_path / "catalog.yaml"
    catalog.write_text("catalog: acme\ndatasets:\n  - name: a\n  - name: b\n    derived_from: [a]\n")
    load_catalog(store, [catalog])
    with pytest.raises(LineageCycle, match="a catalog file"):
        ingest_events(store, [run_event(uid(60), "COMPLETE", "2026-11-20T10:00:00Z", job="back", inputs=["b"], outputs=["a"])])
    assert edges(store) == set()


def test_event_cycles_never_block_or_mask_the_catalog_s_own_cycle_check(store, tmp_path):
    from catalog.errors import InvalidCatalogFile
    from catalog.loader import load_catalog

    ingest_events(store, [run_event(uid(70), "COMPLETE", "2026-11-20T10:00:00Z", job="make_b", inputs=["a"], outputs=["b"])])
    with pytest.raises(InvalidEvent, match="derivation cycle"):
        ingest_events(store, [run_event(uid(71), "COMPLETE", "2026-11-20T11:00:00Z", job="make_a", inputs=["b"], outputs=["a"])])
    naming = tmp_path / "naming.yaml"
    naming.write_text("catalog: acme\ndatasets:\n  - name: a\n    owner: o@acme.example\n  - name: b\n")
    load_catalog(store, [naming])  # no cycle in the store, so nothing to trip over
    cyclic = tmp_path / "cyclic.yaml"
    cyclic.write_text("catalog: acme\ndatasets:\n  - name: c\n    derived_from: [d]\n  - name: d\n    derived_from: [c]\n")
    with pytest.raises(InvalidCatalogFile) as error:
        load_catalog(store, [cyclic])
    text = str(error.value)
    assert "derivation cycle" in text and ("c -> d -> c" in text or "d -> c -> d" in text) and "cyclic.yaml" in text


# --- bounded work per input (issue 15, finding 9) ---------------------------------------------------

def test_an_event_writing_more_edges_than_the_limit_is_refused_with_the_count():
    wide = run_event(uid(80), "COMPLETE", "2026-11-20T10:00:00Z", inputs=[f"i{n}" for n in range(101)],
                     outputs=[f"o{n}" for n in range(100)])
    with pytest.raises(InvalidEvent) as error:
        parse_events([wide])
    assert error.value.location == "events[0].outputs"
    assert "10,100 derivation edges" in error.value.reason and "at most 10,000" in error.value.reason
    wide["inputs"] = wide["inputs"][:100]
    assert len(parse_events([wide])[0].inputs) == 100  # exactly the limit passes
    wide["eventType"] = "FAIL"
    wide["inputs"] = [{"namespace": "acme", "name": f"i{n}"} for n in range(200)]
    assert parse_events([wide])  # a failed run writes no lineage, so it has no edges to count


def test_a_run_whose_events_together_pass_the_edge_limit_is_refused(store):
    from catalog.openlineage import EventLimits

    limits = EventLimits(max_edges_per_event=100)
    start = run_event(uid(81), "START", "2026-11-20T10:00:00Z", inputs=[f"i{n}" for n in range(20)])
    ingest_events(store, [start], limits=limits)
    before = (raw_event_count(store), edges(store))
    complete = run_event(uid(81), "COMPLETE", "2026-11-20T10:05:00Z", outputs=[f"o{n}" for n in range(6)])
    with pytest.raises(InvalidEvent) as error:
        ingest_events(store, [complete], limits=limits)
    assert error.value.location == "events[0].outputs" and "120 derivation edges" in error.value.reason
    assert f"run {uid(81)}" in error.value.reason
    assert (raw_event_count(store), edges(store)) == before
    fine = run_event(uid(81), "COMPLETE", "2026-11-20T10:05:00Z", outputs=[f"o{n}" for n in range(5)])
    assert ingest_events(store, [fine], limits=limits).derivations_added == 100


def test_a_batch_answer_lists_the_first_twenty_problems_and_counts_the_rest():
    with pytest.raises(InvalidEvent) as error:
        parse_events([1] * 100_000 + [{"eventTime": "x"}, {}])
    assert len(error.value.errors) == 20 and [e.index for e in error.value.errors] == list(range(20))
    # past the twentieth problem nothing more is validated: non-objects are counted as invalid, objects as unchecked
    assert (error.value.omitted, error.value.unchecked, error.value.total) == (99_980, 2, 100_000)
    assert "99,980 more are not" in str(error.value) and "2 more events after them not checked" in str(error.value)
    assert len(str(error.value)) < 300
    with pytest.raises(InvalidEvent) as few:
        parse_events([1, 2, {"eventTime": "x"}])
    assert len(few.value.errors) == 3 and (few.value.omitted, few.value.unchecked) == (0, 0)
