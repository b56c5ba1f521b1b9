"""The lineage graph of record: a networkx DiGraph built from the store.

Node ids follow Marquez: `dataset:NAMESPACE:NAME`, `job:NAMESPACE:NAME`; a model's nodes are its
versions, `model:NAMESPACE:NAME@VERSION` (`catalog/ids.py`: the name is what follows the last colon;
a colon inside it is written `%3A`). Each version has its own feeds, so what v1 learned from is v1's.
Edges:
- derivation: input dataset -> output dataset, with the jobs that make it (`jobs`);
- produces: job -> each dataset it outputs;
- feed: dataset -> model, with each role, fingerprint and time of consumption (`uses`);
- base_model: model -> the model fine-tuned from it.

Derivations are direct dataset -> dataset edges rather than input -> job -> output, because a job
that writes two tables from different inputs (a feature build and its hold-out split, say) would
otherwise make each output look derived from every input of the job. The job stays in the graph
as the producer of its outputs: upstream of a table you find the job that made it.

Building the graph costs a full read of the store, so `GraphCache` keeps one per store URL and
rebuilds only when the store revision has moved: several API workers over one database agree
without sharing memory.
"""

from __future__ import annotations

import gc
import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import networkx as nx

from catalog.ids import node_id
from catalog.lineage_rows import LineageRows
from catalog.store import Store

DATASET, JOB, MODEL = "dataset", "job", "model"


def build_graph(rows: LineageRows) -> nx.DiGraph:
    """Turn store rows into the graph. Node attributes carry what queries and views display.

    Written straight into networkx's adjacency dicts (`_node`, `_succ`, `_pred`, in the order
    `add_edge` would insert them): `add_edge` per row was most of a 15 s build on the reference graph.
    Edges that say the same thing share one attribute dict (a derivation's jobs and sources repeat
    across hundreds of thousands of edges; every `produces` edge is alike): the graph of record is
    never edited after it is built, and the sharing saves hundreds of MB per process.
    """
    with _no_collection():
        return _build(rows)


@contextmanager
def _no_collection() -> Iterator[None]:
    """Millions of new dicts and lists, none of them garbage: with the cyclic collector on, each
    generation-0 run walks the young objects and older generations keep being rescanned, which made
    the build several times slower than its own work."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _build(rows: LineageRows) -> nx.DiGraph:
    graph = nx.DiGraph(revision=rows.revision)
    node_attrs, succ, pred = graph._node, graph._succ, graph._pred

    def add_node(node: str, attrs: dict) -> None:
        if node not in node_attrs:
            succ[node], pred[node] = {}, {}
        node_attrs[node] = attrs

    def add_edge(source: str, target: str, attrs: dict) -> None:
        succ[source][target] = attrs
        pred[target][source] = attrs

    datasets: dict[int, str] = {}
    for row in rows.datasets:
        node = node_id(DATASET, row["namespace"], row["name"])
        datasets[row["id"]] = node
        attrs = {"kind": DATASET, "incidents": [], "store_id": row["id"]}
        attrs.update((k, v) for k, v in row.items() if k != "id")
        add_node(node, attrs)
    jobs: dict[int, str] = {}
    for row in rows.jobs:
        node = node_id(JOB, row["namespace"], row["name"])
        jobs[row["id"]] = node
        add_node(node, {"kind": JOB, "namespace": row["namespace"], "name": row["name"], "description": row["description"]})
    models: dict[int, str] = {}
    for row in rows.models:
        node = node_id(MODEL, row["namespace"], row["name"], row["version"])
        models[row["id"]] = node
        attrs = {"kind": MODEL, "store_id": row["id"]}
        attrs.update((k, v) for k, v in row.items() if k not in ("id", "base_model_id", "field_sources"))
        add_node(node, attrs)
    derived: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
    produces = {"kind": "produces"}
    for row in rows.derivations:
        source, target = datasets[row["input_id"]], datasets[row["output_id"]]
        job = jobs.get(row["job_id"]) if row["job_id"] is not None else None
        found = derived.get((source, target))
        if found is None:
            found = derived[(source, target)] = ([], [])
            add_edge(source, target, found)  # type: ignore[arg-type]  # replaced by its shared dict below
        if job is not None and job not in found[0]:
            found[0].append(job)
            if target not in succ[job]:
                add_edge(job, target, produces)
        if row["source"] not in found[1]:
            found[1].append(row["source"])
    alike: dict[tuple[tuple[str, ...], tuple[str, ...]], dict] = {}
    for (source, target), (edge_jobs, sources) in derived.items():
        key = (tuple(edge_jobs), tuple(sources))
        attrs = alike.get(key)
        if attrs is None:
            attrs = alike[key] = {"kind": "derivation", "jobs": edge_jobs, "sources": sources}
        add_edge(source, target, attrs)
    del derived, alike
    feeds: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows.feeds:
        feeds[(datasets[row["dataset_id"]], models[row["model_id"]])].append(
            {"role": row["role"], "fingerprint": row["fingerprint"], "consumed_at": row["consumed_at"]}
        )
    for (source, target), uses in feeds.items():
        add_edge(source, target, {"kind": "feed", "uses": uses, "roles": sorted(u["role"] for u in uses)})
    base_model = {"kind": "base_model"}
    for row in rows.models:
        if row["base_model_id"] is not None:
            add_edge(models[row["base_model_id"]], models[row["id"]], base_model)
    for row in rows.incidents:
        node_attrs[datasets[row["dataset_id"]]]["incidents"].append(
            {k: row[k] for k in ("kind", "opened", "resolved", "note", "effective_from", "due")}
        )
    return graph


@dataclass
class _Entry:
    revision: int
    graph: nx.DiGraph


class GraphCache:
    """One graph per store URL per process, rebuilt when the store revision changes."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self.builds = 0

    def graph(self, store: Store, revision: int | None = None) -> nx.DiGraph:
        """`revision`: the store's, when the caller has just read it (one query fewer)."""
        revision = store.revision() if revision is None else revision
        entry = self._entries.get(store.url)
        if entry is not None and entry.revision == revision:
            return entry.graph
        with self._lock:
            entry = self._entries.get(store.url)
            if entry is None or entry.revision != store.revision():
                with _no_collection():
                    rows = store.lineage_rows()
                entry = _Entry(rows.revision, build_graph(rows))
                del rows
                self._entries[store.url] = entry
                self.builds += 1
                # The graph lives until the next revision and holds no garbage cycles: keep the cyclic
                # collector from walking its millions of objects again and again (on the reference graph
                # a full collection takes ~0.8 s, a pause any API request could land in).
                gc.freeze()
        return entry.graph


class PastGraphs:
    """Graphs of past moments, by store and the last change they include: an audit asks about the
    same few dates again and again, and the past never changes. A few kept; the present is `CACHE`'s."""

    def __init__(self, keep: int = 4) -> None:
        self._entries: dict[tuple[str, int], nx.DiGraph] = {}
        self._spans: dict[str, tuple[int, datetime | None, datetime | None]] = {}
        self._lock = threading.Lock()
        self.keep = keep

    def graph(self, store: Store, moment: datetime, revision: int) -> nx.DiGraph | None:
        """The graph at `moment`, or None when that is the present (raises BeforeHistory before it).

        The history's first and newest moments are kept per store revision, so asking about the
        present costs no query beyond the revision's. A write that leaves the revision (one no reader
        sees) seals an entry the span may miss; the present graph, kept by the same revision, is then
        the right answer for a moment after it anyway."""
        from catalog.errors import BeforeHistory
        from catalog.history.past import covered_until, history_span, rows_at

        span = self._spans.get(store.url)
        if span is None or span[0] != revision:
            with store.read() as session:
                span = (revision, *history_span(session))
            self._spans[store.url] = span
        _, first, newest = span
        if first is None or (moment >= newest):
            return None
        if moment < first:
            raise BeforeHistory(f"the store's history begins at {first:%Y-%m-%d %H:%M:%S} UTC; it cannot say what "
                                f"the catalog held at {moment:%Y-%m-%d %H:%M:%S} UTC")
        with store.read() as session:
            covered = covered_until(session, moment)
            if covered is None:
                return None
            key = (store.url, covered[0])
            with self._lock:
                found = self._entries.get(key)
            if found is not None:
                return found
            rows = rows_at(session, moment)
        graph = build_graph(rows) if rows is not None else None
        if graph is None:
            return None
        graph.graph["as_of_change"] = covered[0]
        with self._lock:
            self._entries[key] = graph
            while len(self._entries) > self.keep:
                self._entries.pop(next(iter(self._entries)))
        return graph


CACHE = GraphCache()
PAST = PastGraphs()
