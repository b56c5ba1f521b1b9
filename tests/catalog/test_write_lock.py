"""The cross-process writer lock of a SQLite store (`catalog.write_lock`), with real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from catalog.store import Store
from catalog.write_lock import WriteLock
from tests.conftest import ROOT

HOLDER = textwrap.dedent("""
    import sys, time
    from catalog.store import Store
    store = Store(sys.argv[1])
    with store.transaction():
        print("holding", flush=True)
        time.sleep(float(sys.argv[2]))
    print("released", flush=True)
""")


def _holder(url: str, seconds: float) -> subprocess.Popen[str]:
    """Another process inside a write transaction for `seconds`; returns once it holds the lock."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER, url, str(seconds)], cwd=ROOT, text=True,
                               stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert process.stdout is not None and process.stdout.readline().strip() == "holding"
    return process


def test_a_writer_waits_for_another_process_and_goes_the_moment_it_commits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store(url).close()  # migrated before the race
    holder = _holder(url, 1.5)
    assert _taken(tmp_path / "store.db-writer.lock")  # the other process's transaction holds the file lock
    started = time.monotonic()
    with Store(url) as store:
        with store.transaction():
            waited = time.monotonic() - started
    holder.wait(30)
    assert holder.returncode == 0
    assert 1.0 <= waited < 1.4 + 0.5, waited  # it waited for the holder, and no poll of up to 100 ms after
    assert not _taken(tmp_path / "store.db-writer.lock")


def _taken(path: Path) -> bool:
    """Whether some open file holds `path`'s flock (tried without waiting, from a file of our own)."""
    import fcntl

    probe = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(probe, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(probe)


def test_a_writer_killed_inside_its_transaction_holds_up_nobody(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store(url).close()
    holder = _holder(url, 60)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(30)
    started = time.monotonic()
    with Store(url) as store:
        with store.transaction():
            pass
    assert time.monotonic() - started < 5  # not the holder's 60 s, not SQLite's 30 s busy timeout


def test_the_lock_is_reentrant_within_a_thread_and_free_after(tmp_path: Path) -> None:
    lock = WriteLock(tmp_path / "x.db")
    with lock.held():
        with lock.held():
            assert _taken(lock.path)
        assert _taken(lock.path)  # the outer hold is still on
    assert not _taken(lock.path)
    lock.close()


def test_memory_stores_have_no_lock_file() -> None:
    store = Store("sqlite://")
    assert store._write_lock is None
    with store.transaction():
        pass


def test_a_writer_waits_no_longer_than_its_timeout_then_goes_on_without_the_lock(tmp_path: Path) -> None:
    """A holder that never lets go (a stopped process) must not hang the next writer for ever: after
    the timeout it goes on, to SQLite's own lock and its usual error, as it did before this lock."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    Store(url).close()
    holder = _holder(url, 60)
    try:
        lock = WriteLock(tmp_path / "store.db", timeout=0.5)
        started = time.monotonic()
        with lock.held():
            waited = time.monotonic() - started
            assert _taken(lock.path)  # still the holder's: this writer did not get it
        assert 0.5 <= waited < 3, waited
        lock.close()
    finally:
        holder.kill()
        holder.wait(30)
