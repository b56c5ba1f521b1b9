"""OpenLineage as an attacker with a write token would use it (issue 15, findings 5, 8 and 9).

Lineage poisoning: events dated in the far future (to pin a job's edges for good), dates with no
UTC equivalent (a 500 before), old events replayed to overwrite newer facets, and events forming a
derivation cycle (which made later catalog loads fail, or hid the catalog's own cycle).
Amplification: one event with N inputs and N outputs (N x N edges), a 10 MB body of invalid events
(a 499 MB error answer before), a batch of refused dataSource facets. Every attack is refused or
made harmless with a 4xx naming the field (exit 2 on the command line), and nothing of a refused
request is written (every row of the store compared before and after).
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import Settings
from tests.reliability.conftest import AUTH, TOKEN, store_rows

PRODUCER = "https://github.com/headwater/tests/reliability/abuse"
RUN_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
OWNERSHIP = "https://openlineage.io/spec/facets/1-0-1/OwnershipDatasetFacet.json#/$defs/OwnershipDatasetFacet"
DATASOURCE = "https://openlineage.io/spec/facets/1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet"
BODY_LIMIT = 10 * 1024 * 1024  # the server's default HEADWATER_MAX_BODY_BYTES


def event(at: str, *, job: str = "build", inputs=("a",), outputs=("b",), run: str = "r", event_type: str = "COMPLETE") -> dict:
    return {"eventType": event_type, "eventTime": at, "producer": PRODUCER, "schemaURL": RUN_SCHEMA,
            "run": {"runId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"abuse/{run}"))},
            "job": {"namespace": "abuse", "name": job},
            "inputs": [{"namespace": "abuse", "name": n} for n in inputs],
            "outputs": [{"namespace": "abuse", "name": n} for n in outputs]}


def ago(**delta: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(**delta)).isoformat()


@contextmanager
def _client(url: str, root: Path) -> Iterator[TestClient]:
    settings = Settings(db=url, tokens=(TOKEN,), data_roots=(root,))
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        test_client.headers.update(AUTH)
        yield test_client


@pytest.fixture(autouse=True)
def default_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The limits under test are the defaults, whatever the environment running the suite sets."""
    for variable in ("HEADWATER_MAX_CLOCK_SKEW", "HEADWATER_MAX_EDGES_PER_EVENT"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def client(store_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """A TestClient over a store on SQLite, then PostgreSQL (raise_server_exceptions off: a 500 is an answer)."""
    with _client(store_url, tmp_path) as test_client:
        yield test_client


@pytest.fixture
def sqlite_client(sqlite_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """The same on SQLite only, for bodies refused before the store is touched (twice would only cost time)."""
    with _client(sqlite_url, tmp_path) as test_client:
        yield test_client


HOSTILE_TIMES = [
    "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01t00:00:00.000001+23:59",
    "9999-12-31T23:59:59.999999-23:59", "9999-12-31T23:59:59Z", "9999-12-31T23:59:59.999999+00:00",
    "2100-01-01T00:00:00Z", "2999-06-15T12:00:00+02:00",
]


def test_hostile_event_times_are_400s_naming_event_time_and_write_nothing(client: TestClient, store_url: str,
                                                                        headwater, tmp_path: Path,
                                                                        figures: Counter[str]) -> None:
    before = store_rows(store_url)
    for at in HOSTILE_TIMES:
        response = client.post("/api/v1/lineage", json=[event(ago(hours=1), run="fine"), event(at, run=at)])
        assert response.status_code == 400, (at, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == ["events[1].eventTime"], at
        figures["OpenLineage hostile event times refused (API)"] += 1
    # a facet's own date-time at the edges is only checked as text: accepted, and never a 500
    edge_facet = event(ago(hours=1), run="facet")
    edge_facet["run"]["facets"] = {"nominalTime": {
        "_producer": PRODUCER, "nominalStartTime": "9999-12-31T23:59:59-01:00",
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/NominalTimeRunFacet.json#/$defs/NominalTimeRunFacet"}}
    assert client.post("/api/v1/lineage", json=edge_facet).status_code == 201
    assert store_rows(store_url)["lineage_events"] != before["lineage_events"]
    for at in HOSTILE_TIMES:
        lines = tmp_path / "times.ndjson"
        lines.write_text(json.dumps(event(ago(hours=1), run="cli-fine")) + "\n" + json.dumps(event(at, run=at)) + "\n")
        result = headwater("ingest", str(lines), db=store_url)
        assert result.returncode == 2 and f"{lines}:2: events[1].eventTime" in result.stderr, (at, result.stderr)
        assert "Traceback" not in result.stderr
        figures["OpenLineage hostile event times refused (CLI)"] += 1


def test_a_far_future_event_cannot_pin_a_job_s_edges(client: TestClient, store_url: str, figures: Counter[str]) -> None:
    before = store_rows(store_url)
    pinned = client.post("/api/v1/lineage", json=event("9999-12-31T23:59:59Z", inputs=("poison",), outputs=("out",), run="pin"))
    assert pinned.status_code == 400 and store_rows(store_url) == before
    for number, source in enumerate(("real1", "real2")):
        at = ago(minutes=30 - number * 10)
        assert client.post("/api/v1/lineage", json=event(at, inputs=(source,), outputs=("out",), run=source)).status_code == 201
    # an older run replayed afterwards, in its own request, defines nothing
    assert client.post("/api/v1/lineage", json=event(ago(days=1), inputs=("stale",), outputs=("out",), run="stale")).status_code == 201
    derivations = client.get("/api/v1/derivations").json()["items"]
    assert [(d["input"], d["output"]) for d in derivations] == [("dataset:abuse:real2", "dataset:abuse:out")]
    figures["OpenLineage edge-pinning attempts defeated"] += 2


def test_replayed_older_events_never_overwrite_newer_facets(client: TestClient, figures: Counter[str]) -> None:
    def owned(at: str, owner: str) -> dict:
        sent = event(at, inputs=(), outputs=("t",), run=f"own-{owner}", event_type="OTHER")
        sent["outputs"][0]["facets"] = {"ownership": {"_producer": PRODUCER, "_schemaURL": OWNERSHIP,
                                                      "owners": [{"name": owner}]}}
        return sent

    assert client.post("/api/v1/lineage", json=owned(ago(minutes=1), "team:real")).status_code == 201
    for hours in (1, 24, 24 * 365, 24 * 365 * 2000):
        assert client.post("/api/v1/lineage", json=owned(ago(hours=hours), f"attacker-{hours}")).status_code == 201
        figures["OpenLineage older-event overwrites attempted"] += 1
    assert client.get("/api/v1/datasets/abuse:t").json()["owner"] == "team:real"
    assert client.post("/api/v1/lineage", json=owned(ago(seconds=1), "team:next")).status_code == 201
    assert client.get("/api/v1/datasets/abuse:t").json()["owner"] == "team:next"


def test_events_cannot_close_a_cycle_nor_block_or_mask_a_catalog_s_cycle(client: TestClient, store_url: str, headwater,
                                                                         tmp_path: Path, figures: Counter[str]) -> None:
    assert client.post("/api/v1/lineage", json=event(ago(hours=2), job="make_b", inputs=("a",), outputs=("b",),
                                                     run="ab")).status_code == 201
    before = store_rows(store_url)
    for number, loop in enumerate([[("b", "a")], [("b", "c"), ("c", "a")]]):  # a -> b is stored: each closes a loop
        sent = [event(ago(hours=1), job=f"loop{number}_{i}", inputs=(src,), outputs=(dst,), run=f"loop{number}/{i}")
                for i, (src, dst) in enumerate(loop)]
        response = client.post("/api/v1/lineage", json=sent)
        assert response.status_code == 400, response.text
        assert response.json()["title"] == "Derivation cycle" and "abuse:a" in response.json()["detail"]
        assert "job abuse:make_b" in response.json()["detail"]
        assert store_rows(store_url) == before
        figures["OpenLineage derivation cycles refused"] += 1
    naming = tmp_path / "naming.yaml"
    naming.write_text("catalog: abuse\ndatasets:\n  - name: a\n  - name: b\n")
    assert headwater("load", str(naming), db=store_url).returncode == 0
    cyclic = tmp_path / "cyclic.yaml"
    cyclic.write_text("catalog: abuse\ndatasets:\n  - name: x\n    derived_from: [y]\n  - name: y\n    derived_from: [x]\n")
    result = headwater("load", str(cyclic), db=store_url)
    assert result.returncode == 2 and "derivation cycle" in result.stderr and str(cyclic) in result.stderr
    assert "x -> y" in result.stderr or "y -> x" in result.stderr


def test_one_event_fanning_out_to_millions_of_edges_is_refused(client: TestClient, store_url: str,
                                                               figures: Counter[str]) -> None:
    wide = event(ago(hours=1), inputs=[f"in{n}" for n in range(2000)], outputs=[f"out{n}" for n in range(2000)], run="wide")
    body = json.dumps(wide).encode()
    assert 100_000 < len(body) < 200_000  # the 174 KB POST that wrote four million rows
    before = store_rows(store_url)
    response = client.post("/api/v1/lineage", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "events[0].outputs"
    assert "4,000,000 derivation edges" in response.json()["detail"] and "at most 10,000" in response.json()["detail"]
    assert store_rows(store_url) == before
    figures["OpenLineage fan-out edges refused"] += 4_000_000
    # spread over a run's START (inputs) and COMPLETE (outputs), each harmless alone: refused all the same
    start = event(ago(hours=1), inputs=[f"in{n}" for n in range(200)], outputs=(), run="spread", event_type="START")
    assert client.post("/api/v1/lineage", json=start).status_code == 201
    after_start = store_rows(store_url)
    complete = event(ago(minutes=59), inputs=(), outputs=[f"out{n}" for n in range(200)], run="spread")
    refused = client.post("/api/v1/lineage", json=complete)
    assert refused.status_code == 400 and "40,000 derivation edges" in refused.json()["detail"]
    assert refused.json()["errors"][0]["field"] == "events[0].outputs"
    assert store_rows(store_url) == after_start
    figures["OpenLineage fan-out edges refused"] += 40_000
    fine = event(ago(minutes=58), inputs=[f"in{n}" for n in range(10)], outputs=[f"out{n}" for n in range(10)], run="fine")
    assert client.post("/api/v1/lineage", json=fine).json()["derivations_added"] == 100


def test_a_10_mb_array_of_numbers_gets_a_small_answer(sqlite_client: TestClient, sqlite_url: str,
                                                     figures: Counter[str]) -> None:
    """It was a 499 MB answer (one problem per item) with a 6 GB server peak."""
    before = store_rows(sqlite_url)
    count = (BODY_LIMIT - 2) // 2
    ones = ("[" + "1," * (count - 1) + "1]").encode()
    assert BODY_LIMIT - 2 <= len(ones) <= BODY_LIMIT
    response = sqlite_client.post("/api/v1/lineage", content=ones, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and len(response.content) < 5_000, len(response.content)
    body = response.json()
    assert len(body["errors"]) == 20 and body["errors"][0]["field"] == "events[0]"
    assert f"(and {count - 1:,} more invalid events)" in body["detail"] and f"{count - 20:,} more are not" in body["detail"]
    assert store_rows(sqlite_url) == before
    figures["OpenLineage 10 MB bodies of invalid events answered in < 5 KB"] += 1


def test_a_10_mb_array_of_empty_objects_gets_a_small_answer_quickly(sqlite_client: TestClient,
                                                                     figures: Counter[str]) -> None:
    """Three and a half million `{}`: validating each would take half a minute; the batch is refused at the 20th."""
    import time

    empties = ("[" + "{}," * ((BODY_LIMIT - 2) // 3 - 1) + "{}]").encode()
    started = time.monotonic()
    response = sqlite_client.post("/api/v1/lineage", content=empties, headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and len(response.content) < 5_000
    assert "events after them not checked" in response.json()["detail"] and len(response.json()["errors"]) == 20
    assert time.monotonic() - started < 15  # ~2 s here; walking every item took 7 s more, validating each 26 s
    figures["OpenLineage 10 MB bodies of invalid events answered in < 5 KB"] += 1


def test_a_batch_of_refused_data_sources_gets_a_small_answer(client: TestClient, store_url: str,
                                                             figures: Counter[str]) -> None:
    leaking = []
    for number in range(2_000):
        sent = event(ago(hours=1), inputs=(), run=f"leak{number}")
        sent["outputs"] = [{"namespace": "file", "name": f"/etc/secret{number}.csv",
                            "facets": {"dataSource": {"_producer": PRODUCER, "_schemaURL": DATASOURCE, "uri": "file://"}}}]
        leaking.append(sent)
    before = store_rows(store_url)
    response = client.post("/api/v1/lineage", json=leaking)
    assert response.status_code == 400 and len(response.json()["errors"]) == 20
    assert "1,980 more are not" in response.json()["detail"] and len(response.content) < 10_000
    assert store_rows(store_url) == before
    figures["OpenLineage refused dataSource facets answered in one small answer"] += len(leaking)
