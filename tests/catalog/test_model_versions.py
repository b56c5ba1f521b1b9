"""Model versions: what each version learned from is its own, addressed as NAME@VERSION everywhere."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from catalog.store import Store


def _write(path: Path, document: dict) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def _catalog(tmp_path: Path, v2_fingerprint: str | None = None) -> Path:
    data = tmp_path / "train.csv"
    data.write_text("a,b\n1,2\n")
    return _write(tmp_path / "catalog.yaml", {"catalog": "t", "datasets": [
        {"name": "train_v1", "location": str(data), "origin": "internal", "owner": "data@t"},
        {"name": "train_v2", "location": str(data), "origin": "internal", "owner": "data@t"},
    ], "models": [
        {"name": "scorer", "version": "1.9.0", "risk_tier": "high", "deployed": False, "stage": "archived",
         "trained_on": [{"dataset": "train_v1", "fingerprint": "sha256:" + "0" * 64}]},
        {"name": "scorer", "version": "1.10.0", "risk_tier": "high", "deployed": True,
         "trained_on": [{"dataset": "train_v2", "fingerprint": v2_fingerprint or "sha256:" + "0" * 64}]},
    ]})


def test_two_versions_keep_their_own_feeds_and_a_bare_name_is_the_deployed_one(headwater, sqlite_url, tmp_path):
    assert headwater("load", str(_catalog(tmp_path)), db=sqlite_url).returncode == 0
    from catalog import service
    from lineage.service import resolve

    store = Store(sqlite_url)
    assert str(resolve(store, "scorer", "model")) == "model:t:scorer@1.10.0"
    assert str(resolve(store, "scorer@1.9.0", "model")) == "model:t:scorer@1.9.0"
    old = service.get_model(store, resolve(store, "model:t:scorer@1.9.0", "model"))
    assert [f.dataset for f in old.trained_on] == ["dataset:t:train_v1"]
    assert old.versions == ["model:t:scorer@1.9.0", "model:t:scorer@1.10.0"] and old.stage == "archived"
    up = json.loads(headwater("lineage", "scorer@1.9.0", "--format", "json", db=sqlite_url).stdout)
    assert {n["node"]["id"] for n in up["nodes"]} == {"dataset:t:train_v1"}


def test_a_fingerprint_mismatch_is_the_finding_of_the_version_trained_on_it(headwater, sqlite_url, tmp_path):
    from catalog.fingerprint import observe
    from catalog.locations import parse_location

    catalog = _catalog(tmp_path)
    current = observe(parse_location(str(tmp_path / "train.csv"))).fingerprint
    catalog = _catalog(tmp_path, v2_fingerprint=current)  # v2 trained on today's content, v1 on older
    headwater("load", str(catalog), db=sqlite_url)
    headwater("check", db=sqlite_url)
    findings = json.loads(headwater("risk", "--format", "json", db=sqlite_url).stdout)["findings"]
    mismatched = {f["node"] for f in findings if f["root_condition"] == "fingerprint_mismatch" and f["node_kind"] == "model"}
    assert mismatched == {"model:t:scorer@1.9.0"}
    gate = headwater("gate", "--model", "scorer", db=sqlite_url)  # the deployed 1.10.0 only
    assert "scorer@1.9.0" not in gate.stdout


def test_a_reload_of_an_unchanged_file_leaves_the_revision_and_keeps_what_openlineage_filled(headwater, sqlite_url,
                                                                                             tmp_path):
    event = {"eventType": "COMPLETE", "eventTime": "2026-11-30T10:00:00Z", "producer": "https://example.com/p",
             "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
             "run": {"runId": "0190b4d8-0000-7000-8000-000000000001"}, "job": {"namespace": "t", "name": "build"},
             "inputs": [], "outputs": [{"namespace": "t", "name": "features", "facets": {
                 "ownership": {"_producer": "https://example.com/p",
                               "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/OwnershipDatasetFacet.json",
                               "owners": [{"name": "team:features"}]}}}]}
    events = tmp_path / "events.json"
    events.write_text(json.dumps(event))
    assert headwater("ingest", str(events), db=sqlite_url).returncode == 0
    catalog = _write(tmp_path / "features.yaml", {"catalog": "t", "datasets": [
        {"name": "features", "description": "the features", "purpose": "scoring"}]})
    assert headwater("load", str(catalog), db=sqlite_url).returncode == 0
    store = Store(sqlite_url)
    from catalog import service
    from catalog.ids import NodeId

    shown = service.get_dataset(store, NodeId("dataset", "t", "features"))
    assert shown.owner == "team:features"  # the file says nothing of the owner: OpenLineage's stays
    assert shown.field_sources["owner"]["source"] == "openlineage"
    assert shown.field_sources["description"]["source"] == "catalog"
    revision = store.revision()
    for _ in range(2):
        headwater("load", str(catalog), db=sqlite_url)
        event["eventTime"] = "2026-11-30T11:00:00Z"
        events.write_text(json.dumps(event))
        headwater("ingest", str(events), db=sqlite_url)
        event["eventTime"] = "2026-11-30T10:00:00Z"
    assert service.get_dataset(store, NodeId("dataset", "t", "features")).owner == "team:features"
    assert store.revision() == revision  # neither the reload nor the replayed facet changed anything


def test_a_standard_openlineage_model_output_is_a_model_version(headwater, sqlite_url, tmp_path):
    """The example in docs/openlineage.md, as a user writes it with openlineage-python."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.facet_v2 import dataset_type_dataset, dataset_version_dataset
    from openlineage.client.serde import Serde

    model = OutputDataset("s3://acme-models", "credit-scorer", facets={
        "datasetType": dataset_type_dataset.DatasetTypeDatasetFacet(datasetType="MODEL"),
        "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="7")})
    event = RunEvent(eventType=RunState.COMPLETE, eventTime="2026-11-30T10:00:00Z",
                     run=Run(runId="0190b4d8-0000-7000-8000-000000000002"), job=Job("acme-ml", "train-scorer"),
                     inputs=[InputDataset("s3://acme-data", "features/credit")], outputs=[model],
                     producer="https://example.com/trainer")
    path = tmp_path / "event.json"
    path.write_text(Serde.to_json(event))
    assert headwater("ingest", str(path), db=sqlite_url).returncode == 0
    from catalog import service
    from lineage.service import resolve

    store = Store(sqlite_url)
    shown = service.get_model(store, resolve(store, "credit-scorer", "model"))
    assert (shown.id, shown.risk_tier, shown.source) == ("model:s3://acme-models:credit-scorer@7", None, "openlineage")
    assert [(f["dataset"], f["role"]) for f in service.list_feeds(store, model="credit-scorer").items] == [
        ("dataset:s3://acme-data:features/credit", "training")]
    assert store.counts()["datasets"] == 1  # the model is not also a dataset


def test_a_model_output_with_an_empty_name_is_refused_and_writes_nothing(headwater, sqlite_url, tmp_path):
    event = {"eventType": "COMPLETE", "eventTime": "2026-11-30T10:00:00Z", "producer": "https://example.com/p",
             "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
             "run": {"runId": "0190b4d8-0000-7000-8000-000000000003"}, "job": {"namespace": "t", "name": "train"},
             "inputs": [{"namespace": "t", "name": "x"}], "outputs": [{"namespace": "t", "name": " ", "facets": {
                 "datasetType": {"_producer": "https://example.com/p",
                                 "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DatasetTypeDatasetFacet.json",
                                 "datasetType": "MODEL"}}}]}
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    result = headwater("ingest", str(path), db=sqlite_url)
    assert result.returncode == 2 and "outputs[0].name" in result.stderr
    assert Store(sqlite_url).counts()["models"] == 0 and Store(sqlite_url).counts()["datasets"] == 0


def test_a_standard_model_version_takes_the_tier_of_the_models_catalog_entry(headwater, sqlite_url, tmp_path):
    catalog = _write(tmp_path / "models.yaml", {"catalog": "s3://acme-models", "models": [
        {"name": "credit-scorer", "version": "6", "risk_tier": "high", "purpose": "credit", "owner": "ml@acme"}]})
    assert headwater("load", str(catalog), db=sqlite_url).returncode == 0
    event = {"eventType": "COMPLETE", "eventTime": "2026-11-30T10:00:00Z", "producer": "https://example.com/p",
             "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
             "run": {"runId": "0190b4d8-0000-7000-8000-000000000004"}, "job": {"namespace": "t", "name": "train"},
             "inputs": [{"namespace": "t", "name": "x"}], "outputs": [{"namespace": "s3://acme-models",
                                                                       "name": "credit-scorer", "facets": {
                 "datasetType": {"_producer": "https://example.com/p",
                                 "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DatasetTypeDatasetFacet.json",
                                 "datasetType": "MODEL"},
                 "version": {"_producer": "https://example.com/p",
                             "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DatasetVersionDatasetFacet.json",
                             "datasetVersion": "7"}}}]}
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    assert headwater("ingest", str(path), db=sqlite_url).returncode == 0
    from catalog import service
    from lineage.service import resolve

    store = Store(sqlite_url)
    seven = service.get_model(store, resolve(store, "credit-scorer@7", "model"))
    assert (seven.risk_tier, seven.purpose, seven.owner) == ("high", "credit", "ml@acme")
    six = service.get_model(store, resolve(store, "credit-scorer@6", "model"))
    assert six.trained_on == [] and six.versions == ["model:s3://acme-models:credit-scorer@6",
                                                     "model:s3://acme-models:credit-scorer@7"]


def test_the_migration_makes_each_stored_model_a_version_with_its_feeds(tmp_path):
    """A store from before versions (0005): its one row per model becomes that model's recorded
    version, or version 1, and keeps its feeds."""
    from sqlalchemy import text

    from tests.old_stores import store_at

    db = f"sqlite:///{tmp_path / 'old.db'}"
    with store_at(db, "0005") as connection:
        stamp = "'2026-01-01', '2026-01-01'"
        connection.execute(text("INSERT INTO datasets (id, namespace, name, special_categories, licence_revoked, tags,"
                                f" expectations, created_at, updated_at) VALUES (1, 'd', 'x', '[]', 0, '[]', '[]', {stamp})"))
        connection.execute(text("INSERT INTO models (id, namespace, name, version, risk_tier, deployed, tags, created_at,"
                                f" updated_at) VALUES (1, 'd', 'old', NULL, 'high', 1, '[]', {stamp}),"
                                f" (2, 'd', 'named', '2.0', 'minimal', 0, '[]', {stamp})"))
        connection.execute(text("UPDATE models SET base_model_id = 1 WHERE id = 2"))
        connection.execute(text("INSERT INTO feeds (dataset_id, model_id, role, source, created_at, updated_at)"
                                f" VALUES (1, 1, 'training', 'catalog', {stamp})"))
    store = Store(db)  # migrates to head
    try:
        from catalog import service
        from catalog.ids import NodeId

        old = service.get_model(store, NodeId("model", "d", "old", "1"))
        assert (old.id, old.risk_tier, old.deployed, old.source) == ("model:d:old@1", "high", True, "catalog")
        assert [f["dataset"] for f in service.list_feeds(store, model="d:old@1").items] == ["dataset:d:x"]
        named = service.get_model(store, NodeId("model", "d", "named", "2.0"))
        assert (named.id, named.base_model) == ("model:d:named@2.0", "model:d:old@1")  # fine-tuning kept too
        with store.transaction() as writer:  # a second version of the migrated model is a row of its own
            writer.upsert_model(("d", "old", "2"), {"risk_tier": "high"})
        assert store.counts()["models"] == 3
    finally:
        store.close()
