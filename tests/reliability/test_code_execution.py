"""Expectation arguments are data: no payload reaches an evaluator, through any way in.

Each payload tries to create a marker file and to open a socket to a listener this test runs. The
control test first proves the payloads are live: handed to pandas' `DataFrame.query`, as Great
Expectations would hand a `row_condition`, they do create the file and open the socket. Then every
way a condition reaches Headwater — a catalog file checked by `headwater check`, the same file
through `headwater gate`, a GX suite named by `expectations_file:`, an API PUT followed by
`POST /api/v1/checks`, a suite already in the store from before conditions were checked, and
OpenLineage events carrying the payloads as names — must leave no file and no connection.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import Settings
from tests.reliability.conftest import AUTH, TOKEN


class Listener:
    """A TCP listener on loopback that counts the connections it is offered."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except (TimeoutError, OSError):
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def trap(tmp_path: Path) -> Iterator[tuple[Path, Listener]]:
    listener = Listener()
    yield tmp_path / "PWNED", listener
    listener.close()


def payloads(marker: Path, port: int) -> list[str]:
    touch = f"open('{marker}', 'w').write('x')"
    dial = f"@pd.io.common.os.system(\"bash -c 'echo > /dev/tcp/127.0.0.1/{port}'\")"
    return [
        f"@pd.io.common.os.system('touch {marker}') == 0",
        f"age > 0 and @pd.io.common.os.system('touch {marker}') == 0",
        f"__import__('builtins').eval(\"{touch}\") == 0",
        f"`age` > 0 or `{touch}` == 0",
        f"age.__class__.__init__.__globals__['__builtins__']['exec'](\"{touch}\") == 0",
        f"@pd.io.common.os.system('touch {marker}') == 0 or {dial} == 0",
        f"{dial} == 0",
        f"age > 0 and __import__('socket').create_connection(('127.0.0.1', {port})) is None",
        "age > 0; DROP TABLE people",
    ]


def structured(marker: Path) -> list[dict]:
    return [
        {"type": "pass_through", "pass_through_filter": f"@pd.io.common.os.system('touch {marker}') == 0"},
        {"type": "comparison", "column": {"name": f"@pd.io.common.os.system('touch {marker}')"}, "operator": "==",
         "parameter": 0},
        {"type": "comparison", "column": {"name": "name"}, "operator": "==",
         "parameter": f"' or @pd.io.common.os.system('touch {marker}') == 0 or '"},
    ]


def expectation(condition, parser: str | None) -> dict:
    args = {"column": "age", "row_condition": condition, **({"condition_parser": parser} if parser else {})}
    return {"expect_column_values_to_not_be_null": args}


def data(folder: Path) -> None:
    (folder / "data").mkdir(exist_ok=True)
    pd.DataFrame({"age": [20, 30, None], "name": ["a", "b", "c"]}).to_csv(folder / "data" / "people.csv", index=False)


def assert_untouched(marker: Path, listener: Listener) -> None:
    assert not marker.exists(), "a payload ran code"
    assert listener.connections == 0, "a payload opened a socket"


def test_the_payloads_are_live_when_pandas_evaluates_them(trap) -> None:
    """The control: what GX would do with a row_condition string does run the payloads."""
    marker, listener = trap
    frame = pd.DataFrame({"age": [20]})
    for index in (0, 6):  # the shell command; the socket
        try:
            frame.query(payloads(marker, listener.port)[index])  # as GX does, with `pd` in scope
        except Exception:  # noqa: BLE001 - the payload has run by the time pandas indexes with its result
            pass
    assert marker.exists()
    deadline = time.monotonic() + 5
    while listener.connections == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listener.connections == 1


def _cases(marker: Path, port: int) -> list[tuple[object, str | None]]:
    strings = payloads(marker, port)
    return ([(p, "pandas") for p in strings] + [(p, None) for p in strings] + [(p, "python") for p in strings[:2]]
            + [(s, None) for s in structured(marker)])


def test_catalog_file_payloads_are_refused_by_load_check_and_gate(trap, tmp_path: Path, headwater,
                                                                 figures: Counter[str]) -> None:
    """Refused payloads are tried one file each through load and gate; those the grammar takes as data
    go together, one dataset each, through load, gate and check (so GX runs once, not per payload)."""
    marker, listener = trap
    data(tmp_path)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    accepted = []
    for index, (condition, parser) in enumerate(_cases(marker, listener.port)):
        catalog = tmp_path / f"c{index}.yaml"
        catalog.write_text(json.dumps(_catalog([(condition, parser)])))
        loaded = headwater("load", str(catalog), db=db)
        assert_refused_or_inert(loaded, condition, parser)
        if loaded.returncode == 0:
            accepted.append((condition, parser))
        else:
            assert_refused_or_inert(headwater("gate", str(catalog), db=db), condition, parser)
        figures["code-execution payloads tried (catalog file: load, gate, check)"] += 1
    assert accepted, "the grammar takes backticked names and text values as data: some cases load"
    together = tmp_path / "accepted.yaml"
    together.write_text(json.dumps(_catalog(accepted)))
    assert headwater("gate", str(together), db=db).returncode in (0, 1)
    assert headwater("check", "--force", db=db).returncode in (0, 1)
    assert_untouched(marker, listener)


def _catalog(cases: list[tuple[object, str | None]]) -> dict:
    datasets = [{"name": f"people{i}", "location": "data/people.csv", "expectations": [expectation(c, p)]}
                for i, (c, p) in enumerate(cases)]
    return {"catalog": "x", "datasets": datasets, "models": [{
        "name": "m", "risk_tier": "high", "deployed": True, "trained_on": [{"dataset": d["name"]} for d in datasets]}]}


def assert_refused_or_inert(result, condition, parser) -> None:
    """A code parser is always refused by name; anything else is refused at load or, where the grammar
    reads it as data (a backticked column name, a text value), accepted as that data."""
    if parser is not None:
        assert result.returncode == 2 and "evaluates the condition as code" in result.stderr, result.stderr
    elif result.returncode == 2:
        assert "row_condition" in result.stderr, result.stderr
    else:  # accepted as data; a gate may still fail on the catalog's findings (exit 1)
        assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stderr


def test_suite_file_payloads_are_refused(trap, tmp_path: Path, headwater, figures: Counter[str]) -> None:
    marker, listener = trap
    data(tmp_path)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    for index, (condition, parser) in enumerate(_cases(marker, listener.port)):
        kwargs = {"column": "age", "row_condition": condition, **({"condition_parser": parser} if parser else {})}
        (tmp_path / f"suite{index}.json").write_text(json.dumps({"name": "s", "expectations": [
            {"type": "expect_column_values_to_not_be_null", "kwargs": kwargs}]}))
        catalog = tmp_path / f"c{index}.yaml"
        catalog.write_text(f"catalog: x\ndatasets:\n  - name: people\n    location: data/people.csv\n"
                           f"    expectations_file: suite{index}.json\n")
        result = headwater("load", str(catalog), db=db)
        assert_refused_or_inert(result, condition, parser)
        if result.returncode == 0:
            assert headwater("check", "--force", db=db).returncode in (0, 1)
        figures["code-execution payloads tried (expectations_file)"] += 1
    assert_untouched(marker, listener)


def test_api_put_then_post_checks_runs_no_payload(trap, tmp_path: Path, store_url: str,
                                                  figures: Counter[str]) -> None:
    marker, listener = trap
    data(tmp_path)
    settings = Settings(db=store_url, tokens=(TOKEN,), data_roots=(tmp_path,))
    with TestClient(create_app(settings)) as client:
        plain = {"location": "data/people.csv", "expectations": [{"expect_column_values_to_not_be_null": {"column": "age"}}]}
        assert client.put("/api/v1/datasets/x:people", json=plain, headers=AUTH).status_code == 201
        for condition, parser in _cases(marker, listener.port):
            body = {"location": "data/people.csv", "expectations": [expectation(condition, parser)]}
            put = client.put("/api/v1/datasets/x:people", json=body, headers=AUTH)
            if parser is not None:
                assert put.status_code == 422 and "evaluates the condition as code" in put.text, put.text
            else:
                assert put.status_code in (200, 201) or (put.status_code == 422 and "row_condition" in put.text), put.text
            checked = client.post("/api/v1/checks", json={"datasets": ["x:people"], "force": True}, headers=AUTH)
            assert checked.status_code == 200, checked.text
            figures["code-execution payloads tried (API PUT, POST /checks)"] += 1
    assert_untouched(marker, listener)


def test_a_suite_stored_before_conditions_were_checked_is_refused_at_check_time(trap, tmp_path: Path,
                                                                               sqlite_url: str, headwater) -> None:
    """Defence in depth: no stored string is trusted; the check parses the condition again."""
    from sqlalchemy import create_engine, text

    marker, listener = trap
    data(tmp_path)
    catalog = tmp_path / "c.yaml"
    catalog.write_text("catalog: x\ndatasets:\n  - name: people\n    location: data/people.csv\n    expectations:\n"
                       "      - expect_column_values_to_not_be_null: {column: age}\n")
    assert headwater("load", str(catalog), db=sqlite_url).returncode == 0
    stored = [{"type": "expect_column_values_to_not_be_null", "severity": "critical",
               "kwargs": {"column": "age", "row_condition": payloads(marker, listener.port)[0], "condition_parser": "pandas"}}]
    engine = create_engine(sqlite_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE datasets SET expectations = :e"), {"e": json.dumps(stored)})
    engine.dispose()
    result = headwater("check", "--force", "--format", "json", db=sqlite_url)
    run = json.loads(result.stdout)["runs"][0]
    assert run["outcome"] == "errored" and "evaluates the condition as code" in json.dumps(run), run
    assert_untouched(marker, listener)


def test_openlineage_names_carrying_payloads_stay_names(trap, tmp_path: Path, sqlite_url: str,
                                                        figures: Counter[str]) -> None:
    marker, listener = trap
    data(tmp_path)
    settings = Settings(db=sqlite_url, tokens=(TOKEN,), data_roots=(tmp_path,))
    names = payloads(marker, listener.port)
    event = {
        "eventType": "COMPLETE", "eventTime": "2026-11-25T10:00:00Z",
        "run": {"runId": "0f9e3c1a-1111-4c0d-8e4b-7f3a2b1c0d9e"}, "job": {"namespace": "x", "name": names[0]},
        "inputs": [{"namespace": "x", "name": name} for name in names[1:4]],
        "outputs": [{"namespace": "x", "name": names[4], "facets": {"schema": {
            "_producer": "https://example.com", "_schemaURL": "https://openlineage.io/spec/facets/1-1-1/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet",
            "fields": [{"name": name, "type": "string"} for name in names]}}}],
        "producer": "https://example.com", "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    with TestClient(create_app(settings)) as client:
        assert client.post("/api/v1/lineage", json=event, headers=AUTH).status_code == 201
        assert client.post("/api/v1/checks", json={"force": True}, headers=AUTH).status_code == 200
        assert client.get("/api/v1/risk").status_code == 200
        assert client.get("/viewer").status_code == 200
        figures["code-execution payloads tried (OpenLineage names)"] += len(names)
    assert_untouched(marker, listener)


def test_sql_identifiers_and_values_from_the_catalog_are_quoted_and_bound(tmp_path: Path, headwater) -> None:
    """Against a real SQLite table: a hostile column name or condition value cannot run SQL."""
    import sqlite3

    database = tmp_path / "data" / "people.db"
    database.parent.mkdir()
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE people (age INTEGER, name TEXT)")
        connection.executemany("INSERT INTO people VALUES (?, ?)", [(20, "a"), (None, "b"), (40, "x'; DROP TABLE people; --")])
    catalog = tmp_path / "c.yaml"
    catalog.write_text(json.dumps({"catalog": "x", "datasets": [{"name": "people", "location": "sqlite:///data/people.db#people",
        "expectations": [
            {"expect_column_values_to_not_be_null": {"column": 'age"; DROP TABLE people; --'}},
            {"expect_column_values_to_not_be_null": {"column": "age",
                                                      "row_condition": "name == \"x'; DROP TABLE people; --\""}},
            {"expect_column_values_to_not_be_null": {"column": "age", "row_condition": "name != 'a'"}},
        ]}]}))
    db = f"sqlite:///{tmp_path / 'h.db'}"
    assert headwater("load", str(catalog), db=db).returncode == 0
    runs = json.loads(headwater("check", "--format", "json", db=db).stdout)["runs"]
    results = runs[0]["results"]
    assert results[0]["errored"]                                   # no such column, quoted as one name
    assert results[1]["success"] is True                           # the hostile value is a value: 1 row, not null
    assert results[2]["success"] is False and results[2]["unexpected_count"] == 1  # rows b and x: one null
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT count(*) FROM people").fetchone() == (3,)
