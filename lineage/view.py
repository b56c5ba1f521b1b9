"""What a lineage view shows: the nodes chosen by focus, depth or model, laid out, grouped when too many.

A browser draws a few thousand nodes in a second or two; a whole platform (100,000 datasets) would
hang it. Past `max_nodes` the view collapses nodes into groups of one kind, namespace and column,
with member counts, and says so: the reader sees the shape of the platform and is told how to
focus on the part they care about.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import networkx as nx

from catalog.errors import ConfigurationError
from lineage import queries
from lineage.graph import DATASET, JOB, MODEL
from lineage.layout import columns, layered

DEFAULT_MAX_NODES = 5_000


@dataclass
class ViewNode:
    key: str  # the graph node id, or `group:KIND:NAMESPACE:COLUMN` for a group
    kind: str
    namespace: str
    name: str
    x: float = 0.0
    y: float = 0.0
    members: list[str] = field(default_factory=list)  # graph nodes a group stands for; empty for a node

    @property
    def is_group(self) -> bool:
        return bool(self.members)


@dataclass
class ViewEdge:
    source: str
    target: str
    kind: str
    count: int = 1  # edges between two groups are drawn once, with how many they stand for


@dataclass
class View:
    nodes: list[ViewNode]
    edges: list[ViewEdge]
    selected: int  # graph nodes the selection holds, before any grouping
    focus: str | None
    depth: int | None
    notice: str | None  # said on the page when the view is grouped

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
    if max_nodes < 1:
        raise ConfigurationError(f"max_nodes must be at least 1, not {max_nodes}")
    chosen, root = select(graph, focus=focus, depth=depth, model=model)
    sub = graph.subgraph(chosen)
    kind_of = {n: graph.nodes[n]["kind"] for n in chosen}
    if len(chosen) <= max_nodes:
        layout = layered(sub, kind_of, {n: (graph.nodes[n]["namespace"], graph.nodes[n]["name"]) for n in chosen})
        nodes = [
            ViewNode(key=n, kind=kind_of[n], namespace=graph.nodes[n]["namespace"], name=graph.nodes[n]["name"],
                     x=layout.positions[n][0], y=layout.positions[n][1])
            for n in sorted(chosen)
        ]
        edges = [ViewEdge(u, v, data["kind"]) for u, v, data in sub.edges(data=True)]
        return View(nodes=nodes, edges=edges, selected=len(chosen), focus=root, depth=depth, notice=None)
    return _grouped(graph, sub, kind_of, root, depth, max_nodes)


def _grouped(graph: nx.DiGraph, sub: nx.DiGraph, kind_of: dict[str, str], root: str | None, depth: int | None,
             max_nodes: int) -> View:
    """Collapse by kind, namespace and column; by kind and column alone if namespaces are too many."""
    column = columns(sub, kind_of)
    for by_namespace in (True, False):
        groups: dict[tuple[str, str, int], list[str]] = defaultdict(list)
        for node in sub:
            namespace = graph.nodes[node]["namespace"] if by_namespace else "all namespaces"
            groups[(kind_of[node], namespace, column[node])].append(node)
        if len(groups) <= max_nodes:
            break
    else:
        raise ConfigurationError(
            f"{len(sub):,} nodes cannot be shown even grouped ({len(groups):,} groups > {max_nodes:,}); "
            "focus on a node (--focus NODE --depth N) or raise the limit"
        )
    keys = {g: f"group:{g[0]}:{g[1]}:{g[2]}" for g in groups}
    group_of = {member: keys[group] for group, members in groups.items() for member in members}
    counts: Counter[tuple[str, str, str]] = Counter()
    for u, v, data in sub.edges(data=True):
        gu, gv = group_of[u], group_of[v]
        if gu != gv:
            counts[(gu, gv, data["kind"])] += 1
    grouped = nx.DiGraph()
    grouped.add_nodes_from(keys.values())
    grouped.add_edges_from((u, v) for u, v, _ in counts)
    layout = layered(grouped, {keys[g]: g[0] for g in groups}, {keys[g]: (g[1], g[2]) for g in groups})
    nodes = []
    for (kind, namespace, col), members in sorted(groups.items()):
        key = keys[(kind, namespace, col)]
        noun = {DATASET: "datasets", JOB: "jobs", MODEL: "models"}[kind]
        nodes.append(ViewNode(
            key=key, kind=kind, namespace=namespace, name=f"{namespace} · {len(members):,} {noun}",
            x=layout.positions[key][0], y=layout.positions[key][1], members=sorted(members),
        ))
    edges = [ViewEdge(u, v, kind, count) for (u, v, kind), count in sorted(counts.items())]
    how = "kind, namespace and column" if by_namespace else "kind and column"
    notice = (
        f"{len(sub):,} nodes are more than this view draws ({max_nodes:,}): they are grouped by {how} into "
        f"{len(nodes):,} groups. Focus on a node to see it and its neighbours one by one "
        "(headwater view --focus NODE --depth N, or ?focus=NODE&depth=N)."
    )
    return View(nodes=nodes, edges=edges, selected=len(sub), focus=root, depth=depth, notice=notice)
