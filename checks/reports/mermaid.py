"""Mermaid flowcharts of lineage, which GitHub and GitLab render in place in Markdown.

Node ids are generated (n0, n1, …) and labels are quoted and entity-escaped, so dataset names full
of brackets, quotes, markup or Mermaid directives cannot break the chart, restyle it or inject into
the page.
"""

from __future__ import annotations

import networkx as nx

from lineage.graph import DATASET, MODEL

SEVERE = ("critical", "high")


# Mermaid reads `%%{init: …}%%` directives anywhere in the chart's text, labels included, before it
# parses a single node (so a name holding `%%{init: {"themeCSS": …}}%%` restyled the whole page);
# `%`, `{` and `}` are written as entities, which Mermaid decodes only when it draws the label.
# Every line break becomes a space: a label must not end its line (Mermaid turns \r into \n).
_ENTITIES = {"#": "#35;", "&": "#amp;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "`": "#96;", "%": "#37;",
             "{": "#123;", "}": "#125;"}
_LINE_BREAKS = "\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029"
_LABEL = str.maketrans({**_ENTITIES, **dict.fromkeys(_LINE_BREAKS, " ")})


def _label(text: str) -> str:
    """A quoted label that reads as `text` and can do nothing else: no quote to end it, no markup,
    no directive, no new line. One pass, each character replaced once, so the `#` of an entity
    written here is never escaped again, and a name holding `#35;` reads as itself."""
    return f'"{text.translate(_LABEL)}"'


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
