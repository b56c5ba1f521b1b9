"""OpenLineage: `POST /api/v1/lineage` takes RunEvent, DatasetEvent and JobEvent as Marquez does.

openlineage-python's HttpTransport (and the Airflow, Spark, dbt and Flink integrations built on
it) can point at Headwater unchanged: `url=http://host:8000`, endpoint `api/v1/lineage`, and the
token as the transport's API key (sent as a bearer token).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, status

from api.deps import StoreDep, Writer
from catalog.openlineage import IngestResult, ingest_events

router = APIRouter(prefix="/api/v1", tags=["openlineage"])


@router.post("/lineage", response_model=IngestResult, status_code=status.HTTP_201_CREATED, dependencies=[Writer])
def post_lineage(store: StoreDep, event: Any = Body(..., description="one event, or a JSON array of events")) -> IngestResult:
    events = event if isinstance(event, list) else [event]
    return ingest_events(store, events)
