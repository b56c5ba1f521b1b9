"""Datasets and models: list (paginated, filterable) and get."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from api.deps import BudgetDep, StoreDep, json_response
from api.routers.lineage import MAX_OFFSET, FindingsLimit, FindingPaths, RiskPage, capped, risk_page
from catalog import service
from catalog.spec import Timestamp
from lineage import queries
from lineage.graph import DATASET, MODEL
from lineage.service import graph_of

router = APIRouter(prefix="/api/v1", tags=["catalog"])
MAX_PAGE = 1000
Limit = Annotated[int, capped(MAX_PAGE, "page size", low=1)]
Offset = Annotated[int, capped(MAX_OFFSET, "items to skip")]  # beyond, SQL integers overflow


@router.get("/datasets", response_model=service.DatasetPage)
async def list_datasets(budget: BudgetDep, store: StoreDep, namespace: str | None = None, owner: str | None = None,
                        origin: str | None = None, tag: str | None = None, condition: Annotated[str | None, Query(
                            description="only datasets on which this governance condition is detected now (a "
                                        "risk evaluation: under the read budget)")] = None,
                        limit: Limit = 100, offset: Offset = 0) -> Response:
    if condition is None:  # one SQL page of at most MAX_PAGE rows: bounded, and no lineage graph needed
        return await run_in_threadpool(lambda: json_response(service.list_datasets(
            store, namespace=namespace, owner=owner, origin=origin, tag=tag, limit=limit, offset=offset)))
    from checks.policy import CONDITIONS

    if condition not in CONDITIONS:
        raise HTTPException(422, f"unknown condition {condition!r}; expected one of {', '.join(CONDITIONS)}")
    return await budget.run(_with_condition, store, condition, namespace=namespace, owner=owner, origin=origin,
                            tag=tag, limit=limit, offset=offset)


def _with_condition(store, condition: str, *, limit: int, offset: int, **filters: str | None) -> Response:
    from checks.risk import evaluate

    flagged = {f.node for f in evaluate(store, path_limit=0).findings if f.node == f.root and f.condition == condition}
    page = service.list_datasets(store, **filters, limit=100_000, offset=0)
    items = [item for item in page.items if item.id in flagged]
    return json_response(service.DatasetPage(total=len(items), limit=limit, offset=offset, items=items[offset:offset + limit]))


@router.get("/feeds", response_model=service.EdgePage)
def list_feeds(store: StoreDep, model: str | None = None, limit: Limit = 100, offset: Offset = 0) -> service.EdgePage:
    return service.list_feeds(store, model=model, limit=limit, offset=offset)


@router.get("/derivations", response_model=service.EdgePage)
def list_derivations(store: StoreDep, limit: Limit = 100, offset: Offset = 0) -> service.EdgePage:
    return service.list_derivations(store, limit=limit, offset=offset)


@router.get("/incidents", response_model=service.EdgePage)
def list_incidents(store: StoreDep, dataset: str | None = None, open: bool = False,
                   limit: Limit = 100, offset: Offset = 0) -> service.EdgePage:
    return service.list_incidents(store, dataset=dataset, open_only=open, limit=limit, offset=offset)


@router.get("/datasets/{dataset:path}", response_model=service.DatasetPublic)
def get_dataset(store: StoreDep, dataset: str) -> service.DatasetPublic:
    graph = graph_of(store)
    node = queries.resolve(graph, dataset, kinds=(DATASET,))
    return service.get_dataset(store, graph.nodes[node]["namespace"], graph.nodes[node]["name"])


@router.get("/models", response_model=service.ModelPage)
def list_models(store: StoreDep, namespace: str | None = None, limit: Limit = 100, offset: Offset = 0) -> service.ModelPage:
    return service.list_models(store, namespace=namespace, limit=limit, offset=offset)


@router.get("/models/{model:path}/risk", response_model=RiskPage, tags=["lineage"])
async def model_risk(budget: BudgetDep, store: StoreDep, model: str, as_of: Timestamp | None = None,
                     paths: FindingPaths = 5, limit: FindingsLimit = 1000, offset: Offset = 0) -> Response:
    """The findings that reach one model (DESIGN §3's `GET /models/{id}/risk`), paged as `/risk`."""
    from checks import risk

    return await budget.run(lambda: risk_page(risk.evaluate(store, as_of=as_of, model=model, path_limit=paths),
                                              limit, offset))


@router.get("/models/{model:path}/report", response_class=PlainTextResponse, tags=["lineage"],
            responses={200: {"content": {"text/markdown": {}}}})
async def model_report(budget: BudgetDep, store: StoreDep, model: str) -> PlainTextResponse:
    from checks import risk

    return await budget.run(lambda: PlainTextResponse(risk.model_report(store, model), media_type="text/markdown"))


@router.get("/models/{model:path}", response_model=service.ModelPublic)
def get_model(store: StoreDep, model: str) -> service.ModelPublic:
    graph = graph_of(store)
    node = queries.resolve(graph, model, kinds=(MODEL,))
    return service.get_model(store, graph.nodes[node]["namespace"], graph.nodes[node]["name"])
