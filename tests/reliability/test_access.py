"""Access: every write needs a good token, tokens are compared in constant time and never logged,
and database passwords never leave the process (logs, errors, /docs, reports, CLI output)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections import Counter
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import Settings
from tests.conftest import ROOT
from tests.reliability.conftest import AUTH, TOKEN, store_rows

WRITE_METHODS = {"post", "put", "patch", "delete"}


def _write_operations(app) -> list[tuple[str, str]]:
    """Every write the app serves, read from its own OpenAPI schema, so a new endpoint is covered."""
    return sorted((method.upper(), path) for path, operations in app.openapi()["paths"].items()
                  for method in operations if method in WRITE_METHODS)


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "ns:name", path)


@pytest.fixture
def app(sqlite_url: str):
    return create_app(Settings(db=sqlite_url, tokens=(TOKEN, "second-token")))


def test_every_write_endpoint_refuses_a_missing_or_wrong_token(app, sqlite_url: str, figures: Counter[str]) -> None:
    writes = _write_operations(app)
    assert {("PUT", "/api/v1/datasets/{dataset}"), ("POST", "/api/v1/lineage"), ("POST", "/api/v1/checks"),
            ("DELETE", "/api/v1/models/{model}"), ("POST", "/api/v1/incidents")} <= set(writes)
    with TestClient(app) as client:
        before = store_rows(sqlite_url)
        for method, path in writes:
            operation = app.openapi()["paths"][path][method.lower()]
            assert operation.get("security"), f"{method} {path} does not declare the bearer token"
            url = _concrete(path)
            query = {"dataset": "x", "kind": "breach", "opened": "2026-01-01"} if method == "DELETE" and "{" not in path else {}
            for headers, expected in (({}, 401), ({"Authorization": "Bearer wrong"}, 403),
                                      ({"Authorization": f"Bearer {TOKEN}x"}, 403), ({"Authorization": f"Basic {TOKEN}"}, 401),
                                      ({"Authorization": "Bearer "}, 401), ({"Authorization": TOKEN}, 401)):
                response = client.request(method, url, params=query, headers=headers, json={})
                assert response.status_code == expected, (method, path, headers, response.text)
                assert response.headers["content-type"] == "application/problem+json"
                assert TOKEN not in response.text
                figures["unauthorised writes refused"] += 1
        assert store_rows(sqlite_url) == before


def test_reads_stay_open_and_no_configured_token_means_no_writes(sqlite_url: str) -> None:
    with TestClient(create_app(Settings(db=sqlite_url))) as client:
        assert client.get("/api/v1/datasets").status_code == 200
        assert client.put("/api/v1/datasets/ns:x", json={}, headers={"Authorization": "Bearer "}).status_code == 401
        assert client.put("/api/v1/datasets/ns:x", json={}, headers={"Authorization": "Bearer anything"}).status_code == 403


def test_tokens_are_compared_in_constant_time(app, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real comparison runs, always on equal-length digests, against every configured token."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    import api.deps

    monkeypatch.setattr(api.deps.hmac, "compare_digest", recording)
    with TestClient(app) as client:
        assert client.post("/api/v1/checks", json={"datasets": ["x"]}, headers={"Authorization": "Bearer short"}).status_code == 403
        assert len(calls) == 2 and all(len(a) == len(b) == 32 for a, b in calls)
        assert hashlib.sha256(b"short").digest() in {a for a, _ in calls}
        calls.clear()
        assert client.post("/api/v1/checks", json={"datasets": ["x"]}, headers=AUTH).status_code == 404
        assert len(calls) == 2  # no early exit on the first, matching, token
    assert TOKEN not in repr(Settings(tokens=(TOKEN,)))


def test_tokens_never_reach_the_server_log(sqlite_url: str, serve) -> None:
    server = serve(sqlite_url)
    with httpx.Client(base_url=server.base, timeout=30) as http:
        http.put("/api/v1/datasets/ns:a", json={"owner": "o@x"}, headers=AUTH).raise_for_status()
        assert http.put("/api/v1/datasets/ns:a", json={"owner": 5}, headers=AUTH).status_code == 422
        assert http.put("/api/v1/datasets/ns:a", json={}, headers={"Authorization": f"Bearer {TOKEN}-guess"}).status_code == 403
        assert http.post("/api/v1/lineage", content=b"{not json", headers={**AUTH, "Content-Type": "application/json"}).status_code == 422
        assert http.post("/api/v1/lineage", json={"eventType": "START"}, headers=AUTH).status_code == 400
    server.stop()
    log = server.log()
    assert "PUT /api/v1/datasets/ns%3Aa" in log  # the access log is there, and it is the whole log we read
    assert TOKEN not in log


PASSWORD = "Pw-9f3c-never-shown"


def _with_password(url: str, password: str = PASSWORD) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(password=password).render_as_string(hide_password=False)


@pytest.mark.postgres
def test_database_passwords_are_masked_everywhere(pg_url: str, serve, headwater, tmp_path: Path,
                                                  figures: Counter[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The test server trusts loopback, so any password opens it: one that must never be shown."""
    url = _with_password(pg_url)
    seen: list[str] = []
    for args in (("load", str(ROOT / "examples" / "catalog.yaml")), ("risk", "--format", "json"),
                 ("report", "credit-scorer"), ("impact", "nope"), ("lineage", "credit-scorer"),
                 ("gate", "--all", "--json", str(tmp_path / "gate.json"), "--markdown", str(tmp_path / "gate.md"),
                  "--sarif", str(tmp_path / "gate.sarif"), "--junit", str(tmp_path / "gate.xml"))):
        result = headwater(*args, db=url)
        assert result.returncode in (0, 1, 2), result.stderr
        seen += [result.stdout, result.stderr]
    seen += [p.read_text() for p in tmp_path.glob("gate.*")]
    unreachable = headwater("risk", db=_with_password("postgresql+psycopg://reader@127.0.0.1:1/x"))
    assert unreachable.returncode == 2 and "127.0.0.1:1" in unreachable.stderr and "***" in unreachable.stderr
    bad = headwater("risk", db=f"postgresql+nodriver://u:{PASSWORD}@h/x")
    assert bad.returncode == 2
    seen += [unreachable.stderr, bad.stderr]

    monkeypatch.setenv("HEADWATER_ALLOWED_DATABASES", "127.0.0.1")  # the test server may be a dataset's location
    server = serve(url)
    location = _with_password(pg_url, "LocationPw-4e1d") + "#public.nosuch"
    with httpx.Client(base_url=server.base, timeout=120) as http:
        seen += [http.get(p).text for p in ("/openapi.json", "/docs", "/api/v1/risk", "/api/v1/reports/credit-scorer",
                                            "/api/v1/datasets?limit=1000", "/api/v1/nope")]
        assert http.put("/api/v1/datasets/ns:warehouse", json={"location": location, "expectations": [
            {"expect_column_to_exist": {"column": "id"}}]}, headers=AUTH).status_code == 201
        shown = http.get("/api/v1/datasets/ns:warehouse").json()["location"]
        assert shown.endswith("#public.nosuch") and "***" in shown
        checked = http.post("/api/v1/checks", json={"datasets": ["ns:warehouse"]}, headers=AUTH)
        assert checked.status_code == 200 and checked.json()["runs"][0]["outcome"] == "errored"
        seen += [checked.text, http.get("/api/v1/checks/ns:warehouse").text]
    cli_check = headwater("check", "ns:warehouse", "--format", "json", db=url)
    seen += [cli_check.stdout, cli_check.stderr]
    server.stop()
    seen.append(server.log())
    assert "serving postgresql+psycopg://postgres:***@" in server.log()
    for text in seen:
        assert PASSWORD not in text and "LocationPw-4e1d" not in text
    figures["outputs searched for a database password"] += len(seen)
