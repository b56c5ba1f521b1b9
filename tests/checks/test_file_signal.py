"""The change signal of files (catalog/fingerprint.py `file_signal`) and its use by `run_checks`: an
unchanged file carries its content hash over without being read again, and any write, even one
that keeps the size and puts the modification time back, makes the next run hash the file.

Each assertion is about a signal or a fingerprint being equal or different, never about time."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

import catalog.fingerprint as fingerprint
from catalog.fingerprint import file_signal
from checks import service
from tests.checks.conftest import fingerprinted, recorded_signals, write_people_csv

SUITE = """\
    catalog: t
    datasets:
      - name: people
        location: people.csv
        personal_data: false
        expectations:
          - expect_column_values_to_be_between: {column: age, min_value: 10, max_value: 120}
            severity: critical
"""


@pytest.fixture
def settled(monkeypatch):
    """Files written a moment ago count as settled: these tests write and look at once. What the
    window is for is tested on its own (test_a_freshly_written_file_gives_no_signal)."""
    monkeypatch.setattr(fingerprint, "SETTLE_SECONDS", 0.0)




def _after_a_clock_tick(path: Path, tmp_path: Path) -> None:
    """Wait until the file system's clock has moved past `path`'s status-change time, so the write
    that follows gets a different one (timestamps are coarse: a write within one tick keeps it; the
    settle window, off in these tests, is what covers that case in real use)."""
    probe = tmp_path / "probe"
    while True:
        probe.write_bytes(b"")
        if os.stat(probe).st_ctime_ns > os.stat(path).st_ctime_ns:
            return
        time.sleep(0.005)


def _sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_unchanged_file_carries_its_hash_and_verdict_without_reading_it(store, load, tmp_path, settled,
                                                                           monkeypatch):
    data = write_people_csv(tmp_path / "people.csv")
    load(SUITE)
    (first,) = service.run_checks(store).runs
    assert first.outcome == "passed" and first.fingerprint == _sha256(data)
    hashed = fingerprinted(monkeypatch)
    report = service.run_checks(store)
    (second,) = report.runs
    assert hashed == [] and report.reused == 1 and second.reused_from == first.id
    assert second.fingerprint == first.fingerprint == _sha256(data)  # the content hash, as before
    assert second.modified_at == first.modified_at
    signals = recorded_signals(store)
    assert signals[0] is not None and signals[0].startswith("file-stat:") and signals == [signals[0]] * 2

    service.run_checks(store, force=True)  # --force hashes whatever the signal says
    assert len(hashed) == 1


def test_a_same_size_write_with_its_modification_time_put_back_is_hashed(store, load, tmp_path, settled,
                                                                          monkeypatch):
    data = write_people_csv(tmp_path / "people.csv")
    load(SUITE)
    (first,) = service.run_checks(store).runs
    before = os.stat(data)
    original = data.read_bytes()
    tampered = original.replace(b"34", b"04")  # an age now out of range, same number of bytes
    assert len(tampered) == len(original) and tampered != original
    _after_a_clock_tick(data, tmp_path)
    with data.open("r+b") as handle:  # in place: same inode, same size
        handle.write(tampered)
    os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(data)
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)

    hashed = fingerprinted(monkeypatch)
    (second,) = service.run_checks(store).runs
    assert hashed == [str(data)]
    assert second.fingerprint == _sha256(data) != first.fingerprint
    assert second.outcome == "failed" and second.reused_from is None


def test_a_file_replaced_by_a_copy_with_the_same_bytes_and_times_is_hashed_again(store, load, tmp_path, settled,
                                                                                   monkeypatch):
    data = write_people_csv(tmp_path / "people.csv")
    load(SUITE)
    (first,) = service.run_checks(store).runs
    copy = write_people_csv(tmp_path / "copy.csv")
    stat = os.stat(data)
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.replace(copy, data)  # another inode
    hashed = fingerprinted(monkeypatch)
    report = service.run_checks(store)
    (second,) = report.runs
    assert hashed == [str(data)]
    assert second.fingerprint == first.fingerprint and report.reused == 1  # same content: the verdict still holds


def test_a_freshly_written_file_gives_no_signal(store, load, tmp_path, monkeypatch):
    assert fingerprint.SETTLE_SECONDS >= 1
    data = write_people_csv(tmp_path / "people.csv")
    assert file_signal(data) is None
    load(SUITE)
    service.run_checks(store)
    assert recorded_signals(store) == [None]  # nothing to carry over: the next run hashes
    hashed = fingerprinted(monkeypatch)
    service.run_checks(store)
    assert hashed == [str(data)]


def test_no_signal_for_what_is_not_a_regular_file(tmp_path, settled):
    assert file_signal(tmp_path / "missing.csv") is None
    assert file_signal(tmp_path) is None
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert file_signal(fifo) is None


def test_the_signal_moves_with_each_stamp_and_not_otherwise(tmp_path, settled):
    data = write_people_csv(tmp_path / "people.csv")
    first = file_signal(data)
    assert first is not None and file_signal(data) == first
    _after_a_clock_tick(data, tmp_path)
    os.chmod(data, 0o600)  # metadata only: the ctime moves, so the signal does (a rehash, never a wrong answer)
    assert file_signal(data) not in (None, first)
