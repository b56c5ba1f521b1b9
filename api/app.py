"""The FastAPI app: `create_app(settings)` builds it; `headwater serve` runs it under uvicorn.

Errors are `application/problem+json` (RFC 9457) everywhere: a HeadwaterError maps through the one
table in api/errors.py, request validation names the field at fault, and no input reaches a 500.
Before any route, a request passes the Host check (`HostCheck`) and the body limit (`BodyLimit`);
reads take the token guard when HEADWATER_READS=token, and expensive reads run under the read budget
(api/deps.py).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from importlib.metadata import version
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.config import LOOPBACK_HOSTS, Settings
from api.errors import classify
from api.read_turns import TURNS
from api.routine_ingest import RoutineIngest
from api.tokens import parse_tokens
from catalog.errors import ConfigurationError, HeadwaterError, InvalidCatalogFile, InvalidEvent
from catalog.store import Store

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    """An RFC 9457 answer: every error the app gives on purpose, from whichever layer, has this one shape."""
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail, **extra},
                        status_code=status, media_type=PROBLEM)


class BodyLimit:
    """Refuse request bodies over `limit` bytes, declared (Content-Length) or streamed (chunked).

    A streamed body that grows past the limit is cut off with a byte no JSON parser accepts (so a
    valid prefix is never acted on), and whatever the app answers is replaced by the 413. (FastAPI
    turns errors raised while reading a body into a 400, so the limit cannot simply raise.)
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        state = {"received": 0, "too_large": False, "answered": False}

        async def counted() -> Message:
            if state["too_large"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.limit:
                    state["too_large"] = True
                    # end the body with bytes no JSON parser accepts, so a valid prefix is never acted on
                    return {"type": "http.request", "body": b"\x00", "more_body": False}
            return message

        async def guarded(message: Message) -> None:
            if not state["too_large"]:
                await send(message)
            elif not state["answered"]:
                state["answered"] = True
                await self._refuse(scope, receive, send)

        await self.app(scope, counted, guarded)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(413, "Payload too large", f"request bodies are limited to {self.limit} bytes")
        await response(scope, receive, send)


class HostCheck:
    """Answer only requests whose Host header names this server (a 400 problem otherwise).

    A web page a developer opens can make their browser send requests to a name the page's author
    controls and then re-point at 127.0.0.1 (DNS rebinding); the browser then reads the local
    server as if it were the page's own origin. Such requests still carry the author's name in
    Host, which is what this refuses. Starlette's TrustedHostMiddleware does the same but answers
    text/plain; every answer here is problem+json. `*` in the list allows any host.
    """

    def __init__(self, app: ASGIApp, allowed: tuple[str, ...]) -> None:
        self.app = app
        self.allowed = {_host_name(host) for host in allowed} - {""}  # ports in the list are ignored

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "*" in self.allowed:  # lifespan; the app serves no websockets
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1")
        if _host_name(given) in self.allowed:
            await self.app(scope, receive, send)
            return
        shown = given if len(given) <= 100 else given[:100] + "…"
        response = problem(400, "Bad request", f"this server does not answer to the host {shown!r}; the operator can "
                                               f"allow it in HEADWATER_ALLOWED_HOSTS")
        await response(scope, receive, send)


def _host_name(host: str) -> str:
    """The name part of a Host header, lower-cased, without port or trailing dot: `[::1]:8000` is
    `[::1]`, `LocalHost.:80` is `localhost`. Anything with userinfo or spaces never matches."""
    host = host.strip().lower()
    if host.startswith("["):
        name = host[:host.find("]") + 1] if "]" in host else ""
        rest = host[len(name):]
        return name if not rest or (rest.startswith(":") and rest[1:].isdigit()) else ""
    name, _, port = host.partition(":")
    if port and not port.isdigit():
        return ""
    return name.rstrip(".") if name and "@" not in name and " " not in name else ""


def allowed_hosts_for(bind: str) -> tuple[str, ...]:
    """The default allowed Host names for a server bound to `bind`: that address, plus the other
    loopback names when it is loopback. Bound to every interface (0.0.0.0, ::), the machine's own
    names and addresses; behind a proxy or under another name, set HEADWATER_ALLOWED_HOSTS."""
    bind = bind.strip().lower().strip("[]")
    if bind in ("", "0.0.0.0", "::"):
        names = {socket.gethostname().lower(), socket.getfqdn().lower()}
        try:
            names |= {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None)}
        except OSError:
            pass
        found = [f"[{n}]" if ":" in n else n for n in sorted(n for n in names if n)]
        return tuple(dict.fromkeys([*LOOPBACK_HOSTS, *found]))
    try:
        address = ipaddress.ip_address(bind)
    except ValueError:  # a name
        return (bind, *[h for h in LOOPBACK_HOSTS if h != bind]) if bind == "localhost" else (bind,)
    own = f"[{bind}]" if address.version == 6 else bind
    return (own, *[h for h in LOOPBACK_HOSTS if h != own]) if address.is_loopback else (own,)


def settings_problems(settings: Settings) -> list[str]:
    """What is wrong with the server settings, by environment variable; the app and `headwater
    serve` refuse to start on any, so a misspelt HEADWATER_READS never leaves reads open."""
    found = []
    if settings.reads not in ("open", "token"):
        found.append(f"HEADWATER_READS must be 'open' or 'token', got {settings.reads!r}")
    for name, value in (("HEADWATER_READ_BUDGET", settings.read_budget),
                        ("HEADWATER_SHUTDOWN_TIMEOUT", settings.shutdown_timeout)):
        if not 0 < value < 10**6:  # NaN (what junk in the environment becomes) fails both
            found.append(f"{name} must be a number of seconds above 0")
    found += parse_tokens(settings.tokens)[1]
    if settings.max_body_bytes < 1:
        found.append("HEADWATER_MAX_BODY_BYTES must be a whole number of bytes above 0")
    if not 1 <= settings.read_concurrency <= 1024:
        found.append("HEADWATER_READ_CONCURRENCY must be a whole number of reads from 1 to 1024")
    if settings.allowed_hosts is not None and not settings.allowed_hosts:
        found.append("HEADWATER_ALLOWED_HOSTS names no host")
    return found


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    """The app over `store` (else one opened on `settings.db`). Tests pass the store they hold;
    `headwater serve` has uvicorn call this with no arguments in each worker, so every worker reads
    its settings from the environment as the CLI does (Settings.from_env), and both doors agree."""
    settings = settings or Settings.from_env()
    problems = settings_problems(settings)
    if problems:
        raise ConfigurationError("; ".join(problems))
    app = FastAPI(
        title="Headwater", version=version("headwater"),
        description="Data-governance lineage catalog for AI training data.",
        openapi_url="/openapi.json", docs_url=None, redoc_url=None,  # served offline by mount_docs
    )
    app.state.settings = settings
    app.state.store = store or Store(settings.db)
    TURNS.width = settings.read_concurrency

    app.add_middleware(RoutineIngest)  # innermost of these: after the Host check and the body limit
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    if settings.allowed_hosts is not None:  # added last: runs first, before the body is read
        app.add_middleware(HostCheck, allowed=settings.allowed_hosts)

    @app.exception_handler(HeadwaterError)
    async def headwater_error(_request: Request, error: HeadwaterError) -> JSONResponse:
        status, _code, title = classify(error)
        extra = {}
        if isinstance(error, InvalidCatalogFile) and error.what == "the request body":
            extra["errors"] = [{"field": p.path, "message": p.message} for p in error.problems]
            return problem(status, "Invalid request", "; ".join(f"{p.path}: {p.message}" for p in error.problems), **extra)
        if isinstance(error, InvalidCatalogFile):
            extra["errors"] = [{"file": p.file, "path": p.path, "line": p.line, "message": p.message} for p in error.problems]
        if isinstance(error, InvalidEvent):
            extra["errors"] = [{"field": e.location, "message": e.reason} for e in error.errors]
        return problem(status, title, str(error), **extra)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"].removeprefix("Value error, ")}
                  for e in error.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid request", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        response = problem(error.status_code, _titles.get(error.status_code, "Error"), str(error.detail))
        for key, value in (error.headers or {}).items():
            response.headers[key] = value
        if error.status_code == 405:
            response.headers["Allow"] = ", ".join(_allowed_methods(_request))
        return response

    from api.deps import Reader
    from api.routers import checks, datasets, docs, history, lineage, openlineage, risk, spec, viewer, writes

    # Reads take the token guard only when configured to, so the schema says whether they need one.
    # /openapi.json and /docs stay open: they describe the API, not the catalog, and tell a client
    # that it needs a token.
    reads = [Reader] if settings.reads == "token" else []
    app.include_router(writes.router)
    app.include_router(risk.router, dependencies=reads)  # before datasets: its /models/{model}/risk and /report
    app.include_router(history.router, dependencies=reads)  # before datasets: its /datasets/{dataset}/history
    app.include_router(history.audit)
    app.include_router(datasets.router, dependencies=reads)
    app.include_router(lineage.router, dependencies=reads)
    app.include_router(checks.router)
    app.include_router(checks.reads, dependencies=reads)
    app.include_router(openlineage.router)
    app.include_router(spec.router, dependencies=reads)
    app.include_router(viewer.router, dependencies=reads)
    docs.mount_docs(app)
    document_problems(app)
    return app


PROBLEM_SCHEMA = {
    "title": "Problem", "type": "object", "required": ["type", "title", "status", "detail"],
    "description": "RFC 9457 problem details; `errors` lists each field at fault when there are several.",
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
    },
}
# What any operation may answer besides success (the error table, request validation, the body limit,
# the Host check, the read budget), and what an operation that takes the token answers without a good one.
_PROBLEMS = {"400": "Bad request (also: a Host header this server does not answer to)", "404": "Not found",
             "409": "Ambiguous name", "413": "Payload too large",
             "422": "Invalid request (also: a count over its cap)",
             "503": "Store unavailable, or the read needed more than its time budget (see Retry-After)"}
_AUTH_PROBLEMS = {"401": "No bearer token", "403": "Token not accepted"}


def document_problems(app: FastAPI) -> None:
    """Declare the problem+json answers on every operation of the OpenAPI schema.

    FastAPI documents only success and its own 422 shape (which our handler replaces), so clients
    generated from `/openapi.json`, and schemathesis, would otherwise meet undeclared statuses and
    content types. Done once over the finished schema, so routes added later are covered too;
    operations that take the bearer token also declare 401 and 403.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        content = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                errors = {**_PROBLEMS, **(_AUTH_PROBLEMS if operation.get("security") else {})}
                for status, description in errors.items():
                    responses[status] = {"description": description, "content": content}
                responses["503"]["headers"] = {"Retry-After": {
                    "description": "seconds to wait before trying again (when the read budget ran out)",
                    "schema": {"type": "integer"}}}
        for unused in ("HTTPValidationError", "ValidationError"):
            schema["components"]["schemas"].pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path: Starlette's 405 names only the first route's,
    and one path (`/api/v1/incidents`) is served by routes in several routers."""
    path = request.scope.get("path", "")

    def walk(routes: Iterable[Any]) -> set[str]:
        methods: set[str] = set()
        for route in routes:
            inner = getattr(route, "original_router", None)  # an included router (FastAPI >= 0.16x)
            if inner is not None:
                methods |= walk(inner.routes)
            elif getattr(route, "methods", None) and route.path_regex.match(path):
                methods |= set(route.methods)
        return methods

    return sorted(walk(request.app.routes))


_titles = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
           413: "Payload too large", 499: "Client closed request", 503: "Read budget exceeded"}
