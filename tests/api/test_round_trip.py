"""What a PUT writes, a GET gives back: every field of a catalog entry, and names that hold a colon.

The field lists come from the spec (`DatasetSpec.model_fields`, `ModelSpec.model_fields`), so a field
added to the catalog-file format fails here until the API returns it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import Settings
from catalog.spec import DatasetSpec, ModelSpec
from catalog.store import Store

AUTH = {"Authorization": "Bearer s3cret-token"}
SUITE = [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "id"}}]

# The one field shown differently from how it is written: the answer has always said how many
# expectations the suite holds (inline ones and those of `expectations_file`), not the suite itself.
SHOWN_AS_COUNT = {"expectations"}


@pytest.fixture
def client(store_url: str, tmp_path: Path):
    store = Store(store_url)
    settings = Settings(db=store_url, tokens=("s3cret-token",), data_roots=(tmp_path,))
    with TestClient(create_app(settings, store=store)) as test_client:
        yield test_client
    store.close()


def every_dataset_field(tmp_path: Path) -> dict[str, Any]:
    """A dataset entry with every field of DatasetSpec set, each to a value the API shows as written."""
    suite_file = tmp_path / "suite.json"
    suite_file.write_text(json.dumps({"name": "full", "expectations": SUITE}), encoding="utf-8")
    return {
        "name": "full", "namespace": "demo", "description": "every field set",
        "location": "s3://bucket/full.csv", "owner": "data@acme.example", "origin": "vendor", "personal_data": True,
        "special_categories": ["health"], "legal_basis": "consent", "purpose": "credit scoring",
        "licence": {"id": "CC-BY-4.0", "expires": "2030-01-01", "url": "https://licences.example/cc-by", "revoked": False},
        "retention": "2y", "freshness": "2d", "last_updated": "2026-11-01T12:00:00Z",
        "documentation": "https://wiki.example/datasheets/full",
        "special_category_basis": "Art. 9(2)(a) explicit consent", "collected": "2024-01-01",
        "retention_until": "2031-01-01",
        "tdm_reservation": {"status": "reserved", "method": "TDMRep header", "checked": "2026-06-30"},
        "deidentification": {"method": "pseudonymised", "verified": "2026-10-01"},
        "bias_examination": {"status": "passed", "date": "2026-09-20", "documentation": "https://wiki.example/bias/full"},
        "tags": ["pii", "credit"], "job": "build_full",
        "columns": [{"name": "applicant_id", "type": "string", "description": "who applied",
                     "classifications": ["direct_identifier"]},
                    {"name": "diagnosis", "type": None, "description": None, "classifications": ["health"]},
                    {"name": "score", "type": "float", "description": None, "classifications": []}],
        "derived_from": [{"dataset": "dataset:demo:raw", "columns": {"score": ["income", "age"]},
                          "indirect": ["region"]}],
        "expectations": SUITE, "expectations_file": str(suite_file.resolve()),
    }


def test_get_returns_every_dataset_field_a_put_accepts(client, tmp_path):
    assert client.put("/api/v1/datasets/demo:raw", json={}, headers=AUTH).status_code == 201
    body = every_dataset_field(tmp_path)
    assert set(body) == set(DatasetSpec.model_fields), "the entry above must set every field of the spec"
    put = client.put("/api/v1/datasets/demo:full", json=body, headers=AUTH)
    assert put.status_code == 201, put.text

    shown = client.get("/api/v1/datasets/demo:full").json()
    for field in DatasetSpec.model_fields:
        assert field in shown, f"GET does not return {field!r}"
        if field in SHOWN_AS_COUNT:
            assert shown[field] == len(body[field]) + len(SUITE), field  # inline ones, then the suite file's
        else:
            assert shown[field] == body[field], field
    listed = client.get("/api/v1/datasets", params={"namespace": "demo"}).json()["items"]
    assert [item for item in listed if item["name"] == "full"] == [shown]  # the list shows the same entry


def test_get_returns_every_model_field_a_put_accepts(client):
    assert client.put("/api/v1/datasets/demo:raw", json={}, headers=AUTH).status_code == 201
    assert client.put("/api/v1/models/demo:base", json={"risk_tier": "gpai"}, headers=AUTH).status_code == 201
    body = {
        "name": "scorer", "namespace": "demo", "version": "3.2.0", "risk_tier": "high", "deployed": True,
        "stage": "production", "licence": "apache-2.0",
        "purpose": "credit scoring", "owner": "ml@acme.example", "description": "every field set",
        "tags": ["credit"], "base_model": "model:demo:base@1",  # a version, as GET names it
        "trained_on": [{"dataset": "dataset:demo:raw", "role": "training", "fingerprint": "sha256:" + "a" * 64,
                        "at": "2026-10-01T12:00:00Z", "features": ["income", "age"]}],
    }
    assert set(body) == set(ModelSpec.model_fields), "the entry above must set every field of the spec"
    put = client.put("/api/v1/models/demo:scorer", json=body, headers=AUTH)
    assert put.status_code == 201, put.text

    shown = client.get("/api/v1/models/demo:scorer").json()
    for field in ModelSpec.model_fields:
        assert field in shown, f"GET does not return {field!r}"
        assert shown[field] == body[field], field
    listed = client.get("/api/v1/models", params={"namespace": "demo"}).json()["items"]
    assert [item for item in listed if item["name"] == "scorer"] == [shown]


def test_an_entry_read_back_and_put_again_changes_nothing(client, tmp_path):
    """What a GET shows is a valid PUT body for the same entry (apart from the suite, shown as a count)."""
    client.put("/api/v1/datasets/demo:raw", json={}, headers=AUTH)
    body = every_dataset_field(tmp_path)
    client.put("/api/v1/datasets/demo:full", json=body, headers=AUTH)
    shown = client.get("/api/v1/datasets/demo:full").json()
    again = {field: shown[field] for field in DatasetSpec.model_fields} | {"expectations": SUITE}
    put = client.put("/api/v1/datasets/demo:full", json=again, headers=AUTH)
    assert put.status_code == 200 and put.json()["counts"]["datasets"]["unchanged"] == 1, put.text


def once_decoded(app: FastAPI, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """One request through httpx's ASGI transport, which decodes the path once, as uvicorn does.

    Starlette's TestClient decodes it twice (encode/starlette#2587): `%253A` would reach the app as
    `:`, not as the `%3A` a real server hands it, and the test would prove nothing.
    """
    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            return await http.request(method, url, **kwargs)

    return asyncio.run(send())


def test_a_name_with_a_colon_round_trips_percent_encoded_in_its_id(client):
    app = client.app
    put = once_decoded(app, "PUT", "/api/v1/datasets/demo:eu%253Aloans", json={"owner": "eu@acme.example"}, headers=AUTH)
    assert put.status_code == 201, put.text
    listed = client.get("/api/v1/datasets", params={"namespace": "demo"}).json()["items"]
    assert [(item["namespace"], item["name"]) for item in listed] == [("demo", "eu:loans")]  # the name, exactly

    shown = once_decoded(app, "GET", "/api/v1/datasets/demo:eu%253Aloans")
    assert shown.status_code == 200, shown.text
    assert (shown.json()["id"], shown.json()["name"]) == ("dataset:demo:eu%3Aloans", "eu:loans")
    assert once_decoded(app, "GET", "/api/v1/datasets/dataset:demo:eu%253Aloans").json()["owner"] == "eu@acme.example"
    assert once_decoded(app, "DELETE", "/api/v1/datasets/demo:eu%253Aloans", headers=AUTH).status_code == 204
    assert client.get("/api/v1/datasets", params={"namespace": "demo"}).json()["total"] == 0
