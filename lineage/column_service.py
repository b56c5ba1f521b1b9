"""Column-level lineage answers: `headwater lineage DATASET.COLUMN` and `GET /api/v1/column-lineage/{dataset}`.

One answer for both questions, as Marquez's column-lineage endpoint gives one graph: a dataset's
columns with the flows into and out of it, and, when a column is named, every column up- or
downstream of it along known flows. What column lineage cannot say is said too: the datasets the
table lineage joins to this one with no column flow at all (`unknown_inputs`, `unknown_outputs`),
which is where a column walk stops short of the truth.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import networkx as nx
from pydantic import BaseModel, Field

from catalog.errors import NotFound
from catalog.store import Store
from lineage import queries
from lineage.columns import ColumnGraph, column_graph, column_walk, has_columns
from lineage.graph import DATASET
from lineage.service import graph_of


class ColumnShown(BaseModel):
    name: str
    type: str | None = None
    description: str | None = None
    classifications: list[str] = Field(default_factory=list)
    source: str | None = Field(None, description="who declared it: catalog, openlineage, dbt, check; null when only "
                                                 "a flow names it")


class ColumnFlowShown(BaseModel):
    input: str = Field(description="the input dataset's id")
    input_column: str
    output: str = Field(description="the output dataset's id")
    output_column: str = Field(description="'' when the flow shapes the whole output (a filter, join or group-by key)")
    kind: Literal["DIRECT", "INDIRECT"]
    subtype: str | None = None
    masking: bool = False
    source: str


class ColumnStepShown(BaseModel):
    dataset: str
    column: str = Field(description="'' for the whole dataset")
    kind: Literal["DIRECT", "INDIRECT"] = Field(description="INDIRECT when some flow on the way is a filter, join or group-by")
    distance: int


class ColumnLineageResult(BaseModel):
    dataset: str
    revision: int
    columns: list[ColumnShown]
    inputs: list[ColumnFlowShown] = Field(description="the column flows into the dataset")
    outputs: list[ColumnFlowShown] = Field(description="the column flows out of it")
    unknown_inputs: list[str] = Field(description="upstream datasets joined to it with no column lineage")
    unknown_outputs: list[str] = Field(description="downstream datasets joined to it with no column lineage")
    column: str | None = Field(None, description="the column walked from, when one was asked for")
    direction: Literal["upstream", "downstream"] | None = None
    steps: list[ColumnStepShown] = Field(default_factory=list, description="the columns reached, nearest first")


def column_lineage(store: Store, dataset: str, *, column: str | None = None, direction: str = "upstream",
                   depth: int | None = None, as_of: datetime | None = None) -> ColumnLineageResult:
    graph = graph_of(store, as_of)
    return column_lineage_on(graph, queries.resolve(graph, dataset, kinds=(DATASET,)), column, direction, depth)


def split_reference(store: Store, reference: str, as_of: datetime | None = None) -> tuple[str, str | None]:
    """`DATASET.COLUMN` or a dataset: a dataset's own name may hold dots (dbt's `db.schema.table`), so
    the whole reference is tried as a dataset first, then everything before the last dot."""
    graph = graph_of(store, as_of)
    try:
        return queries.resolve(graph, reference), None
    except NotFound:
        head, dot, tail = reference.rpartition(".")
        if not dot:
            raise
    node = queries.resolve(graph, head, kinds=(DATASET,))
    if not has_columns(graph) or (node, tail) not in column_graph(graph).column_number:
        raise NotFound(f"{node} has no column {tail!r} (and no node is named {reference!r})")
    return node, tail


def column_lineage_on(graph: nx.DiGraph, node: str, column: str | None, direction: str,
                      depth: int | None) -> ColumnLineageResult:
    if not has_columns(graph) and column is None:  # nothing known at column level: no column graph to build
        inputs = sorted(n for n in graph._pred[node] if graph._node[n]["kind"] == DATASET)
        outputs = sorted(n for n in graph._succ[node] if graph._node[n]["kind"] == DATASET)
        return ColumnLineageResult(dataset=node, revision=graph.graph["revision"], columns=[], inputs=[], outputs=[],
                                   unknown_inputs=inputs, unknown_outputs=outputs)
    cg = column_graph(graph)
    if column is not None and (node, column) not in cg.column_number:
        raise NotFound(f"{node} has no column {column!r}; its columns: "
                       f"{', '.join(cg.columns.get(node, {})) or 'none known'}")
    named = {name: ColumnShown(name=name, type=c.type, description=c.description,
                               classifications=list(c.classifications), source=c.source)
             for name, c in cg.columns.get(node, {}).items()}
    for flow in cg.flows_into.get(node, ()):
        if flow.output_column and flow.output_column not in named:
            named[flow.output_column] = ColumnShown(name=flow.output_column)
    inputs = [_shown(f) for f in cg.flows_into.get(node, ())]
    outputs = [_shown(f) for f in _flows_out(cg, node)]
    steps = []
    if column is not None:
        steps = [ColumnStepShown(dataset=s.dataset, column=s.column, kind=s.kind, distance=s.depth)  # type: ignore[arg-type]
                 for s in column_walk(cg, node, column, direction, depth)]
    derivations = {n for n in graph._pred[node] if graph._node[n]["kind"] == DATASET}
    consumers = {n for n in graph._succ[node] if graph._node[n]["kind"] == DATASET}
    return ColumnLineageResult(
        dataset=node, revision=graph.graph["revision"], columns=list(named.values()), inputs=inputs, outputs=outputs,
        unknown_inputs=sorted(n for n in derivations if (n, node) not in cg.known_hops),
        unknown_outputs=sorted(n for n in consumers if (node, n) not in cg.known_hops),
        column=column, direction=direction if column is not None else None, steps=steps)  # type: ignore[arg-type]


def _flows_out(cg: ColumnGraph, node: str) -> list:
    return sorted(cg.flows_from.get(node, ()), key=lambda f: (f.output, f.output_column, f.input_column))


def _shown(flow) -> ColumnFlowShown:  # type: ignore[no-untyped-def]
    return ColumnFlowShown(input=flow.input, input_column=flow.input_column, output=flow.output,
                           output_column=flow.output_column, kind=flow.kind if flow.kind in ("DIRECT", "INDIRECT")
                           else "DIRECT", subtype=flow.subtype, masking=flow.masking, source=flow.source)


class FeedFeatures(BaseModel):
    dataset: str
    columns: list[ColumnShown]
    declared: Literal["features", "schema", "unknown"] = Field(
        description="features: the feed names the columns the model read; schema: it names none, so the model read "
                    "every column the dataset is known to have; unknown: neither is known")


class ModelFeatures(BaseModel):
    model: str
    revision: int
    feeds: list[FeedFeatures]


def model_features(store: Store, model: str, *, as_of: datetime | None = None) -> ModelFeatures:
    """The columns a model version read from each dataset it consumed: the feed's `features` when
    it lists them, else the dataset's known columns (every one of them was read)."""
    from lineage.graph import MODEL

    graph = graph_of(store, as_of)
    node = queries.resolve(graph, model, kinds=(MODEL,))
    cg = column_graph(graph) if has_columns(graph) else None
    feeds = []
    for dataset in sorted(n for n in graph._pred[node] if graph._node[n]["kind"] == DATASET):
        known = cg.columns.get(dataset, {}) if cg else {}
        listed = cg.features.get((dataset, node)) if cg else None
        names = list(listed) if listed else list(known)
        feeds.append(FeedFeatures(
            dataset=dataset, declared="features" if listed else "schema" if known else "unknown",
            columns=[ColumnShown(name=n, type=known[n].type if n in known else None,
                                 description=known[n].description if n in known else None,
                                 classifications=list(known[n].classifications) if n in known else [],
                                 source=known[n].source if n in known else None) for n in names]))
    return ModelFeatures(model=node, revision=graph.graph["revision"], feeds=feeds)
