"""The pieces answers written straight to JSON are joined from (`lineage.lineage_json`,
`lineage.impact`): a string as pydantic's serialiser escapes it, and each node's `NodeRef`, made
once per graph."""

from __future__ import annotations

import json

import networkx as nx

from lineage.graph import MODEL

# Python's escaping of a str, as pydantic's serialiser writes it: `"`, `\`, control characters
# escaped, everything else (non-ASCII included) as it is.
string = json.JSONEncoder(ensure_ascii=False).encode


def ref_json(graph: nx.DiGraph, node: str) -> str:
    """A node's `NodeRef` as JSON, made once per graph (see `lineage.service.ref`, whose fields it writes)."""
    cached = graph.graph.setdefault("_ref_json", {})
    found = cached.get(node)
    if found is None:
        attrs = graph._node[node]
        version = attrs.get("version") if attrs["kind"] == MODEL else None
        found = cached[node] = (f'{{"id":{string(node)},"kind":{string(attrs["kind"])},'
                                f'"namespace":{string(attrs["namespace"])},"name":{string(attrs["name"])},'
                                f'"version":{"null" if version is None else string(version)}}}')
    return found
