"""The FastAPI app: `create_app(settings)` builds it; `headwater serve` runs it under uvicorn.

Errors are `application/problem+json` (RFC 9457) everywhere: a HeadwaterError maps through the one
table in api/errors.py, request validation names the field at fault, and no input reaches a 500.
"""

from __future__ import annotations

from importlib.metadata import version

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.config import Settings
from api.errors import classify
from catalog.errors import HeadwaterError, InvalidCatalogFile, InvalidEvent
from catalog.store import Store

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra) -> JSONResponse:
    return JSONResponse({"type": "about:blank", "title": title, "status": status, "detail": detail, **extra},
                        status_code=status, media_type=PROBLEM)


class BodyLimit:
    """Refuse request bodies over `limit` bytes, declared (Content-Length) or streamed (chunked).

    A streamed body that grows past the limit is cut off with a byte no JSON parser accepts (so a
    valid prefix is never acted on), and whatever the app answers is replaced by the 413. (FastAPI
    turns errors raised while reading a body into a 400, so the limit cannot simply raise.)
    """

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send)
            return
        state = {"received": 0, "too_large": False, "answered": False}

        async def counted():
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

        async def guarded(message):
            if not state["too_large"]:
                await send(message)
            elif not state["answered"]:
                state["answered"] = True
                await self._refuse(scope, receive, send)

        await self.app(scope, counted, guarded)

    async def _refuse(self, scope, receive, send) -> None:
        response = problem(413, "Payload too large", f"request bodies are limited to {self.limit} bytes")
        await response(scope, receive, send)


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    app = FastAPI(
        title="Headwater", version=version("headwater"),
        description="Data-governance lineage catalog for AI training data.",
        docs_url="/docs", openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.store = store or Store(settings.db)

    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

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
        errors = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in error.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(422, "Invalid request", detail, errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        response = problem(error.status_code, _titles.get(error.status_code, "Error"), str(error.detail))
        for key, value in (error.headers or {}).items():
            response.headers[key] = value
        return response

    from api.routers import checks, datasets, lineage, openlineage, writes

    app.include_router(writes.router)
    app.include_router(datasets.router)
    app.include_router(lineage.router)
    app.include_router(checks.router)
    app.include_router(openlineage.router)
    return app


_titles = {401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed", 413: "Payload too large"}
