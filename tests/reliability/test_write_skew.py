"""Two loads, each valid alone, racing: the store must never commit the cycle they make together.

File one says x is derived from y, file two says y is derived from x. Each passes the cycle check
against what the store holds; together they are a cycle, so whichever commits second must see the
first and be refused. Under PostgreSQL's READ COMMITTED both could read the store before either
wrote (write skew) and both commit: issue 15, finding 7.

A plain race (both threads released by one barrier) already did it: before the fix it committed
a cycle in 48, then 50, of 50 rounds. But how often it does depends on the machine's timing, so
each racer, right after the cycle check has read the derivations, waits briefly for the other to
have read them too: a test-only wrapper around the real `catalog.loader_cycles.derivations_acyclic`, the
load's cycle check (the store is
real, nothing answers in its place). On code that lets both read at once, both pass the check in
every round (50 of 50 before the fix); where the store serialises the decision, the second racer
cannot read before the first commits, so the wait times out and the second reads the first's edge.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, text

from catalog import loader_cycles
from catalog.errors import InvalidCatalogFile
from catalog.loader import load_catalog
from catalog.store import Store, Writer

ROUNDS = 50
RENDEZVOUS_SECONDS = 0.05  # how long a racer waits, after reading, for the other to read as well

SEED = """catalog: skew
datasets:
  - name: x
    owner: a@x
  - name: y
    owner: a@x
"""
X_FROM_Y = """catalog: skew
datasets:
  - name: x
    owner: a@x
    derived_from: [y]
"""
Y_FROM_X = """catalog: skew
datasets:
  - name: y
    owner: a@x
    derived_from: [x]
"""


class _Rendezvous:
    """Holds the racers right after they read the derivations, until both have (or time is up).

    Only the racing threads wait; the seed load between rounds reads straight through. `met`
    counts the rounds in which both racers held a read of the derivations at the same moment.
    """

    def __init__(self) -> None:
        self.racers: set[int] = set()
        self.barrier = threading.Barrier(2)
        self.met = 0

    def next_round(self, racers: set[int]) -> None:
        self.racers, self.barrier = racers, threading.Barrier(2)

    def wrap(self, read: Callable[..., Any]) -> Callable[..., Any]:
        def check(*args: Any) -> Any:
            rows = read(*args)
            if threading.get_ident() in self.racers:
                try:
                    if self.barrier.wait(timeout=RENDEZVOUS_SECONDS) == 0:
                        self.met += 1
                except threading.BrokenBarrierError:
                    pass  # the other racer is not reading now: the store made it wait
            return rows

        return check


def _edges(connection: Connection) -> set[tuple[str, str]]:
    """(input, output) of every derivation, read from the tables, not through the code under test."""
    rows = connection.execute(text(
        "SELECT i.name, o.name FROM derivations d "
        "JOIN datasets i ON i.id = d.input_id JOIN datasets o ON o.id = d.output_id"
    ))
    return {(a, b) for a, b in rows}


def _has_cycle(edges: set[tuple[str, str]]) -> bool:
    import networkx as nx

    return not nx.is_directed_acyclic_graph(nx.DiGraph(list(edges)))


def race(url: str, folder: Path, rounds: int, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Race X_FROM_Y against Y_FROM_X `rounds` times, each on its own Store; tally the outcomes."""
    seed, first, second = folder / "seed.yaml", folder / "x_from_y.yaml", folder / "y_from_x.yaml"
    seed.write_text(SEED, encoding="utf-8")
    first.write_text(X_FROM_Y, encoding="utf-8")
    second.write_text(Y_FROM_X, encoding="utf-8")
    rendezvous = _Rendezvous()
    monkeypatch.setattr(loader_cycles, "derivations_acyclic", rendezvous.wrap(loader_cycles.derivations_acyclic))
    tally: Counter[str] = Counter()
    stores = [Store(url), Store(url)]  # one engine each: two processes' worth of connections
    load_catalog(stores[0], [seed])  # x and y, neither derived from anything
    checker = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        for round_ in range(rounds):
            with checker.connect() as connection:  # each round starts from no derivations at all
                connection.execute(text("DELETE FROM derivations"))
                assert _edges(connection) == set()
            outcomes: list[str] = ["", ""]
            start = threading.Barrier(3)  # both racers and this thread, once it has named the racers

            def racer(index: int, path: Path) -> None:
                start.wait(timeout=30)
                try:
                    load_catalog(stores[index], [path])
                    outcomes[index] = "loaded"
                except InvalidCatalogFile as refused:
                    outcomes[index] = "cycle" if "derivation cycle" in str(refused) else f"refused: {refused}"
                except Exception as error:  # noqa: BLE001 - any other outcome fails the round below
                    outcomes[index] = f"{type(error).__name__}: {error}"

            threads = [threading.Thread(target=racer, args=(i, p)) for i, p in enumerate((first, second))]
            for thread in threads:
                thread.start()
            rendezvous.next_round({thread.ident for thread in threads if thread.ident is not None})
            start.wait(timeout=30)
            for thread in threads:
                thread.join(timeout=60)
            with checker.connect() as connection:
                edges = _edges(connection)
            tally["cycles committed"] += _has_cycle(edges)
            tally["rounds"] += 1
            assert not _has_cycle(edges), f"round {round_}: the store committed a cycle {sorted(edges)} ({outcomes})"
            assert sorted(outcomes) == ["cycle", "loaded"], f"round {round_}: {outcomes}"
            winner = (first, second)[outcomes.index("loaded")]
            assert edges == ({("y", "x")} if winner == first else {("x", "y")}), f"round {round_}: {sorted(edges)}"
            tally[f"won by {winner.stem}"] += 1
    finally:
        checker.dispose()
        for store in stores:
            store.close()
    tally["both read at once"] = rendezvous.met
    return tally


@pytest.mark.postgres
def test_postgresql_loads_racing_never_commit_a_cycle(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      figures: Counter[str]) -> None:
    began = time.perf_counter()
    tally = race(pg_url, tmp_path, ROUNDS, monkeypatch)
    figures["write-skew races (postgresql)"] += tally["rounds"]
    assert tally["rounds"] == ROUNDS and tally["cycles committed"] == 0
    print(f"postgresql: {dict(tally)} in {time.perf_counter() - began:.1f}s")


def test_sqlite_loads_racing_never_commit_a_cycle(sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  figures: Counter[str]) -> None:
    """SQLite's BEGIN IMMEDIATE already makes the second writer wait: the same race proves it."""
    began = time.perf_counter()
    tally = race(sqlite_url, tmp_path, ROUNDS, monkeypatch)
    figures["write-skew races (sqlite)"] += tally["rounds"]
    assert tally["rounds"] == ROUNDS and tally["cycles committed"] == 0
    print(f"sqlite: {dict(tally)} in {time.perf_counter() - began:.1f}s")


@pytest.mark.postgres
def test_postgresql_ingestion_waits_for_a_load_between_its_cycle_check_and_commit(
        pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """OpenLineage events add edges in a transaction of their own: one slipping in after a load has
    checked for cycles and before it commits would make that check stale, as a second load would."""
    from catalog.openlineage import ingest_events
    from tests.reliability.conftest import run_event
    from tests.catalog.test_store import _lock_waiters, _until

    seed, path = tmp_path / "seed.yaml", tmp_path / "x_from_y.yaml"
    seed.write_text(SEED, encoding="utf-8")
    path.write_text(X_FROM_Y, encoding="utf-8")
    checked, go = threading.Event(), threading.Event()
    acyclic = loader_cycles.derivations_acyclic
    loader_thread: set[int] = set()

    def derivations_acyclic(writer: Writer, replaced: Any, declared: Any) -> bool:
        answer = acyclic(writer, replaced, declared)
        if threading.get_ident() in loader_thread:
            checked.set()
            go.wait(timeout=30)  # hold the load between its cycle check and its commit
        return answer

    monkeypatch.setattr(loader_cycles, "derivations_acyclic", derivations_acyclic)
    loading, ingesting = Store(pg_url), Store(pg_url)
    outcomes: dict[str, str] = {}

    def load() -> None:
        loader_thread.add(threading.get_ident())
        load_catalog(loading, [path])
        outcomes["load"] = "loaded"

    def ingest() -> None:
        ingest_events(ingesting, [run_event(0, 0, inputs=["x"], output="z")])
        outcomes["ingest"] = "stored"

    try:
        load_catalog(loading, [seed])
        loader = threading.Thread(target=load, daemon=True)
        loader.start()
        assert checked.wait(timeout=30)
        ingester = threading.Thread(target=ingest, daemon=True)
        ingester.start()
        assert _until(lambda: _lock_waiters(pg_url) == 1 or not ingester.is_alive())
        assert ingester.is_alive() and "ingest" not in outcomes, "the events were written while the load was deciding"
        go.set()
        loader.join(timeout=30)
        ingester.join(timeout=30)
        assert outcomes == {"load": "loaded", "ingest": "stored"}
        checker = create_engine(pg_url)
        try:
            with checker.connect() as connection:
                assert _edges(connection) == {("y", "x"), ("x", "z")}
        finally:
            checker.dispose()
    finally:
        go.set()
        loading.close()
        ingesting.close()
