"""Datasets and models, their feeds, derivations and incidents: listed (paged, filtered) and got one by one.

Plain lists are one SQL page of at most MAX_PAGE rows, bounded without the read budget; only a
list filtered by a governance condition evaluates risk, and so runs under it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.deps import BudgetDep, ConditionDep, DatasetKey, ModelKey, Offset, StoreDep, capped, json_response
from catalog import service
from checks import findings

router = APIRouter(prefix="/api/v1", tags=["catalog"])
MAX_PAGE = 1000
Limit = Annotated[int, capped(MAX_PAGE, "page size", low=1)]


@router.get("/datasets", response_model=service.DatasetPage)
async def list_datasets(budget: BudgetDep, store: StoreDep, condition: ConditionDep, namespace: str | None = None,
                        owner: str | None = None, origin: str | None = None, tag: str | None = None,
                        limit: Limit = 100, offset: Offset = 0) -> Response:
    filters = {"namespace": namespace, "owner": owner, "origin": origin, "tag": tag, "limit": limit, "offset": offset}
    if condition is None:
        return await run_in_threadpool(lambda: json_response(service.list_datasets(store, **filters)))
    return await budget.run(lambda: json_response(findings.datasets_with_condition(store, condition, **filters)))


@router.get("/feeds", response_model=service.ItemPage)
def list_feeds(store: StoreDep, model: str | None = None, limit: Limit = 100, offset: Offset = 0) -> service.ItemPage:
    return service.list_feeds(store, model=model, limit=limit, offset=offset)


@router.get("/derivations", response_model=service.ItemPage)
def list_derivations(store: StoreDep, limit: Limit = 100, offset: Offset = 0) -> service.ItemPage:
    return service.list_derivations(store, limit=limit, offset=offset)


@router.get("/incidents", response_model=service.ItemPage)
def list_incidents(store: StoreDep, dataset: str | None = None, open: bool = False,
                   limit: Limit = 100, offset: Offset = 0) -> service.ItemPage:
    return service.list_incidents(store, dataset=dataset, open_only=open, limit=limit, offset=offset)


@router.get("/datasets/{dataset:path}", response_model=service.DatasetPublic)
def get_dataset(store: StoreDep, dataset: DatasetKey) -> service.DatasetPublic:  # type: ignore[valid-type]
    return service.get_dataset(store, dataset)


@router.get("/models", response_model=service.ModelPage)
def list_models(store: StoreDep, namespace: str | None = None, limit: Limit = 100, offset: Offset = 0) -> service.ModelPage:
    return service.list_models(store, namespace=namespace, limit=limit, offset=offset)


# The risk router (included before this one, api/app.py) serves `/models/{model}/risk` and `/report`:
# this `:path` parameter would otherwise swallow those suffixes.
@router.get("/models/{model:path}", response_model=service.ModelPublic)
def get_model(store: StoreDep, model: ModelKey) -> service.ModelPublic:  # type: ignore[valid-type]
    return service.get_model(store, model)
