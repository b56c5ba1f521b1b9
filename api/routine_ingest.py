"""`POST /api/v1/lineage` on its everyday path without FastAPI's routing: the lighter write path for
routine run events.

A scheduler sends two small events per task run, one request each; per event, FastAPI's route
(exception and exit-stack middleware, route matching, the Request object, dependency resolution,
body parsing into `Any`, the response model) cost more CPU than validating and storing the event.
This ASGI middleware, inside the Host check and the body limit (`api.app`), takes such a request
itself: a JSON body, a bearer token with write scope, events that validate and commit. Then it
answers the 201 the route would have, with the same body.

Anything else is handed to the FastAPI route untouched, the body replayed: no token or a wrong one,
a body that is not JSON, an event that fails validation, a store error. The route answers those as
it always has (its problem+json, its status codes), so there is one definition of every error and
this path only ever says yes. Nothing is written before the events validate, and an event already
stored is recognised by its digest, so the route running again after a failed commit stores nothing
twice.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PATH = "/api/v1/lineage"
_JSON = (b"application/json",)


class RoutineIngest:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower() not in _JSON:
            await self.app(scope, receive, send)
            return
        body, rest = await _read_body(receive)
        answer = None if rest is not None else await _try(scope, headers, body)
        if answer is None:
            await self.app(scope, _replay(body, rest, receive), send)
            return
        state = scope["app"].state
        state.routine_answers = getattr(state, "routine_answers", 0) + 1  # for tests and benchmarks
        await send({"type": "http.response.start", "status": 201,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]})
        await send({"type": "http.response.body", "body": answer})


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body; and the message that ended reading early (a disconnect), if one did."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes, ended: Message | None, receive: Receive) -> Receive:
    """A `receive` that gives the route the body already read, then goes on with the real one."""
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}]
    if ended is not None:
        pending.append(ended)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed


async def _try(scope: Scope, headers: dict[bytes, bytes], body: bytes) -> bytes | None:
    """The 201 body when the request is a routine one that committed; None for the route to answer."""
    from fastapi.security import HTTPAuthorizationCredentials

    from api.confinement import data_roots
    from api.deps import _authorise
    from api.intake import ingest

    state = scope["app"].state
    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        _authorise(state.settings, HTTPAuthorizationCredentials(scheme="Bearer", credentials=token.strip()), "write")
        event: Any = json.loads(body)
        store = state.store
        result = await ingest(event, store=store, state=state, roots=lambda: data_roots(state.settings, store))
    except Exception:  # noqa: BLE001 - every refusal and failure is the route's to answer, in its words
        return None
    return result.model_dump_json().encode()
