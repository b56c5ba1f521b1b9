"""The API documentation (`/docs`, `/redoc`) works on an air-gapped machine: a real server, a real
browser, and every request that does not go to the server itself refused."""

from __future__ import annotations

import httpx
import pytest

from tests import server

# what FastAPI's default pages would fetch from the internet
CDN_HOSTS = ("cdn.jsdelivr.net", "fastapi.tiangolo.com", "fonts.googleapis.com", "unpkg.com", "cdn.redoc.ly")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory):
    db = f"sqlite:///{tmp_path_factory.mktemp('docs') / 'h.db'}"
    with server.running(db) as base:
        yield base


def operations(base: str) -> dict[str, str]:
    """operationId -> "METHOD /path" for every operation the schema declares."""
    paths = httpx.get(f"{base}/openapi.json", timeout=10).json()["paths"]
    return {op["operationId"]: f"{method.upper()} {path}" for path, ops in paths.items() for method, op in ops.items()}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_name_no_outside_host(served, page):
    html = httpx.get(f"{served}{page}", timeout=10).text
    assert not [host for host in CDN_HOSTS if host in html]
    assert "default-src 'self'" in httpx.get(f"{served}{page}", timeout=10).headers["content-security-policy"]


def test_the_served_redoc_bundle_fetches_nothing_itself(served):
    bundle = httpx.get(f"{served}/docs-assets/redoc.js", timeout=10).text
    assert "cdn.redoc.ly" not in bundle and "Redoc" in bundle


def test_swagger_ui_lists_every_operation_offline(served, open_page):
    expected = operations(served)
    opened = open_page(f"{served}/docs", allow_prefix=f"{served}/",
                       ready="() => document.querySelectorAll('.opblock-summary').length > 0")
    shown = opened.page.evaluate("""() => [...document.querySelectorAll('.opblock')].map(op =>
        op.querySelector('.opblock-summary-method').textContent.trim() + ' ' +
        op.querySelector('.opblock-summary-path').getAttribute('data-path'))""")
    assert set(shown) == set(expected.values())  # an operation under two tags is listed under each
    assert any(r.endswith("/docs-assets/swagger-ui-bundle.js") for r in opened.requests)
    opened.assert_clean()


def test_redoc_lists_every_operation_offline(served, open_page):
    expected = operations(served)
    opened = open_page(f"{served}/redoc", allow_prefix=f"{served}/", timeout=90,
                       ready="() => document.querySelectorAll('[data-section-id^=\"operation/\"]').length > 0")
    shown = opened.page.evaluate("() => [...document.querySelectorAll('[data-section-id^=\"operation/\"]')]"
                                 ".map(e => e.getAttribute('data-section-id'))")
    assert {s.split("/", 1)[1] for s in shown} == set(expected)
    opened.assert_clean()
