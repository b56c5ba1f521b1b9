"""Shared fixtures.

- `sqlite_url`: a fresh SQLite file store URL, per test.
- `pg_url`: a fresh database on the session's real PostgreSQL server, per test.
- `store_url`: parametrised over both; store and loader tests use it so they run on both backends.
- `store`: an opened Store on `store_url`.
- `examples`: the bundled example folder.
- `headwater`: runs a `headwater` command (in-process, or `process=True` for a real subprocess).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clock import recorded_clock
from tests.postgres import PostgresServer, create_database

pytest_plugins = ["tests.figures"]  # the reliability tally and its hooks, summed over xdist workers

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

    opened = Store(store_url, clock=recorded_clock)
    yield opened
    opened.close()


@pytest.fixture
def examples() -> Path:
    return ROOT / "examples"


@pytest.fixture
def example_store(sqlite_url: str, examples: Path, tmp_path: Path):
    """A SQLite store holding the bundled example, loaded from a copy (a load never touches the repository's files)."""
    import shutil

    from catalog.loader import load_catalog
    from catalog.store import Store

    copy = tmp_path / "examples"
    shutil.copytree(examples, copy, copy_function=shutil.copy)
    store = Store(sqlite_url, clock=recorded_clock)
    load_catalog(store, [copy / "catalog.yaml"])
    yield store
    store.close()


@pytest.fixture
def headwater(tmp_path: Path):
    """Run `headwater ARGS…` in a scratch working directory; returns a CompletedProcess.

    In-process by default (Typer's CliRunner: same parsing, exit codes, stdout and stderr, a fraction
    of the cost of a Python start-up); `process=True` runs the real command in a subprocess, for the
    tests that prove the console script itself, or input that could crash or hang an interpreter.
    An exception that escapes a command in-process is reported as a process would: exit 1 and a
    traceback on stderr, so "no traceback" assertions mean the same either way.
    """

    def run(*args: str, db: str | None = None, cwd: Path | None = None, env: dict | None = None,
            input: str | None = None, process: bool = False) -> subprocess.CompletedProcess[str]:
        if process:
            return _run_process(args, db=db, cwd=cwd or tmp_path, env=env, input=input)
        return _run_in_process(args, db=db, cwd=cwd or tmp_path, env=env, input=input)

    return run


def _run_process(args, *, db, cwd, env, input) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "HEADWATER_DB"}
    environment.update({"COLUMNS": "200", "NO_COLOR": "1"})
    if db:
        environment["HEADWATER_DB"] = db
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args], cwd=cwd, env=environment,
        capture_output=True, text=True, timeout=120, input=input,
    )


def _run_in_process(args, *, db, cwd, env, input) -> subprocess.CompletedProcess[str]:
    import traceback
    from contextlib import chdir

    from typer.testing import CliRunner

    from api.cli import app

    environment: dict[str, str | None] = {"HEADWATER_DB": db, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    with chdir(cwd):
        result = CliRunner().invoke(app, list(args), env=environment, input=input, prog_name="headwater")
    stderr, code = result.stderr, result.exit_code
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))  # starts "Traceback (most recent…"
        code = 1
    return subprocess.CompletedProcess(["headwater", *args], code, result.stdout, stderr)
