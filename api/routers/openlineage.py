"""OpenLineage: `POST /api/v1/lineage` takes RunEvent, DatasetEvent and JobEvent as Marquez does.

openlineage-python's HttpTransport (and the Airflow, Spark, dbt and Flink integrations built on
it) can point at Headwater unchanged: `url=http://host:8000`, endpoint `api/v1/lineage`, and the
token as the transport's API key (sent as a bearer token).

Every request is held to the app's `EventLimits` (`api.ingestion.event_limits`): an eventTime too
far ahead, too many edges for one event or run, or a derivation cycle is a 400 naming the event and
field, nothing written; an answer lists at most 20 invalid events and counts the rest.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Body, Request, Response, status
from starlette.concurrency import run_in_threadpool

from api.confinement import confine_events, data_roots
from api.deps import StoreDep, Writer
from api.ingestion import event_limits, group_commit
from catalog.errors import InvalidEvent
from catalog.openlineage import IngestResult, parse_events

router = APIRouter(prefix="/api/v1", tags=["openlineage"])


@router.post("/lineage", response_model=IngestResult, status_code=status.HTTP_201_CREATED, dependencies=[Writer])
async def post_lineage(request: Request, store: StoreDep,
                       event: Any = Body(..., description="one event, or a JSON array of events")) -> Response:
    """Validated here (a bad event fails only its own request), committed with whatever else is queued
    (`api.ingestion`); the 201 is sent after the commit."""
    events = event if isinstance(event, list) else [event]
    limits = event_limits(request.app.state)
    # validated first: it stops at the 20th problem, so a body of garbage costs a blink, not a walk of every item;
    # a few events parse faster than a hop to the thread pool and back; a big batch must not block the loop
    if len(events) <= 4:
        parsed = parse_events(events, limits=limits)
    else:
        parsed = await run_in_threadpool(lambda: parse_events(events, limits=limits))
    try:  # then no dataSource may name a file outside the data roots; nothing is written before both passed
        await run_in_threadpool(confine_events, events, lambda: data_roots(request.app.state.settings, store))
    except InvalidEvent as refused:  # one per refused facet: summarised like any other batch of problems
        raise InvalidEvent.of_batch(refused.errors, omitted=refused.omitted, unchecked=refused.unchecked,
                                    limit=limits.max_problems) from None
    result = await asyncio.wrap_future(group_commit(request.app.state, store).submit(parsed))
    # serialised once: returned as a model, FastAPI would validate it again and walk it through its encoder
    return Response(result.model_dump_json(), status_code=status.HTTP_201_CREATED, media_type="application/json")
