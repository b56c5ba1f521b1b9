"""What every API read pays before its question: the store revision, and the thread it runs in.

`Store.revision()` on a SQLite file answers from `PRAGMA data_version` until the file changes; it
must still see every commit at once, made by another Store or another process. Reads run on reused
worker threads (api/deps.py `_Workers`); a read stopped by its budget must not leave anything behind
on the thread that runs the next one.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from contextvars import ContextVar
from pathlib import Path

import pytest
from fastapi import HTTPException, Request

from api import deps, read_threads
from catalog.store import Store

ROOT = Path(__file__).resolve().parents[2]


def _write(store: Store, name: str) -> None:
    with store.transaction() as writer:
        writer.upsert_dataset("ns", name, {})


def test_a_commit_through_another_store_on_the_file_is_seen_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with Store(url) as reader, Store(url) as writer:
        assert reader.revision() == writer.revision() == 0
        for expected in (1, 2, 3):
            _write(writer, f"from-the-other-{expected}")
            assert reader.revision() == expected
        _write(reader, "from-itself")  # through the reader's own engine: another connection than its watch
        assert reader.revision() == writer.revision() == 4
        assert reader.revision() == 4  # asked again with nothing written: the same


def test_a_commit_from_another_process_is_seen_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    with Store(url) as reader:
        assert reader.revision() == 0
        script = ("import sys; from catalog.store import Store\n"
                  "with Store(sys.argv[1]) as s, s.transaction() as w: w.upsert_dataset('ns', 'elsewhere', {})\n")
        subprocess.run([sys.executable, "-c", script, url], cwd=ROOT, check=True, timeout=120)
        assert reader.revision() == 1


def test_the_revision_of_a_memory_store_and_a_closed_store(tmp_path: Path) -> None:
    with Store("sqlite://") as memory:  # one connection, no watch: asked through the engine
        assert memory.revision() == 0
        _write(memory, "x")
        assert memory.revision() == 1
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = Store(url)
    _write(store, "x")
    assert store.revision() == 1
    store.close()
    with Store(url) as again:
        _write(again, "y")
    assert store.revision() == 2  # a closed store still answers (its engine reconnects), and is not stale


def test_the_revision_is_cheaper_than_a_query_through_the_engine(tmp_path: Path) -> None:
    """Compared in one process (the machine may be busy): the watch must beat the engine's round trip."""
    from catalog.store import _READ_REVISION

    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        def through_engine() -> int:
            with store.engine.connect() as connection:
                return int(connection.execute(_READ_REVISION).scalar_one())

        def timed(call, rounds: int = 2000) -> float:
            started = time.perf_counter()
            for _ in range(rounds):
                call()
            return time.perf_counter() - started

        assert through_engine() == store.revision()
        best_engine = min(timed(through_engine) for _ in range(3))
        best_watch = min(timed(store.revision) for _ in range(3))
        assert best_watch * 3 < best_engine, f"watch {best_watch:.4f} s, engine {best_engine:.4f} s"


_MARK: ContextVar[str | None] = ContextVar("test_read_cost_mark", default=None)


async def _never_leaves() -> dict:
    """A client that stays: `receive()` never reports a disconnect."""
    import asyncio

    await asyncio.Event().wait()
    return {"type": "http.request"}


def _budget(seconds: float, tmp_path: Path) -> deps.ReadBudget:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    request = Request({"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}, _never_leaves)
    return deps.ReadBudget(request, seconds, store)


def test_reads_reuse_their_threads_and_start_each_in_a_fresh_context(tmp_path: Path) -> None:
    import asyncio

    budget = _budget(30, tmp_path)

    def read(mark: str) -> tuple[int, str | None]:
        seen = _MARK.get()
        _MARK.set(mark)
        return threading.get_ident(), seen

    async def main() -> list[tuple[int, str | None]]:
        return [await budget.run(read, f"read-{i}") for i in range(5)]

    try:
        answers = asyncio.run(main())
    finally:
        budget.store.close()
    assert len({thread for thread, _ in answers}) == 1, "one read after another should run on one thread"
    assert [seen for _, seen in answers] == [None] * 5, "a read saw what an earlier one left in its context"


def test_a_read_stopped_by_its_budget_leaves_its_worker_clean_for_the_next(tmp_path: Path) -> None:
    import asyncio

    budget = _budget(0.2, tmp_path)
    ran: list[str] = []

    def spin() -> None:
        ran.append(f"spin on {threading.get_ident()}")
        end = time.monotonic() + 30
        while time.monotonic() < end:  # pure Python: stopped within milliseconds
            pass
        ran.append("spin finished")  # never: the budget stops it

    def quick() -> int:
        total = 0
        for i in range(200_000):  # long enough for a stray exception to land, if one were left
            total += i
        ran.append("quick")
        return threading.get_ident()

    async def main() -> list[int]:
        with pytest.raises(HTTPException) as stopped:
            await budget.run(spin)
        assert stopped.value.status_code == 503
        deadline = time.monotonic() + 10
        while any(t.name == read_threads.BUSY_NAME for t in threading.enumerate()) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert not any(t.name == read_threads.BUSY_NAME for t in threading.enumerate()), "the stopped read kept running"
        await asyncio.sleep(0.3)  # past the stopper's next attempt, had it kept raising
        return [await budget.run(quick) for _ in range(5)]

    try:
        threads = asyncio.run(main())
    finally:
        budget.store.close()
    assert ran[1:] == ["quick"] * 5
    assert ran[0] == f"spin on {threads[0]}", "the next read should reuse the stopped read's worker"
    assert len(set(threads)) == 1


def test_back_to_back_reads_each_get_their_own_answer(tmp_path: Path) -> None:
    """A worker is idle again before its answer is handed over, so the next read can be given to it
    while it settles the last: that read must run, not be taken for the one that just finished."""
    import asyncio

    budget = _budget(30, tmp_path)

    async def main() -> list[int]:
        answers = [await budget.run(lambda i=i: i) for i in range(300)]
        answers += await asyncio.gather(*(budget.run(lambda i=i: i) for i in range(300, 400)))
        return answers

    try:
        assert asyncio.run(main()) == list(range(400))
    finally:
        budget.store.close()
