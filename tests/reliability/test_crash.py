"""kill -9 the server in the middle of ingestion, restart it, and count what survived.

Writers keep posting OpenLineage events and catalog PUTs while the server is killed with SIGKILL
(no shutdown handler runs, nothing is flushed: a crash, an OOM kill, a pulled plug of the process).
After each restart on the same store: every event and write that got a 2xx is there, the database
passes its integrity checks (SQLite's `integrity_check` and `foreign_key_check`; on both, no edge
points at a missing row), resending the acknowledged events is recognised as duplicates, and the
next load works.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import create_engine, text

from tests.conftest import ROOT
from tests.reliability.conftest import AUTH, NAMESPACE, count_rows, integrity_problems, run_event

CRASHES, WRITERS, BATCH = 3, 4, 5
ACKED_BEFORE_KILL = 150  # events acknowledged (over all writers) before the kill, per crash


def _writer(base: str, client: int, start: int, stop: threading.Event) -> tuple[list[dict], list[str]]:
    """Post batches until the server dies; return the acknowledged events and datasets PUT."""
    events, datasets, index = [], [], start
    with httpx.Client(base_url=base, headers=AUTH, timeout=30) as http:
        while not stop.is_set():
            batch = [run_event(client, i, inputs=[f"client{client}.in"], output=f"client{client}.out{i}")
                     for i in range(index, index + BATCH)]
            index += BATCH
            try:
                response = http.post("/api/v1/lineage", json=batch)
                if response.status_code == 201:
                    events += batch
                name = f"catalog:crash{client}.d{index}"
                if http.put(f"/api/v1/datasets/{name}", json={"owner": "o@x"}).status_code in (200, 201):
                    datasets.append(name)
            except httpx.TransportError:
                return events, datasets  # the server is gone: whatever was not acknowledged may be lost
    return events, datasets


def _names(url: str, namespace: str) -> set[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return set(connection.execute(text("SELECT name FROM datasets WHERE namespace = :ns"), {"ns": namespace}).scalars())
    finally:
        engine.dispose()


def test_kill_9_mid_ingestion_loses_no_acknowledged_write(store_url: str, serve, headwater, tmp_path,
                                                           figures: Counter[str]) -> None:
    server = serve(store_url)
    acked_events: list[dict] = []
    acked_datasets: list[str] = []
    for crash in range(CRASHES):
        stop = threading.Event()
        with ThreadPoolExecutor(WRITERS) as pool:
            futures = [pool.submit(_writer, server.base, c, crash * 100_000, stop) for c in range(WRITERS)]
            deadline = time.monotonic() + 120
            while count_rows(store_url, "lineage_events") < len(acked_events) + ACKED_BEFORE_KILL:
                assert time.monotonic() < deadline, "ingestion did not get going"
                time.sleep(0.05)
            server.kill()  # mid-flight: the writers have requests open right now
            stop.set()
            for future in futures:
                events, datasets = future.result()
                acked_events += events
                acked_datasets += datasets
        server.start()  # same store, as a supervisor would restart it

        assert integrity_problems(store_url) == []
        outputs = {e["outputs"][0]["name"] for e in acked_events}
        stored = _names(store_url, NAMESPACE)
        assert outputs <= stored, f"acknowledged but lost: {sorted(outputs - stored)[:5]}"
        with httpx.Client(base_url=server.base, headers=AUTH, timeout=60) as http:
            for name in acked_datasets[-20:]:
                assert http.get(f"/api/v1/datasets/dataset:{name}").status_code == 200
            resent = http.post("/api/v1/lineage", json=acked_events[-50:])
            assert resent.status_code == 201 and resent.json()["stored"] == 0  # recognised, not doubled
        assert count_rows(store_url, "lineage_events") >= len(acked_events)
        assert count_rows(store_url, "datasets", "WHERE namespace = 'catalog'") >= len(acked_datasets)
        figures["crashes survived (kill -9 mid-ingestion)"] += 1
    figures["events acknowledged around crashes, all found after restart"] += len(acked_events)

    loaded = headwater("load", str(ROOT / "examples" / "catalog.yaml"), db=store_url)  # the next load works
    assert loaded.returncode == 0, loaded.stderr
    assert integrity_problems(store_url) == []
