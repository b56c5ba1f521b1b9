"""The shapes lineage answers take: the same pydantic objects go to the CLI, JSON and the API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class NodeRef(BaseModel):
    id: str
    kind: Literal["dataset", "job", "model"]
    namespace: str
    name: str
    version: str | None = None  # a model version's


class TreeNode(BaseModel):
    node: NodeRef
    repeated: bool = Field(False, description="already shown elsewhere in this tree; not expanded again")
    children: list["TreeNode"] = Field(default_factory=list)


class Reached(BaseModel):
    node: NodeRef
    distance: int


class LineageResult(BaseModel):
    root: NodeRef
    direction: Literal["upstream", "downstream"]
    depth: int | None
    nodes: list[Reached]
    tree: TreeNode


class AffectedModel(BaseModel):
    model: NodeRef
    version: str | None
    risk_tier: str | None
    deployed: bool
    distance: int
    path_count: int | None = Field(description="how many distinct paths reach the model; null if the lineage has a cycle")
    paths: list[list[str]] = Field(description="the shortest paths first, at most the limit asked for")


class ImpactResult(BaseModel):
    root: NodeRef
    revision: int
    models: list[AffectedModel] = Field(description="the page of affected models, by distance then id")
    datasets: list[Reached]
    models_total: int = Field(0, description="every affected model, on this page or not")
    datasets_total: int = Field(0, description="every downstream dataset, listed or not")
    offset: int = 0
    limit: int | None = Field(None, description="models per page; null: all of them")


class PathResult(BaseModel):
    source: NodeRef
    target: NodeRef
    path_count: int | None
    paths: list[list[str]]


class ModelSummary(BaseModel):
    model: NodeRef
    version: str | None
    risk_tier: str | None
    deployed: bool
    direct: list[str] = Field(description="datasets the model consumes directly")
    sources: list[str] = Field(description="datasets upstream of it that derive from nothing: where its data comes from")
    upstream_datasets: int


class LineageSummary(BaseModel):
    revision: int
    datasets: int
    jobs: int
    models: int
    edges: int
    sources: int
    by_origin: dict[str, int]
    model_summaries: list[ModelSummary]
