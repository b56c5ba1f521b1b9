"""Locations registered through the API or OpenLineage cannot make the server read arbitrary files.

The server is given one data root holding `data/ok.csv`; next to the root lies `outside/secret.csv`,
and the root holds a symlink to it and a symlinked folder leading out. Every way of spelling a
file outside (absolute, `..`, symlinks, `file://`, a SQLite URL) is refused with a problem naming
the field, before anything is written or read; the same spellings inside the root are accepted.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import Settings
from tests.reliability.conftest import AUTH, TOKEN, store_rows

DATASOURCE = {"_producer": "https://example.com/p",
              "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet"}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "data").mkdir(parents=True)
    (root / "data" / "ok.csv").write_text("id\n1\n")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.csv").write_text("password\nhunter2\n")
    os.symlink(tmp_path / "outside" / "secret.csv", root / "link.csv")
    os.symlink(tmp_path / "outside", root / "escape")
    return tmp_path


@pytest.fixture
def client(tree: Path, store_url: str):
    settings = Settings(db=store_url, tokens=(TOKEN,), data_roots=(tree / "root",), allowed_databases=("db.example",))
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _outside(tree: Path) -> list[str]:
    return [
        str(tree / "outside" / "secret.csv"), "/etc/passwd.csv", "../outside/secret.csv",
        "data/../../outside/secret.csv", "link.csv", "escape/secret.csv", f"file://{tree}/outside/secret.csv",
        "file:///etc/shadow.csv", f"sqlite:///{tree}/outside/x.db#t", "sqlite:////etc/x.db#t",
        "sqlite:///../outside/x.db#t",
    ]


def _inside(tree: Path) -> list[str]:
    return ["data/ok.csv", str(tree / "root" / "data" / "ok.csv"), f"file://{tree}/root/data/ok.csv",
            "data/../data/ok.csv", "sqlite:///data/local.db#t", "s3://bucket/key.csv"]


def test_put_refuses_locations_outside_the_data_roots(client, tree: Path, store_url: str,
                                                     figures: Counter[str]) -> None:
    before = store_rows(store_url)
    for location in _outside(tree):
        response = client.put("/api/v1/datasets/ns:leak", json={"location": location}, headers=AUTH)
        assert response.status_code == 422, (location, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["errors"] == [{"field": "location", "message": response.json()["errors"][0]["message"]}]
        assert "outside the server's data roots" in response.json()["detail"]
        assert "hunter2" not in response.text
        figures["confinement escapes refused"] += 1
    assert store_rows(store_url) == before  # nothing written
    for number, location in enumerate(_inside(tree)):
        response = client.put(f"/api/v1/datasets/ns:fine{number}", json={"location": location}, headers=AUTH)
        assert response.status_code == 201, (location, response.text)
    stored = client.get("/api/v1/datasets/ns:fine0").json()["location"]
    assert stored == str((tree / "root" / "data" / "ok.csv").resolve())  # relative to the first root


def test_openlineage_data_source_outside_the_roots_is_refused(client, tree: Path, store_url: str,
                                                              figures: Counter[str]) -> None:
    from tests.reliability.conftest import run_event

    before = store_rows(store_url)
    for number, path in enumerate([tree / "outside" / "secret.csv", tree / "root" / "link.csv", Path("/etc/passwd.csv")]):
        event = run_event(0, number, inputs=[], output="x")
        event["outputs"] = [{"namespace": "file", "name": str(path), "facets": {"dataSource": {**DATASOURCE, "uri": "file://"}}}]
        response = client.post("/api/v1/lineage", json=[run_event(0, 100 + number, inputs=[], output="fine"), event],
                               headers=AUTH)
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["field"] == "events[1].outputs[0].facets.dataSource.uri"
        figures["confinement escapes refused"] += 1
    assert store_rows(store_url) == before  # the whole batch refused, the good event too
    inside = run_event(0, 1, inputs=[], output="x")
    inside["outputs"] = [{"namespace": "file", "name": str(tree / "root" / "data" / "ok.csv"),
                          "facets": {"dataSource": {**DATASOURCE, "uri": "file://"}}}]
    assert client.post("/api/v1/lineage", json=inside, headers=AUTH).status_code == 201


def test_a_check_never_reads_a_location_that_has_left_the_roots(client, tree: Path, store_url: str) -> None:
    """Registered inside, then its folder is swapped for a symlink leading out: the check refuses."""
    (tree / "root" / "sub").mkdir()
    (tree / "root" / "sub" / "data.csv").write_text("id\n1\n")
    (tree / "outside" / "data.csv").write_text("password\nhunter2\n")
    assert client.put("/api/v1/datasets/ns:swapped", headers=AUTH, json={
        "location": "sub/data.csv", "expectations": [{"expect_column_to_exist": {"column": "id"}}]}).status_code == 201
    (tree / "root" / "sub").rename(tree / "root" / "old")
    os.symlink(tree / "outside", tree / "root" / "sub")
    refused = client.post("/api/v1/checks", json={"datasets": ["ns:swapped"]}, headers=AUTH)
    assert refused.status_code == 422 and "nothing was checked" in refused.json()["detail"], refused.text
    everything = client.post("/api/v1/checks", json={}, headers=AUTH)
    assert everything.status_code == 200
    assert [s["reason"] for s in everything.json()["skipped"]] == [
        f"dataset:ns:swapped: {tree / 'root' / 'sub' / 'data.csv'} lies outside the server's data roots, so the "
        "server will not read it (its operator can add a folder to HEADWATER_DATA_ROOTS)"]
    assert client.get("/api/v1/checks/ns:swapped").json()["runs"] == []
    assert "hunter2" not in refused.text + everything.text


def test_default_roots_are_the_working_directory_and_loaded_catalog_folders(tree: Path, sqlite_url: str,
                                                                            examples: Path) -> None:
    """Unconfigured, a server may read the data of catalogs its operator loaded, and nothing else."""
    import shutil

    from catalog.loader import load_catalog
    from catalog.store import Store

    shutil.copytree(examples, tree / "examples", copy_function=shutil.copy)
    with Store(sqlite_url) as store:
        load_catalog(store, [tree / "examples" / "catalog.yaml"])
    with TestClient(create_app(Settings(db=sqlite_url, tokens=(TOKEN,)))) as client:
        checked = client.post("/api/v1/checks", json={"datasets": ["vendor.bureau_scores"]}, headers=AUTH)
        assert checked.status_code == 200 and checked.json()["runs"][0]["outcome"] == "passed"
        sibling = client.put("/api/v1/datasets/ns:sibling", json={"location": str(tree / "examples" / "data" / "x.csv")},
                             headers=AUTH)
        assert sibling.status_code == 201
        leak = client.put("/api/v1/datasets/ns:leak", json={"location": str(tree / "outside" / "secret.csv")}, headers=AUTH)
        assert leak.status_code == 422


def test_the_cli_trusts_its_operator_and_resolves_against_the_catalog_file(tree: Path, headwater, sqlite_url: str) -> None:
    """A catalog file is its operator's word: `../outside/secret.csv` is what they meant, from that file."""
    catalog = tree / "root" / "catalog.yaml"
    catalog.write_text("catalog: ops\ndatasets:\n  - name: mine\n    location: ../outside/secret.csv\n")
    assert headwater("load", str(catalog), db=sqlite_url, cwd=tree / "root" / "data").returncode == 0
    shown = headwater("check", "mine", db=sqlite_url)
    assert shown.returncode == 0, shown.stderr
    from catalog.store import Store

    with Store(sqlite_url) as store, store.read() as session:
        from sqlalchemy import select

        from catalog.schema import Dataset

        assert session.scalar(select(Dataset.location)) == str((tree / "outside" / "secret.csv").resolve())


def test_expectations_file_outside_the_roots_is_never_opened(client, tree: Path, store_url: str,
                                                             figures: Counter[str]) -> None:
    """The server once opened any path named here: a JSON file's keys came back in the 422, /etc/passwd
    against a missing file was an existence oracle, a FIFO blocked the request holding the write lock."""
    (tree / "outside" / "suite.json").write_text('{"hunter2": "topsecret"}')
    os.mkfifo(tree / "root" / "fifo.json")
    (tree / "root" / "suite.json").write_text(json.dumps({"expectations": [
        {"type": "expect_column_to_exist", "kwargs": {"column": "id"}}]}))
    before = store_rows(store_url)
    answers = {}
    for suite in (str(tree / "outside" / "suite.json"), "../outside/suite.json", "/etc/passwd", "/etc/no-such-file",
                  "/dev/zero", "escape/suite.json", "fifo.json"):
        response = client.put("/api/v1/datasets/ns:suite", json={"location": "data/ok.csv", "expectations_file": suite},
                              headers=AUTH)
        assert response.status_code == 422, (suite, response.text)
        assert response.json()["errors"][0]["field"] == "expectations_file", response.text
        assert "hunter2" not in response.text and "topsecret" not in response.text and "root:" not in response.text
        answers[suite] = response.json()["detail"]
        figures["confinement escapes refused"] += 1
    assert "not a regular file" in answers["fifo.json"]
    # existence is no longer an oracle: a real and a missing file outside get the same answer
    assert answers["/etc/passwd"].replace("/etc/passwd", "X") == answers["/etc/no-such-file"].replace("/etc/no-such-file", "X")
    assert store_rows(store_url) == before
    fine = client.put("/api/v1/datasets/ns:suite", json={"location": "data/ok.csv", "expectations_file": "suite.json"},
                      headers=AUTH)
    assert fine.status_code == 201, fine.text


def test_database_servers_off_the_allow_list_are_never_connected_to(client, tree: Path, store_url: str,
                                                                    figures: Counter[str]) -> None:
    """A write token once made the server open a connection to any host and port (SSRF)."""
    import socket

    from tests.reliability.conftest import run_event

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    try:
        before = store_rows(store_url)
        for url in (f"postgresql+psycopg://u:p@127.0.0.1:{port}/x#t", f"postgresql://127.0.0.1:{port}/x#public.t",
                    "postgresql://10.0.0.1/x#t", "postgresql://db.example.evil.com/x#t", "postgresql:///x#t"):
            response = client.put("/api/v1/datasets/ns:probe", json={"location": url}, headers=AUTH)
            assert response.status_code == 422 and response.json()["errors"][0]["field"] == "location", response.text
            assert "HEADWATER_ALLOWED_DATABASES" in response.json()["detail"]
            figures["database servers refused"] += 1
        assert store_rows(store_url) == before
        assert client.put("/api/v1/datasets/ns:allowed", json={"location": "postgresql://db.example:5432/x#t"},
                          headers=AUTH).status_code == 201
        # lineage from OpenLineage keeps the location, but a check run by the server never dials it
        event = run_event(0, 1, inputs=[], output="probe")
        event["outputs"] = [{"namespace": f"postgres://127.0.0.1:{port}", "name": "x.public.t",
                             "facets": {"dataSource": {**DATASOURCE, "uri": f"postgresql://127.0.0.1:{port}/x"}}}]
        assert client.post("/api/v1/lineage", json=event, headers=AUTH).status_code == 201
        named = client.post("/api/v1/checks", json={"datasets": [f"postgres://127.0.0.1:{port}:x.public.t"]}, headers=AUTH)
        assert named.status_code == 422 and "HEADWATER_ALLOWED_DATABASES" in named.text, named.text
        everything = client.post("/api/v1/checks", json={}, headers=AUTH)
        assert everything.status_code == 200
        assert any("HEADWATER_ALLOWED_DATABASES" in s["reason"] for s in everything.json()["skipped"]), everything.text
        figures["database servers refused"] += 2
        try:
            listener.accept()
            raise AssertionError("the server connected to a database server off the allow-list")
        except TimeoutError:
            pass
    finally:
        listener.close()
