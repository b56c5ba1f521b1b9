"""Shared fixtures.

- `sqlite_url`: a fresh SQLite file store URL, per test.
- `pg_url`: a fresh database on the session's real PostgreSQL server, per test.
- `store_url`: parametrised over both; store and loader tests use it so they run on both backends.
- `store`: an opened Store on `store_url`.
- `examples`: the bundled example folder.
- `headwater`: runs the real `headwater` command in a subprocess and returns the CompletedProcess.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.postgres import PostgresServer, create_database

ROOT = Path(__file__).resolve().parent.parent
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    existing = os.environ.get("HEADWATER_TEST_PG_URL")
    if existing:
        yield existing
        return
    server = PostgresServer().start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server_url: str) -> str:
    return create_database(pg_server_url, f"headwater_test_{os.getpid()}_{next(_counter)}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url: str):
    from catalog.store import Store

    opened = Store(store_url)
    yield opened
    opened.close()


@pytest.fixture
def examples() -> Path:
    return ROOT / "examples"


@pytest.fixture
def headwater(tmp_path: Path):
    """Run `headwater ARGS…` as a user would: a real process, in a scratch working directory."""

    def run(*args: str, db: str | None = None, cwd: Path | None = None, env: dict | None = None,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        environment = {k: v for k, v in os.environ.items() if k != "HEADWATER_DB"}
        environment.update({"COLUMNS": "200", "NO_COLOR": "1"})
        if db:
            environment["HEADWATER_DB"] = db
        environment.update(env or {})
        return subprocess.run(
            [sys.executable, "-m", "api.cli", *args], cwd=cwd or tmp_path, env=environment,
            capture_output=True, text=True, timeout=120, input=input,
        )

    return run
