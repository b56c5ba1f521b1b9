"""Lineage, impact and paths: the same services `headwater lineage`, `impact` and `path` call.

Every read here can grow with the catalog, so each runs under the read budget (api/deps.py) and
every count it takes has a cap (over it: a 422 naming the parameter, as for every bound here).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import MAX_DEPTH, MAX_PATHS, BudgetDep, Offset, StoreDep, capped, json_response
from catalog.spec import Timestamp
from lineage import column_service, service
from lineage.column_service import ColumnLineageResult, ModelFeatures
from lineage.lineage_json import lineage_json
from lineage.results import ImpactResult, LineageResult, PathResult

router = APIRouter(prefix="/api/v1", tags=["lineage"])

# 500 models x 20 paths for impact (MAX_DEPTH and MAX_PATHS are shared: api/deps.py).
MAX_IMPACT_MODELS = 500
MAX_IMPACT_DATASETS = 10_000
MAX_PATHS_BETWEEN = 100


@router.get("/lineage/{node:path}", response_model=LineageResult)
async def lineage(budget: BudgetDep, store: StoreDep, node: str, direction: Literal["upstream", "downstream"] = "upstream",
                  depth: Annotated[int | None, capped(MAX_DEPTH, "levels to follow; default all")] = None,
                  as_of: Timestamp | None = None) -> Response:
    # written straight to JSON (lineage.lineage_json): the bytes of the LineageResult dumped, at a third of the CPU
    return await budget.run(lambda: json_response(lineage_json(store, node, direction=direction, depth=depth,
                                                               as_of=as_of)))


@router.get("/column-lineage/{dataset:path}", response_model=ColumnLineageResult)
async def column_lineage(budget: BudgetDep, store: StoreDep, dataset: str, column: str | None = None,
                         direction: Literal["upstream", "downstream"] = "upstream",
                         depth: Annotated[int | None, capped(MAX_DEPTH, "levels to follow; default all")] = None,
                         as_of: Timestamp | None = None) -> Response:
    """A dataset's columns and the column flows into and out of it; with `column`, every column up- or
    downstream of that one along known flows (Marquez's /column-lineage, by dataset)."""
    return await budget.run(lambda: json_response(column_service.column_lineage(
        store, dataset, column=column, direction=direction, depth=depth, as_of=as_of)))


@router.get("/features/{model:path}", response_model=ModelFeatures)
async def features(budget: BudgetDep, store: StoreDep, model: str, as_of: Timestamp | None = None) -> Response:
    """The columns a model version read from each dataset it consumed (its feeds' `features`, else
    the datasets' known columns), with their classifications."""
    return await budget.run(lambda: json_response(column_service.model_features(store, model, as_of=as_of)))


@router.get("/impact/{dataset:path}", response_model=ImpactResult)
async def impact(budget: BudgetDep, store: StoreDep, dataset: str,
                 paths: Annotated[int, capped(MAX_PATHS, "paths to list per model", low=1)] = 10,
                 limit: Annotated[int, capped(MAX_IMPACT_MODELS, "models per page (paths are found per model)", low=1)] = 100,
                 offset: Offset = 0,
                 datasets: Annotated[int, capped(MAX_IMPACT_DATASETS, "nearest downstream datasets to list")] = 1000,
                 as_of: Timestamp | None = None) -> Response:
    """Models are paged and datasets capped (`models_total`, `datasets_total` count them all): a hub
    reaches thousands of models and half the platform's tables."""
    # written straight to JSON (lineage.impact.found_json): the bytes of the ImpactResult dumped, without its objects
    return await budget.run(lambda: json_response(service.impact_json(
        store, dataset, path_limit=paths, limit=limit, offset=offset, dataset_limit=datasets, as_of=as_of)))


@router.get("/paths", response_model=PathResult)
async def paths(budget: BudgetDep, store: StoreDep, source: str, target: str,
                limit: Annotated[int, capped(MAX_PATHS_BETWEEN, "paths to list", low=1)] = 10,
                as_of: Timestamp | None = None) -> Response:
    return await budget.run(lambda: json_response(service.path(store, source, target, limit=limit, as_of=as_of)))
