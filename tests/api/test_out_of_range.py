"""No 500 and no traceback from any date the schema accepts, nor from a check racing a delete
(issue 15, finding 8, the API and CLI half; OpenLineage event times are tested with ingestion).

0001-01-01T00:00:00+01:00 is 31 December of year 0 in UTC and 9999-12-31T23:59:59-01:00 is in
year 10000: both parse, neither exists in UTC, where the store and every comparison live.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import Settings
from catalog.loader import load_catalog
from catalog.store import Store
from tests import server
from tests.conftest import ROOT

OUTSIDE_UTC = ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"]
EDGES_OF_UTC = ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "0001-01-01", "9999-12-31"]
NODES = {"dataset": "vendor.bureau_scores", "model": "credit-scorer", "node": "credit-scorer"}
TOKEN = "out-of-range-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def example(tmp_path: Path) -> str:
    shutil.copytree(ROOT / "examples", tmp_path / "examples", copy_function=shutil.copy)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with Store(url) as store:
        load_catalog(store, [tmp_path / "examples" / "catalog.yaml"])
    return url


def _dated_reads(app) -> list[str]:
    """Every GET that takes `as_of`, read from the schema so a new one is covered."""
    return sorted(re.sub(r"\{(\w+)\}", lambda m: NODES[m.group(1)], path)
                  for path, operations in app.openapi()["paths"].items()
                  if any(p["name"] == "as_of" for p in operations.get("get", {}).get("parameters", [])))


def test_as_of_outside_utc_is_a_422_naming_it_on_every_read(example: str) -> None:
    app = create_app(Settings(db=example, allowed_hosts=("testserver",)))
    reads = _dated_reads(app)
    assert {"/api/v1/risk", "/api/v1/risk/models", "/api/v1/reports/credit-scorer"} <= set(reads)
    with TestClient(app, raise_server_exceptions=False) as client:
        for url in reads:
            given = {"source": NODES["dataset"], "target": NODES["model"]} if url.endswith("/paths") else {}
            for moment in OUTSIDE_UTC:
                response = client.get(url, params={**given, "as_of": moment})
                assert response.status_code == 422, (url, moment, response.text)
                assert response.headers["content-type"] == "application/problem+json"
                assert response.json()["errors"][0]["field"] == "query.as_of"
            for moment in EDGES_OF_UTC:  # the first and last instants UTC holds are answered
                response = client.get(url, params={**given, "as_of": moment})
                if moment.startswith("0001"):  # long before the store's history began: said, not a 500
                    assert response.status_code == 422 and "history begins" in response.json()["detail"], (url, moment)
                else:
                    assert response.status_code == 200, (url, moment)


@pytest.mark.parametrize("command", [["risk"], ["risk", "--by-model"], ["risk", "--format", "json"],
                                     ["report", "credit-scorer"], ["gate", "--all"], ["view", "-o", "v.html"]])
def test_cli_as_of_outside_utc_exits_2_naming_the_option(example: str, headwater, command: list[str]) -> None:
    for moment in OUTSIDE_UTC:
        result = headwater(*command, "--as-of", moment, db=example)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr and "--as-of" in result.stderr and "UTC" in result.stderr


def test_a_check_racing_a_delete_of_its_dataset_is_a_404_not_a_500(tmp_path: Path) -> None:
    """The check validates a large file while the dataset is deleted: its run can no longer be
    recorded (the foreign key is gone), and the answer says why. The delete is sent part-way into the
    time an undisturbed check takes here (validation got faster; a fixed wait stopped racing it)."""
    data = tmp_path / "data"
    data.mkdir()
    rows = "\n".join(f"{i},{i % 97},{'x' * (i % 13)}" for i in range(1_000_000))
    (data / "big.csv").write_text(f"id,age,note\n{rows}\n")
    entry = {"location": str(data / "big.csv"), "expectations": [
        {"expect_column_values_to_not_be_null": {"column": "id"}},
        {"expect_column_values_to_be_unique": {"column": "id"}},
        *({"expect_column_values_to_be_between": {"column": "age", "min_value": -k, "max_value": 96 + k}}
          for k in range(10)),
        *({"expect_column_value_lengths_to_be_between": {"column": "note", "min_value": 0, "max_value": 12 + k}}
          for k in range(5))]}
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with server.running(url, tokens=TOKEN, env={"HEADWATER_DATA_ROOTS": str(data)}) as base, \
            httpx.Client(base_url=base, timeout=120, headers=AUTH) as http:
        assert http.put("/api/v1/datasets/race:big", json=entry).status_code == 201
        started = time.monotonic()
        assert http.post("/api/v1/checks", json={"datasets": ["race:big"], "force": True}).status_code == 200
        undisturbed = time.monotonic() - started
        for attempt in range(8):
            assert http.put("/api/v1/datasets/race:big", json=entry).status_code in (200, 201)
            answers: dict[str, object] = {}

            def check() -> None:
                answers["check"] = http.post("/api/v1/checks", json={"datasets": ["race:big"], "force": True})
                answers["check_done"] = time.monotonic()

            checking = threading.Thread(target=check)
            checking.start()
            time.sleep(undisturbed * (0.2 + 0.08 * attempt))
            deleted = http.delete("/api/v1/datasets/race:big")
            deleted_at = time.monotonic()
            checking.join(timeout=120)
            assert deleted.status_code == 204
            if answers["check_done"] > deleted_at:  # type: ignore[operator]
                break  # the delete landed while the check ran: the race this test is about
        else:
            pytest.fail("the check always finished before the delete; no race was produced")
        response = answers["check"]
        assert isinstance(response, httpx.Response)
        assert response.status_code == 404, (attempt, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert "race:big" in response.json()["detail"] and "deleted" in response.json()["detail"]
        assert http.get("/api/v1/checks/race:big").status_code == 404
