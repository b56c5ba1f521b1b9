"""Column-level lineage as a graph of its own: which columns each dataset has, and where their values go.

Built from the store's column rows (`catalog.lineage_rows.ColumnRows`, kept on the graph of record
when it is built) the first time a question needs it, and kept with that graph. Nodes are numbered
so that the table graph's own numbering (`lineage.arrays.topology`) is part of it:

- `i` (0..n-1), a table node: for a dataset, "some column of it is reached" (its *any* node); a model
  is its own node;
- `n + i`, a dataset's *whole* node: every row of it, every column (an INDIRECT flow into the whole
  output, or a hop whose column lineage is unknown);
- `2n + k`, one column of one dataset.

Edges carry a class, which decides what crosses them (`lineage.column_reach`):
- `INTERNAL`: whole -> each column and whole -> any, column -> any; a feed whose model read every
  column (any -> model), or the named `features` (column -> model) and whole -> model; base_model;
- `DIRECT` / `INDIRECT`: a column flow as its producer stated it.
A derivation between two datasets with no column flow between them at all is not an edge here: it
is kept as a pair of table nodes (`assumed_src`, `assumed_dst`), where the table-level rule takes
over, and the reason a finding says "column lineage incomplete: assumed".

A hop counts as known when at least one flow joins its two datasets: a producer that describes
some of an output's columns and not the rest leaves the rest to whatever it did state, which is how
Spark and dbt-ol send the facet. A flow between datasets the table graph does not join (dbt-ol names
seeds in `columnLineage` but not among a run's inputs) is an `UNJOINED_*` edge: column walks show
it, and it carries no condition (a condition reaches only what the table rule lets it reach).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from catalog.lineage_rows import ColumnRows
from lineage.graph import DATASET, MODEL, _no_collection

INTERNAL, DIRECT, INDIRECT = 0, 1, 2
# a flow between datasets the table lineage does not join: shown by column walks, carries no condition
UNJOINED_DIRECT, UNJOINED_INDIRECT = 3, 4
CLASS_OF_KIND = {"DIRECT": DIRECT, "INDIRECT": INDIRECT}
FLOW_CLASSES = {DIRECT: "DIRECT", INDIRECT: "INDIRECT", UNJOINED_DIRECT: "DIRECT", UNJOINED_INDIRECT: "INDIRECT"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str | None
    description: str | None
    classifications: tuple[str, ...]
    position: int | None
    source: str


@dataclass(frozen=True)
class Flow:
    input: str  # dataset node
    input_column: str
    output: str
    output_column: str  # '' for the whole output
    kind: str  # DIRECT | INDIRECT
    subtype: str | None
    masking: bool
    source: str


@dataclass
class ColumnGraph:
    """The column graph's arrays (CSR by source) and what its numbers stand for."""

    n: int  # table nodes
    nodes: np.ndarray  # table node ids, object array (graph order)
    number: dict[str, int]
    columns: dict[str, dict[str, Column]]  # dataset -> name -> column, in position order
    flows_into: dict[str, list[Flow]]  # output dataset -> its flows
    flows_from: dict[str, list[Flow]]  # input dataset -> the flows out of it
    features: dict[tuple[str, str], tuple[str, ...]]  # (dataset, model) -> columns the model read
    column_number: dict[tuple[str, str], int]  # (dataset, column) -> node number (2n + k)
    column_of: list[tuple[str, str]]  # k -> (dataset, column)
    out_ptr: np.ndarray
    out_dst: np.ndarray
    out_class: np.ndarray  # int8
    in_ptr: np.ndarray
    in_src: np.ndarray  # sources of each node's in-edges (CSR by target)
    in_class: np.ndarray
    level: np.ndarray | None  # longest-path level; None on a cycle
    assumed_src: np.ndarray  # the derivations without any column flow (table node numbers): where the
    assumed_dst: np.ndarray  # table rule takes over (`lineage.column_reach`)
    known_hops: set[tuple[str, str]] = field(default_factory=set)
    topology: Any = None  # the table graph's arrays (`lineage.arrays.Topology`) it was built on

    @property
    def size(self) -> int:
        return len(self.out_ptr) - 1

    def label(self, x: int) -> tuple[str, str | None]:
        """(node, column) of a column-graph node: column None for a table node, '' for a whole node."""
        if x < self.n:
            return str(self.nodes[x]), None
        if x < 2 * self.n:
            return str(self.nodes[x - self.n]), ""
        return self.column_of[x - 2 * self.n]


def column_graph(graph: nx.DiGraph) -> ColumnGraph:
    """The graph's column graph, built on first use and kept with it (as `lineage.arrays.topology`)."""
    key = (id(graph), len(graph))
    cached = graph.graph.get("_column_graph")
    if cached is None or cached[0] != key:
        from lineage.graph import keep_for_the_revision

        with _no_collection():
            cached = (key, _build(graph, graph.graph.get("column_rows") or ColumnRows()))
        graph.graph["_column_graph"] = cached
        keep_for_the_revision()  # millions of column and flow objects: the collector must not walk them again
    return cached[1]


def has_columns(graph: nx.DiGraph) -> bool:
    """Whether the catalog knows anything at column level (most stores do not: nothing to build)."""
    return bool(graph.graph.get("column_rows"))


def _build(graph: nx.DiGraph, rows: ColumnRows) -> ColumnGraph:
    from lineage.arrays import KIND_CODES, levels, topology

    topo = topology(graph)
    n = len(topo.nodes)
    number = topo.number
    columns: dict[str, dict[str, Column]] = {}
    for dataset, name, type_, description, classes, position, source in sorted(
            rows.dataset_columns, key=lambda r: (r[0], r[5] is None, r[5] or 0, r[1])):
        columns.setdefault(dataset, {})[name] = Column(name, type_, description, tuple(classes or ()), position, source)
    flows_into: dict[str, list[Flow]] = {}
    flows_from: dict[str, list[Flow]] = {}
    for row in rows.column_flows:
        flow = Flow(*row[:6], bool(row[6]), row[7])
        flows_into.setdefault(flow.output, []).append(flow)
        flows_from.setdefault(flow.input, []).append(flow)
    features = {(d, m): tuple(dict.fromkeys(str(c) for c in f)) for d, m, f in rows.features if f}
    column_number: dict[tuple[str, str], int] = {}
    column_of: list[tuple[str, str]] = []

    def col(dataset: str, name: str) -> int:
        x = column_number.get((dataset, name))
        if x is None:
            x = column_number[(dataset, name)] = 2 * n + len(column_of)
            column_of.append((dataset, name))
        return x

    src: list[int] = []
    dst: list[int] = []
    cls: list[int] = []

    def edge(a: int, b: int, c: int) -> None:
        src.append(a)
        dst.append(b)
        cls.append(c)

    for dataset, named in columns.items():
        for name in named:
            col(dataset, name)
    known: set[tuple[str, str]] = set()
    for output, flows in flows_into.items():
        for flow in flows:
            if flow.input not in number or output not in number:
                continue
            target = n + number[output] if flow.output_column == "" else col(output, flow.output_column)
            joined = output in graph._succ[flow.input]
            kind = CLASS_OF_KIND.get(flow.kind, DIRECT)
            edge(col(flow.input, flow.input_column), target, kind if joined else kind + 2)
            if joined:
                known.add((flow.input, output))
    for (dataset, model), wanted in features.items():
        if dataset in number and model in number:
            for name in wanted:
                edge(col(dataset, name), number[model], INTERNAL)
    k = len(column_of)
    columns_at = np.fromiter((number[d] for d, _ in column_of), dtype=np.int64, count=k)
    kind = topo.kind
    is_dataset = np.flatnonzero(kind == KIND_CODES[DATASET])
    # table edges: derivations without a flow become assumed hops; feeds; base models
    down = topo.down
    t_src = np.repeat(np.arange(n, dtype=np.int64), np.diff(down.indptr))
    t_dst = down.indices.astype(np.int64)
    ks, kd = kind[t_src], kind[t_dst]
    derivation = (ks == KIND_CODES[DATASET]) & (kd == KIND_CODES[DATASET])
    if known:
        pairs = np.array([number[a] * n + number[b] for a, b in known], dtype=np.int64)
        derivation &= ~np.isin(t_src * n + t_dst, pairs)
    feed = (ks == KIND_CODES[DATASET]) & (kd == KIND_CODES[MODEL])
    if features:
        named = np.array([number[d] * n + number[m] for d, m in features if d in number and m in number],
                         dtype=np.int64)
        chosen = feed & np.isin(t_src * n + t_dst, named)
        feed &= ~chosen
        whole_feeds = (n + t_src[chosen], t_dst[chosen])
    else:
        whole_feeds = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    base = (ks == KIND_CODES[MODEL]) & (kd == KIND_CODES[MODEL])
    parts = [
        (np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64), np.array(cls, dtype=np.int8)),
        (n + is_dataset, is_dataset, INTERNAL),  # whole -> any
        (n + columns_at, 2 * n + np.arange(k, dtype=np.int64), INTERNAL),  # whole -> column
        (2 * n + np.arange(k, dtype=np.int64), columns_at, INTERNAL),  # column -> any
        (t_src[feed], t_dst[feed], INTERNAL),  # any -> model: the model read every column
        (*whole_feeds, INTERNAL),  # whole -> a model that read named columns
        (t_src[base], t_dst[base], INTERNAL),
    ]
    a = np.concatenate([p[0] for p in parts])
    b = np.concatenate([p[1] for p in parts])
    c = np.concatenate([np.broadcast_to(np.asarray(p[2], dtype=np.int8), p[0].shape) for p in parts])
    size = 2 * n + k
    order = np.argsort(a, kind="stable")
    out_ptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(a, minlength=size), out=out_ptr[1:])
    out_dst, out_class = b[order], c[order]
    by_target = np.argsort(b, kind="stable")
    in_ptr = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(b, minlength=size), out=in_ptr[1:])
    return ColumnGraph(n=n, nodes=topo.nodes, number=number, columns=columns, flows_into=flows_into,
                       flows_from=flows_from,
                       features=features, column_number=column_number, column_of=column_of, out_ptr=out_ptr,
                       out_dst=out_dst, out_class=out_class, in_ptr=in_ptr, in_src=a[by_target],
                       in_class=c[by_target], level=levels(size, out_ptr, out_dst),
                       assumed_src=t_src[derivation], assumed_dst=t_dst[derivation], known_hops=known,
                       topology=topo)


def classified(cg: ColumnGraph, dataset: str, wanted: Iterable[str]) -> list[str]:
    """The dataset's columns carrying any of the `wanted` classifications, in column order."""
    wanted = set(wanted)
    return [name for name, column in cg.columns.get(dataset, {}).items() if wanted & set(column.classifications)]


@dataclass(frozen=True)
class ColumnStep:
    dataset: str
    column: str  # '' for the whole dataset
    kind: str  # DIRECT or INDIRECT, as the flow into (or out of) it said
    depth: int


def column_walk(cg: ColumnGraph, dataset: str, column: str, direction: str, depth: int | None = None) -> list[ColumnStep]:
    """The columns upstream or downstream of one column along known flows, nearest first.

    A whole-dataset flow (a filter or join key) reaches the output as a whole (column '') and, going
    downstream, nothing further: what it shaped is every row, not a column that flows on. Going
    upstream, a column also depends on the flows into its dataset as a whole, noted INDIRECT.
    """
    start = cg.column_number.get((dataset, column))
    if start is None:
        return []
    seen = {start: ("DIRECT", 0)}
    frontier = [start]
    found: list[ColumnStep] = []
    level = 0
    while frontier and (depth is None or level < depth):
        level += 1
        following = []
        for x in frontier:
            for y, c in _flow_neighbours(cg, x, direction):
                if y in seen:
                    continue
                kind = "INDIRECT" if FLOW_CLASSES[c] == "INDIRECT" or seen[x][0] == "INDIRECT" else "DIRECT"
                seen[y] = (kind, level)
                node, name = cg.label(y)
                if name != "" or direction == "downstream":  # upstream, a whole node is a step, not an answer
                    found.append(ColumnStep(node, name or "", kind, level))
                if name != "" or direction == "upstream":  # downstream, a whole node ends the walk
                    following.append(y)
        frontier = following
    return sorted(found, key=lambda s: (s.depth, s.dataset, s.column))


def _flow_neighbours(cg: ColumnGraph, x: int, direction: str) -> list[tuple[int, int]]:
    """The flow edges out of (downstream) or into (upstream) one column or whole node."""
    n = cg.n
    found: list[tuple[int, int]] = []
    if direction == "downstream":
        lo, hi = cg.out_ptr[x], cg.out_ptr[x + 1]
        found = [(int(y), int(c)) for y, c in zip(cg.out_dst[lo:hi], cg.out_class[lo:hi], strict=True)
                 if c in FLOW_CLASSES]
    else:
        lo, hi = cg.in_ptr[x], cg.in_ptr[x + 1]
        found = [(int(y), int(c)) for y, c in zip(cg.in_src[lo:hi], cg.in_class[lo:hi], strict=True)
                 if c in FLOW_CLASSES]
        if x >= 2 * n:  # a column also depends on what shaped its whole dataset
            whole = n + cg.number[cg.column_of[x - 2 * n][0]]
            found.append((whole, INDIRECT))
    return found
