"""Benchmark: OpenLineage ingestion over HTTP into SQLite, 16 clients each POSTing one event at a time.

    python -m benchmarks.ingestion [--events N] [--clients C] [--workers W]

A real `headwater serve` over a SQLite file that holds a reference catalog (scale 0.02). The events
are what a scheduler sends: a START and a COMPLETE RunEvent for each run of a pipeline job, with the
job's inputs and output (the jobs and tables of the reference graph), every run a new runId. 16
client threads each POST single events (one event per request, keep-alive), as openlineage-python's
HttpTransport does. Figure: events per second from the first request to the last 201. Baseline, same
run, same server, fresh events: one client POSTing batches of 500 (the cheapest way to send them).
A second row sets the rate beside the machine's ceiling: the same POSTs, same clients, to an app
that reads each body and answers 201 (benchmarks/ceiling.py), and says how much CPU per event the
bar leaves, beside what the server spends per event when the events come 500 to a request.

`--workers` is `headwater serve --workers` (default: what serve picks for SQLite). The figure also
reports the server's CPU time per event (every server process, from /proc; Linux), which the other
work on a shared machine disturbs far less than the wall clock.

Nothing acknowledged lost (asserted): every request answered 201, and afterwards the store holds
exactly one `lineage_events` row per event sent. (Crash safety, kill -9 after a 201, is
tests/reliability's job; here the 201 is by construction sent after the commit, see api/group_commit.py.)
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from benchmarks.ceiling import ceiling_server
from benchmarks.common import figure, log, serving

TARGET = 2000.0  # events/s: the ingestion bar of benchmarks/RESULTS.md
TOKEN = "bench-token"
RUN_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def run_events(graph: Any, count: int, *, seed: int) -> list[dict[str, Any]]:
    """`count` events: START + COMPLETE pairs of runs of the reference graph's jobs."""
    import numpy as np

    from lineage.graph import DATASET

    rng = np.random.default_rng(seed)
    outputs = [n for n, a in graph.nodes(data=True) if a["kind"] == DATASET
               and any(graph.nodes[p]["kind"] == DATASET for p in graph.predecessors(n))]
    moment = datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(days=seed)
    events = []
    while len(events) < count:
        node = outputs[int(rng.integers(len(outputs)))]
        inputs = sorted(p for p in graph.predecessors(node) if graph.nodes[p]["kind"] == DATASET)
        job = graph.nodes[graph.edges[inputs[0], node]["jobs"][0]]
        run = str(uuid.UUID(bytes=rng.bytes(16), version=4))
        for state in ("START", "COMPLETE"):
            moment += timedelta(milliseconds=5)
            events.append({
                "eventType": state, "eventTime": moment.isoformat().replace("+00:00", "Z"),
                "producer": "https://github.com/headwater/benchmarks", "schemaURL": RUN_SCHEMA,
                "run": {"runId": run}, "job": {"namespace": job["namespace"], "name": job["name"]},
                "inputs": [{"namespace": graph.nodes[p]["namespace"], "name": graph.nodes[p]["name"]} for p in inputs],
                "outputs": [{"namespace": graph.nodes[node]["namespace"], "name": graph.nodes[node]["name"]}],
            })
    return events[:count]


def _post_all(base: str, bodies: list[bytes], clients: int) -> tuple[float, list[int], list[float]]:
    """POST each body once, spread over `clients` threads with one keep-alive connection each."""
    host, port = base.removeprefix("http://").split(":")
    statuses: list[int] = []
    latencies: list[float] = []
    lock = threading.Lock()
    shares = [bodies[i::clients] for i in range(clients)]
    gate = threading.Barrier(clients + 1)

    def client(share: list[bytes]) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=120)
        mine, waits = [], []
        gate.wait()
        for body in share:
            start = time.perf_counter()
            connection.request("POST", "/api/v1/lineage", body=body, headers={
                "Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"})
            response = connection.getresponse()
            response.read()
            waits.append(time.perf_counter() - start)
            mine.append(response.status)
        connection.close()
        with lock:
            statuses.extend(mine)
            latencies.extend(waits)

    threads = [threading.Thread(target=client, args=(share,)) for share in shares if share]
    gate = threading.Barrier(len(threads) + 1)
    for thread in threads:
        thread.start()
    gate.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, statuses, latencies


def _server_cpu(port: str) -> float | None:
    """CPU seconds (user + system) so far of the processes listening on `port` and their children; None off Linux."""
    import os

    if not os.path.isdir("/proc"):
        return None
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as lines:
                next(lines)
                for line in lines:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == int(port):  # LISTEN
                        inodes.add(fields[9])
        except OSError:
            continue
    sockets = {f"socket:[{inode}]" for inode in inodes}
    listening: set[int] = set()
    stats: dict[int, tuple[int, float]] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            stats[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
            if any(os.readlink(f"/proc/{entry}/fd/{fd}") in sockets for fd in os.listdir(f"/proc/{entry}/fd")):
                listening.add(int(entry))
        except (OSError, ValueError):
            continue
    listening.discard(os.getpid())
    return sum(cpu for pid, (parent, cpu) in stats.items() if pid in listening or parent in listening)


def _budget_ms(target: float, ceiling: float) -> float:
    """CPU per event left, on all cores together, for whatever a server does beyond answering, if it
    is to reach `target` events/s where an empty server reaches `ceiling` (the client's and the HTTP
    layer's share is in the ceiling): negative when the bar is above the ceiling."""
    from api.cli.server import usable_cores

    return usable_cores() * (1 / target - 1 / ceiling) * 1000


def run(quick: bool = False, *, events: int | None = None, clients: int = 16, workers: int | None = None) -> dict[str, Any]:
    from sqlalchemy import create_engine, func, select

    from benchmarks.common import percentile
    from benchmarks.reference import reference_graph
    from benchmarks.reference_catalog import load_into_store, reference_incidents
    from catalog.schema import LineageEvent
    from catalog.store import Store

    count = events or (1_000 if quick else 20_000)
    folder = Path(tempfile.mkdtemp(prefix="headwater-ingest-"))
    try:
        graph = reference_graph(scale=0.02)
        url = f"sqlite:///{folder}/ingest.db"
        with Store(url) as store:
            load_into_store(graph, store, reference_incidents(graph))
        single = [json.dumps(e).encode() for e in run_events(graph, count, seed=1)]
        batched = run_events(graph, count, seed=2)
        batches = [json.dumps(batched[i:i + 500]).encode() for i in range(0, count, 500)]
        from api.cli.server import default_workers, usable_cores

        workers = workers or default_workers(url)
        with serving(url, tokens=TOKEN, workers=workers) as base:
            log(f"ingestion: warm-up, then {count:,} single-event POSTs from {clients} clients, {workers} worker(s)")
            _post_all(base, [json.dumps(e).encode() for e in run_events(graph, 50, seed=3)], 4)
            port = base.rsplit(":", 1)[1]
            cpu_before = _server_cpu(port)
            seconds, statuses, latencies = _post_all(base, single, clients)
            cpu_after = _server_cpu(port)
            log(f"ingestion: baseline, {count:,} events in batches of 500 from one client")
            batch_seconds, batch_statuses, _ = _post_all(base, batches, 1)
            cpu_batched = _server_cpu(port)
        with ceiling_server() as empty:
            log(f"ingestion: the machine's ceiling, the same {count:,} POSTs to an app that does nothing")
            ceiling_seconds, ceiling_statuses, _ = _post_all(empty, single, clients)
        if set(ceiling_statuses) != {201}:
            raise AssertionError(f"the ceiling app answered {sorted(set(ceiling_statuses))}")
        bad = [s for s in statuses + batch_statuses if s != 201]
        if bad:
            raise AssertionError(f"{len(bad)} requests were not acknowledged with 201: {sorted(set(bad))}")
        engine = create_engine(url)
        with engine.connect() as connection:
            stored = connection.execute(select(func.count()).select_from(LineageEvent)).scalar_one()
        engine.dispose()
        if stored != 2 * count + 50:  # the warm-up's 50, the single POSTs, the batches
            raise AssertionError(f"sent {2 * count + 50} events, the store holds {stored}")
        rate, batch_rate, ceiling_rate = count / seconds, count / batch_seconds, count / ceiling_seconds
        return {"figures": [
            figure(f"ingestion: OpenLineage events/s, SQLite, {clients} clients x single-event POSTs", rate, batch_rate,
                   target=f">= {TARGET:,.0f} events/s, nothing acknowledged lost", met=rate >= TARGET, unit="events/s",
                   ratio=rate / batch_rate, p50_ms=percentile(latencies, 50) * 1000,
                   p99_ms=percentile(latencies, 99) * 1000, events=count, stored=stored, workers=workers,
                   server_cpu_ms_per_event=None if cpu_before is None or cpu_after is None
                   else (cpu_after - cpu_before) / count * 1000),
            figure(f"ingestion: Headwater's single-event rate vs the machine's ceiling (the same POSTs from {clients} "
                   "clients to an ASGI app that reads each body and answers 201, nothing parsed or stored: "
                   "benchmarks/ceiling.py, uvicorn, one process, access log on)", rate, ceiling_rate, unit="events/s",
                   target="report: no Python server reaches the ceiling; the ratio is the share of it reached",
                   cores=usable_cores(), bar_budget_ms_per_event=_budget_ms(TARGET, ceiling_rate),
                   batched_server_cpu_ms_per_event=None if cpu_after is None or cpu_batched is None
                   else (cpu_batched - cpu_after) / count * 1000),
        ], "notes": [f"ingestion baseline: the same number of events POSTed by one client in batches of 500 "
                     f"({batch_rate:,.0f} events/s); every request got a 201 and all {stored:,} events are stored",
                     f"ingestion ceiling: an app that does nothing took the same POSTs at {ceiling_rate:,.0f}/s on "
                     f"{usable_cores()} cores; at {TARGET:,.0f}/s that leaves {_budget_ms(TARGET, ceiling_rate):.2f} ms of "
                     "CPU per event (all cores together) for parsing, validating and storing it; the server's CPU per "
                     "event when they come 500 to a request (the store's cost with the HTTP share spread thin) is "
                     "beside it in the row"]}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args(argv)
    for row in run(events=args.events, clients=args.clients, workers=args.workers)["figures"]:
        print(json.dumps(row, indent=1))


if __name__ == "__main__":
    main()
