"""Check runs: trigger (a write) and history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.confinement import data_roots
from api.deps import SettingsDep, StoreDep, Writer
from checks import service
from checks.results import CheckHistory, CheckReport

router = APIRouter(prefix="/api/v1", tags=["checks"])


class CheckRequest(BaseModel):
    datasets: list[str] | None = Field(None, description="datasets to check; default all")
    force: bool = False


@router.post("/checks", response_model=CheckReport, dependencies=[Writer])
def run_checks(store: StoreDep, settings: SettingsDep, request: CheckRequest) -> CheckReport:
    """Reads only files under the data roots (api/confinement.py)."""
    return service.run_checks(store, request.datasets or None, force=request.force, roots=data_roots(settings, store))


@router.get("/checks/{dataset:path}", response_model=CheckHistory)
def history(store: StoreDep, dataset: str, limit: Annotated[int, Query(ge=1, le=500)] = 20) -> CheckHistory:
    return service.history(store, dataset, limit=limit)
