"""Benchmark: what the change history costs: load and ingestion with history on vs off, `--as-of` on the present.

    python -m benchmarks.history [--scale S] [--events N]

History on is a store as migration 0008 leaves it (triggers write `history_changes`, each
`Store.transaction()` seals an audit entry). History off, the baseline of the same run: the same
kind of fresh store, migrated, whose triggers were then dropped (`catalog.history.triggers.uninstall`),
so nothing is recorded and sealing finds nothing to seal. Both stores are migrated before the clock
starts, so the figures are the load's, not the migrations'.

- load: `headwater load` of the reference catalog files (as `benchmarks.load` writes them), each
  in its own process, timed from the outside; SQLite, and PostgreSQL when a server is given. Bar
  (the history issue's): with <= 1.25x without.
- ingestion: single-event OpenLineage POSTs from 16 clients to `headwater serve` (the machinery of
  `benchmarks.ingestion`, over a reference catalog at scale 0.02), and `headwater ingest FILE` of the
  reference NDJSON events into a fresh store; time with vs without, bar <= 1.25x.
- `--as-of` on the present: `lineage.service.lineage(store, node, as_of=now)` against
  `lineage(store, node)`, median over random datasets, same store, graph cached; bar <= 1.1x. One
  report row for the past: the first call at a past moment (rebuilds the graph from the history)
  against the present graph's build, and the cached second call against the present's call.

Checked, not only timed: both stores hold the reference graph (nodes and edges); the history store's
`history_changes` grew by exactly the rows the load inserted into the tracked tables (one `insert`
image per row, no other change) and the off store's not at all; `headwater audit verify` exits 0 on
every history store; every POST got a 201 and every event is stored; the answers with and without
`as_of` are the same, and the past graph at the load's moment is the reference graph.
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.common import clock, figure, headwater, log, main_for, postgres_database, run_measured, serving

TARGET = 1.25  # history on / history off, load and ingestion (the history issue's bar)
AS_OF_TARGET = 1.1  # `--as-of` on the present / no `--as-of`: "as fast as today"


def _store(url: str, history: bool) -> None:
    """A fresh store at `url`, migrated; with `history` False, its triggers dropped."""
    from catalog.history.triggers import uninstall
    from catalog.store import Store

    with Store(url) as store:
        if not history:
            with store.engine.begin() as connection:
                uninstall(connection)


def _counts(url: str) -> dict[str, int]:
    """Rows per tracked table, and the history's changes by op (`changes:OP`) and in all (`changes`)."""
    from sqlalchemy import text

    from catalog.history.triggers import TRACKED
    from catalog.store import Store

    with Store(url, migrate=False) as store, store.engine.connect() as connection:
        found = {table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()) for table in TRACKED}
        for op, n in connection.execute(text("SELECT op, count(*) FROM history_changes GROUP BY op")):
            found[f"changes:{op}"] = int(n)
        found["changes"] = int(connection.execute(text("SELECT count(*) FROM history_changes")).scalar_one())
        found["entries"] = int(connection.execute(text("SELECT count(*) FROM history_entries")).scalar_one())
    return found


def _rows(counts: dict[str, int]) -> int:
    from catalog.history.triggers import TRACKED

    return sum(counts[table] for table in TRACKED)


def _verify(url: str, what: str) -> float:
    """`headwater audit verify` on the store (exit 0 or this raises); its wall time."""
    result = run_measured(headwater("--db", url, "audit", "verify", "-f", "json"))
    verdict = json.loads(result["stdout"])
    if not verdict["ok"]:
        raise AssertionError(f"{what}: audit verify failed: {verdict}")
    return result["seconds"]


def _load(folder: Path, graph: Any, name: str, on_url: str, off_url: str, shape: str) -> tuple[list[dict[str, Any]], list[str]]:
    from benchmarks.load import _check_graph

    seconds: dict[bool, float] = {}
    grown: dict[bool, dict[str, int]] = {}
    for history, url in ((False, off_url), (True, on_url)):
        _store(url, history)
        before = _counts(url)
        log(f"history: headwater load into {name}, history {'on' if history else 'off'}")
        seconds[history] = run_measured(headwater("--db", url, "load", str(folder / "catalog"), "-f", "json"))["seconds"]
        after = _counts(url)
        grown[history] = {key: after.get(key, 0) - before.get(key, 0) for key in after}
        _check_graph(url, graph, f"history {'on' if history else 'off'}, {name} load")
    loaded = _rows(grown[True])
    if _rows(grown[False]) != loaded:
        raise AssertionError(f"{name}: the loads with and without history wrote different rows: {grown}")
    if grown[False]["changes"] != 0:
        raise AssertionError(f"{name}: history off, yet {grown[False]['changes']} changes were recorded")
    if grown[True]["changes"] != loaded or grown[True].get("changes:insert", 0) != loaded:
        raise AssertionError(f"{name}: the load inserted {loaded:,} tracked rows but the history recorded "
                             f"{grown[True]['changes']:,} changes ({grown[True]})")
    log(f"history: audit verify on the {name} history store ({loaded:,} changes)")
    verify_s = _verify(on_url, f"{name} load")
    ratio = seconds[True] / seconds[False]
    return [
        figure(f"history: `headwater load` reference catalog, {name} ({shape}), history on vs off",
               seconds[True], seconds[False], target=f"<= {TARGET:g}x (history off)", met=ratio <= TARGET,
               changes=loaded),
        figure(f"history: `headwater audit verify` after that load, {name} ({loaded:,} changes re-hashed)",
               verify_s, target="report"),
    ], [f"history load, {name}: {loaded:,} tracked rows loaded, {grown[True]['changes']:,} changes recorded "
        f"({grown[True]['entries']} audit entry), 0 with history off; audit verify exits 0"]


def _http_ingestion(folder: Path, count: int, clients: int = 16) -> tuple[list[dict[str, Any]], list[str]]:
    from sqlalchemy import create_engine, func, select

    from benchmarks.ingestion import TOKEN, _post_all, run_events
    from benchmarks.reference import reference_graph
    from benchmarks.reference_catalog import load_into_store, reference_incidents
    from catalog.schema import LineageEvent
    from catalog.store import Store

    graph = reference_graph(scale=0.02)
    incidents = reference_incidents(graph)
    warm = [json.dumps(e).encode() for e in run_events(graph, 50, seed=3)]
    single = [json.dumps(e).encode() for e in run_events(graph, count, seed=1)]
    seconds: dict[bool, float] = {}
    changes: dict[bool, int] = {}
    for history in (False, True):
        url = f"sqlite:///{folder}/ingest-http-{'on' if history else 'off'}.db"
        _store(url, history)
        with Store(url) as store:
            load_into_store(graph, store, incidents)
        with serving(url, tokens=TOKEN) as base:
            # the warm-up's first transaction also seals the bulk rows above (written outside a
            # Headwater transaction) as their own entry, so the timed POSTs pay only for their own
            _post_all(base, warm, 4)
            before = _counts(url)["changes"]
            log(f"history: {count:,} single-event POSTs from {clients} clients, history {'on' if history else 'off'}")
            seconds[history], statuses, _ = _post_all(base, single, clients)
        bad = [s for s in statuses if s != 201]
        if bad:
            raise AssertionError(f"{len(bad)} requests were not acknowledged with 201: {sorted(set(bad))}")
        engine = create_engine(url)
        with engine.connect() as connection:
            stored = connection.execute(select(func.count()).select_from(LineageEvent)).scalar_one()
        engine.dispose()
        if stored != count + len(warm):
            raise AssertionError(f"sent {count + len(warm)} events, the store holds {stored}")
        changes[history] = _counts(url)["changes"] - before
        if history:
            _verify(url, "HTTP ingestion")
    if changes[False] != 0:
        raise AssertionError(f"HTTP ingestion, history off, yet {changes[False]} changes were recorded")
    ratio = seconds[True] / seconds[False]
    return [figure(f"history: ingestion of {count:,} single-event POSTs, {clients} clients, SQLite, history on vs off",
                   seconds[True], seconds[False], target=f"<= {TARGET:g}x (history off)", met=ratio <= TARGET,
                   events_per_s_on=count / seconds[True], events_per_s_off=count / seconds[False],
                   changes=changes[True])], \
        [f"history ingestion over HTTP: {count / seconds[True]:,.0f} events/s with history, "
         f"{count / seconds[False]:,.0f} without; the timed POSTs recorded {changes[True]:,} changes; audit verify exits 0"]


def _file_ingestion(folder: Path, events: int) -> tuple[list[dict[str, Any]], list[str]]:
    seconds: dict[bool, float] = {}
    counts: dict[bool, dict[str, int]] = {}
    for history in (False, True):
        url = f"sqlite:///{folder}/ingest-file-{'on' if history else 'off'}.db"
        _store(url, history)
        log(f"history: headwater ingest of {events:,} events, history {'on' if history else 'off'}")
        result = run_measured(headwater("--db", url, "ingest", str(folder / "events.ndjson"), "-f", "json"))
        if json.loads(result["stdout"])["stored"] != events:
            raise AssertionError(f"ingest stored {json.loads(result['stdout'])['stored']} of {events} events")
        seconds[history], counts[history] = result["seconds"], _counts(url)
    from catalog.history.triggers import TRACKED

    if {t: counts[True][t] for t in TRACKED} != {t: counts[False][t] for t in TRACKED}:
        raise AssertionError(f"`headwater ingest` with and without history wrote different rows: {counts}")
    if counts[False]["changes"] != 0:
        raise AssertionError(f"`headwater ingest`, history off, yet {counts[False]['changes']} changes were recorded")
    _verify(f"sqlite:///{folder}/ingest-file-on.db", "headwater ingest")
    ratio = seconds[True] / seconds[False]
    return [figure(f"history: `headwater ingest` {events:,} reference events (NDJSON), SQLite, history on vs off",
                   seconds[True], seconds[False], target=f"<= {TARGET:g}x (history off)", met=ratio <= TARGET,
                   changes=counts[True]["changes"])], \
        [f"history `headwater ingest`: {_rows(counts[True]):,} tracked rows written, {counts[True]['changes']:,} "
         f"changes recorded; audit verify exits 0"]


def _as_of(url: str, graph: Any, samples: int) -> tuple[list[dict[str, Any]], list[str]]:
    """On the loaded history store: the present with and without `as_of`, then a past moment."""
    from sqlalchemy import func, insert, select

    from catalog.schema import HistoryEntry, Setting
    from catalog.store import Store
    from lineage import service
    from lineage.graph import CACHE, DATASET, PAST

    with Store(url) as store:
        with store.read() as session:
            loaded_at = session.scalar(select(func.max(HistoryEntry.at)))
        time.sleep(0.01)
        # one more audit entry that leaves the graph (and the store revision) alone: the load's
        # moment is now the past, answered from the history, while the present graph stays cached
        with store.transaction("benchmark") as writer:
            writer.session.execute(insert(Setting).values(key="benchmark.history", value={"note": "after the load"}))
        log("history: building the present graph (cache)")
        present_build_s, present = clock(service.graph_of, store)
        builds = CACHE.builds
        rng = random.Random(20240601)
        datasets = sorted(n for n, a in present.nodes(data=True) if a["kind"] == DATASET)
        nodes = rng.sample(datasets, min(samples, len(datasets)))
        log(f"history: lineage of {len(nodes)} random datasets with and without as_of=now")
        plain, as_of, differences = [], [], []
        for i, node in enumerate(nodes):
            now = datetime.now(timezone.utc)
            pair: dict[bool, float] = {}
            answers: dict[bool, Any] = {}
            for with_as_of in ((False, True) if i % 2 == 0 else (True, False)):  # alternate the order
                seconds, answers[with_as_of] = clock(service.lineage, store, node, as_of=now if with_as_of else None)
                pair[with_as_of] = seconds
            if answers[True] != answers[False]:
                raise AssertionError(f"lineage of {node}: as_of=now and no as_of answer differently")
            plain.append(pair[False])
            as_of.append(pair[True])
            differences.append(pair[True] - pair[False])
        if CACHE.builds != builds:
            raise AssertionError("the graph was rebuilt during the present as_of calls")
        plain_s, as_of_s = statistics.median(plain), statistics.median(as_of)
        node = nodes[0]
        log("history: lineage as of the load's moment (past: the graph rebuilt from the history)")
        past_first_s, past_answer = clock(service.lineage, store, node, as_of=loaded_at)
        past_cached_s, _ = clock(service.lineage, store, node, as_of=loaded_at)
        past_graph = PAST.graph(store, loaded_at)
        if past_graph is None or set(past_graph.nodes) != set(graph.nodes) or set(past_graph.edges) != set(graph.edges):
            raise AssertionError("the graph as of the load's moment is not the reference graph")
        present_s, present_answer = clock(service.lineage, store, node)
        if past_answer != present_answer:
            raise AssertionError(f"lineage of {node}: as of the load's moment differs from the present")
        CACHE._entries.pop(store.url, None)  # the reference graph is not kept for the benchmarks after this one
        PAST._entries.clear()
    ratio = as_of_s / plain_s
    return [
        figure(f"history: `--as-of` now, lineage.service.lineage upstream, median of {len(nodes)} random datasets, "
               f"vs no `--as-of` (graph cached)", as_of_s, plain_s, target=f"as fast as today (<= {AS_OF_TARGET:g}x)",
               met=ratio <= AS_OF_TARGET, median_extra_ms=statistics.median(differences) * 1000),
        figure("history: `--as-of` a past moment, first call (graph rebuilt from the history) vs the present graph's build",
               past_first_s, present_build_s, target="report"),
        figure("history: `--as-of` a past moment, cached second call vs the same lineage on the present",
               past_cached_s, present_s, target="report"),
    ], [f"history --as-of: median extra cost of as_of=now {statistics.median(differences) * 1000:.3f} ms per call "
        f"(one look-up of the newest entry); the past graph at the load's moment is the reference graph"]


def run(quick: bool = False, *, scale: float | None = None, events: int | None = None,
        pg_server: str | None = None) -> dict[str, Any]:
    """`scale`: the reference catalog loaded (and ingested as NDJSON); `events`: single-event POSTs."""
    from benchmarks.reference import reference_graph
    from benchmarks.reference_catalog import reference_incidents, write_catalog_files, write_openlineage

    scale = scale if scale is not None else (0.02 if quick else 1.0)
    count = events or (1_000 if quick else 20_000)
    samples = 200 if scale >= 0.5 else 50 if scale >= 0.01 else 20
    folder = Path(tempfile.mkdtemp(prefix="headwater-history-"))
    figures: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        log(f"history: generating the reference catalog at scale {scale}")
        graph = reference_graph(scale=scale)
        write_catalog_files(graph, folder / "catalog", reference_incidents(graph))
        ndjson = write_openlineage(graph, folder / "events.ndjson")
        shape = f"{graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges"
        backends = [("SQLite", f"sqlite:///{folder}/on.db", f"sqlite:///{folder}/off.db")]
        if pg_server is not None:
            backends.append(("PostgreSQL", postgres_database(pg_server, "hw_history_on"),
                             postgres_database(pg_server, "hw_history_off")))
        for name, on_url, off_url in backends:
            rows, said = _load(folder, graph, name, on_url, off_url, shape)
            figures += rows
            notes += said
        for part in (_http_ingestion(folder, count), _file_ingestion(folder, ndjson),
                     _as_of(backends[0][1], graph, samples)):
            figures += part[0]
            notes += part[1]
        notes.append("history rows: on = the store as migration 0008 leaves it (triggers + an audit entry sealed per "
                     "transaction); off = the same fresh store with its triggers dropped (nothing recorded), same run")
        return {"figures": figures, "notes": notes, "scale": scale}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    main_for(run, __doc__, argv, events=int)


if __name__ == "__main__":
    main()
