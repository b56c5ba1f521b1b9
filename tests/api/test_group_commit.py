"""Group commit: requests queued while a commit runs share the next one; each is answered after it."""

from __future__ import annotations

import threading
import uuid

import pytest

import api.group_commit as group_commit
from catalog.openlineage import parse_event


def event(name: str, producer: str = "https://example.com/p") -> object:
    return parse_event({
        "eventType": "COMPLETE", "eventTime": "2026-11-01T10:00:00Z", "producer": producer,
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
        "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "ns", "name": f"job_{name}"},
        "inputs": [{"namespace": "ns", "name": f"in_{name}"}], "outputs": [{"namespace": "ns", "name": f"out_{name}"}],
    })


def test_requests_queued_during_a_commit_share_the_next_one(store, monkeypatch):
    real, first_started, release = group_commit.ingest_parsed, threading.Event(), threading.Event()
    calls: list[int] = []

    def slow_first(store_, groups, **options):
        calls.append(len(groups))
        if len(calls) == 1:
            first_started.set()
            release.wait(30)
        return real(store_, groups, **options)

    monkeypatch.setattr(group_commit, "ingest_parsed", slow_first)
    committer = group_commit.GroupCommit(store)
    try:
        first = committer.submit([event("a")])
        assert first_started.wait(30)
        queued = [committer.submit([event(f"b{i}")]) for i in range(5)]
        assert not any(f.done() for f in [first, *queued])  # nothing is answered before its commit
        release.set()
        results = [f.result(30) for f in [first, *queued]]
    finally:
        committer.close()
    assert calls == [1, 5] and committer.batches == 2
    assert [r.stored for r in results] == [1] * 6 and results[0].shared_with == 0 and results[1].shared_with == 4
    assert store.counts()["datasets"] == 12


def test_a_failing_request_fails_alone(store, monkeypatch):
    real = group_commit.ingest_parsed
    gate = threading.Event()

    def picky(store_, groups, **options):
        gate.wait(30)
        if any(e.producer == "https://example.com/bad" for group in groups for e in group):
            raise RuntimeError("this request cannot be written")
        return real(store_, groups, **options)

    monkeypatch.setattr(group_commit, "ingest_parsed", picky)
    committer = group_commit.GroupCommit(store)
    try:
        futures = [committer.submit([event(f"ok{i}")]) for i in range(3)]
        bad = committer.submit([event("bad", producer="https://example.com/bad")])
        futures.append(committer.submit([event("ok3")]))
        gate.set()
        assert all(f.result(30).stored == 1 for f in futures)
        with pytest.raises(RuntimeError, match="cannot be written"):
            bad.result(30)
    finally:
        committer.close()
    assert store.counts()["datasets"] == 8
