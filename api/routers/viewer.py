"""`GET /viewer`: the same self-contained lineage page `headwater view` writes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from api.deps import MAX_DEPTH, BudgetDep, StoreDep, capped
from api.viewer import viewer_page
from catalog.spec import Timestamp
from lineage.view import DEFAULT_MAX_NODES

router = APIRouter(tags=["viewer"])

# Past this many nodes a view is grouped anyway; 20,000 drawn nodes take ~2.4 s in a browser.
MAX_NODES = 20_000

# The page carries its own CSP (a meta tag, so saved copies keep it); the header covers this response too.
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; font-src data:; "
       "connect-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@router.get("/viewer", response_class=HTMLResponse, responses={200: {"content": {"text/html": {}}}})
async def viewer(
    budget: BudgetDep,
    store: StoreDep,
    focus: Annotated[str | None, Query(description="centre on this node (id, namespace:name or name)")] = None,
    depth: Annotated[int | None, capped(MAX_DEPTH, "levels each way from the focus")] = None,
    model: Annotated[str | None, Query(description="show what this model rests on")] = None,
    max_nodes: Annotated[int, capped(MAX_NODES, "group nodes past this many", low=1)] = DEFAULT_MAX_NODES,
    as_of: Timestamp | None = None,
) -> HTMLResponse:
    """Built under the read budget: the whole reference platform takes ~11 s to group."""

    def page() -> HTMLResponse:
        html, _ = viewer_page(store, focus=focus or None, depth=depth, model=model or None, max_nodes=max_nodes,
                              as_of=as_of)
        return HTMLResponse(html, headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"})

    return await budget.run(page)
