"""The lineage viewer: one self-contained, script-safe HTML page drawn with pyvis's vis-network.

Why not `pyvis.Network.show()` as is:
- its page links Bootstrap and other assets from CDNs even with `cdn_resources="in_line"`, and many
  networks (this one included) reach no CDN: here every byte (vis-network from pyvis's own bundle,
  our CSS and script) is inline, and a Content-Security-Policy forbids the page any request;
- its template puts node titles and the heading into the page as HTML, so a dataset named
  `<img src=x onerror=...>` runs script: here names, notes and every other text travel as JSON in
  a non-executable `<script type="application/json">` block and reach the DOM only as text;
- `Network.add_node`/`add_edge` look nodes up in lists (quadratic: minutes at 20,000 nodes), and its
  default physics takes minutes to settle a few thousand nodes: positions come from
  `lineage.layout` and physics is off, so the page draws in one pass.
Node and edge options are still built with pyvis's `Node` and `Edge`, and the vis.js Network is
exposed as `window.network`, as pyvis pages do, so users' scripts and our browser tests can reach it.
"""

from __future__ import annotations

import json
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from lineage.view import View

STATES: dict[str, tuple[str, str]] = {  # worst first: a group takes the worst state among its members
    "compromised": ("#c62828", "compromised: breach, poisoning, or content changed since a model trained on it"),
    "check_errored": ("#6a1b9a", "check errored: the data could not be read or checked"),
    "stale": ("#8d6e63", "stale: past its freshness commitment"),
    "unverified": ("#5c6bc0", "unverified: a model recorded no fingerprint of what it consumed, so a change cannot be told"),
    "tainted": ("#ef6c00", "tainted: a serious finding of its own or inherited from upstream"),
    "warning": ("#f9a825", "warning: findings to review"),
    "healthy": ("#2e7d32", "healthy: no findings"),
    "neutral": ("#90a4ae", "job: not assessed itself"),
}
SHAPES = {"dataset": ("dot", 12), "job": ("square", 7), "model": ("diamond", 20)}
SEVERITY_ORDER = ("critical", "high", "medium", "low")
MAX_FINDINGS_SHOWN = 8
DIMMED = "#dfe3e6"


@dataclass
class NodeInfo:
    """What hovering a node tells: a state for its colour, labelled fields, and its findings; and what
    selecting it adds to the side panel: its recent changes."""

    state: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)  # severity, title, condition, root, mode, note, citations
    changes: list[dict[str, Any]] = field(default_factory=list)  # newest first: catalog/history/recent.py
    columns: list[dict[str, Any]] = field(default_factory=list)  # name, type, classifications, sensitive, from


@cache
def _asset(name: str) -> str:
    return (resources.files("lineage") / "templates" / name).read_text(encoding="utf-8")


@cache
def _vis(name: str) -> str:
    import pyvis

    return (Path(pyvis.__file__).parent / "lib" / "vis-9.1.2" / name).read_text(encoding="utf-8")


def script_json(value: Any) -> str:
    """JSON that can sit inside a <script> element: nothing in it can close the element or open a comment."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


def _minute(moment: str) -> str:
    """An ISO moment as the side panel shows it, to the minute in UTC: `2026-12-02 00:44`."""
    return datetime.fromisoformat(moment).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")


def page_data(view: View, info: dict[str, NodeInfo]) -> dict[str, Any]:
    """The page's whole model: vis node and edge options, per-node details for hovering, each
    node's recent changes as [moment, actor, source, op, fields] (the first three index `texts`),
    a dataset's known columns as [name, type, classifications, sensitive, sources] and a finding's column
    paths as lists of [view index or null, node (in `texts`), column] steps: column '' for a whole
    dataset, null for a model."""
    from pyvis.edge import Edge
    from pyvis.node import Node

    texts: dict[str, int] = {}

    def text(value: str) -> int:  # notes and citations repeat across thousands of nodes: send each once
        return texts.setdefault(value, len(texts))

    index = {node.key: i for i, node in enumerate(view.nodes)}
    vis_nodes, details = [], []
    for i, node in enumerate(view.nodes):
        if node.is_group:
            states = Counter(info[m].state if m in info else "neutral" for m in node.members)
            state = next(s for s in STATES if states[s])
            fields = [("members", f"{len(node.members):,}")] + [(s.replace("_", " "), f"{n:,}") for s, n in
                                                                   ((s, states[s]) for s in STATES) if n]
            findings: list[dict[str, Any]] = []
            changes: list[dict[str, Any]] = []
            known: list[list[Any]] = []
            total = 0
        else:
            entry = info.get(node.key, NodeInfo(state="neutral"))
            state, fields = entry.state, entry.fields
            ordered = sorted(entry.findings, key=lambda f: SEVERITY_ORDER.index(f["severity"]))
            total = len(ordered)
            findings = [
                {"severity": f["severity"], "title": f["title"], "condition": f["condition"], "root": f["root"],
                 "mode": f["mode"], "note": text(f["note"]), "citations": [text(c) for c in f["citations"]],
                 "lineage": f.get("column_lineage"),
                 "paths": [[[index.get(step), text(step), column] for step, column in path]
                           for path in f.get("column_paths") or []]}
                for f in ordered[:MAX_FINDINGS_SHOWN]
            ]
            known = [[c["name"], c["type"], [text(k) for k in c["classifications"]], c["sensitive"],
                      [text(k) for k in c.get("from") or []]]
                     for c in entry.columns]  # classifications and sources repeat: sent once each
            changes = [[text(_minute(c["at"])), text(c["actor"]), text(c["source"]), c["op"], c["fields"]]
                       for c in entry.changes]  # 25,000 lines in a large view: a few moments, actors, sources
        shape, size = SHAPES[node.kind]
        colour = STATES[state][0]
        vis_nodes.append(Node(
            i, shape, node.name, x=round(node.x, 1), y=round(node.y, 1), size=size * (1.6 if node.is_group else 1),
            color={"background": colour, "border": "#263238" if node.key == view.focus else colour,
                   "highlight": {"background": colour, "border": "#000000"}},
            borderWidth=4 if node.key == view.focus else 1,
        ).options)
        details.append({"key": node.key, "kind": node.kind, "namespace": node.namespace, "state": state,
                        "aliases": node.aliases,
                        "group": node.is_group, "fields": [list(pair) for pair in fields],
                        "findings": findings, "more": total - len(findings), "changes": changes,
                        "columns": known})
    vis_edges = [
        Edge(index[e.source], index[e.target], directed=True, kind=e.kind, count=e.count,
             width=round(min(1 + (e.count - 1) ** 0.5 / 4, 8), 2)).options
        for e in view.edges
    ]
    return {
        "nodes": vis_nodes, "edges": vis_edges, "details": details, "texts": list(texts),
        "states": {name: {"colour": colour, "label": label} for name, (colour, label) in STATES.items()},
        "dimmed": DIMMED, "focus": index.get(view.focus) if view.focus else None,
    }


OPTIONS = {
    "physics": {"enabled": False},
    "layout": {"improvedLayout": False},  # its clustering pass is quadratic-ish past a few hundred nodes
    "interaction": {"hover": True, "hideEdgesOnDrag": True, "tooltipDelay": 150, "multiselect": False},
    "edges": {"smooth": False, "color": {"color": "#90a4ae", "highlight": "#263238"},
              "arrows": {"to": {"enabled": True, "scaleFactor": 0.5}}},
    "nodes": {"font": {"size": 14, "face": "system-ui, sans-serif"}},
}


def render_page(view: View, info: dict[str, NodeInfo], *, title: str, subtitle: str) -> str:
    """The page as one string. Every user text is escaped by Jinja or travels as escaped JSON."""
    from jinja2 import Environment

    env = Environment(autoescape=True)
    template = env.from_string(_asset("viewer.html.j2"))
    counts = Counter(node.kind for node in view.nodes)
    return template.render(
        title=title, subtitle=subtitle, notice=view.notice, nonce=secrets.token_urlsafe(18),
        vis_js=_vis("vis-network.min.js"), vis_css=_vis("vis-network.css"),
        page_js=_asset("viewer.js"), page_css=_asset("viewer.css"),
        data=script_json(page_data(view, info)), options=script_json(OPTIONS),
        states=[(name.replace("_", " "), colour, label) for name, (colour, label) in STATES.items()],
        shapes=SHAPES, counts=counts, selected=view.selected, shown=len(view.nodes), edges=len(view.edges),
    )
