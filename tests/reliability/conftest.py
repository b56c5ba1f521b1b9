"""Shared parts of the reliability and security suite.

- `figures`: a session-wide tally (requests fuzzed, events under concurrency, crashes survived, bad
  inputs tried), kept in tests/figures.py so the tallies of parallel workers add up.
- `Server`: a real `headwater serve` process on a free loopback port (as tests/server.py starts one),
  its log written to a file rather than a pipe (thousands of requests would fill a pipe nobody
  reads and stall the server), so tests can kill it (-9), restart it on the same store, and read
  what it logged.
- `store_rows`: every row of every table, to prove that refused input wrote nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.server import free_port, wait_until_up

TOKEN = "reliability-token-7c1e9a"  # a distinctive string, so a log line that leaks it is found
AUTH = {"Authorization": f"Bearer {TOKEN}"}



class Server:
    """`headwater serve` in a subprocess; `start()` again after `kill()` restarts it on the same store."""

    def __init__(self, db: str, log: Path) -> None:
        self.db, self.log_path = db, log
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("HEADWATER_DB", "HEADWATER_TOKENS")}
        env.update({"HEADWATER_TOKENS": TOKEN, "NO_COLOR": "1"})
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "api.cli", "--db", self.db, "serve", "--port", str(self.port)],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )
        try:
            wait_until_up(self.base, self.process, timeout=90)
        except AssertionError:
            raise AssertionError(f"headwater serve did not start:\n{self.log()}") from None
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flush, exactly what a crash or an OOM kill does."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[str], Server]]:
    """Start `headwater serve` on a store URL; every server started is stopped at the end of the test."""
    started: list[Server] = []

    def start(db: str) -> Server:
        server = Server(db, tmp_path / f"server-{len(started)}.log")
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


def store_rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every Headwater table, sorted: equal before and after means nothing was written."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            tables = sorted(inspect(connection).get_table_names())
            return {t: sorted(map(tuple, connection.execute(text(f'SELECT * FROM "{t}"'))), key=repr) for t in tables}
    finally:
        engine.dispose()


NAMESPACE = "reliability"


def run_event(client: int, index: int, *, inputs: list[str], output: str) -> dict:
    """A COMPLETE RunEvent as openlineage-python sends it; its runId is derived from (client, index),
    so a resent event is recognisably the same one."""
    import uuid

    return {
        "eventType": "COMPLETE", "eventTime": f"2026-11-25T10:{index // 60 % 60:02d}:{index % 60:02d}Z",
        "run": {"runId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"headwater-reliability/{client}/{index}"))},
        "job": {"namespace": NAMESPACE, "name": f"client{client}.job{index % 50}"},
        "inputs": [{"namespace": NAMESPACE, "name": name} for name in inputs],
        "outputs": [{"namespace": NAMESPACE, "name": output}],
        "producer": "https://github.com/headwater/tests/reliability",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }


def count_rows(url: str, table: str, where: str = "") -> int:
    """A row count read straight from the database, not through the API under test."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(f'SELECT count(*) FROM "{table}" {where}')).scalar_one())
    finally:
        engine.dispose()


def integrity_problems(url: str) -> list[str]:
    """SQLite's own checks, and on both backends: no foreign key (of any table) naming a missing row."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    problems: list[str] = []
    try:
        with engine.connect() as connection:
            if url.startswith("sqlite"):
                result = connection.exec_driver_sql("PRAGMA integrity_check").scalar_one()
                if result != "ok":
                    problems.append(f"integrity_check: {result}")
                problems += [f"foreign_key_check: {row}"
                             for row in connection.exec_driver_sql("PRAGMA foreign_key_check")]
            inspector = inspect(connection)
            for table in inspector.get_table_names():
                for fk in inspector.get_foreign_keys(table):
                    (column,), (target,) = fk["constrained_columns"], fk["referred_columns"]
                    parent = fk["referred_table"]
                    orphans = connection.execute(text(
                        f'SELECT count(*) FROM "{table}" t LEFT JOIN "{parent}" p ON p."{target}" = t."{column}" '
                        f'WHERE t."{column}" IS NOT NULL AND p."{target}" IS NULL')).scalar_one()
                    if orphans:
                        problems.append(f"{orphans} {table}.{column} point at no {parent} row")
    finally:
        engine.dispose()
    return problems
