"""Risk: findings, risk per model, and the per-model report, the same services `headwater risk` and
`headwater report` call.

Every answer here evaluates the whole platform's conditions first, so each runs under the read
budget (api/deps.py) and every count it takes has a cap (over it: a 422 naming the parameter).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response

from api.deps import MAX_PATHS, BudgetDep, Offset, StoreDep, capped, json_response
from catalog.spec import Timestamp
from checks import findings, risk
from checks.findings import RiskPage
from checks.summary import RiskSummary, summarise

router = APIRouter(prefix="/api/v1", tags=["lineage"])
UNDER_MODELS = ["catalog"]  # with the router's own tag: listed under the catalog's models too

# 200 models x 10 findings x 5 paths for risk per model.
MAX_FINDINGS = 10_000
MAX_SUMMARY_MODELS = 200
MAX_TOP = 10
MAX_SUMMARY_PATHS = 5

FindingsLimit = Annotated[int, capped(MAX_FINDINGS, "findings per page", low=1)]
FindingPaths = Annotated[int, capped(MAX_PATHS, "paths to list per finding (0: none)")]
MARKDOWN = {200: {"content": {"text/markdown": {}}}}


@router.get("/risk", response_model=RiskPage)
async def risk_findings(budget: BudgetDep, store: StoreDep, model: str | None = None, as_of: Timestamp | None = None,
                        paths: FindingPaths = 5, limit: FindingsLimit = 1000, offset: Offset = 0) -> Response:
    """Findings, paged (`total` counts them all). Every finding is evaluated before the page is cut:
    on a large platform ask `/risk/models`, or name a `model`."""
    return await budget.run(lambda: json_response(findings.findings_page(
        store, as_of=as_of, model=model, path_limit=paths, limit=limit, offset=offset)))


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
        store, as_of=as_of, model=model, limit=limit, offset=offset, top=top, path_limit=paths)))


@router.get("/reports/{model:path}", response_class=PlainTextResponse, responses=MARKDOWN)
async def model_report(budget: BudgetDep, store: StoreDep, model: str, as_of: Timestamp | None = None) -> PlainTextResponse:
    return await budget.run(lambda: PlainTextResponse(risk.model_report(store, model, as_of=as_of),
                                                      media_type="text/markdown"))


# Under /models, beside the catalog's own routes (and tagged as theirs too): api/app.py includes this
# router before the catalog's, whose `/models/{model:path}` would otherwise take these paths.
@router.get("/models/{model:path}/risk", response_model=RiskPage, tags=UNDER_MODELS)
async def model_risk(budget: BudgetDep, store: StoreDep, model: str, as_of: Timestamp | None = None,
                     paths: FindingPaths = 5, limit: FindingsLimit = 1000, offset: Offset = 0) -> Response:
    """The findings that reach one model (DESIGN §3's `GET /models/{id}/risk`), paged as `/risk`."""
    return await budget.run(lambda: json_response(findings.findings_page(
        store, as_of=as_of, model=model, path_limit=paths, limit=limit, offset=offset)))


@router.get("/models/{model:path}/report", response_class=PlainTextResponse, tags=UNDER_MODELS, responses=MARKDOWN,
            name="model_report")  # the name its operationId has always been built from
async def model_report_under_models(budget: BudgetDep, store: StoreDep, model: str) -> PlainTextResponse:
    return await budget.run(lambda: PlainTextResponse(risk.model_report(store, model), media_type="text/markdown"))


BOM = {200: {"description": "the AI bill of materials", "content": {
    "application/vnd.cyclonedx+json": {"schema": {"type": "object"}},
    "application/spdx+json": {"schema": {"type": "object"}}}}}


@router.get("/models/{model:path}/bom", response_class=Response, tags=UNDER_MODELS, responses=BOM)
async def model_bom(budget: BudgetDep, store: StoreDep, model: str,
                    format: Literal["cyclonedx", "spdx"] = "cyclonedx", as_of: Timestamp | None = None) -> Response:
    """The model version's AI-BOM (`headwater export bom`): CycloneDX 1.6 JSON or SPDX 3.0.1 JSON-LD,
    with every dataset it rests on, their governance fields and hashes, its findings and its lineage."""
    from checks.bom.service import MEDIA_TYPES, export_bom

    return await budget.run(lambda: Response(export_bom(store, model, format, as_of=as_of),
                                             media_type=MEDIA_TYPES[format]))
