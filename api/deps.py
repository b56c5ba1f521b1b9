"""What routers get from the app: the store, the settings, the token guard, the read budget, and
the parameters several routers share (resolved references, capped counts).

A router asks for these by type and gets them ready to use, so an endpoint's body is one call to a
service: the checks that come before the question (a token, a cap, a name that must exist) are
made here, once for every route, and say what they refuse the same way everywhere.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import math
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, HTTPException, Query, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from api.config import Settings
from api.read_threads import ReadJob
from api.tokens import Scope, Token, parse_tokens
from catalog.history.actor import set_actor
from catalog.ids import NodeId
from catalog.store import Store

T = TypeVar("T")

_bearer = HTTPBearer(auto_error=False, description="A token from HEADWATER_TOKENS; needed for writes, and for reads "
                                                   "when HEADWATER_READS=token")


async def get_store(request: Request) -> Store:
    """The app's one Store: its engine pools connections for every request. Async, as `get_settings`."""
    return request.app.state.store


async def get_settings(request: Request) -> Settings:
    """The Settings the app was built with, never re-read from the environment per request. Async
    because it does no I/O: a sync dependency costs a thread-pool hop (two GIL hand-offs) per request."""
    return request.app.state.settings


_DOING = {"read": "reads", "write": "writes", "admin": "the audit trail (an admin token)"}


def _authorise(settings: Settings, credentials: HTTPAuthorizationCredentials | None, action: Scope) -> Token:
    """One token rule for every door: a bearer token from HEADWATER_TOKENS whose scope allows
    `action`, found in constant time; its name becomes the actor of what the request writes.

    Both sides are hashed first, so `compare_digest` always compares 32 bytes (it returns early on
    a length mismatch, which would tell a guesser the token's length), and every configured token
    is compared (no early exit telling which one came close). Neither the token nor its hash is
    ever put in a message or a log.
    """
    if credentials is None:
        raise HTTPException(401, f"a bearer token is required for {_DOING[action]}", headers={"WWW-Authenticate": "Bearer"})
    given = hashlib.sha256(credentials.credentials.encode()).digest()
    known = _token_digests(settings.tokens)
    matches = [hmac.compare_digest(given, digest) for _token, digest in known]
    found = next((token for (token, _digest), match in zip(known, matches) if match), None)
    if found is None or not found.allows(action):
        raise HTTPException(403, f"this token may not {action}" if found is None
                            else f"token {found.name!r} has scope {found.scope}; this needs {action}")
    set_actor(found.name)
    return found


@functools.lru_cache(maxsize=8)
def _token_digests(entries: tuple[str, ...]) -> tuple[tuple[Token, bytes], ...]:
    """Each configured token with the SHA-256 `_authorise` compares against, hashed once per
    configuration rather than once per request (kept in memory only, like the tokens themselves)."""
    return tuple((token, hashlib.sha256(token.value.encode()).digest()) for token in parse_tokens(entries)[0])


async def require_writer(  # async: no thread-pool hop on every write (it does no I/O)
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Writes always need a token with scope write (or admin)."""
    _authorise(settings, credentials, "write")


async def require_admin(
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """The audit trail over the API needs an admin token."""
    _authorise(settings, credentials, "admin")


async def require_reader(
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Reads need a token when HEADWATER_READS=token. `create_app` attaches this to the read
    routers only then, so the OpenAPI schema says which it is; the check here is a second lock."""
    if settings.reads != "open":
        _authorise(settings, credentials, "read")


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Writer = Depends(require_writer)
Admin = Depends(require_admin)
Reader = Depends(require_reader)


# --- the read budget ---------------------------------------------------------------------------------

async def _client_gone(request: Request) -> None:
    """Returns when the client disconnects (uvicorn then answers `receive()` with http.disconnect).
    A read has no body, so nothing the endpoint needs is consumed here."""
    while (await request.receive())["type"] != "http.disconnect":
        pass


class ReadBudget:
    """Runs an expensive read so that it can be stopped: in a worker thread, for at most
    `seconds`, and only while its client is still there.

    - time runs out: the work is stopped and the answer is a 503 problem with `Retry-After`;
    - the client goes: the work is stopped (nobody would read the answer, a 499 sent nowhere);
    - the request is cancelled (uvicorn's graceful-shutdown timeout after SIGTERM): the work is
      stopped, so the process can exit within seconds instead of finishing a minute of work.
    The time counts from the request: a first read after the catalog changed waits while the
    lineage graph is rebuilt, and may be the one that gets the 503 (the graph is built regardless).
    The work should build the final Response: serialising a large answer is part of its cost, and
    done on the event loop it would stall every other request.
    """

    def __init__(self, request: Request, seconds: float, store: Store) -> None:
        self.request, self.seconds, self.store = request, seconds, store

    async def run(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        from lineage.service import pin_graph

        loop = asyncio.get_running_loop()
        job = ReadJob(functools.partial(work, *args, **kwargs), loop, prepare=functools.partial(pin_graph, self.store))
        gone = asyncio.ensure_future(_client_gone(self.request))
        job.start()
        try:
            done, _ = await asyncio.wait({job.future, gone}, timeout=self.seconds, return_when=asyncio.FIRST_COMPLETED)
        except BaseException:  # cancelled: the server is shutting down
            job.stop()
            raise
        finally:
            gone.cancel()
            if gone.done() and not gone.cancelled():
                gone.exception()  # a receive() that failed also means the client is gone; retrieved, not logged
        if job.future in done and not job.future.cancelled():
            return job.future.result()
        job.stop()
        if gone in done:
            raise HTTPException(499, "the client closed the connection; the read was stopped")
        raise HTTPException(
            503, f"this read needed more than its {self.seconds:g} s budget and was stopped; narrow it (model=, "
                 f"focus=, paths=, limit=) or ask the operator to raise HEADWATER_READ_BUDGET",
            headers={"Retry-After": str(max(1, math.ceil(self.seconds)))})


async def read_budget(request: Request) -> ReadBudget:
    """A budget per request, since it watches that request's client."""
    return ReadBudget(request, request.app.state.settings.read_budget, request.app.state.store)


BudgetDep = Annotated[ReadBudget, Depends(read_budget)]


def json_response(result: BaseModel | str | bytes) -> Response:
    """A service's pydantic answer serialised once, or an answer a service wrote as JSON itself
    (`lineage.lineage_json`). Returned as a model, FastAPI would validate it a second time against
    the response model and walk it through jsonable_encoder: on a lineage of a thousand nodes that
    took twice as long as answering the question."""
    body = result if isinstance(result, (str, bytes)) else result.model_dump_json()
    return Response(body, media_type="application/json")


# --- parameters several routers share ----------------------------------------------------------------

# The caps (see the README's REST API section) that more than one router applies; each router keeps
# its own. A read's cost is about its pages times its paths, which is what the caps bound.
MAX_OFFSET = 2**31 - 1  # beyond, SQL integers overflow; kept the same where no SQL is involved
MAX_DEPTH = 1000
MAX_PATHS = 20


def capped(cap: int, what: str, *, low: int = 0) -> Any:
    """A count query parameter: at least `low`, at most `cap`, which its description states. Over
    the cap is a 422 naming the parameter, never a silent clamp: a client must learn it got less."""
    return Query(ge=low, le=cap, description=f"{what} (at most {cap:,})")


Offset = Annotated[int, capped(MAX_OFFSET, "items to skip")]


def dataset_key(store: StoreDep, dataset: str) -> NodeId:
    """The dataset a path names (an id, `ns:name` or a bare name): a 404 or a 409 before the endpoint runs."""
    from lineage.service import resolve

    return resolve(store, dataset, "dataset")


def model_key(store: StoreDep, model: str) -> NodeId:
    """The model a path names, as `dataset_key` resolves datasets."""
    from lineage.service import resolve

    return resolve(store, model, "model")


DatasetKey = Annotated[NodeId, Depends(dataset_key)]
ModelKey = Annotated[NodeId, Depends(model_key)]


def known_condition(condition: Annotated[str | None, Query(
        description="only datasets on which this governance condition is detected now (a risk evaluation: under "
                    "the read budget)")] = None) -> str | None:
    """`?condition=` checked before the read budget is spent: a misspelt condition is a 422 listing
    the known ones, not a risk evaluation that finds nothing."""
    if condition is not None:
        from checks.policy import CONDITIONS

        if condition not in CONDITIONS:
            raise HTTPException(422, f"unknown condition {condition!r}; expected one of {', '.join(CONDITIONS)}")
    return condition


ConditionDep = Annotated[str | None, Depends(known_condition)]
