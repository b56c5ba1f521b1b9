"""OpenLineage through the doors: the real openlineage-python client against `headwater serve`,
the HTTP endpoint's errors and auth, and `headwater ingest`."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import Settings
from tests.paths import OPENLINEAGE_EVENTS
from tests.server import free_port, start, stop, wait_until_up



def test_openlineage_python_http_transport_feeds_a_real_server(tmp_path):
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    db = f"sqlite:///{tmp_path / 'h.db'}"
    port = free_port()
    server = start(db, port, tokens="pipeline-token")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, server)
        config = HttpConfig.from_dict({"url": base, "auth": {"type": "api_key", "apiKey": "pipeline-token"}})
        client = OpenLineageClient(transport=HttpTransport(config))
        run, job = Run(runId=str(uuid.uuid4())), Job(namespace="airflow", name="build_features")
        inputs = [InputDataset(namespace="postgres://db:5432", name="public.raw_loans")]
        outputs = [OutputDataset(namespace="postgres://db:5432", name="public.features")]
        for state in (RunState.START, RunState.COMPLETE):
            client.emit(RunEvent(eventType=state, eventTime=datetime.now(timezone.utc).isoformat(), run=run, job=job,
                                 producer="https://example.com/pipeline", inputs=inputs, outputs=outputs))
        lineage = httpx.get(f"{base}/api/v1/lineage/dataset:postgres://db:5432:public.features", timeout=10).json()
        upstream = {r["node"]["id"] for r in lineage["nodes"]}
        assert "dataset:postgres://db:5432:public.raw_loans" in upstream
        assert "job:airflow:build_features" in upstream
        denied = httpx.post(f"{base}/api/v1/lineage", json={}, timeout=10)
        assert denied.status_code == 401
    finally:
        stop(server)


def test_malformed_event_is_a_400_naming_the_field_and_writes_nothing(tmp_path):
    with TestClient(create_app(Settings(db=f"sqlite:///{tmp_path / 'h.db'}", tokens=("t",)))) as client:
        headers = {"Authorization": "Bearer t"}
        bad = json.loads((OPENLINEAGE_EVENTS / "invalid" / "fluentd-no-run-id.json").read_text())
        response = client.post("/api/v1/lineage", json=bad, headers=headers)
        assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"][0]["field"].endswith("run.runId")
        good = json.loads((OPENLINEAGE_EVENTS / "valid" / "python-client-full-event.json").read_text())
        batch = client.post("/api/v1/lineage", json=[good, bad], headers=headers)
        assert batch.status_code == 400
        assert client.get("/api/v1/datasets").json()["total"] == 0
        created = client.post("/api/v1/lineage", json=good, headers=headers)
        assert created.status_code == 201 and created.json()["stored"] == 1
        assert client.get("/api/v1/datasets").json()["total"] > 0


def test_ingest_command_reads_ndjson_and_reports_lines(headwater, tmp_path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    events = [json.loads(p.read_text()) for p in sorted((OPENLINEAGE_EVENTS / "valid").glob("dbt-postgres-build-*.json"))]
    ndjson = tmp_path / "events.ndjson"
    ndjson.write_text("\n".join(json.dumps(e) for e in events) + "\n")
    first = headwater("ingest", str(ndjson), "--format", "json", db=db)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["stored"] == len(events)
    again = headwater("ingest", "-", db=db, input=ndjson.read_text())
    assert again.returncode == 0 and f"0 new, {len(events)} already seen" in again.stdout
    broken = tmp_path / "broken.ndjson"
    broken.write_text(json.dumps(events[0]) + "\n" + '{"eventTime": "2026-01-01T00:00:00Z"}\n')
    result = headwater("ingest", str(broken), db=db)
    assert result.returncode == 2 and f"{broken}:2: events[1]" in result.stderr and "nothing was written" in result.stderr
    not_json = tmp_path / "x.ndjson"
    not_json.write_text("{\n")
    assert headwater("ingest", str(not_json), db=db).returncode == 2


@pytest.mark.postgres
def test_two_servers_over_one_postgresql_see_each_others_writes(pg_url):
    ports = free_port(), free_port()
    servers = [start(pg_url, port, tokens="tok") for port in ports]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    auth = {"Authorization": "Bearer tok"}
    try:
        for base, server in zip(bases, servers, strict=True):
            wait_until_up(base, server)
        a, b = bases
        assert httpx.put(f"{a}/api/v1/datasets/dataset:shared:raw.src", json={"owner": "o"}, headers=auth, timeout=10).status_code == 201
        assert httpx.get(f"{b}/api/v1/impact/raw.src", timeout=10).json()["models"] == []  # b builds its graph now
        assert httpx.put(f"{b}/api/v1/models/model:shared:m", headers=auth, timeout=10,
                         json={"risk_tier": "high", "trained_on": [{"dataset": "raw.src"}]}).status_code == 201
        seen_by_a = httpx.get(f"{a}/api/v1/impact/raw.src", timeout=10).json()
        assert [m["model"]["id"] for m in seen_by_a["models"]] == ["model:shared:m"]
        assert httpx.delete(f"{a}/api/v1/models/model:shared:m", headers=auth, timeout=10).status_code == 204
        assert httpx.get(f"{b}/api/v1/impact/raw.src", timeout=10).json()["models"] == []
    finally:
        for server in servers:
            stop(server)
