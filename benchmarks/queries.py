"""Benchmark: building the lineage graph, walking it, and the API's lineage and impact latency.

    python -m benchmarks.queries [--scale S]

A SQLite store holds the reference catalog (`load_into_store`, scale 1: 105,000 nodes, 1,000,000
edges). Figures, each beside its baseline from the same run:

- graph build: `present_graph` (reading the rows and building the graph, what a process does when the
  store revision moves) against scipy building a CSR matrix of the same edges from the same rows, and
  the resident memory the graph adds to the process;
- downstream of the biggest hub and upstream of the model with the most upstream, with
  `lineage.queries` on the graph of record, against scipy.sparse.csgraph.breadth_first_order on a
  CSR of the same graph (answers compared: the same node sets); the CSR holds int8 ones, which csgraph
  converts to float64 on every call, so the same search on a float64 CSR is reported beside it;
- impact of the hub (`lineage.service.impact`: reach, path counts, one path per model) against the
  csgraph reach;
- API latency: a real `headwater serve`, 16 client threads, each GETting /api/v1/lineage/{dataset}
  (upstream, depth 3) and /api/v1/impact/{dataset}?paths=1 for datasets drawn at random (uniformly,
  so mostly ordinary tables, some hubs); p50 and p99 against the same service calls in-process (no
  HTTP), so the ratio is what the HTTP layer adds; and the impact p99 beside the machine's ceiling,
  the same GETs answered with one fixed impact answer by an app that computes nothing
  (benchmarks/ceiling.py).
"""

from __future__ import annotations

import gc
import random
import shutil
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

from benchmarks.ceiling import ceiling_server
from benchmarks.common import clock, figure, log, main_for, median_time, memory, percentile, serving

TRAVERSAL_TARGET = 3.0
BUILD_TARGET_S = 3.0
GRAPH_MEMORY_TARGET_MIB = 500.0
P99_TARGET_MS = 100.0
CLIENTS = 16


def _csr(graph: Any) -> tuple[Any, dict[str, int], list[str]]:
    import numpy as np
    from scipy import sparse

    nodes = list(graph.nodes)
    index = {node: i for i, node in enumerate(nodes)}
    src = np.fromiter((index[u] for u, _ in graph.edges), dtype=np.int32, count=graph.number_of_edges())
    dst = np.fromiter((index[v] for _, v in graph.edges), dtype=np.int32, count=graph.number_of_edges())
    matrix = sparse.csr_matrix((np.ones(len(src), dtype=np.int8), (src, dst)), shape=(len(nodes), len(nodes)))
    return matrix, index, nodes


def _bfs(matrix: Any, start: int) -> Any:
    from scipy.sparse import csgraph

    return csgraph.breadth_first_order(matrix, start, directed=True, return_predecessors=False)


def _latency(base: str, paths: list[str], clients: int, budget_s: float | None = None) -> list[float]:
    import http.client

    host, port = base.removeprefix("http://").split(":")
    samples: list[float] = []
    lock = threading.Lock()
    failures: list[str] = []

    def client(share: list[str]) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=300)
        mine = []
        for path in share:
            if deadline is not None and time.perf_counter() > deadline:
                break  # time-boxed: every client stops taking new requests at the deadline
            start = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - start)
            if response.status != 200:
                failures.append(f"{path}: {response.status}")
        connection.close()
        with lock:
            samples.extend(mine)

    deadline = time.perf_counter() + budget_s if budget_s else None
    threads = [threading.Thread(target=client, args=(paths[i::clients],)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise AssertionError(f"{len(failures)} API requests failed: {failures[:3]}")
    return samples


BUDGET_S = 90.0  # per endpoint at full scale: slow answers would otherwise take hours to sample


def run(quick: bool = False, *, scale: float | None = None, requests: int | None = None) -> dict[str, Any]:
    import numpy as np
    from scipy import sparse

    from benchmarks.reference import reference_graph
    from benchmarks.reference_catalog import load_into_store, reference_incidents
    from catalog.store import Store
    from lineage import queries, service
    from lineage.lineage_json import lineage_json
    from lineage.graph import DATASET, MODEL, present_graph

    scale = scale if scale is not None else (0.02 if quick else 1.0)
    requests = requests or (160 if quick else 1600)
    repeat = 3 if quick else 5
    folder = Path(tempfile.mkdtemp(prefix="headwater-queries-"))
    figures: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        log(f"queries: reference store at scale {scale}")
        reference = reference_graph(scale=scale)
        url = f"sqlite:///{folder}/queries.db"
        store = Store(url)
        load_into_store(reference, store, reference_incidents(reference))
        shape = f"{reference.number_of_nodes():,} nodes, {reference.number_of_edges():,} edges"
        del reference

        log("queries: graph build")
        gc.collect()
        before_kib, cpu_before = memory()["rss_kib"], time.process_time()
        build_s, graph = clock(present_graph, store)  # what the service does once per store revision
        build_cpu_s, grown_mib = time.process_time() - cpu_before, (memory()["rss_kib"] - before_kib) / 1024
        rows = store.lineage_rows()  # again, untimed: the baseline's input

        def csr_from_rows() -> Any:
            feeds = np.array([(row[0], row[1] + 10**9) for row in rows.feeds], dtype=np.int64).reshape(-1, 2)
            edges = np.concatenate([np.column_stack([rows.derivations.input_id, rows.derivations.output_id]), feeds])
            ids, inverse = np.unique(edges, return_inverse=True)
            inverse = inverse.reshape(edges.shape)
            return sparse.csr_matrix((np.ones(len(edges), dtype=np.int8), (inverse[:, 0], inverse[:, 1])),
                                     shape=(len(ids), len(ids)))

        baseline_s, _ = clock(csr_from_rows)
        rows = None
        figures.append(figure(f"graph build: read rows + build the networkx graph ({shape}; lineage.graph.present_graph)",
                              build_s, baseline_s, target=f"<= {BUILD_TARGET_S:g} s (once per store revision); baseline: "
                              "scipy CSR from the same rows", met=build_s <= BUILD_TARGET_S, cpu_s=build_cpu_s))
        figures.append(figure("graph build: resident memory the graph adds to the process (MiB)", grown_mib, None,
                              unit="MiB", target=f"<= {GRAPH_MEMORY_TARGET_MIB:g} MiB per process",
                              met=grown_mib <= GRAPH_MEMORY_TARGET_MIB))

        matrix, index, nodes = _csr(graph)
        transposed = matrix.T.tocsr()
        datasets = [n for n, a in graph.nodes(data=True) if a["kind"] == DATASET]
        hub = max(datasets, key=graph.out_degree)
        models = [n for n, a in graph.nodes(data=True) if a["kind"] == MODEL]
        model = max(models, key=graph.in_degree)

        log("queries: downstream / upstream / impact")
        for what, start, walk, csr in (("downstream of the biggest hub", hub, queries.downstream, matrix),
                                       ("upstream of the model with most feeds", model, queries.upstream, transposed)):
            hw, _, found = median_time(repeat, lambda: walk(graph, start))  # noqa: B023 - called at once
            bl, _, order = median_time(repeat, lambda: _bfs(csr, index[start]))  # noqa: B023
            if set(found) != {nodes[i] for i in order} - {start}:
                raise AssertionError(f"{what}: lineage.queries and csgraph disagree")
            figures.append(figure(f"{what} ({len(found):,} nodes), lineage.queries vs csgraph BFS", hw, bl,
                                  target=f"<= {TRAVERSAL_TARGET:g}x csgraph", met=hw / bl <= TRAVERSAL_TARGET))
            as_float = csr.astype(np.float64)  # csgraph converts any other CSR to float64 on every call
            bl64, _, _ = median_time(repeat, lambda: _bfs(as_float, index[start]))  # noqa: B023
            figures.append(figure(f"{what}: lineage.queries vs csgraph BFS on a float64 CSR (no conversion per call)",
                                  hw, bl64, target="report"))
        service.graph_of(store)  # the service's cached graph (built once, untimed)
        hw, _, impact = median_time(max(1, repeat // 2), lambda: service.impact(store, hub, path_limit=1, limit=100, dataset_limit=1000))
        bl, _, _ = median_time(repeat, lambda: _bfs(matrix, index[hub]))
        figures.append(figure(f"impact of the hub (service.impact: reach, path counts, one path for each of the first "
                              f"{len(impact.models):,} of {impact.models_total:,} models, the nearest "
                              f"{len(impact.datasets):,} datasets, as the API pages them) vs csgraph reach", hw, bl,
                              target=f"<= {TRAVERSAL_TARGET:g}x csgraph", met=hw / bl <= TRAVERSAL_TARGET))
        hub_float = matrix.astype(np.float64)
        bl64, _, _ = median_time(repeat, lambda: _bfs(hub_float, index[hub]))
        figures.append(figure("impact of the hub vs csgraph reach on a float64 CSR", hw, bl64, target="report"))

        from lineage import arrays

        arrays_s, _ = clock(arrays._build, graph)  # built again, timed: the service built its own in the warm-up
        figures.append(figure("impact: the graph's arrays (lineage.arrays: CSR both ways, levels, id order; once per "
                              "graph revision)", arrays_s, baseline_s, target="report; baseline: scipy CSR from the same rows"))

        log(f"queries: API latency, {CLIENTS} clients, {requests} requests per endpoint")
        rng = random.Random(20240601)
        picked = [rng.choice(datasets) for _ in range(requests)]
        quote = lambda node: urllib.parse.quote(node, safe=":")  # noqa: E731
        lineage_paths = [f"/api/v1/lineage/{quote(n)}?direction=upstream&depth=3" for n in picked]
        impact_paths = [f"/api/v1/impact/{quote(n)}?paths=1" for n in picked]
        budget = None if quick else BUDGET_S

        def in_process_times(call) -> list[float]:
            call(picked[-1])  # untimed, as the server's warm-up: the first answer writes every node's JSON ref
            end = time.perf_counter() + (budget or float("inf"))
            return [clock(call, n)[0] for n in picked[:100] if time.perf_counter() < end]

        in_process = {
            # what each route runs, answer serialised: the lineage route writes its JSON directly
            "lineage": in_process_times(lambda n: lineage_json(store, n, direction="upstream", depth=3)),
            "impact": in_process_times(lambda n: service.impact(store, n, path_limit=1, limit=100, dataset_limit=1000).model_dump_json()),
        }
        with serving(url) as base:
            _latency(base, lineage_paths[:32] + impact_paths[:32], 4, budget)  # warm-up: the server builds its graph
            over_http = {"lineage": _latency(base, lineage_paths, CLIENTS, budget),
                         "impact": _latency(base, impact_paths, CLIENTS, budget)}
        answers = sorted((service.impact_json(store, n, path_limit=1, limit=100, dataset_limit=1000) for n in picked[:21]),
                         key=len)
        with ceiling_server(answers[len(answers) // 2].encode()) as empty:  # the median answer of 21, every time
            ceiling = _latency(empty, impact_paths, CLIENTS, budget)
        for name, samples in over_http.items():
            p99 = percentile(samples, 99) * 1000
            base_p99 = percentile(in_process[name], 99) * 1000
            figures.append(figure(f"API {name} p99, {CLIENTS} concurrent clients, random datasets (ms)", p99, base_p99,
                                  unit="ms", target=f"p99 < {P99_TARGET_MS:g} ms; baseline: same call in-process, no HTTP",
                                  met=p99 < P99_TARGET_MS, p50_ms=percentile(samples, 50) * 1000,
                                  max_ms=max(samples) * 1000, requests=len(samples)))
        figures.append(figure(f"API impact p99, {CLIENTS} concurrent clients: Headwater vs the machine's ceiling (the same "
                              "GETs answered with one fixed impact answer, the median size of 21, by an ASGI app that "
                              "computes nothing: benchmarks/ceiling.py, uvicorn, one process, access log on) (ms)",
                              percentile(over_http["impact"], 99) * 1000, percentile(ceiling, 99) * 1000, unit="ms",
                              target="report: what HTTP alone costs here", answer_bytes=len(answers[len(answers) // 2]),
                              ceiling_p50_ms=percentile(ceiling, 50) * 1000, ceiling_requests=len(ceiling)))
        notes.append(f"API latency: up to {requests} requests per endpoint"
                     + (f", time-boxed to {budget:g} s per endpoint and phase (requests made: "
                        + ", ".join(f"{k} {len(v)}" for k, v in over_http.items()) + ")" if budget else "")
                     + f" over {len(set(picked)):,} distinct datasets drawn "
                     "uniformly; lineage is upstream to depth 3, impact lists one path per model")
        store.close()
        return {"figures": figures, "notes": notes, "scale": scale}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    main_for(run, __doc__, argv, requests=int)


if __name__ == "__main__":
    main()
