"""What a lineage view shows: the nodes chosen by focus, depth or model, laid out, grouped when too many.

A browser draws a few thousand nodes in a second or two; a whole platform (100,000 datasets) would
hang it. Past `max_nodes` the view collapses nodes into groups of one kind, namespace and column,
with member counts, and says so: the reader sees the shape of the platform and is told how to
focus on the part they care about.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from catalog.errors import ConfigurationError
from catalog.ids import node_id
from lineage import queries
from lineage.graph import DATASET, JOB, MODEL
from lineage.layout import columns, layered

DEFAULT_MAX_NODES = 5_000


@dataclass
class ViewNode:
    """A node or a group as drawn: `key` is what edges and the page's script refer to it by."""

    key: str  # the graph node id, or `group:KIND:NAMESPACE:COLUMN` for a group
    kind: str
    namespace: str
    name: str
    x: float = 0.0
    y: float = 0.0
    members: list[str] = field(default_factory=list)  # graph nodes a group stands for; empty for a node
    aliases: list[str] = field(default_factory=list)  # other names the search finds it by (a model's bare name)

    @property
    def is_group(self) -> bool:
        return bool(self.members)


@dataclass
class ViewEdge:
    """An edge as drawn, between node or group keys."""

    source: str
    target: str
    kind: str
    count: int = 1  # edges between two groups are drawn once, with how many they stand for


@dataclass
class View:
    """What one page shows, and enough about how it was chosen for the page to say so."""

    nodes: list[ViewNode]
    edges: list[ViewEdge]
    selected: int  # graph nodes the selection holds, before any grouping
    focus: str | None
    depth: int | None
    notice: str | None  # said on the page when the view is grouped

    @property
    def grouped(self) -> bool:
        return self.notice is not None

    @property
    def members(self) -> list[str]:
        """Every graph node the view stands for, grouped or not."""
        return [m for node in self.nodes for m in (node.members or [node.key])]


def select(graph: nx.DiGraph, *, focus: str | None = None, depth: int | None = None,
           model: str | None = None) -> tuple[set[str], str | None]:
    """Graph nodes to show, and the node the view is centred on.

    `focus` shows both directions around a node; `model` shows what a model rests on (upstream).
    """
    if depth is not None and depth < 0:
        raise ConfigurationError(f"depth must be 0 or more, not {depth}")
    if focus and model:
        raise ConfigurationError("give either a focus node or a model, not both")
    if depth is not None and not (focus or model):
        raise ConfigurationError("depth counts levels from a node: give a focus node or a model with it")
    if model:
        root = queries.resolve(graph, model, kinds=(MODEL,))
        return {root} | set(queries.upstream(graph, root, depth)), root
    if focus:
        root = queries.resolve(graph, focus)
        return {root} | set(queries.upstream(graph, root, depth)) | set(queries.downstream(graph, root, depth)), root
    return set(graph), None


def build_view(graph: nx.DiGraph, *, focus: str | None = None, depth: int | None = None, model: str | None = None,
               max_nodes: int = DEFAULT_MAX_NODES) -> View:
    """The view a page draws: the selected nodes laid out in columns, or past `max_nodes` groups of
    them, since a browser that draws a whole platform node by node hangs."""
    if max_nodes < 1:
        raise ConfigurationError(f"max_nodes must be at least 1, not {max_nodes}")
    chosen, root = select(graph, focus=focus, depth=depth, model=model)
    kind_of = {n: graph.nodes[n]["kind"] for n in chosen}
    if len(chosen) <= max_nodes:
        layout = layered(graph, kind_of, {n: (graph.nodes[n]["namespace"], graph.nodes[n]["name"]) for n in chosen})
        aliases = _model_aliases(graph, [n for n in chosen if kind_of[n] == "model"])
        nodes = [
            ViewNode(key=n, kind=kind_of[n], namespace=graph.nodes[n]["namespace"], name=_label(graph, n),
                     x=layout.positions[n][0], y=layout.positions[n][1], aliases=aliases.get(n, []))
            for n in sorted(chosen)
        ]
        edges = [ViewEdge(u, v, kind) for u, v, kind in _edges_within(graph, chosen)]
        return View(nodes=nodes, edges=edges, selected=len(chosen), focus=root, depth=depth, notice=None)
    return _grouped(graph, chosen, kind_of, root, depth, max_nodes)


def _model_aliases(graph: nx.DiGraph, models: list[str]) -> dict[str, list[str]]:
    """A model's bare name finds the version `resolve` means by it: its deployed one, else its newest."""
    families: dict[tuple[str, str], list[str]] = {}
    for node in models:
        families.setdefault((graph.nodes[node]["namespace"], graph.nodes[node]["name"]), []).append(node)
    return {queries.preferred_versions(graph, nodes)[-1]: [name, f"{namespace}:{name}", node_id("model", namespace, name)]
            for (namespace, name), nodes in families.items()}


def _label(graph: nx.DiGraph, node: str) -> str:
    """A node's name as drawn: a model version's with its `@VERSION`, so two versions never look like one."""
    attrs = graph.nodes[node]
    return f"{attrs['name']}@{attrs['version']}" if attrs["kind"] == "model" else attrs["name"]


def _edges_within(graph: nx.DiGraph, chosen: set[str]) -> Iterator[tuple[str, str, str]]:
    """Edges between chosen nodes, from the adjacency itself (a subgraph view is far slower)."""
    if len(chosen) == graph.number_of_nodes():
        yield from graph.edges(data="kind")
        return
    succ = graph.succ
    for u in chosen:
        for v, data in succ[u].items():
            if v in chosen:
                yield u, v, data["kind"]


GROUP_BUDGET = 500  # groups a grouped view draws at most (a picture of the platform, not a list)
EDGE_BUDGET = 10_000  # edges between groups: a browser draws this many in well under a second
EDGE_KINDS = ("derivation", "produces", "feed", "base_model")


def _grouped(graph: nx.DiGraph, chosen: set[str], kind_of: dict[str, str], root: str | None, depth: int | None,
             max_nodes: int) -> View:
    """Collapse by kind, namespace and band of columns, widening the bands until the picture is small.

    Each try is a few numpy passes over the edges, so a whole platform (a million edges) is grouped in
    about a second. Without namespaces (too many of them), groups are by kind and band alone.
    """
    nodes_list = list(chosen)
    number = {node: i for i, node in enumerate(nodes_list)}
    column = columns(graph, kind_of)
    kinds = sorted({kind_of[n] for n in nodes_list})
    kind_code = np.array([kinds.index(kind_of[n]) for n in nodes_list], dtype=np.int64)
    namespaces = sorted({graph.nodes[n]["namespace"] for n in nodes_list})
    ns_index = {ns: i for i, ns in enumerate(namespaces)}
    ns_code = np.array([ns_index[graph.nodes[n]["namespace"]] for n in nodes_list], dtype=np.int64)
    col = np.array([column[n] for n in nodes_list], dtype=np.int64)
    triples = np.array([(number[u], number[v], EDGE_KINDS.index(k)) for u, v, k in _edges_within(graph, chosen)],
                       dtype=np.int64).reshape(-1, 3)
    src, dst, edge_kind = triples[:, 0], triples[:, 1], triples[:, 2]
    last = int(col.max(initial=0))
    budget = min(max_nodes, GROUP_BUDGET)
    choice = None
    for by_namespace in (True, False):
        band = 1
        base = kind_code * len(namespaces) + ns_code if by_namespace else kind_code
        while band <= last + 1:
            key = base * (last // band + 1) + col // band
            _, gid = np.unique(key, return_inverse=True)
            groups = int(gid.max(initial=-1)) + 1
            between = gid[src] != gid[dst]
            pairs = np.unique(gid[src][between] * groups + gid[dst][between]).size
            if groups <= budget and pairs <= EDGE_BUDGET:
                choice = (by_namespace, band, gid, groups, between)
                break
            band *= 2
        if choice:
            break
    if choice is None:
        raise ConfigurationError(
            f"{len(chosen):,} nodes cannot be shown even grouped by kind alone; "
            "focus on a node (--focus NODE --depth N) or raise the limit"
        )
    by_namespace, band, gid, groups, between = choice
    members: list[list[str]] = [[] for _ in range(groups)]
    for i, g in enumerate(gid.tolist()):
        members[g].append(nodes_list[i])
    keys, metas = [], []
    for g in range(groups):
        first = number[members[g][0]]
        kind, namespace = kinds[kind_code[first]], namespaces[ns_code[first]] if by_namespace else "all namespaces"
        lo = int(col[first]) // band * band
        keys.append(f"group:{kind}:{namespace}:{lo}" if band == 1 else f"group:{kind}:{namespace}:{lo}-{lo + band - 1}")
        metas.append((kind, namespace, lo))
    code = gid[src][between] * groups + gid[dst][between]
    pair_kind = code * len(EDGE_KINDS) + edge_kind[between]
    found, counts = np.unique(pair_kind, return_counts=True)
    totals: Counter[int] = Counter()
    dominant: dict[int, tuple[int, int]] = {}
    for value, count in zip(found.tolist(), counts.tolist(), strict=True):
        pair, kind_number = divmod(value, len(EDGE_KINDS))
        totals[pair] += count
        if count > dominant.get(pair, (0, 0))[0]:
            dominant[pair] = (count, kind_number)
    grouped = nx.DiGraph()
    grouped.add_nodes_from(keys)
    grouped.add_edges_from((keys[pair // groups], keys[pair % groups]) for pair in totals)
    layout = layered(grouped, {keys[g]: metas[g][0] for g in range(groups)},
                     {keys[g]: (metas[g][1], metas[g][2]) for g in range(groups)})
    nodes = []
    for g in sorted(range(groups), key=lambda g: keys[g]):
        kind, namespace, _ = metas[g]
        noun = {DATASET: "datasets", JOB: "jobs", MODEL: "models"}[kind]
        nodes.append(ViewNode(
            key=keys[g], kind=kind, namespace=namespace, name=f"{namespace} · {len(members[g]):,} {noun}",
            x=layout.positions[keys[g]][0], y=layout.positions[keys[g]][1], members=sorted(members[g]),
        ))
    edges = [ViewEdge(keys[pair // groups], keys[pair % groups], EDGE_KINDS[dominant[pair][1]], count)
             for pair, count in sorted(totals.items())]
    how = ("kind, namespace" if by_namespace else "kind") + (" and column" if band == 1 else f" and bands of {band} columns")
    notice = (
        f"{len(chosen):,} nodes are more than this view draws ({max_nodes:,}): they are grouped by {how} into "
        f"{len(nodes):,} groups. Focus on a node to see it and its neighbours one by one "
        "(headwater view --focus NODE --depth N, or ?focus=NODE&depth=N)."
    )
    return View(nodes=nodes, edges=edges, selected=len(chosen), focus=root, depth=depth, notice=notice)
