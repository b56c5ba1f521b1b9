"""`headwater serve --workers N`: several processes writing one store lose nothing, and die with their supervisor.

Each worker group-commits its own requests; on SQLite they take turns at the one write lock. A
supervisor killed with SIGKILL runs no handler, so it cannot stop its workers: they are bound to die
with it (api/cli/server.py), or they would keep answering on the port, and writing the store, while
a restarted server opens it again.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from catalog.schema import LineageEvent
from tests.server import free_port, output, start, stop, wait_until_up

TOKEN = "workers-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
RUN_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process tree from /proc")


def _event(n: int) -> dict:
    return {"eventType": "COMPLETE", "eventTime": f"2026-11-20T10:{n // 60 % 60:02d}:{n % 60:02d}Z",
            "producer": "https://example.test/workers", "schemaURL": RUN_SCHEMA,
            "run": {"runId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"workers/{n}"))},
            "job": {"namespace": "w", "name": f"job{n % 7}"},
            "inputs": [{"namespace": "w", "name": f"in{n % 5}"}], "outputs": [{"namespace": "w", "name": f"out{n % 11}"}]}


def _children(pid: int) -> set[int]:
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.add(int(entry))
            except (OSError, ValueError):
                continue
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_two_workers_commit_every_acknowledged_event_and_die_with_a_killed_supervisor(tmp_path):
    db = f"sqlite:///{tmp_path / 'w.db'}"
    port = free_port()
    server = start(db, port, tokens=TOKEN, extra=("--workers", "2"))
    base = f"http://127.0.0.1:{port}"
    workers: set[int] = set()
    try:
        wait_until_up(base, server, timeout=120)
        assert "2 worker processes" in output(server)

        def post(n: int) -> int:
            with httpx.Client(base_url=base, headers=AUTH, timeout=60) as http:
                return http.post("/api/v1/lineage", json=_event(n)).status_code

        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(post, range(120)))
        assert statuses == [201] * 120
        engine = create_engine(db)
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(LineageEvent)).scalar_one() == 120
        engine.dispose()

        workers = {pid for pid in _children(server.pid) if "spawn_main" in open(f"/proc/{pid}/cmdline").read()}
        assert len(workers) == 2
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
        deadline = time.monotonic() + 30
        while any(_alive(pid) for pid in workers):
            assert time.monotonic() < deadline, "workers outlived their killed supervisor"
            time.sleep(0.1)
        with pytest.raises(httpx.TransportError):  # nobody answers on the port any more
            httpx.get(f"{base}/openapi.json", timeout=5)
    finally:
        if server.poll() is None:
            stop(server)
        for pid in workers:  # whatever this test started must not outlive it, even when it fails
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
