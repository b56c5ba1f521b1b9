"""Lookalike and hidden-character names are refused at every way in (catalog/names.py).

A planted twin of `loan-applications` with a Cyrillic `о`, or a name carrying a bidi override,
reads as a dataset people already trust. Each way in (catalog file, API PUT, OpenLineage) refuses
them with the character at fault named, and writes nothing; names in other scripts that cannot be
taken for one another still load.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.app import create_app
from api.config import Settings
from catalog.names import key_skeleton, skeleton
from tests.reliability.conftest import store_rows

TRUSTED = "loan-applications"
# (the twin, the code point the error must name)
TWINS = [
    ("lоan-applications", "U+043E CYRILLIC SMALL LETTER O"),
    ("loan-app1ications", "U+0031 DIGIT ONE"),
    ("loan-appIications", "U+0049 LATIN CAPITAL LETTER I"),
    ("ｌoan-applications", "U+FF4C FULLWIDTH LATIN SMALL LETTER L"),
]
HIDDEN = [
    ("loan\u202eapplications", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    ("loan\u200bapplications", "U+200B ZERO WIDTH SPACE"),
    ("loan\u00a0applications", "U+00A0 NO-BREAK SPACE"),
    ("loan\tapplications", "U+0009"),
    ("loan\ue000applications", "U+E000"),
    ("loan\u2028applications", "U+2028 LINE SEPARATOR"),
]


def _catalog(path: Path, *names: str, kind: str = "datasets") -> Path:
    entries = [{"name": n, "risk_tier": "high"} if kind == "models" else {"name": n} for n in names]
    path.write_text(json.dumps({"catalog": "demo", kind: entries}, ensure_ascii=False), encoding="utf-8")
    return path


def test_skeletons_join_lookalikes_and_keep_different_names_apart():
    for twin, _ in TWINS:
        assert skeleton(twin) == skeleton(TRUSTED), twin
    assert skeleton("café") == skeleton("cafe\u0301")  # NFC and NFD
    distinct = ["loan-applications", "loan-application", "données-clients", "顧客データ", "Ελληνικά", "заявки"]
    assert len({skeleton(n) for n in distinct}) == len(distinct)
    assert key_skeleton("a", "bc") != key_skeleton("ab", "c")


@pytest.mark.parametrize("twin,character", TWINS, ids=[c for _, c in TWINS])
def test_a_file_declaring_a_lookalike_of_its_own_dataset_is_refused(headwater, tmp_path, twin, character):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    result = headwater("load", str(_catalog(tmp_path / "c.json", TRUSTED, twin)), db=db)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "datasets[1].name" in result.stderr and character in result.stderr
    assert f"looks like the dataset '{TRUSTED}'" in result.stderr
    assert store_rows(db)["datasets"] == []


@pytest.mark.parametrize("kind", ["datasets", "models"])
def test_a_lookalike_of_a_stored_name_is_refused_and_the_store_is_unchanged(headwater, tmp_path, kind):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    assert headwater("load", str(_catalog(tmp_path / "first.json", TRUSTED, kind=kind)), db=db).returncode == 0
    before = store_rows(db)
    result = headwater("load", str(_catalog(tmp_path / "second.json", "lоan-applications", kind=kind)), db=db)
    assert result.returncode == 2
    assert f"{kind}[0].name" in result.stderr and "in the store" in result.stderr
    assert "U+043E CYRILLIC SMALL LETTER O" in result.stderr
    assert store_rows(db) == before


def test_nfc_and_nfd_spellings_of_one_name_are_one_name_or_an_error(headwater, tmp_path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    result = headwater("load", str(_catalog(tmp_path / "c.json", "café", "cafe\u0301")), db=db)
    assert result.returncode == 2
    assert "encoded differently" in result.stderr


@pytest.mark.parametrize("name,character", HIDDEN, ids=[c for _, c in HIDDEN])
def test_hidden_characters_in_a_name_are_refused(headwater, tmp_path, name, character):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    result = headwater("load", str(_catalog(tmp_path / "c.json", name)), db=db)
    assert result.returncode == 2
    assert "datasets[0].name" in result.stderr and character in result.stderr
    assert store_rows(db)["datasets"] == []


def test_names_in_other_scripts_that_cannot_be_confused_load(headwater, tmp_path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    names = ["données-clients", "顧客データ", "Ελληνικά", "заявки", "loan applications"]
    result = headwater("load", str(_catalog(tmp_path / "c.json", TRUSTED, *names)), db=db)
    assert result.returncode == 0, result.stderr
    assert sorted(row[0] for row in _names(db)) == sorted([TRUSTED, *names])


def _names(db: str) -> list[tuple[str, str]]:
    engine = create_engine(db)
    try:
        with engine.connect() as connection:
            return list(map(tuple, connection.execute(text("SELECT name, skeleton FROM datasets"))))
    finally:
        engine.dispose()


def _event(dataset: str) -> dict:
    return {
        "eventType": "COMPLETE", "eventTime": "2026-11-30T10:00:00Z", "producer": "https://example.com/p",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "airflow", "name": "copy"},
        "inputs": [{"namespace": "demo", "name": "raw"}], "outputs": [{"namespace": "demo", "name": dataset}],
    }


def test_the_api_refuses_lookalikes_through_put_and_openlineage(tmp_path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    auth = {"Authorization": "Bearer t"}
    with TestClient(create_app(Settings(db=db, tokens=("t",), data_roots=(tmp_path,)))) as client:
        assert client.put(f"/api/v1/datasets/demo:{TRUSTED}", json={}, headers=auth).status_code == 201
        before = store_rows(db)

        put = client.put("/api/v1/datasets/demo:lоan-applications", json={}, headers=auth)
        assert put.status_code == 422
        assert "U+043E CYRILLIC SMALL LETTER O" in put.text and f"'{TRUSTED}'" in put.text

        posted = client.post("/api/v1/lineage", json=_event("loan-app1ications"), headers=auth)
        assert posted.status_code == 400
        problem = posted.json()
        assert problem["title"] == "Lookalike name"
        assert "outputs[0].name" in problem["detail"] and "U+0031 DIGIT ONE" in problem["detail"]

        hidden = client.post("/api/v1/lineage", json=_event("loan\u202eapplications"), headers=auth)
        assert hidden.status_code == 400 and "U+202E RIGHT-TO-LEFT OVERRIDE" in hidden.text
        assert store_rows(db) == before  # no event, dataset, job or run of the refused requests

        fine = client.post("/api/v1/lineage", json=_event("loan-applications-2026"), headers=auth)
        assert fine.status_code == 201, fine.text


def test_the_migration_gives_rows_written_before_it_their_skeletons(tmp_path):
    from catalog.store import Store
    from tests.old_stores import store_at

    db = f"sqlite:///{tmp_path / 'old.db'}"
    with store_at(db, "0004") as connection:
        connection.execute(text(
            "INSERT INTO datasets (namespace, name, special_categories, licence_revoked, tags, expectations,"
            " created_at, updated_at) VALUES ('demo', :name, '[]', 0, '[]', '[]', '2026-01-01', '2026-01-01')"),
            {"name": TRUSTED})
    store = Store(db)  # migrates to head
    try:
        assert _names(db) == [(TRUSTED, key_skeleton("demo", TRUSTED))]
        with store.transaction() as writer:
            assert writer.lookalikes("dataset", [("demo", "lоan-applications")]) == {
                ("demo", "lоan-applications"): ("demo", TRUSTED)}
    finally:
        store.close()
