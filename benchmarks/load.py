"""Benchmark: `headwater load` and `headwater ingest` of the reference catalog, SQLite and PostgreSQL.

    python -m benchmarks.load [--scale S]

The reference catalog (`benchmarks.reference_catalog`: 100,000 datasets, 5,000 models, 1,000,000
edges at scale 1) is written as JSON catalog files and as OpenLineage NDJSON, then loaded the way a
user does it: `headwater load FOLDER` and `headwater ingest FILE`, each in its own process, timed
from the outside, with the process's peak resident set (wait4's ru_maxrss). Baseline: the same rows
bulk-inserted without validation or diffing (`load_into_store`), in-process, same database kind.
Checked, not only timed: the loaded store's graph has the reference graph's nodes and edges, and a
second load of the unchanged files reports everything unchanged and leaves the store revision alone.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import main_for, clock, figure, headwater, log, postgres, postgres_database, run_measured


def _check_graph(url: str, graph: Any, what: str) -> None:
    from catalog.store import Store
    from lineage.graph import build_graph

    with Store(url) as store:
        built = build_graph(store.lineage_rows())
    if set(built.nodes) != set(graph.nodes) or set(built.edges) != set(graph.edges):
        raise AssertionError(f"{what}: the loaded graph is not the reference graph "
                             f"({built.number_of_nodes()} nodes, {built.number_of_edges()} edges)")


def _revision(url: str) -> int:
    from catalog.store import Store

    with Store(url) as store:
        return store.revision()


def run(quick: bool = False, *, scale: float | None = None, pg_server: str | None = None) -> dict[str, Any]:
    from benchmarks.reference import reference_graph
    from benchmarks.reference_catalog import load_into_store, reference_incidents, write_catalog_files, write_openlineage
    from catalog.store import Store

    scale = scale if scale is not None else (0.02 if quick else 1.0)
    folder = Path(tempfile.mkdtemp(prefix="headwater-load-"))
    figures: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        log(f"load: generating the reference catalog at scale {scale}")
        graph = reference_graph(scale=scale)
        incidents = reference_incidents(graph)
        files = write_catalog_files(graph, folder / "catalog", incidents)
        events = write_openlineage(graph, folder / "events.ndjson")
        size = sum(f.stat().st_size for f in files) / 1e6
        shape = f"{graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges"
        notes.append(f"reference catalog: {shape}; {len(files)} JSON catalog files ({size:.0f} MB); "
                     f"{events:,} OpenLineage events; {len(incidents)} incidents")

        def backends(pg: str | None) -> list[tuple[str, str, str]]:
            found = [("SQLite", f"sqlite:///{folder}/load.db", f"sqlite:///{folder}/bulk.db")]
            if pg:
                found.append(("PostgreSQL", postgres_database(pg, "hw_load"), postgres_database(pg, "hw_bulk")))
            return found

        def measure(pg: str | None) -> None:
            for name, url, bulk_url in backends(pg):
                log(f"load: headwater load into {name}")
                cold = run_measured(headwater("--db", url, "load", str(folder / "catalog"), "-f", "json"))
                counts = json.loads(cold["stdout"])["counts"]
                _check_graph(url, graph, f"{name} load")
                revision = _revision(url)
                log(f"load: reload of the unchanged files into {name}")
                warm = run_measured(headwater("--db", url, "load", str(folder / "catalog"), "-f", "json"))
                again = json.loads(warm["stdout"])["counts"]
                if any(c["created"] or c["updated"] for c in again.values()) or _revision(url) != revision:
                    raise AssertionError(f"{name}: reloading unchanged files changed the store: {again}")
                with Store(bulk_url) as store:
                    bulk_s, _ = clock(load_into_store, graph, store, incidents)
                figures.append(figure(f"load: `headwater load` reference catalog, {name} ({shape})", cold["seconds"],
                                      bulk_s, target="report (no bar); baseline: raw bulk insert, no validation",
                                      peak_mib=cold["peak_mib"], counts=counts))
                figures.append(figure(f"load: peak memory of `headwater load`, {name}", cold["peak_mib"], unit="MiB",
                                      target="report"))
                figures.append(figure(f"load: reload unchanged (idempotent, revision unchanged), {name}", warm["seconds"],
                                      cold["seconds"], target="report", peak_mib=warm["peak_mib"]))
            log("load: headwater ingest of the OpenLineage events into SQLite")
            url = f"sqlite:///{folder}/ingest.db"
            ingested = run_measured(headwater("--db", url, "ingest", str(folder / "events.ndjson"), "-f", "json"))
            result = json.loads(ingested["stdout"])
            if result["stored"] != events:
                raise AssertionError(f"ingest stored {result['stored']} of {events} events")
            figures.append(figure(f"ingest: `headwater ingest` {events:,} reference events (NDJSON), SQLite",
                                  ingested["seconds"], target="report", peak_mib=ingested["peak_mib"],
                                  events_per_s=events / ingested["seconds"]))
            figures.append(figure("ingest: peak memory of `headwater ingest`, SQLite", ingested["peak_mib"], unit="MiB",
                                  target="report"))

        if pg_server is not None:
            measure(pg_server)
        else:
            try:
                with postgres() as server:
                    measure(server)
            except Exception as exc:  # noqa: BLE001 - no PostgreSQL on this machine: SQLite only, said so
                if "PostgreSQL" not in type(exc).__name__ and "Postgres" not in str(exc):
                    raise
                notes.append(f"PostgreSQL not measured: {exc}")
                measure(None)
        notes.append("PostgreSQL is the throwaway test server (tests/postgres.py: fsync=off, full_page_writes=off); "
                     "a production server with fsync on is slower to commit")
        return {"figures": figures, "notes": notes, "scale": scale}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    main_for(run, __doc__, argv)


if __name__ == "__main__":
    main()
