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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import networkx as nx

if TYPE_CHECKING:
    import numpy as np

from catalog.ids import node_id
from catalog.lineage_rows import COLUMNS, ColumnRows, Derivations, LineageRows
from catalog.store import Store
from lineage.row_attrs import RowAttrs, RowLayout

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
    names: list[str] = []
    datasets: dict[int, int] = {}  # store id -> node number (the node's place in `names`)
    node_attrs = graph._node
    layout = RowLayout(DATASET, COLUMNS["datasets"], rows.decoders.get("datasets"))
    for row in rows.datasets:
        node = node_id(DATASET, row[1], row[2])
        datasets[row[0]] = len(names)
        names.append(node)
        node_attrs[node] = RowAttrs(row, layout)
    jobs: dict[int, int] = {}
    for job, namespace, name, description in rows.jobs:
        node = node_id(JOB, namespace, name)
        jobs[job] = len(names)
        names.append(node)
        node_attrs[node] = {"kind": JOB, "namespace": namespace, "name": name, "description": description}
    models: dict[int, int] = {}
    model_columns = COLUMNS["models"]
    kept = [i for i, column in enumerate(model_columns) if column not in ("id", "base_model_id")]
    model_keys = ("kind", "store_id", *(model_columns[i] for i in kept))
    at = {column: i for i, column in enumerate(model_columns)}
    for row in rows.models:
        node = node_id(MODEL, row[at["namespace"]], row[at["name"]], row[at["version"]])
        models[row[at["id"]]] = len(names)
        names.append(node)
        node_attrs[node] = dict(zip(model_keys, (MODEL, row[at["id"]], *(row[i] for i in kept)), strict=True))
    edges = Edges()
    _derivations(rows.derivations, datasets, jobs, names, edges)
    _feeds(rows.feeds, datasets, models, edges)
    base_model = {"kind": "base_model"}
    for row in rows.models:
        if row[at["base_model_id"]] is not None:
            edges.add(models[row[at["base_model_id"]]], models[row[at["id"]]], base_model)
    edges.write(graph, names)
    for dataset_id, *incident in rows.incidents:
        attrs = node_attrs[names[datasets[dataset_id]]]
        if not attrs.incidents:
            attrs.incidents = []
        attrs.incidents.append(dict(zip(INCIDENT_KEYS, incident, strict=True)))
    if rows.columns:
        graph.graph["column_rows"] = _column_rows(rows.columns, datasets, models, names)
    return graph


def _column_rows(rows: ColumnRows, datasets: dict[int, int], models: dict[int, int], names: list[str]) -> ColumnRows:
    """The column-level rows with node ids for store ids (`lineage.columns` indexes them when asked)."""
    def dataset(i: int) -> str:
        return names[datasets[i]]

    return ColumnRows(
        dataset_columns=[(dataset(d), *rest) for d, *rest in rows.dataset_columns if d in datasets],
        column_flows=[(dataset(i), ic, dataset(o), *rest) for i, ic, o, *rest in rows.column_flows
                      if i in datasets and o in datasets],
        features=[(dataset(d), names[models[m]], f) for d, m, f in rows.features if d in datasets and m in models])


INCIDENT_KEYS = tuple(COLUMNS["incidents"][1:])


class Edges:
    """Edges in the order `add_edge` would have inserted them, as node numbers and attribute dicts,
    kept as the chunks they came in (numpy arrays from the derivations, lists from the rest);
    `write` turns them into networkx's adjacency dicts a node at a time, each by one `dict(zip(...))`
    (a Python step per edge took half as long again)."""

    def __init__(self) -> None:
        self.sources: list[list[int] | np.ndarray] = [[]]
        self.targets: list[list[int] | np.ndarray] = [[]]
        self.attrs: list[list[dict] | np.ndarray] = [[]]

    def add(self, source: int, target: int, attrs: dict) -> None:
        self.sources[-1].append(source)
        self.targets[-1].append(target)
        self.attrs[-1].append(attrs)

    def extend(self, sources: "np.ndarray", targets: "np.ndarray", attrs: "np.ndarray | list[dict]") -> None:
        """A chunk as arrays (ints, ints, objects or a list of them), kept as they are: no round trip through lists."""
        self.sources += [sources, []]
        self.targets += [targets, []]
        self.attrs += [attrs, []]

    def write(self, graph: nx.DiGraph, names: list[str]) -> None:
        import numpy as np

        labels = np.array(names, dtype=object)
        attrs = np.concatenate([_objects(chunk) for chunk in self.attrs])
        sources, targets = (np.concatenate([np.asarray(chunk, dtype=np.int64) for chunk in chunks])
                            for chunks in (self.sources, self.targets))
        for adjacency, mine, other in ((graph._succ, sources, targets), (graph._pred, targets, sources)):
            order = np.argsort(mine, kind="stable")  # stable: each node's edges stay in insertion order
            ends = np.searchsorted(mine[order], np.arange(len(names) + 1)).tolist()
            neighbours, values = labels[other[order]].tolist(), attrs[order].tolist()
            for number, node in enumerate(names):
                first, last = ends[number], ends[number + 1]
                adjacency[node] = dict(zip(neighbours[first:last], values[first:last])) if last > first else {}


def _objects(chunk: "list[dict] | np.ndarray") -> "np.ndarray":
    import numpy as np

    if isinstance(chunk, np.ndarray):
        return chunk
    found = np.empty(len(chunk), dtype=object)
    found[:] = chunk
    return found


def _derivations(rows: Derivations, datasets: dict[int, int], jobs: dict[int, int], names: list[str],
                 edges: Edges) -> None:
    """Derivation edges (one per input/output pair, with its jobs and sources in row order) and each
    job's `produces` edge to an output, where `add_edge` per row would have put them.

    Almost every pair has one row: those are found with numpy and their attribute dicts shared by
    (job, source); the few pairs with several rows are gathered in Python."""
    import numpy as np

    if not len(rows):
        return
    inputs, outputs, job = _numbers(datasets, rows.input_id), _numbers(datasets, rows.output_id), _numbers(jobs, rows.job_id)
    if (inputs < 0).any() or (outputs < 0).any():
        raise ValueError("a derivation names a dataset the rows do not hold")
    source, source_names = rows.source, rows.sources
    width = int(max(inputs.max(), outputs.max(), job.max())) + 2
    pair = inputs * width + outputs
    _, first, inverse, count = np.unique(pair, return_index=True, return_inverse=True, return_counts=True)
    shared: dict[tuple[tuple[int, ...], tuple[str, ...]], dict] = {}

    def attrs_of(edge_jobs: tuple[int, ...], edge_sources: tuple[str, ...]) -> dict:
        found = shared.get((edge_jobs, edge_sources))
        if found is None:
            found = shared[(edge_jobs, edge_sources)] = {"kind": "derivation", "jobs": [names[j] for j in edge_jobs],
                                                        "sources": list(edge_sources)}
        return found

    pair_attrs = np.empty(len(first), dtype=object)
    single = np.flatnonzero(count == 1)
    rows_of_single = first[single]
    combination = (job[rows_of_single] + 1) * len(source_names) + source[rows_of_single]
    combinations, which = np.unique(combination, return_inverse=True)
    alike = np.empty(len(combinations), dtype=object)
    alike[:] = [attrs_of(() if c // len(source_names) == 0 else (int(c // len(source_names)) - 1,),
                         (source_names[c % len(source_names)],)) for c in combinations.tolist()]
    pair_attrs[single] = alike[which]
    several = np.flatnonzero(count > 1)
    if len(several):
        by_pair = np.argsort(inverse, kind="stable")
        starts = np.searchsorted(inverse[by_pair], several)
        for number, start, size in zip(several.tolist(), starts.tolist(), count[several].tolist(), strict=True):
            members = by_pair[start:start + size]
            edge_jobs = tuple(dict.fromkeys(int(j) for j in job[members] if j >= 0))
            edge_sources = tuple(dict.fromkeys(source_names[s] for s in source[members]))
            pair_attrs[number] = attrs_of(edge_jobs, edge_sources)
    # Insertion order: a pair's edge at its first row, a job's produces edge at the first row
    # naming that job for that output, just after the row's pair (the former per-row build).
    with_job = np.flatnonzero(job >= 0)
    _, produced_first = np.unique(job[with_job] * width + outputs[with_job], return_index=True)
    produced = with_job[produced_first]
    order_keys = np.concatenate((first * 2, produced * 2 + 1))
    order = np.argsort(order_keys, kind="stable")
    kinds = np.concatenate((np.zeros(len(first), dtype=np.int8), np.ones(len(produced), dtype=np.int8)))[order]
    rows_at = np.concatenate((first, produced))[order]
    edge_sources = np.where(kinds == 0, inputs[rows_at], job[rows_at])
    produces = np.empty(len(produced), dtype=object)
    produces[:] = [{"kind": "produces"}] * len(produced)
    edges.extend(edge_sources, outputs[rows_at], np.concatenate((pair_attrs, produces))[order])


def _numbers(numbering: dict[int, int], ids: "np.ndarray") -> "np.ndarray":
    """Store ids to node numbers; -1 for none (a derivation without a job, or a job not in the store)."""
    import numpy as np

    known = np.fromiter(numbering, dtype=np.int64, count=len(numbering))
    numbers = np.fromiter(numbering.values(), dtype=np.int64, count=len(numbering))
    if not len(known):
        return np.full(len(ids), -1, dtype=np.int64)
    low, high = int(known.min()), int(known.max())
    if low >= 0 and high < 4 * len(known) + 1024:  # store ids are dense: a table, not a search per id
        table = np.full(high + 2, -1, dtype=np.int64)  # the last entry stands for every id out of range
        table[known] = numbers
        return table[np.where((ids >= 0) & (ids <= high), ids, high + 1)]
    order = np.argsort(known)
    known, numbers = known[order], numbers[order]
    place = np.minimum(np.searchsorted(known, ids), len(known) - 1)
    return np.where(known[place] == ids, numbers[place], -1)


def _feeds(rows: list[tuple], datasets: dict[int, int], models: dict[int, int], edges: Edges) -> None:
    """One feed edge per dataset/model pair, with every use of it (in row order), the pairs in the
    order of their first row; alike role lists shared. Pairs grouped with numpy: a Python dict of
    pairs over the reference catalog's 165,000 feeds was a seventh of the build."""
    import numpy as np

    if not rows:
        return
    dataset_ids, model_ids, roles, fingerprints, times = zip(*rows)
    sources = _numbers(datasets, np.array(dataset_ids, dtype=np.int64))
    targets = _numbers(models, np.array(model_ids, dtype=np.int64))
    if (sources < 0).any() or (targets < 0).any():
        raise ValueError("a feed names a dataset or model the rows do not hold")
    _, first, inverse = np.unique(sources * (int(targets.max()) + 1) + targets, return_index=True, return_inverse=True)
    grouped: list[list[dict]] = [[] for _ in range(len(first))]
    for group, role, fingerprint, consumed_at in zip(inverse.tolist(), roles, fingerprints, times):
        grouped[group].append({"role": role, "fingerprint": fingerprint, "consumed_at": consumed_at})
    in_order = np.argsort(first)
    shared: dict[tuple[str, ...], list[str]] = {}
    attrs = []
    for used in (grouped[g] for g in in_order.tolist()):
        key = (used[0]["role"],) if len(used) == 1 else tuple(sorted(u["role"] for u in used))
        attrs.append({"kind": "feed", "uses": used, "roles": shared.setdefault(key, list(key))})
    at = first[in_order]
    edges.extend(sources[at], targets[at], attrs)


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
                graph = present_graph(store)
                entry = _Entry(graph.graph["revision"], graph)
                self._entries[store.url] = entry
                self.builds += 1
        return entry.graph


def present_graph(store: Store) -> nx.DiGraph:
    """The store's graph as it is now, read and built with the cyclic collector off, and frozen.

    The graph lives until the next revision and holds no garbage cycles: `gc.freeze()` keeps the
    collector from walking its millions of objects again and again (on the reference graph a full
    collection takes ~0.8 s, a pause any API request could land in). Frozen before the collector is
    back on, or its first run would walk every new object once anyway (0.3 s on the reference graph).
    """
    with _no_collection():
        rows = store.lineage_rows()
        graph = _build(rows)
        del rows
        gc.freeze()
    return graph


def keep_for_the_revision() -> None:
    """Freeze what a graph-wide cache just built (the name index, the arrays): like the graph, it
    lives until the next revision, and the collector should not walk it again and again. After
    `gc.freeze()` the collector's full runs come often (it counts what is left unfrozen), and each
    walked the 400,000 objects of the reference graph's name index: 40 ms at the API's p99."""
    gc.freeze()


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
