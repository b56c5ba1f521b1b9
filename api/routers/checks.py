"""Check runs: trigger (a write) and history (a read, in `reads`, which takes the read guard when
reads need a token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.confinement import data_roots
from api.deps import SettingsDep, StoreDep, Writer, capped
from checks import service
from checks.results import CheckHistory, CheckReport

router = APIRouter(prefix="/api/v1", tags=["checks"])
reads = APIRouter(prefix="/api/v1", tags=["checks"])
MAX_HISTORY = 500


class CheckRequest(BaseModel):
    """Which datasets to check; `force` validates again even where the data and the suite are unchanged."""

    datasets: list[str] | None = Field(None, description="datasets to check; default all")
    force: bool = False


@router.post("/checks", response_model=CheckReport, dependencies=[Writer])
def run_checks(store: StoreDep, settings: SettingsDep, request: CheckRequest) -> CheckReport:
    """Reads only files under the data roots and connects only to database servers on the allow-list
    (api/confinement.py). A named dataset deleted while it is being checked is a 404: its run
    cannot be recorded any more."""
    return service.run_checks(store, request.datasets or None, force=request.force, roots=data_roots(settings, store),
                              databases=settings.allowed_databases)


@reads.get("/checks/{dataset:path}", response_model=CheckHistory)
def history(store: StoreDep, dataset: str,
            limit: Annotated[int, capped(MAX_HISTORY, "runs to list, newest first", low=1)] = 20) -> CheckHistory:
    return service.history(store, dataset, limit=limit)
