"""OpenLineage: `POST /api/v1/lineage` takes RunEvent, DatasetEvent and JobEvent as Marquez does.

openlineage-python's HttpTransport (and the Airflow, Spark, dbt and Flink integrations built on
it) can point at Headwater unchanged: `url=http://host:8000`, endpoint `api/v1/lineage`, and the
token as the transport's API key (sent as a bearer token).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Body, Request, Response, status
from starlette.concurrency import run_in_threadpool

from api.confinement import confine_events, data_roots
from api.deps import StoreDep, Writer
from api.ingestion import group_commit
from catalog.openlineage import IngestResult, parse_events

router = APIRouter(prefix="/api/v1", tags=["openlineage"])


@router.post("/lineage", response_model=IngestResult, status_code=status.HTTP_201_CREATED, dependencies=[Writer])
async def post_lineage(request: Request, store: StoreDep,
                       event: Any = Body(..., description="one event, or a JSON array of events")) -> Response:
    """Validated here (a bad event fails only its own request), committed with whatever else is queued
    (`api.ingestion`); the 201 is sent after the commit."""
    events = event if isinstance(event, list) else [event]
    await run_in_threadpool(confine_events, events, lambda: data_roots(request.app.state.settings, store))
    # a few events parse faster than a hop to the thread pool and back; a big batch must not block the loop
    parsed = parse_events(events) if len(events) <= 4 else await run_in_threadpool(parse_events, events)
    result = await asyncio.wrap_future(group_commit(request.app.state, store).submit(parsed))
    # serialised once: returned as a model, FastAPI would validate it again and walk it through its encoder
    return Response(result.model_dump_json(), status_code=status.HTTP_201_CREATED, media_type="application/json")
