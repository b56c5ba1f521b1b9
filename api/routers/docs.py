"""`/docs` (Swagger UI) and `/redoc`, served from the installed package: no CDN, no web fonts.

FastAPI's own pages load swagger-ui and redoc from jsDelivr, a favicon from fastapi.tiangolo.com
and fonts from Google, so on an air-gapped machine (where regulated teams often run this) they
render blank. The assets come from `fastapi-offline`'s packaged copies of swagger-ui-dist and the
redoc standalone bundle; the pages are FastAPI's own builders pointed at them. A Content-Security-
Policy limits each page to this server, so a future asset that reaches out fails loudly in the
browser test instead of quietly depending on the internet.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
# Swagger UI starts with an inline script; redoc builds its search index in a blob: worker.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


# The one thing the redoc bundle fetches by itself: its "API docs by Redocly" logo, from a CDN.
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
BLANK_SVG = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"


@cache
def redoc_bundle() -> bytes:
    """The redoc standalone bundle with its CDN logo swapped for an empty inline image."""
    bundle = (files("fastapi_offline") / "static" / "redoc.standalone.js").read_bytes()
    return bundle.replace(REDOC_LOGO.encode(), BLANK_SVG.encode())


def mount_docs(app: FastAPI) -> None:
    """Serve the API documentation pages from local assets (the app is built with docs_url=None)."""

    @app.get(f"{ASSETS}/redoc.js", include_in_schema=False)
    def redoc_script() -> Response:
        return Response(redoc_bundle(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    app.mount(ASSETS, StaticFiles(directory=str(files("fastapi_offline") / "static")), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}", title=f"{app.title} – API",
            oauth2_redirect_url=f"{root}{oauth2_redirect}",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )
        return _guarded(page)

    @app.get(oauth2_redirect, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return _guarded(get_swagger_ui_oauth2_redirect_html())

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}{openapi_url}", title=f"{app.title} – API reference",
            redoc_js_url=f"{root}{ASSETS}/redoc.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png", with_google_fonts=False,
        )
        return _guarded(page)


def _guarded(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CSP
    page.headers["X-Content-Type-Options"] = "nosniff"
    return page
