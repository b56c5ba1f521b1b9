"""OpenLineage through the doors: the real openlineage-python client against `headwater serve`,
the HTTP endpoint's errors and auth, and `headwater ingest`."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

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
        assert [m["model"]["id"] for m in seen_by_a["models"]] == ["model:shared:m@1"]
        assert httpx.delete(f"{a}/api/v1/models/model:shared:m", headers=auth, timeout=10).status_code == 204
        assert httpx.get(f"{b}/api/v1/impact/raw.src", timeout=10).json()["models"] == []
    finally:
        for server in servers:
            stop(server)


# --- issue 15: events cannot rewrite the past or the future; bounded answers -------------------------

PRODUCER = "https://github.com/acme/pipelines/tree/v1"


def _event(at: str, *, job: str = "build", inputs=("a",), outputs=("b",), run: int = 1) -> dict:
    return {"eventType": "COMPLETE", "eventTime": at, "producer": PRODUCER,
            "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
            "run": {"runId": f"00000000-0000-4000-8000-{run:012d}"}, "job": {"namespace": "acme", "name": job},
            "inputs": [{"namespace": "acme", "name": n} for n in inputs],
            "outputs": [{"namespace": "acme", "name": n} for n in outputs]}


def _ahead(seconds: float) -> str:
    from datetime import timedelta

    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).isoformat()


@pytest.fixture
def ol_client(tmp_path, monkeypatch):
    monkeypatch.delenv("HEADWATER_MAX_CLOCK_SKEW", raising=False)
    monkeypatch.delenv("HEADWATER_MAX_EDGES_PER_EVENT", raising=False)
    with TestClient(create_app(Settings(db=f"sqlite:///{tmp_path / 'h.db'}", tokens=("t",)))) as client:
        client.headers["Authorization"] = "Bearer t"
        yield client


@pytest.mark.parametrize("at", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59Z",
                                "2027-06-01T00:00:00Z"])
def test_event_times_out_of_range_or_in_the_future_are_400s_naming_event_time(ol_client, at):
    response = ol_client.post("/api/v1/lineage", json=[_event("2026-11-20T10:00:00Z", run=2), _event(at)])
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"] == [{"field": "events[1].eventTime", "message": response.json()["errors"][0]["message"]}]
    assert ol_client.get("/api/v1/datasets").json()["total"] == 0  # nothing of the batch written


def test_the_clock_skew_is_set_by_headwater_max_clock_skew(tmp_path, monkeypatch):
    monkeypatch.setenv("HEADWATER_MAX_CLOCK_SKEW", "10s")
    with TestClient(create_app(Settings(db=f"sqlite:///{tmp_path / 'h.db'}", tokens=("t",)))) as client:
        refused = client.post("/api/v1/lineage", json=_event(_ahead(60)), headers={"Authorization": "Bearer t"})
        assert refused.status_code == 400 and "at most 10s ahead" in refused.json()["detail"]
        accepted = client.post("/api/v1/lineage", json=_event(_ahead(2)), headers={"Authorization": "Bearer t"})
        assert accepted.status_code == 201, accepted.text


def test_a_bad_limit_setting_is_a_problem_naming_the_variable_not_a_500(tmp_path, monkeypatch):
    monkeypatch.setenv("HEADWATER_MAX_EDGES_PER_EVENT", "lots")
    with TestClient(create_app(Settings(db=f"sqlite:///{tmp_path / 'h.db'}", tokens=("t",)))) as client:
        response = client.post("/api/v1/lineage", json=_event("2026-11-20T10:00:00Z"), headers={"Authorization": "Bearer t"})
        assert response.status_code == 400 and "HEADWATER_MAX_EDGES_PER_EVENT" in response.json()["detail"]


def test_an_older_event_in_a_later_request_keeps_the_newer_owner(ol_client):
    def owned(at: str, owner: str) -> dict:
        return {"eventTime": at, "producer": PRODUCER,
                "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent",
                "dataset": {"namespace": "acme", "name": "t", "facets": {"ownership": {
                    "_producer": PRODUCER, "owners": [{"name": owner}],
                    "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/OwnershipDatasetFacet.json#/$defs/OwnershipDatasetFacet"}}}}

    assert ol_client.post("/api/v1/lineage", json=owned("2026-11-20T12:00:00Z", "team:new")).status_code == 201
    assert ol_client.post("/api/v1/lineage", json=owned("2026-11-20T11:00:00Z", "team:old")).status_code == 201
    assert ol_client.get("/api/v1/datasets/acme:t").json()["owner"] == "team:new"


def test_a_cycle_made_by_events_is_a_400_naming_its_datasets_and_jobs(ol_client):
    assert ol_client.post("/api/v1/lineage", json=_event("2026-11-20T10:00:00Z", job="make_b")).status_code == 201
    revision = ol_client.post("/api/v1/lineage", json=_event("2026-11-20T10:00:00Z", job="make_b")).json()["revision"]
    closing = _event("2026-11-20T11:00:00Z", job="make_a", inputs=("b",), outputs=("a",), run=2)
    response = ol_client.post("/api/v1/lineage", json=[_event("2026-11-20T11:00:00Z", job="other", inputs=("x",),
                                                              outputs=("y",), run=3), closing])
    assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "Derivation cycle" and body["errors"][0]["field"] == "events[1].outputs[0]"
    for part in ("acme:a", "acme:b", "job acme:make_a", "job acme:make_b", "nothing of this request was written"):
        assert part in body["detail"]
    assert ol_client.get("/api/v1/derivations").json()["total"] == 1
    assert ol_client.get("/api/v1/datasets/acme:y").status_code == 404
    assert ol_client.post("/api/v1/lineage", json=_event("2026-11-20T10:00:00Z", job="make_b")).json()["revision"] == revision


def test_an_event_past_the_edge_limit_is_a_400_with_the_count_and_the_limit(ol_client):
    wide = _event("2026-11-20T10:00:00Z", inputs=[f"i{n}" for n in range(150)], outputs=[f"o{n}" for n in range(80)])
    response = ol_client.post("/api/v1/lineage", json=wide)
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "events[0].outputs"
    assert "12,000 derivation edges" in response.json()["detail"] and "at most 10,000" in response.json()["detail"]
    assert ol_client.get("/api/v1/datasets").json()["total"] == 0


def test_ingest_refuses_bad_event_times_and_cycles_naming_file_and_line(headwater, tmp_path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    for at in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "9999-12-31T23:59:59Z"):
        events = tmp_path / "times.ndjson"
        events.write_text(json.dumps(_event("2026-11-20T10:00:00Z", run=2)) + "\n\n" + json.dumps(_event(at)) + "\n")
        result = headwater("ingest", str(events), db=db)
        assert result.returncode == 2, result.stderr
        assert f"{events}:3: events[1].eventTime" in result.stderr and "Traceback" not in result.stderr
    soon = json.dumps(_event(_ahead(60), job="soon", run=4))
    tight = headwater("ingest", "-", db=db, input=soon, env={"HEADWATER_MAX_CLOCK_SKEW": "10s"})
    assert tight.returncode == 2 and "at most 10s ahead (HEADWATER_MAX_CLOCK_SKEW)" in tight.stderr
    bogus = headwater("ingest", "-", db=db, input=soon, env={"HEADWATER_MAX_CLOCK_SKEW": "6m"})
    assert bogus.returncode == 2 and "HEADWATER_MAX_CLOCK_SKEW='6m'" in bogus.stderr and "Traceback" not in bogus.stderr
    assert headwater("ingest", "-", db=db, input=soon).returncode == 0  # within the default 5 minutes
    assert headwater("ingest", "-", db=db, input=json.dumps(_event("2026-11-20T10:00:00Z", job="make_b"))).returncode == 0
    loop = tmp_path / "loop.ndjson"
    loop.write_text(json.dumps(_event("2026-11-20T11:00:00Z", job="other", inputs=("x",), outputs=("y",), run=3)) + "\n"
                    + json.dumps(_event("2026-11-20T11:00:00Z", job="make_a", inputs=("b",), outputs=("a",), run=2)) + "\n")
    result = headwater("ingest", str(loop), db=db)
    assert result.returncode == 2 and f"{loop}:2: events[1].outputs[0]: derivation cycle" in result.stderr
    assert "job acme:make_a" in result.stderr and "Traceback" not in result.stderr


def test_ingest_lists_twenty_problems_and_counts_the_rest(headwater, tmp_path):
    events = tmp_path / "ones.ndjson"
    events.write_text("1\n" * 50_000)
    result = headwater("ingest", str(events), db=f"sqlite:///{tmp_path / 'h.db'}")
    assert result.returncode == 2 and "50,000 invalid event(s)" in result.stderr
    assert result.stderr.count("expected a JSON object") == 20 and f"{events}:20: events[19]" in result.stderr
    assert "49,980 more not listed" in result.stderr and len(result.stderr) < 5_000
