"""`GET /viewer`: the same self-contained lineage page `headwater view` writes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from api.deps import StoreDep
from api.viewer import viewer_page
from lineage.view import DEFAULT_MAX_NODES

router = APIRouter(tags=["viewer"])

# The page carries its own CSP (a meta tag, so saved copies keep it); the header covers this response too.
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
       "connect-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@router.get("/viewer", response_class=HTMLResponse, responses={200: {"content": {"text/html": {}}}})
def viewer(
    store: StoreDep,
    focus: Annotated[str | None, Query(description="centre on this node (id, namespace:name or name)")] = None,
    depth: Annotated[int | None, Query(ge=0, le=1000, description="levels each way from the focus")] = None,
    model: Annotated[str | None, Query(description="show what this model rests on")] = None,
    max_nodes: Annotated[int, Query(ge=1, le=50_000, description="group nodes past this many")] = DEFAULT_MAX_NODES,
) -> HTMLResponse:
    page, _ = viewer_page(store, focus=focus or None, depth=depth, model=model or None, max_nodes=max_nodes)
    return HTMLResponse(page, headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"})
