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


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    app = FastAPI(
        title="Headwater", version=version("headwater"),
        description="Data-governance lineage catalog for AI training data.",
        docs_url="/docs", openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.store = store or Store(settings.db)

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
            return problem(413, "Payload too large", f"request bodies are limited to {settings.max_body_bytes} bytes")
        return await call_next(request)

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
