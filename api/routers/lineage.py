"""Lineage, impact, paths, risk and the per-model report: the same services the CLI calls.

Every read here can grow with the catalog, so each runs under the read budget (api/deps.py) and
every count it takes has a cap (over it: a 422 naming the parameter, as for every bound here).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, Response
from pydantic import Field

from api.deps import BudgetDep, StoreDep, json_response
from catalog.spec import Timestamp
from checks import risk
from checks.results import RiskReport
from checks.summary import RiskSummary, summarise
from lineage import service
from lineage.results import ImpactResult, LineageResult, PathResult

router = APIRouter(prefix="/api/v1", tags=["lineage"])

# The caps (see the README's REST API section). A read's cost is about its pages times its paths:
# 500 models x 20 paths for impact, 200 models x 10 findings x 5 paths for risk per model.
MAX_DEPTH = 1000
MAX_PATHS = 20
MAX_IMPACT_MODELS = 500
MAX_IMPACT_DATASETS = 10_000
MAX_PATHS_BETWEEN = 100
MAX_FINDINGS = 10_000
MAX_SUMMARY_MODELS = 200
MAX_TOP = 10
MAX_SUMMARY_PATHS = 5
MAX_OFFSET = 2**31 - 1  # beyond, SQL integers overflow; kept the same where no SQL is involved


def capped(cap: int, what: str, *, low: int = 0) -> object:
    """A count query parameter: at least `low`, at most `cap`, which its description states."""
    return Query(ge=low, le=cap, description=f"{what} (at most {cap:,})")


Offset = Annotated[int, capped(MAX_OFFSET, "items to skip")]


class RiskPage(RiskReport):
    """A page of findings: `total` counts them all, `findings` holds `limit` of them from `offset`."""

    total: int = Field(description="findings in all")
    limit: int
    offset: int


def risk_page(report: RiskReport, limit: int, offset: int) -> Response:
    page = RiskPage(as_of=report.as_of, policy=report.policy, revision=report.revision,
                    findings=report.findings[offset:offset + limit], total=len(report.findings), limit=limit, offset=offset)
    return json_response(page)


def _moment(as_of: datetime | None) -> datetime | None:
    if as_of is not None and as_of.tzinfo is None:
        return as_of.replace(tzinfo=timezone.utc)
    return as_of


@router.get("/lineage/{node:path}", response_model=LineageResult)
async def lineage(budget: BudgetDep, store: StoreDep, node: str, direction: Literal["upstream", "downstream"] = "upstream",
                  depth: Annotated[int | None, capped(MAX_DEPTH, "levels to follow; default all")] = None) -> Response:
    return await budget.run(lambda: json_response(service.lineage(store, node, direction=direction, depth=depth)))


@router.get("/impact/{dataset:path}", response_model=ImpactResult)
async def impact(budget: BudgetDep, store: StoreDep, dataset: str,
                 paths: Annotated[int, capped(MAX_PATHS, "paths to list per model", low=1)] = 10,
                 limit: Annotated[int, capped(MAX_IMPACT_MODELS, "models per page (paths are found per model)", low=1)] = 100,
                 offset: Offset = 0,
                 datasets: Annotated[int, capped(MAX_IMPACT_DATASETS, "nearest downstream datasets to list")] = 1000,
                 ) -> Response:
    """Models are paged and datasets capped (`models_total`, `datasets_total` count them all): a hub
    reaches thousands of models and half the platform's tables."""
    return await budget.run(lambda: json_response(service.impact(
        store, dataset, path_limit=paths, limit=limit, offset=offset, dataset_limit=datasets)))


@router.get("/paths", response_model=PathResult)
async def paths(budget: BudgetDep, store: StoreDep, source: str, target: str,
                limit: Annotated[int, capped(MAX_PATHS_BETWEEN, "paths to list", low=1)] = 10) -> Response:
    return await budget.run(lambda: json_response(service.path(store, source, target, limit=limit)))


FindingsLimit = Annotated[int, capped(MAX_FINDINGS, "findings per page", low=1)]
FindingPaths = Annotated[int, capped(MAX_PATHS, "paths to list per finding (0: none)")]


@router.get("/risk", response_model=RiskPage)
async def risk_findings(budget: BudgetDep, store: StoreDep, model: str | None = None, as_of: Timestamp | None = None,
                        paths: FindingPaths = 5, limit: FindingsLimit = 1000, offset: Offset = 0) -> Response:
    """Findings, paged (`total` counts them all). Every finding is evaluated before the page is cut:
    on a large platform ask `/risk/models`, or name a `model`."""
    return await budget.run(lambda: risk_page(risk.evaluate(store, as_of=_moment(as_of), model=model, path_limit=paths),
                                              limit, offset))


@router.get("/risk/models", response_model=RiskSummary)
async def risk_by_model(budget: BudgetDep, store: StoreDep, model: str | None = None, as_of: Timestamp | None = None,
                        limit: Annotated[int, capped(MAX_SUMMARY_MODELS, "models per page", low=1)] = 50,
                        offset: Offset = 0,
                        top: Annotated[int, capped(MAX_TOP, "most severe findings to show per model")] = 3,
                        paths: Annotated[int, capped(MAX_SUMMARY_PATHS, "paths to list per finding shown")] = 1,
                        ) -> Response:
    """Risk per model, worst first and paged, with each model's `top` findings: what `/risk` holds,
    condensed to a size that stays readable (and fast) on a platform with millions of findings."""
    return await budget.run(lambda: json_response(summarise(
        store, as_of=_moment(as_of), model=model, limit=limit, offset=offset, top=top, path_limit=paths)))


@router.get("/reports/{model:path}", response_class=PlainTextResponse, responses={200: {"content": {"text/markdown": {}}}})
async def model_report(budget: BudgetDep, store: StoreDep, model: str, as_of: Timestamp | None = None) -> PlainTextResponse:
    return await budget.run(lambda: PlainTextResponse(risk.model_report(store, model, as_of=_moment(as_of)),
                                                      media_type="text/markdown"))
