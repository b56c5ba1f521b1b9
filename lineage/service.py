"""What the CLI and the API call: one function per question, each returning a pydantic result.

Every answer is computed on the cached lineage graph (lineage/graph.py), rebuilt only when the store
revision moves, so a question costs a walk in memory rather than a recursive query per hop.
"""

from __future__ import annotations

from collections import Counter
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING

import networkx as nx
from pydantic import TypeAdapter

from catalog import service as catalog
from catalog.ids import Kind, NodeId
from catalog.store import Store
from lineage import queries
from lineage.graph import CACHE, DATASET, JOB, MODEL, PAST
from lineage.results import (
    AffectedModel, ImpactResult, LineageResult, LineageSummary, ModelSummary, NodeRef, PathResult, Reached, TreeNode,
)

if TYPE_CHECKING:
    import numpy as np

    from lineage.arrays import Topology

DEFAULT_PATH_LIMIT = 10
# Validating a list of plain dicts runs in pydantic's Rust core: three times faster than
# `model_construct` per item, for the thousand datasets an impact lists.
_REACHED = TypeAdapter(list[Reached])


def graph_of(store: Store, as_of: datetime | None = None) -> nx.DiGraph:
    """The store's lineage graph, shared by every caller in the process until the store changes;
    with `as_of`, the graph as the catalog held it then (the present's when nothing changed since)."""
    if as_of is None:
        pinned = _PINNED.get()
        return pinned[1] if pinned is not None and pinned[0] == store.url else CACHE.graph(store)
    revision = store.revision()
    past = PAST.graph(store, as_of, revision)
    return past if past is not None else CACHE.graph(store, revision)


_PINNED: ContextVar[tuple[str, nx.DiGraph] | None] = ContextVar("headwater_pinned_graph", default=None)


def pin_graph(store: Store) -> nx.DiGraph:
    """The store's present graph, fixed for the rest of the current context (one API read runs in a
    thread of its own): the read sees one revision throughout, and asks for it once rather than at
    every `graph_of`. Only reads pin: a writer must see what it wrote."""
    graph = CACHE.graph(store)
    _PINNED.set((store.url, graph))
    return graph


def resolve(store: Store, reference: str, kind: Kind) -> NodeId:
    """The dataset or model version a user's reference names: an id, `NAMESPACE:NAME`, or an unambiguous
    bare name; a model named without `@VERSION` is its newest deployed version, else its newest.

    An id or `NAMESPACE:NAME` that the store holds is looked up by its key, with no graph: a GET of
    one entry must not wait for the whole graph to be built, and a name holding `:` (written `%3A`
    in ids) is found whatever form the graph's node ids take. Anything else (a bare name, or a
    reference to nothing) is resolved on the graph, which knows every name and suggests close ones.
    """
    try:
        key: NodeId | None = NodeId.parse(reference, kind)
    except ValueError:
        key = None
    if key is not None and (kind != "model" or key.version is not None) and catalog.exists(store, key):
        return key
    graph = graph_of(store)
    attrs = graph.nodes[queries.resolve(graph, reference, kinds=(kind,))]
    return NodeId(kind, attrs["namespace"], attrs["name"], attrs.get("version") if kind == MODEL else None)


def ref(graph: nx.DiGraph, node: str) -> NodeRef:
    """How an answer names a node: its id with its kind, namespace and name spelt out. Made once per
    graph (which is rebuilt, never edited, when the store changes) and shared by every answer naming
    the node: an impact lists a thousand of them."""
    refs = graph.graph.setdefault("_refs", {})
    found = refs.get(node)
    if found is None:
        attrs = graph._node[node]
        # constructed, not validated: every field comes from the graph, which the store's schema already
        # holds to these types, and validating hundreds of refs per answer was a fifth of a request's time
        found = refs[node] = NodeRef.model_construct(
            id=node, kind=attrs["kind"], namespace=attrs["namespace"], name=attrs["name"],
            version=attrs.get("version") if attrs["kind"] == MODEL else None)
    return found


def lineage(store: Store, node: str, *, direction: str = "upstream", depth: int | None = None,
            as_of: datetime | None = None) -> LineageResult:
    """Everything up- or downstream of `node` to `depth` levels, twice: a flat list with distances (for
    tables) and a tree (for drawing), in which a node reached again is marked `repeated`, not expanded."""
    graph = graph_of(store, as_of)
    return lineage_on(graph, queries.resolve(graph, node), direction, depth)


def lineage_on(graph: nx.DiGraph, root: str, direction: str, depth: int | None) -> LineageResult:
    """`lineage` on a graph, from a resolved root: what `lineage.lineage_json` must write byte for byte."""
    reached = queries.reachable(graph, root, direction, depth)

    refs: dict[str, NodeRef] = {}

    def named(node: str) -> NodeRef:
        found = refs.get(node)
        if found is None:
            found = refs[node] = ref(graph, node)
        return found

    def convert(entry: dict) -> TreeNode:
        return TreeNode.model_construct(node=named(entry["id"]), repeated=entry["repeated"],
                                        children=[convert(child) for child in entry["children"]])

    return LineageResult(
        root=named(root),
        direction=direction,  # type: ignore[arg-type]
        depth=depth,
        nodes=[Reached.model_construct(node=named(n), distance=d)
               for n, d in sorted(reached.items(), key=lambda x: (x[1], x[0]))],
        tree=convert(queries.tree(graph, root, direction, depth)),
    )


def impact(store: Store, dataset: str, *, path_limit: int = DEFAULT_PATH_LIMIT, limit: int | None = None,
           offset: int = 0, dataset_limit: int | None = None, as_of: datetime | None = None) -> ImpactResult:
    """Every model and dataset downstream of `dataset`, with the paths that reach each model.

    `limit`/`offset` page the models (ordered by distance, then id); paths are searched only for the
    models on the page, which is what keeps a hub's impact (thousands of models) fast over the API.
    `dataset_limit` keeps the nearest datasets only (a hub reaches half the platform).
    """
    graph = graph_of(store, as_of)
    root = queries.resolve(graph, dataset, kinds=(DATASET,))
    on = _impact_on_arrays if len(graph) >= queries.ARRAY_WALK_NODES else _impact_in_python
    return on(graph, root, path_limit, limit, offset, dataset_limit)


def _impact_in_python(graph: nx.DiGraph, root: str, path_limit: int, limit: int | None, offset: int,
                      dataset_limit: int | None) -> ImpactResult:
    """`impact` on the graph's dicts: cheaper than building the arrays on a small graph."""
    reached = queries.downstream(graph, root)
    within = set(reached)
    counts = queries.count_paths(graph, root, within)
    affected = sorted(((d, n) for n, d in reached.items() if graph.nodes[n]["kind"] == MODEL))
    page = affected[offset:None if limit is None else offset + limit]
    models = []
    for distance, node in page:
        attrs = graph.nodes[node]
        models.append(AffectedModel(
            model=ref(graph, node), version=attrs.get("version"), risk_tier=attrs.get("risk_tier"),
            deployed=bool(attrs.get("deployed")), distance=distance,
            path_count=counts.get(node) if counts is not None else None,
            paths=queries.paths_between(graph, root, node, path_limit, within),
        ))
    downstream_datasets = sorted((d, n) for n, d in reached.items() if graph.nodes[n]["kind"] == DATASET)
    datasets = [Reached.model_construct(node=ref(graph, n), distance=d) for d, n in downstream_datasets[:dataset_limit]]
    return ImpactResult(root=ref(graph, root), revision=graph.graph["revision"], models=models, datasets=datasets,
                        models_total=len(affected), datasets_total=len(downstream_datasets), offset=offset, limit=limit)


def _impact_on_arrays(graph: nx.DiGraph, root: str, path_limit: int, limit: int | None, offset: int,
                      dataset_limit: int | None) -> ImpactResult:
    """`impact` on the graph's arrays (`lineage.arrays`): the same answer, without a Python step per
    reached node; only the page's models and the listed datasets become objects."""
    import numpy as np

    from lineage import arrays

    topo = arrays.topology(graph)
    start = topo.number[root]
    found, steps = arrays.reach(topo, start, "downstream")
    kinds = topo.kind[found]
    stop = None if limit is None else offset + limit
    models_found, model_distance, models_total = _nearest(topo, found, steps, kinds == arrays.KIND_CODES[MODEL], stop)
    page, page_distance = models_found[offset:stop].tolist(), model_distance[offset:stop].tolist()
    counts = arrays.path_counts(topo, start) if page else None
    exact = None
    if page and counts is None:  # a cycle: counted in Python, which says there is no count
        within = set(topo.nodes[found].tolist())
        exact = queries.count_paths(graph, root, within)
    distance = np.full(len(topo.nodes), -1, dtype=np.int64)
    distance[found], distance[start] = steps, 0
    within_set: set[str] | None = None
    firsts = arrays.first_shortest_paths(topo, start, page, distance) if path_limit == 1 else []
    models = []
    for i, (number, d) in enumerate(zip(page, page_distance, strict=True)):
        node = topo.nodes[number]
        attrs = graph.nodes[node]
        if path_limit == 1:
            paths = [topo.nodes[firsts[i]].tolist()]
        else:
            if within_set is None:
                within_set = set(topo.nodes[found].tolist())
            paths = queries.paths_between(graph, root, node, path_limit, within_set)
        models.append(AffectedModel(
            model=ref(graph, node), version=attrs.get("version"), risk_tier=attrs.get("risk_tier"),
            deployed=bool(attrs.get("deployed")), distance=d,
            path_count=counts.of(number) if counts is not None else (exact.get(node) if exact is not None else None),
            paths=paths,
        ))
    datasets_found, dataset_distance, datasets_total = _nearest(topo, found, steps, kinds == arrays.KIND_CODES[DATASET],
                                                                dataset_limit)
    datasets = _REACHED.validate_python([{"node": ref(graph, n), "distance": d} for n, d in
                                         zip(topo.nodes[datasets_found].tolist(), dataset_distance.tolist(), strict=True)])
    return ImpactResult(root=ref(graph, root), revision=graph.graph["revision"], models=models, datasets=datasets,
                        models_total=models_total, datasets_total=datasets_total, offset=offset, limit=limit)


def _nearest(topo: Topology, found: np.ndarray, steps: np.ndarray, mine: np.ndarray,
             stop: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    """The first `stop` of the nodes selected by `mine`, by distance then id, and how many there are.

    `found` comes nearest first (a breadth-first order), so only the distances up to the one at
    `stop` need sorting by id: the thousand nearest of a hub's 45,000 datasets, not all of them.
    """
    import numpy as np

    nodes, distance = found[mine], steps[mine]
    if stop is not None and stop < len(nodes):
        cut = int(np.searchsorted(distance, distance[stop - 1], side="right")) if stop > 0 else 0
        nodes, distance = nodes[:cut], distance[:cut]
    order = np.lexsort((topo.rank[nodes], distance))[:stop]
    return nodes[order], distance[order], int(mine.sum())


def path(store: Store, source: str, target: str, *, limit: int = DEFAULT_PATH_LIMIT,
         as_of: datetime | None = None) -> PathResult:
    """Up to `limit` paths from `source` to `target`, and how many there are in all: counted without
    listing them, because between hubs there can be millions."""
    graph = graph_of(store, as_of)
    start, end = queries.resolve(graph, source), queries.resolve(graph, target)
    within = set(queries.downstream(graph, start))
    count: int | None = 0
    if end in within:
        counted = None
        if len(graph) >= queries.ARRAY_WALK_NODES:
            from lineage import arrays

            topo = arrays.topology(graph)
            counted = arrays.path_counts(topo, topo.number[start])
        if counted is not None:
            count = counted.of(topo.number[end])
        else:  # a small graph, or a cycle (then there is no count)
            counts = queries.count_paths(graph, start, within)
            count = counts.get(end, 0) if counts is not None else None
    return PathResult(source=ref(graph, start), target=ref(graph, end), path_count=count,
                      paths=queries.paths_between(graph, start, end, limit, within))


def summary(store: Store) -> LineageSummary:
    """The catalog at a glance: counts, where data comes from, and what each model rests on."""
    graph = graph_of(store)
    kinds = Counter(attrs["kind"] for _, attrs in graph.nodes(data=True))
    datasets = [n for n, a in graph.nodes(data=True) if a["kind"] == DATASET]
    sources = [n for n in datasets if _is_source(graph, n)]
    models = []
    for node, attrs in sorted(graph.nodes(data=True)):
        if attrs["kind"] != MODEL:
            continue
        ups = queries.upstream(graph, node)
        up_datasets = [n for n in ups if graph.nodes[n]["kind"] == DATASET]
        models.append(ModelSummary(
            model=ref(graph, node), version=attrs.get("version"), risk_tier=attrs.get("risk_tier"),
            deployed=bool(attrs.get("deployed")),
            direct=sorted(n for n in graph.predecessors(node) if graph.nodes[n]["kind"] == DATASET),
            sources=sorted(n for n in up_datasets if _is_source(graph, n)),
            upstream_datasets=len(up_datasets),
        ))
    return LineageSummary(
        revision=graph.graph["revision"], datasets=kinds[DATASET], jobs=kinds[JOB], models=kinds[MODEL],
        edges=graph.number_of_edges(), sources=len(sources),
        by_origin=dict(Counter(graph.nodes[n].get("origin") or "undeclared" for n in sources)),
        model_summaries=models,
    )


def _is_source(graph: nx.DiGraph, node: str) -> bool:
    """A dataset no other dataset derives: where data enters the platform."""
    return not any(graph.nodes[p]["kind"] == DATASET for p in graph.predecessors(node))
