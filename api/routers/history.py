"""What changed, and the audit trail: the same services `headwater history` and `headwater audit` call.

Included before the datasets router (api/app.py): its `/datasets/{dataset:path}` would otherwise
swallow the `/history` suffix. A node's history is found by name even after it was deleted, so
these paths are not resolved against the live catalog first.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from api.deps import Admin, StoreDep, capped, json_response
from catalog.history import service
from catalog.history.changes import NodeHistory
from catalog.spec import Timestamp

router = APIRouter(prefix="/api/v1", tags=["history"])
audit = APIRouter(prefix="/api/v1", tags=["history"], dependencies=[Admin])

Limit = Annotated[int, capped(service.MAX_CHANGES, "changes, newest first", low=1)]
Since = Annotated[Timestamp | None, Query(description="only changes from this moment (a bare date: its midnight UTC)")]


@router.get("/datasets/{dataset:path}/history", response_model=NodeHistory)
async def dataset_history(store: StoreDep, dataset: str, since: Since = None, limit: Limit = 100) -> Response:
    return await run_in_threadpool(lambda: json_response(service.history(store, dataset, kind="dataset", since=since,
                                                                         limit=limit)))


@router.get("/models/{model:path}/history", response_model=NodeHistory)
async def model_history(store: StoreDep, model: str, since: Since = None, limit: Limit = 100) -> Response:
    """A model named without `@VERSION` gives the changes of all its versions."""
    return await run_in_threadpool(lambda: json_response(service.history(store, model, kind="model", since=since,
                                                                         limit=limit)))


@router.get("/audit/verify")
async def audit_verify(store: StoreDep) -> dict:
    """The hash chain recomputed: `ok`, the head hash to publish elsewhere, and the first break."""
    verdict = await run_in_threadpool(service.verify, store)
    return verdict.as_dict()


@audit.get("/audit", response_class=Response,
           responses={200: {"content": {"application/x-ndjson": {}}, "description": "one entry per line"}})
async def audit_export(store: StoreDep, since: Since = None) -> Response:
    """The trail as JSON lines, oldest first, as `headwater audit export` writes it (an admin token).
    Built whole before it is sent, so a store with no trail is a problem answer, not a cut stream;
    for a trail too large for that, use the command line, which streams to a file."""

    def body() -> str:
        return "".join(json.dumps(record, ensure_ascii=False, default=str) + "\n" for record in service.export(store, since))

    return Response(await run_in_threadpool(body), media_type="application/x-ndjson")
