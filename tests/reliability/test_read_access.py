"""Reads closed where it matters (issue 15, finding 11): `HEADWATER_READS=token` makes every read need a
bearer token, and the server answers only to the host names it is meant to be reached by, so a web
page cannot read a developer's local server through DNS rebinding.

The Host header is judged by the real server (its default list comes from the address it binds);
the token rule is walked over every read operation of the app's own OpenAPI schema, so a new read
endpoint is covered without touching this file.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import LOOPBACK_HOSTS, Settings
from catalog.loader import load_catalog
from catalog.store import Store
from tests.conftest import ROOT
from tests.reliability.conftest import AUTH, TOKEN

# Path parameters filled with nodes of the bundled example, so reads reach real nodes.
NODES = {"dataset": "vendor.bureau_scores", "model": "credit-scorer", "node": "credit-scorer",
         "schema": "HeadwaterModelOutputDatasetFacet.json"}
REQUIRED = {"source": "raw.support_tickets", "target": "support-assistant"}


def _reads(app) -> list[tuple[str, str]]:
    """Every GET the app declares: its schema path and a concrete URL."""
    urls = []
    for path, operations in app.openapi()["paths"].items():
        if "get" not in operations:
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: NODES[m.group(1)], path)
        needed = {p["name"]: REQUIRED[p["name"]] for p in operations["get"].get("parameters", [])
                  if p["in"] == "query" and p.get("required")}
        urls.append((path, str(httpx.URL(url, params=needed))))
    return sorted(urls)


@pytest.fixture(scope="module")
def example_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("reads")
    shutil.copytree(ROOT / "examples", folder / "examples", copy_function=shutil.copy)
    url = f"sqlite:///{folder / 'store.db'}"
    with Store(url) as store:
        load_catalog(store, [folder / "examples" / "catalog.yaml"])
    return url


def test_token_reads_refuse_every_read_without_a_good_token(example_url: str, figures: Counter[str]) -> None:
    app = create_app(Settings(db=example_url, tokens=(TOKEN,), reads="token", allowed_hosts=("testserver",)))
    reads = _reads(app)
    assert {"/viewer", "/api/v1/risk", "/api/v1/risk/models", "/api/v1/datasets"} <= {path for path, _ in reads}
    with TestClient(app) as client:
        for path, url in reads:
            if path == "/api/v1/audit":
                continue  # an admin token's, whatever HEADWATER_READS says: test_token_scopes_*
            assert app.openapi()["paths"][path]["get"].get("security"), f"GET {path} does not declare the bearer token"
            for headers, expected in (({}, 401), ({"Authorization": "Bearer wrong"}, 403),
                                      ({"Authorization": f"Basic {TOKEN}"}, 401)):
                response = client.get(url, headers=headers)
                assert response.status_code == expected, (url, headers, response.text)
                assert response.headers["content-type"] == "application/problem+json"
                assert "read" in response.json()["detail"]
                figures["anonymous reads refused"] += 1
            assert client.get(url).headers.get("www-authenticate") == "Bearer"
            answered = client.get(url, headers=AUTH)
            assert answered.status_code == 200, (url, answered.text)
        # what describes the API stays open, so a client can learn that it needs a token
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/docs").status_code == 200


def test_open_reads_declare_no_token_and_answer_anyone(example_url: str) -> None:
    app = create_app(Settings(db=example_url, tokens=(TOKEN,), allowed_hosts=("testserver",)))
    with TestClient(app) as client:
        assert client.get("/api/v1/risk").status_code == 200
        assert client.get("/viewer").status_code == 200
    assert not app.openapi()["paths"]["/api/v1/risk"]["get"].get("security")
    assert app.openapi()["paths"]["/api/v1/checks"]["post"].get("security")


def test_a_misspelt_reads_setting_refuses_to_start(example_url: str, headwater) -> None:
    """`HEADWATER_READS=tokens` must not quietly leave reads open."""
    from catalog.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="HEADWATER_READS"):
        create_app(Settings(db=example_url, reads="tokens"))
    from tests.server import free_port

    result = headwater("serve", "--port", str(free_port()), db=example_url, env={"HEADWATER_READS": "tokens"},
                       process=True)
    assert result.returncode == 2 and "HEADWATER_READS" in result.stderr and "Traceback" not in result.stderr
    junk = {"HEADWATER_MAX_BODY_BYTES": "ten megabytes"}
    served = headwater("serve", "--port", str(free_port()), db=example_url, env=junk, process=True)
    assert served.returncode == 2 and "HEADWATER_MAX_BODY_BYTES" in served.stderr and "Traceback" not in served.stderr
    other = headwater("lineage", "nothing-here", db=example_url, env=junk)  # only the server judges it
    assert other.returncode == 2 and "no node named" in other.stderr


def _get(base: str, path: str, host: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{base}{path}", headers={"Host": host, **headers}, timeout=30)


def test_server_answers_only_the_hosts_it_is_reached_by(example_url: str) -> None:
    """Default list: the bind address (127.0.0.1) and the loopback names; anything else is a 400
    problem, before any token is looked at and on every path (the schema too)."""
    from tests import server

    port = server.free_port()
    process = server.start(example_url, port, tokens=TOKEN, env={"HEADWATER_READS": "token"})
    base = f"http://127.0.0.1:{port}"
    try:
        server.wait_until_up(base, process)
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "LOCALHOST", "localhost."):
            assert _get(base, "/api/v1/datasets", host, **AUTH).status_code == 200, host
        assert _get(base, "/api/v1/datasets", f"localhost:{port}").status_code == 401  # reads need the token
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example", "localhost.evil.example",
                     "10.0.0.1", "", "[::2]", "127.0.0.1@evil.example"):
            for path in ("/api/v1/datasets", "/openapi.json", "/viewer", "/docs"):
                refused = _get(base, path, host, **AUTH)
                assert refused.status_code == 400, (host, path, refused.text)
                assert refused.headers["content-type"] == "application/problem+json"
                assert "HEADWATER_ALLOWED_HOSTS" in refused.json()["detail"]
    finally:
        server.stop(process)
    assert "allowed hosts: 127.0.0.1, localhost, [::1]" in server.output(process)


def test_allowed_hosts_setting_replaces_the_default(example_url: str) -> None:
    from tests import server

    with server.running(example_url, env={"HEADWATER_ALLOWED_HOSTS": "catalog.internal, 127.0.0.1"}) as base:
        assert _get(base, "/api/v1/datasets", "catalog.internal").status_code == 200
        assert _get(base, "/api/v1/datasets", "Catalog.Internal:8443").status_code == 200
        assert _get(base, "/api/v1/datasets", "localhost").status_code == 400


def test_in_process_apps_check_the_hosts_their_settings_name(example_url: str) -> None:
    """TestClient sends `Host: testserver`: an app that does not list it refuses it like any other."""
    app = create_app(Settings(db=example_url, allowed_hosts=LOOPBACK_HOSTS))
    with TestClient(app) as client:
        assert client.get("/api/v1/datasets").status_code == 400
    with TestClient(app, base_url="http://localhost:8000") as client:
        assert client.get("/api/v1/datasets").status_code == 200
    with TestClient(create_app(Settings(db=example_url, allowed_hosts=("*",)))) as client:
        assert client.get("/api/v1/datasets").status_code == 200


def test_default_hosts_follow_the_bind_address() -> None:
    from api.app import allowed_hosts_for

    assert allowed_hosts_for("127.0.0.1") == ("127.0.0.1", "localhost", "[::1]")
    assert allowed_hosts_for("::1") == ("[::1]", "localhost", "127.0.0.1")
    assert allowed_hosts_for("localhost") == ("localhost", "127.0.0.1", "[::1]")
    assert allowed_hosts_for("10.1.2.3") == ("10.1.2.3",)
    assert allowed_hosts_for("catalog.internal") == ("catalog.internal",)
    everywhere = allowed_hosts_for("0.0.0.0")
    import socket

    assert set(LOOPBACK_HOSTS) <= set(everywhere) and socket.gethostname().lower() in everywhere
    assert "*" not in everywhere


def test_token_scopes_reads_writes_and_the_audit_trail(example_url: str) -> None:
    """`name:token:scope` entries: a read token reads and cannot write, a write token cannot read the
    trail, an admin token can; with reads restricted an anonymous GET is a 401."""
    tokens = ("viewer:v-token:read", "pipeline:w-token:write", "auditor:a-token:admin", "legacy-bare-token")
    app = create_app(Settings(db=example_url, tokens=tokens, reads="token", allowed_hosts=("testserver",)))
    bearer = {name: {"Authorization": f"Bearer {value}"} for name, value in
              (("read", "v-token"), ("write", "w-token"), ("admin", "a-token"), ("bare", "legacy-bare-token"))}
    body = {"owner": "o@x.example"}
    with TestClient(app) as client:
        assert client.get("/api/v1/datasets").status_code == 401
        assert client.get("/api/v1/datasets", headers=bearer["read"]).status_code == 200
        refused = client.put("/api/v1/datasets/scoped:one", json=body, headers=bearer["read"])
        assert refused.status_code == 403 and "viewer" in refused.json()["detail"] and "v-token" not in refused.text
        assert client.put("/api/v1/datasets/scoped:one", json=body, headers=bearer["write"]).status_code == 201
        assert client.put("/api/v1/datasets/scoped:two", json=body, headers=bearer["bare"]).status_code == 201
        assert client.get("/api/v1/audit", headers=bearer["write"]).status_code == 403
        assert client.get("/api/v1/audit").status_code == 401
        trail = client.get("/api/v1/audit", headers=bearer["admin"])
        assert trail.status_code == 200 and trail.headers["content-type"] == "application/x-ndjson"
        actors = [json.loads(line)["actor"] for line in trail.text.splitlines()]
        assert "pipeline" in actors and any(a.startswith("token-") for a in actors)
        assert "w-token" not in trail.text and "legacy-bare-token" not in trail.text
        assert client.get("/api/v1/audit/verify", headers=bearer["read"]).json()["ok"] is True
        changes = client.get("/api/v1/datasets/scoped:one/history", headers=bearer["read"]).json()["changes"]
        assert [(c["actor"], c["source"], c["op"]) for c in changes] == [("pipeline", "api", "created")]


@pytest.mark.parametrize("entry, says", [("ci:secret:superuser", "unknown scope 'superuser'"),
                                         ("ci:secret", "expected name:token:scope"),
                                         ("bad name:secret:read", "the name must be")])
def test_a_token_with_an_unknown_scope_refuses_to_start(example_url: str, headwater, entry: str, says: str) -> None:
    from catalog.errors import ConfigurationError
    from tests.server import free_port

    with pytest.raises(ConfigurationError, match="HEADWATER_TOKENS entry 1"):
        create_app(Settings(db=example_url, tokens=(entry,)))
    result = headwater("serve", "--port", str(free_port()), db=example_url, env={"HEADWATER_TOKENS": entry},
                       process=True)
    assert result.returncode == 2 and says in result.stderr and "secret" not in result.stderr.replace(says, "")
