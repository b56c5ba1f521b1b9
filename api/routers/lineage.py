"""Lineage, impact, paths, risk and the per-model report: the same services the CLI calls."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel

from api.deps import StoreDep
from catalog.spec import Timestamp
from checks import risk
from checks.results import RiskReport
from checks.summary import RiskSummary, summarise
from lineage import service
from lineage.results import ImpactResult, LineageResult, PathResult

router = APIRouter(prefix="/api/v1", tags=["lineage"])


def _moment(as_of: datetime | None) -> datetime | None:
    if as_of is not None and as_of.tzinfo is None:
        return as_of.replace(tzinfo=timezone.utc)
    return as_of


def _json(result: BaseModel) -> Response:
    """The service's pydantic answer serialised once. Returned as a model, FastAPI would validate it a
    second time against the response model and walk it through jsonable_encoder: on a lineage of a
    thousand nodes that took twice as long as answering the question."""
    return Response(result.model_dump_json(), media_type="application/json")


@router.get("/lineage/{node:path}", response_model=LineageResult)
def lineage(store: StoreDep, node: str, direction: Literal["upstream", "downstream"] = "upstream",
            depth: Annotated[int | None, Query(ge=0, le=1000)] = None) -> Response:
    return _json(service.lineage(store, node, direction=direction, depth=depth))


@router.get("/impact/{dataset:path}", response_model=ImpactResult)
def impact(store: StoreDep, dataset: str, paths: Annotated[int, Query(ge=1, le=100)] = 10,
           limit: Annotated[int, Query(ge=1, le=1000, description="models per page (paths are found per model)")] = 100,
           offset: Annotated[int, Query(ge=0)] = 0,
           datasets: Annotated[int, Query(ge=0, le=100_000, description="nearest downstream datasets to list")] = 1000,
           ) -> Response:
    """Models are paged and datasets capped (`models_total`, `datasets_total` count them all): a hub
    reaches thousands of models and half the platform's tables."""
    return _json(service.impact(store, dataset, path_limit=paths, limit=limit, offset=offset, dataset_limit=datasets))


@router.get("/paths", response_model=PathResult)
def paths(store: StoreDep, source: str, target: str, limit: Annotated[int, Query(ge=1, le=100)] = 10) -> PathResult:
    return service.path(store, source, target, limit=limit)


@router.get("/risk", response_model=RiskReport)
def risk_findings(store: StoreDep, model: str | None = None, as_of: Timestamp | None = None,
                  paths: Annotated[int, Query(ge=0, le=100)] = 5) -> RiskReport:
    return risk.evaluate(store, as_of=_moment(as_of), model=model, path_limit=paths)


@router.get("/risk/models", response_model=RiskSummary)
def risk_by_model(store: StoreDep, model: str | None = None, as_of: datetime | None = None,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 50, offset: Annotated[int, Query(ge=0)] = 0,
                  top: Annotated[int, Query(ge=0, le=20)] = 3,
                  paths: Annotated[int, Query(ge=0, le=10)] = 1) -> RiskSummary:
    """Risk per model, worst first and paged, with each model's `top` findings: what `/risk` holds,
    condensed to a size that stays readable (and fast) on a platform with millions of findings."""
    return summarise(store, as_of=_moment(as_of), model=model, limit=limit, offset=offset, top=top, path_limit=paths)


@router.get("/reports/{model:path}", response_class=PlainTextResponse, responses={200: {"content": {"text/markdown": {}}}})
def model_report(store: StoreDep, model: str, as_of: Timestamp | None = None) -> PlainTextResponse:
    return PlainTextResponse(risk.model_report(store, model, as_of=_moment(as_of)), media_type="text/markdown")
