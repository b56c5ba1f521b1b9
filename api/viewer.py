"""One viewer page for both `headwater view` and `GET /viewer`: pick the view, judge each node, render."""

from __future__ import annotations

from datetime import datetime

from catalog.store import Store
from lineage.view import DEFAULT_MAX_NODES

_ENTITIES = {"dataset": "datasets", "model": "models"}  # the node kinds with a history of their own rows


def viewer_page(store: Store, *, focus: str | None = None, depth: int | None = None, model: str | None = None,
                max_nodes: int = DEFAULT_MAX_NODES, as_of: datetime | None = None) -> tuple[str, dict[str, int]]:
    """The HTML page and what it shows (nodes, edges, nodes selected before grouping)."""
    from catalog.history.recent import recent_changes
    from checks import node_states, risk
    from lineage.service import graph_of
    from lineage.view import build_view
    from lineage.viewer import render_page

    graph = graph_of(store, as_of)
    view = build_view(graph, focus=focus, depth=depth, model=model, max_nodes=max_nodes)
    assessment = risk.assess(store, as_of=as_of)
    info = node_states.node_info(store, assessment, view.members, details=not view.grouped)  # groups show counts
    if not view.grouped:
        rows: dict[str, tuple[str, int]] = {}
        for node in view.members:
            attrs = graph.nodes[node]
            if attrs["kind"] in _ENTITIES and attrs.get("store_id") is not None:  # jobs: not asked for
                rows[node] = (_ENTITIES[attrs["kind"]], attrs["store_id"])
        with store.read() as session:
            changes = recent_changes(session, rows, as_of=as_of)
        for node, listed in changes.items():
            info[node].changes = listed
    if model:
        title = f"Lineage of {view.focus}"
    elif focus:
        title = f"Lineage around {view.focus}"
    else:
        title = "Lineage"
    scope = "all levels" if depth is None else f"depth {depth}"
    subtitle = (f"Headwater · store revision {graph.graph['revision']} · findings as of "
                f"{assessment.as_of:%Y-%m-%d %H:%M} UTC"
                + (f" · {scope}" if view.focus else ""))
    page = render_page(view, info, title=title, subtitle=subtitle)
    return page, {"nodes": len(view.nodes), "edges": len(view.edges), "selected": view.selected,
                  "grouped": int(view.grouped)}
