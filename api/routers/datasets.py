"""Datasets and models: list (paginated, filterable) and get."""

from __future__ import annotations

from typing import Annotated

from datetime import timezone

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse

from api.deps import StoreDep
from catalog import service
from catalog.spec import Timestamp
from checks.results import RiskReport
from lineage import queries
from lineage.graph import DATASET, MODEL
from lineage.service import graph_of

router = APIRouter(prefix="/api/v1", tags=["catalog"])
Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]  # beyond, SQL integers overflow


@router.get("/datasets", response_model=service.DatasetPage)
def list_datasets(store: StoreDep, namespace: str | None = None, owner: str | None = None, origin: str | None = None,
                  tag: str | None = None, condition: Annotated[str | None, Query(
                      description="only datasets on which this governance condition is detected now")] = None,
                  limit: Limit = 100, offset: Offset = 0) -> service.DatasetPage:
    if condition is None:
        return service.list_datasets(store, namespace=namespace, owner=owner, origin=origin, tag=tag, limit=limit, offset=offset)
    from checks.policy import CONDITIONS
    from checks.risk import evaluate

    if condition not in CONDITIONS:
        from fastapi import HTTPException

        raise HTTPException(422, f"unknown condition {condition!r}; expected one of {', '.join(CONDITIONS)}")
    flagged = {f.node for f in evaluate(store, path_limit=0).findings if f.node == f.root and f.condition == condition}
    page = service.list_datasets(store, namespace=namespace, owner=owner, origin=origin, tag=tag, limit=100_000, offset=0)
    items = [item for item in page.items if item.id in flagged]
    return service.DatasetPage(total=len(items), limit=limit, offset=offset, items=items[offset:offset + limit])


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


@router.get("/models/{model:path}/risk", response_model=RiskReport, tags=["lineage"])
def model_risk(store: StoreDep, model: str, as_of: Timestamp | None = None,
               paths: Annotated[int, Query(ge=0, le=100)] = 5) -> RiskReport:
    """The findings that reach one model (DESIGN §3's `GET /models/{id}/risk`)."""
    from checks import risk

    moment = as_of.replace(tzinfo=timezone.utc) if as_of is not None and as_of.tzinfo is None else as_of
    return risk.evaluate(store, as_of=moment, model=model, path_limit=paths)


@router.get("/models/{model:path}/report", response_class=PlainTextResponse, tags=["lineage"],
            responses={200: {"content": {"text/markdown": {}}}})
def model_report(store: StoreDep, model: str) -> PlainTextResponse:
    from checks import risk

    return PlainTextResponse(risk.model_report(store, model), media_type="text/markdown")


@router.get("/models/{model:path}", response_model=service.ModelPublic)
def get_model(store: StoreDep, model: str) -> service.ModelPublic:
    graph = graph_of(store)
    node = queries.resolve(graph, model, kinds=(MODEL,))
    return service.get_model(store, graph.nodes[node]["namespace"], graph.nodes[node]["name"])
