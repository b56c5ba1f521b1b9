"""OpenLineage: `POST /api/v1/lineage` takes RunEvent, DatasetEvent and JobEvent as Marquez does.

openlineage-python's HttpTransport (and the Airflow, Spark, dbt and Flink integrations built on
it) can point at Headwater unchanged: `url=http://host:8000`, endpoint `api/v1/lineage`, and the
token as the transport's API key (sent as a bearer token).

Every request is held to the app's `EventLimits` (`api.group_commit.event_limits`): an eventTime too
far ahead, too many edges for one event or run, or a derivation cycle is a 400 naming the event and
field, nothing written; an answer lists at most 20 invalid events and counts the rest.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Request, Response, status

from api.confinement import data_roots
from api.deps import Writer
from api.intake import ingest
from catalog.openlineage import IngestResult

router = APIRouter(prefix="/api/v1", tags=["openlineage"])


@router.post("/lineage", response_model=IngestResult, status_code=status.HTTP_201_CREATED, dependencies=[Writer])
async def post_lineage(request: Request,
                       event: Any = Body(..., description="one event, or a JSON array of events")) -> Response:
    """Validated here (a bad event fails only its own request), committed with whatever else is queued
    (`api.group_commit`); the 201 is sent after the commit. The store is the app's own, read from its
    state rather than through `StoreDep` (a sync dependency: a thread-pool hop on every event)."""
    store = request.app.state.store
    result = await ingest(event, store=store, state=request.app.state,
                          roots=lambda: data_roots(request.app.state.settings, store))
    # serialised once: returned as a model, FastAPI would validate it again and walk it through its encoder
    return Response(result.model_dump_json(), status_code=status.HTTP_201_CREATED, media_type="application/json")
