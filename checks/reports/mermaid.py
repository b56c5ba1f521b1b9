"""Mermaid flowcharts of lineage, which GitHub and GitLab render in place in Markdown.

Node ids are generated (n0, n1, …) and labels are quoted and entity-escaped, so dataset names full
of brackets, quotes or markup cannot break the chart or inject into the page.
"""

from __future__ import annotations

import networkx as nx

from lineage.graph import DATASET, MODEL

SEVERE = ("critical", "high")


def _label(text: str) -> str:
    escaped = (text.replace("#", "#35;").replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
               .replace("`", "#96;").replace("\n", " "))
    return f'"{escaped}"'


def flowchart(graph: nx.DiGraph, nodes: set[str], *, tainted_edges: set[tuple[str, str]] = frozenset(),
              flagged: dict[str, str] | None = None) -> str:
    """`nodes` drawn left to right; `tainted_edges` in red; `flagged` maps node -> worst severity."""
    flagged = flagged or {}
    ids = {node: f"n{i}" for i, node in enumerate(sorted(nodes))}
    lines = ["flowchart LR"]
    for node in sorted(nodes):
        attrs = graph.nodes[node]
        name = attrs["name"] + (f" {attrs['version']}" if attrs["kind"] == MODEL and attrs.get("version") else "")
        shape = ("[[", "]]") if attrs["kind"] == MODEL else ("[(", ")]") if attrs["kind"] == DATASET else ("([", "])")
        lines.append(f"  {ids[node]}{shape[0]}{_label(name)}{shape[1]}")
    edges = sorted((a, b) for a, b in graph.subgraph(nodes).edges if graph.edges[a, b].get("kind") != "produces")
    red = []
    for index, (a, b) in enumerate(edges):
        tainted = (a, b) in tainted_edges
        lines.append(f"  {ids[a]} {'==>' if tainted else '-->'} {ids[b]}")
        if tainted:
            red.append(str(index))
    lines.append("  classDef critical fill:#fdd,stroke:#b00,stroke-width:2px")
    lines.append("  classDef high fill:#fed,stroke:#c60")
    lines.append("  classDef medium fill:#ffd,stroke:#aa0")
    for severity in ("critical", "high", "medium"):
        members = [ids[n] for n, s in sorted(flagged.items()) if s == severity and n in ids]
        if members:
            lines.append(f"  class {','.join(members)} {severity}")
    if red:
        lines.append(f"  linkStyle {','.join(red)} stroke:#b00,stroke-width:3px")
    return "\n".join(lines)
