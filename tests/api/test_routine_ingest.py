"""The lighter write path of `POST /api/v1/lineage` (`api.routine_ingest`): it answers routine
requests as the route would, and hands every other request to the route with its body intact."""

from __future__ import annotations

import json
import uuid

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import Settings
from tests.paths import OPENLINEAGE_EVENTS

TOKENS = ("pipeline:writer-token:write", "viewer:reader-token:read")
WRITE = {"Authorization": "Bearer writer-token"}


def _event(job: str = "build") -> dict:
    return {"eventType": "COMPLETE", "eventTime": "2026-11-30T10:00:00Z", "producer": "https://example.com/p",
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "etl", "name": job},
            "inputs": [{"namespace": "pg", "name": "raw.loans"}], "outputs": [{"namespace": "pg", "name": "mart.loans"}]}


@pytest.fixture()
def client(tmp_path):
    with TestClient(create_app(Settings(db=f"sqlite:///{tmp_path / 'h.db'}", tokens=TOKENS))) as client:
        yield client


def _answered_here(client: TestClient) -> int:
    return getattr(client.app.state, "routine_answers", 0)  # type: ignore[attr-defined]


def test_a_routine_event_is_answered_here_with_the_routes_answer(client):
    response = client.post("/api/v1/lineage", json=_event(), headers=WRITE)
    assert response.status_code == 201 and response.headers["content-type"] == "application/json"
    assert _answered_here(client) == 1
    body = response.json()
    assert body["events"] == 1 and body["run_events"] == 1 and body["stored"] == 1 and body["datasets_created"] == 2
    assert int(response.headers["content-length"]) == len(response.content)
    upstream = {n["node"]["id"] for n in client.get("/api/v1/lineage/pg:mart.loans").json()["nodes"]}
    assert "dataset:pg:raw.loans" in upstream
    again = client.post("/api/v1/lineage", json=[_event("other"), _event("other")], headers=WRITE)
    assert again.status_code == 201 and again.json()["events"] == 2 and _answered_here(client) == 2


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401), ({"Authorization": "Bearer wrong"}, 403), ({"Authorization": "Bearer reader-token"}, 403),
    ({"Authorization": "Basic writer-token"}, 401)])
def test_a_request_without_a_writers_token_is_the_routes_refusal(client, headers, status):
    response = client.post("/api/v1/lineage", json=_event(), headers=headers)
    assert response.status_code == status and response.headers["content-type"] == "application/problem+json"
    assert _answered_here(client) == 0
    assert client.get("/api/v1/datasets").json()["total"] == 0


def test_an_invalid_event_reaches_the_route_whole_and_nothing_is_written(client):
    bad = json.loads((OPENLINEAGE_EVENTS / "invalid" / "fluentd-no-run-id.json").read_text())
    response = client.post("/api/v1/lineage", json=[_event(), bad], headers=WRITE)
    assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"][0]["field"].endswith("run.runId")  # the route read the replayed body
    assert _answered_here(client) == 0 and client.get("/api/v1/datasets").json()["total"] == 0


def test_a_body_that_is_not_json_is_the_routes_answer(client):
    response = client.post("/api/v1/lineage", content=b'{"eventType": ', headers={**WRITE, "Content-Type": "application/json"})
    assert response.status_code in (400, 422)  # FastAPI's own answer to a JSON body it cannot decode
    assert response.headers["content-type"] == "application/problem+json" and _answered_here(client) == 0


def test_a_body_sent_in_chunks_is_read_whole(client):
    raw = json.dumps(_event()).encode()
    chunks = iter([raw[:10], raw[10:50], raw[50:]])
    response = client.post("/api/v1/lineage", content=chunks, headers={**WRITE, "Content-Type": "application/json"})
    assert response.status_code == 201 and response.json()["stored"] == 1 and _answered_here(client) == 1


def test_other_content_types_and_paths_go_to_the_route(client):
    response = client.post("/api/v1/lineage", content=json.dumps(_event()), headers={**WRITE, "Content-Type": "text/plain"})
    assert _answered_here(client) == 0 and response.status_code != 500
    assert client.post("/api/v1/lineage/", json=_event(), headers=WRITE).status_code != 500
    assert _answered_here(client) == 0
