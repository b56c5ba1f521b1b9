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
    from lineage.impact import ImpactFound

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
    on = _impact_on_arrays if len(graph) >= queries.ARRAY_PATHS_NODES else _impact_in_python
    return on(graph, root, path_limit, limit, offset, dataset_limit)


def impact_json(store: Store, dataset: str, *, path_limit: int = DEFAULT_PATH_LIMIT, limit: int | None = None,
                offset: int = 0, dataset_limit: int | None = None, as_of: datetime | None = None) -> str:
    """`impact(...).model_dump_json()`, written directly when the graph is large enough for arrays."""
    graph = graph_of(store, as_of)
    if len(graph) < queries.ARRAY_PATHS_NODES:  # small: the dict walk, dumped by pydantic, is cheap
        return impact(store, dataset, path_limit=path_limit, limit=limit, offset=offset, dataset_limit=dataset_limit,
                      as_of=as_of).model_dump_json()
    from lineage.impact import find_on_arrays, found_json

    root = queries.resolve(graph, dataset, kinds=(DATASET,))
    return found_json(graph, find_on_arrays(graph, root, path_limit, limit, offset, dataset_limit))


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
    """`impact` on the graph's arrays (`lineage.impact`): the same answer, without a Python step per
    reached node."""
    from lineage.impact import find_on_arrays

    return as_result(graph, find_on_arrays(graph, root, path_limit, limit, offset, dataset_limit))


def as_result(graph: nx.DiGraph, found: ImpactFound) -> ImpactResult:
    """What `lineage.impact` found, as the pydantic answer (`lineage.impact.found_json` writes its JSON)."""
    models = []
    for model in found.models:
        attrs = graph.nodes[model.node]
        models.append(AffectedModel(
            model=ref(graph, model.node), version=attrs.get("version"), risk_tier=attrs.get("risk_tier"),
            deployed=bool(attrs.get("deployed")), distance=model.distance, path_count=model.path_count,
            paths=model.paths))
    datasets = _REACHED.validate_python([{"node": ref(graph, n), "distance": d} for n, d in
                                         zip(found.datasets, found.dataset_distances, strict=True)])
    return ImpactResult(root=ref(graph, found.root), revision=found.revision, models=models, datasets=datasets,
                        models_total=found.models_total, datasets_total=found.datasets_total, offset=found.offset,
                        limit=found.limit)


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
        if len(graph) >= queries.ARRAY_PATHS_NODES:
            from lineage import arrays
            from lineage.path_counts import path_counts

            topo = arrays.topology(graph)
            counted = path_counts(topo, topo.number[start])
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
