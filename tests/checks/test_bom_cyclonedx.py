"""The CycloneDX 1.6 ML-BOM of each of the demo's models, validated with cyclonedx-python-lib against the
official 1.6 schema, read back, and served by the CLI and the API."""

from __future__ import annotations

import json

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
from fastapi.testclient import TestClient

from checks.bom.service import export_bom

MODELS = ("credit-scorer", "support-assistant", "churn-predictor")




@pytest.mark.parametrize("model", MODELS)
def test_each_demo_model_has_a_valid_cyclonedx_bom_that_lists_its_training_data_with_hashes(example_store, model):
    text = export_bom(example_store, model, "cyclonedx")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    assert export_bom(example_store, model, "cyclonedx") == text  # same store, same bytes
    bom = json.loads(text)
    from catalog import service
    from lineage.service import resolve

    version = service.get_model(example_store, resolve(example_store, model, "model"))
    assert bom["metadata"]["component"]["bom-ref"] == version.id
    assert bom["metadata"]["component"]["type"] == "machine-learning-model"
    components = {c["bom-ref"]: c for c in bom["components"]}
    card = {d["ref"] for d in bom["metadata"]["component"]["modelCard"]["modelParameters"]["datasets"]}
    assert card == {feed.dataset for feed in version.trained_on}
    for feed in version.trained_on:  # read back: every training dataset, with the hash the model consumed
        data = components[feed.dataset]
        assert data["type"] == "data"
        hashes = {h["content"] for h in data.get("hashes", [])}
        assert hashes == ({feed.fingerprint.removeprefix("sha256:")} if feed.fingerprint else set())
    depends = {d["ref"]: set(d["dependsOn"]) for d in bom["dependencies"]}
    assert depends[version.id] == card
    assert all(set(deps) <= set(components) for deps in depends.values())


def test_the_bom_carries_governance_fields_findings_and_upstream_lineage(example_store):
    bom = json.loads(export_bom(example_store, "credit-scorer", "cyclonedx"))
    components = {c["bom-ref"]: c for c in bom["components"]}
    bureau = components["dataset:acme-ml:vendor.bureau_scores"]  # upstream, not consumed directly
    properties = [(p["name"], p["value"]) for p in bureau["properties"]]
    assert ("headwater:origin", "vendor") in properties
    assert any(name == "headwater:finding" and "breach_flagged" in value for name, value in properties)
    assert "personal data" in bureau["data"][0]["sensitiveData"]
    features = "dataset:acme-ml:features.credit_features"
    depends = {d["ref"]: set(d["dependsOn"]) for d in bom["dependencies"]}
    assert "dataset:acme-ml:vendor.bureau_scores" in depends[features]
    other = json.loads(export_bom(example_store, "credit-scorer@3.1.0", "cyclonedx"))
    assert other["serialNumber"] != bom["serialNumber"]  # each version's own document


def test_cli_and_api_export_and_refuse_what_they_cannot(headwater, example_store, tmp_path):
    out = tmp_path / "bom.cdx.json"
    done = headwater("export", "bom", "credit-scorer", "-o", str(out), db=example_store.url)
    assert done.returncode == 0 and json.loads(out.read_text())["specVersion"] == "1.6"
    assert headwater("export", "bom", "credit-scorer", "--format", "xml", db=example_store.url).returncode == 2
    missing = headwater("export", "bom", "no-such-model", db=example_store.url)
    assert missing.returncode == 2 and "no-such-model" in missing.stderr
    from api.app import create_app
    from api.config import Settings

    with TestClient(create_app(Settings(db=example_store.url, tokens=("t",)), store=example_store)) as client:
        answer = client.get("/api/v1/models/credit-scorer@3.2.0/bom")
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/vnd.cyclonedx+json"
        assert answer.text == out.read_text()
        assert client.get("/api/v1/models/credit-scorer/bom", params={"format": "xml"}).status_code == 422
        assert client.get("/api/v1/models/nope/bom").status_code == 404


def test_the_bom_names_the_columns_each_dataset_has_and_those_the_model_read(store, tmp_path):
    import yaml

    from catalog.loader import load_catalog

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"catalog": "clinic", "datasets": [
        {"name": "patients", "owner": "o", "origin": "internal",
         "columns": ["ward", {"name": "diagnosis", "classifications": ["health"]}]}],
        "models": [{"name": "occupancy", "risk_tier": "high", "trained_on": [
            {"dataset": "patients", "features": ["ward"]}]}]}))
    load_catalog(store, [path])
    text = export_bom(store, "occupancy", "cyclonedx")
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    (data,) = [c for c in json.loads(text)["components"] if c["bom-ref"] == "dataset:clinic:patients"]
    assert "column diagnosis: health" in data["data"][0]["sensitiveData"]
    properties = [(p["name"], p["value"]) for p in data["properties"]]
    assert [v for n, v in properties if n == "headwater:column"] == ["ward", "diagnosis"]
    assert [v for n, v in properties if n == "headwater:feature"] == ["ward"]
