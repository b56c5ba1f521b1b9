"""Reads have budgets (issue 15, finding 6): capped parameters, a time budget, work that stops when
its client goes, and a server that stops on SIGTERM while a long read runs.

The expensive cases run on a generated platform (the benchmarks' reference graph at 2%: 2,112
nodes, 20,000 edges, 4 incidents) where `GET /api/v1/risk?paths=20` takes about a minute of
CPU, so "it stopped" is measured (the server's CPU time, its exit) rather than assumed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import Settings
from catalog.loader import load_catalog
from catalog.store import Store
from tests import server

HUB = "dataset:payments:mart.mart_001000"  # the reference graph's most-read mart at this scale
MODEL = "model:payments:model_00000@1"
LONG = "/api/v1/risk?paths=20"  # every finding with up to 20 paths: ~60 s here

# The caps this release documents: (operation path, parameter, maximum).
CAPS = [
    ("/api/v1/datasets", "limit", 1000), ("/api/v1/datasets", "offset", 2**31 - 1),
    *((path, name, cap) for path in ("/api/v1/feeds", "/api/v1/derivations", "/api/v1/incidents", "/api/v1/models")
      for name, cap in (("limit", 1000), ("offset", 2**31 - 1))),
    ("/api/v1/lineage/{node}", "depth", 1000), ("/api/v1/column-lineage/{dataset}", "depth", 1000),
    ("/api/v1/impact/{dataset}", "paths", 20), ("/api/v1/impact/{dataset}", "limit", 500),
    ("/api/v1/impact/{dataset}", "offset", 2**31 - 1), ("/api/v1/impact/{dataset}", "datasets", 10_000),
    ("/api/v1/paths", "limit", 100),
    ("/api/v1/risk", "paths", 20), ("/api/v1/risk", "limit", 10_000), ("/api/v1/risk", "offset", 2**31 - 1),
    ("/api/v1/models/{model}/risk", "paths", 20), ("/api/v1/models/{model}/risk", "limit", 10_000),
    ("/api/v1/models/{model}/risk", "offset", 2**31 - 1),
    ("/api/v1/risk/models", "limit", 200), ("/api/v1/risk/models", "top", 10), ("/api/v1/risk/models", "paths", 5),
    ("/api/v1/risk/models", "offset", 2**31 - 1),
    ("/api/v1/checks/{dataset}", "limit", 500),
    ("/api/v1/datasets/{dataset}/history", "limit", 1000), ("/api/v1/models/{model}/history", "limit", 1000),
    ("/viewer", "max_nodes", 20_000), ("/viewer", "depth", 1000),
]
NODES = {"dataset": "vendor.bureau_scores", "model": "credit-scorer", "node": "credit-scorer"}
# What some operations need besides the count under test.
REQUIRED = {"/api/v1/paths": {"source": "raw.support_tickets", "target": "support-assistant"},
            "/viewer": {"focus": "credit-scorer"}}


@pytest.fixture(scope="module")
def example_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from tests.conftest import ROOT

    folder = tmp_path_factory.mktemp("caps")
    shutil.copytree(ROOT / "examples", folder / "examples", copy_function=shutil.copy)
    url = f"sqlite:///{folder / 'store.db'}"
    store = Store(url)
    load_catalog(store, [folder / "examples" / "catalog.yaml"])
    app = create_app(Settings(db=url, allowed_hosts=("testserver",)), store=store)
    with TestClient(app) as client:
        yield client
    store.close()


@pytest.fixture(scope="module")
def platform_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store holding the reference platform at 2% (built in about 2 s, directly, without a load)."""
    from benchmarks.reference import reference_graph
    from benchmarks.reference_catalog import load_into_store, reference_incidents

    graph = reference_graph(scale=0.02)
    url = f"sqlite:///{tmp_path_factory.mktemp('platform') / 'store.db'}"
    with Store(url) as store:
        load_into_store(graph, store, reference_incidents(graph))
    assert HUB in graph and MODEL in graph
    return url


def _integer_query_parameters(app) -> list[tuple[str, dict]]:
    found = []
    for path, operations in app.openapi()["paths"].items():
        for parameter in operations.get("get", {}).get("parameters", []):
            schema = parameter.get("schema", {})
            types = {schema.get("type")} | {s.get("type") for s in schema.get("anyOf", [])}
            if parameter["in"] == "query" and "integer" in types:
                found.append((path, parameter))
    return found


def _maximum(parameter: dict) -> int | None:
    schema = parameter["schema"]
    return schema.get("maximum", next((s.get("maximum") for s in schema.get("anyOf", []) if "maximum" in s), None))


def _url(path: str, **query: object) -> str:
    concrete = re.sub(r"\{(\w+)\}", lambda m: NODES[m.group(1)], path)
    return str(httpx.URL(concrete, params={**REQUIRED.get(path, {}), **query}))


def test_every_count_a_read_takes_is_capped_and_documented(example_app: TestClient) -> None:
    """Read from the schema, so a new endpoint cannot forget a cap; the values are the documented ones."""
    declared = {(path, p["name"]): (_maximum(p), p.get("description", "")) for path, p in
                _integer_query_parameters(example_app.app)}
    assert {key: maximum for key, (maximum, _) in declared.items()} == {(p, n): m for p, n, m in CAPS}
    for (path, name), (maximum, description) in declared.items():
        assert f"at most {maximum:,}" in description, (path, name, description)


@pytest.mark.parametrize(("path", "name", "cap"), CAPS, ids=[f"{p} {n}" for p, n, _ in CAPS])
def test_a_count_over_its_cap_is_a_422_naming_it(example_app: TestClient, path: str, name: str, cap: int) -> None:
    over = example_app.get(_url(path, **{name: cap + 1}))
    assert over.status_code == 422 and over.headers["content-type"] == "application/problem+json", over.text
    assert [e["field"] for e in over.json()["errors"]] == [f"query.{name}"]
    assert str(cap) in over.json()["detail"]
    at = example_app.get(_url(path, **{name: cap}))
    assert at.status_code == 200, at.text


def test_risk_findings_are_paged(example_app: TestClient) -> None:
    everything = example_app.get("/api/v1/risk", params={"limit": 10_000}).json()
    assert everything["total"] == len(everything["findings"]) > 3
    page = example_app.get("/api/v1/risk", params={"limit": 2, "offset": 1}).json()
    assert (page["total"], page["limit"], page["offset"]) == (everything["total"], 2, 1)
    assert page["findings"] == everything["findings"][1:3]
    model = example_app.get("/api/v1/models/credit-scorer/risk", params={"limit": 1}).json()
    assert len(model["findings"]) == 1 and model["total"] > 1


def _read_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "headwater-read"]


@pytest.mark.parametrize("url", [LONG, "/api/v1/risk/models?limit=200&top=10&paths=5", f"/api/v1/reports/{MODEL}",
                                 f"/api/v1/models/{MODEL}/report", f"/api/v1/impact/{HUB}?paths=20&limit=500",
                                 "/viewer"])
def test_a_read_past_its_time_budget_is_a_503_and_stops_its_work(platform_url: str, url: str) -> None:
    from lineage.service import graph_of

    from checks.risk import ASSESSMENTS

    app = create_app(Settings(db=platform_url, allowed_hosts=("testserver",), read_budget=0.05))
    graph_of(app.state.store)  # the graph cached, as on a server that has answered before
    ASSESSMENTS.clear()  # but not the risk assessment: the first read after a write computes it
    with TestClient(app) as client:
        started = time.monotonic()
        response = client.get(url)
        took = time.monotonic() - started
        assert response.status_code == 503, response.text[:300]
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "1"
        assert "0.05 s" in response.json()["detail"]
        assert took < 3, f"answered after {took:.1f} s"
        deadline = time.monotonic() + 5
        while _read_threads() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _read_threads(), "the abandoned read is still computing"
        # the budget stops this read only: the next one is answered
        assert client.get(f"/api/v1/lineage/{MODEL}", params={"depth": 1}).status_code == 200


def test_the_shared_graph_is_built_even_when_the_first_read_runs_out_of_time(platform_url: str, tmp_path: Path) -> None:
    """Building the lineage graph is shared by every later read: stopping it with the request that
    started it would leave a platform whose graph takes longer than one budget never answered."""
    from lineage.graph import CACHE

    copy = tmp_path / "store.db"
    shutil.copyfile(platform_url.removeprefix("sqlite:///"), copy)
    app = create_app(Settings(db=f"sqlite:///{copy}", allowed_hosts=("testserver",), read_budget=0.01))
    builds = CACHE.builds
    with TestClient(app) as client:
        assert client.get(f"/api/v1/lineage/{MODEL}", params={"depth": 0}).status_code == 503
        deadline = time.monotonic() + 30
        while CACHE.builds == builds and time.monotonic() < deadline:
            time.sleep(0.05)
        assert CACHE.builds == builds + 1, "the graph build was abandoned with the request"
        app.state.settings = Settings(db=app.state.settings.db, allowed_hosts=("testserver",), read_budget=30)
        assert client.get(f"/api/v1/lineage/{MODEL}", params={"depth": 0}).status_code == 200
        assert CACHE.builds == builds + 1  # answered from the graph built for the request that ran out


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (fields 14 and 15, in clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start(url: str, env: dict[str, str]) -> tuple[object, str]:
    port = server.free_port()
    process = server.start(url, port, env=env)
    base = f"http://127.0.0.1:{port}"
    server.wait_until_up(base, process)
    assert httpx.get(f"{base}/api/v1/lineage/{MODEL}", params={"depth": 0}, timeout=60).status_code == 200
    return process, base


def _send(base: str, path: str) -> socket.socket:
    """A raw request, so the test decides exactly when the client goes away."""
    port = int(base.rsplit(":", 1)[1])
    connection = socket.create_connection(("127.0.0.1", port), timeout=30)
    connection.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    return connection


def test_a_read_whose_client_went_away_stops_computing(platform_url: str) -> None:
    process, base = _start(platform_url, {"HEADWATER_READ_BUDGET": "600"})
    try:
        before = _cpu_seconds(process.pid)
        connection = _send(base, LONG)
        time.sleep(3)
        working = _cpu_seconds(process.pid) - before
        assert working > 0.6, f"the read was not running ({working:.2f} s CPU in 3 s)"  # the machine is shared
        connection.close()
        time.sleep(1)
        idle_from = _cpu_seconds(process.pid)
        time.sleep(3)
        spent = _cpu_seconds(process.pid) - idle_from
        assert spent < 0.5, f"the server kept computing for a client that left ({spent:.2f} s CPU in 3 s)"
        assert httpx.get(f"{base}/api/v1/datasets", params={"limit": 1}, timeout=10).status_code == 200
    finally:
        server.stop(process)


def test_sigterm_stops_the_server_within_seconds_while_a_long_read_runs(platform_url: str) -> None:
    process, base = _start(platform_url, {"HEADWATER_READ_BUDGET": "600", "HEADWATER_SHUTDOWN_TIMEOUT": "2"})
    try:
        before = _cpu_seconds(process.pid)
        connection = _send(base, LONG)
        time.sleep(3)
        assert _cpu_seconds(process.pid) - before > 0.6, "the read was not running"
        process.send_signal(signal.SIGTERM)  # type: ignore[attr-defined]
        started = time.monotonic()
        try:
            process.wait(timeout=30)  # type: ignore[attr-defined]
        finally:
            took = time.monotonic() - started
        connection.close()
        assert took < 6, f"SIGTERM took {took:.1f} s to stop the server"
    finally:
        server.stop(process)
    log = server.output(process)
    assert "timeout graceful shutdown exceeded" in log and "Application shutdown complete" in log  # not killed
