"""What an AI-BOM says about one model version, gathered from the catalog as it is known now."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any

from catalog.locations import shown_location
from catalog.runs import observations
from catalog.store import Store
from checks import risk
from checks.results import Finding
from lineage import queries
from lineage.columns import column_graph, has_columns
from lineage.graph import DATASET, MODEL
from lineage.service import graph_of

SHA256 = "sha256:"


@dataclass
class DatasetEntry:
    node: str
    attrs: dict[str, Any]
    roles: list[str]  # how the model consumed it directly; empty for an upstream dataset
    sha256: str | None  # what the model consumed (its feed) or, upstream, what the last check saw
    hash_basis: str | None  # "consumed" (recorded on the feed) or "observed" (the last check's), when there is a hash
    inputs: list[str]  # the datasets it is derived from, among the BOM's
    findings: list[Finding] = field(default_factory=list)  # the model's findings rooted here
    location: str | None = None
    columns: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # known columns, classifications
    read: list[str] | None = None  # the columns the model read (its feed's features); None: every column


@dataclass
class Material:
    node: str
    attrs: dict[str, Any]
    base: str | None
    datasets: list[DatasetEntry]
    findings: list[Finding]  # the model version's own (risk_tier_unknown …)
    evaluated_on: date
    revision: int


def gather(store: Store, model: str, *, as_of: datetime | None = None) -> Material:
    graph = graph_of(store, as_of)
    node = queries.resolve(graph, model, kinds=(MODEL,))
    as_of = as_of or datetime.now(timezone.utc)
    report = risk.evaluate(store, as_of=as_of, model=node, path_limit=0)
    upstream = sorted(n for n in queries.upstream(graph, node) if graph.nodes[n]["kind"] == DATASET)
    members = set(upstream)
    by_id = {graph.nodes[n]["store_id"]: n for n in upstream}
    with store.read() as session:
        seen = {by_id[k]: v for k, v in observations(session, as_of).items() if k in by_id}
    cg = column_graph(graph) if has_columns(graph) else None
    entries = []
    for dataset in upstream:
        attrs = graph.nodes[dataset]
        uses = graph.edges[dataset, node]["uses"] if graph.has_edge(dataset, node) else []
        recorded = next((u["fingerprint"] for u in uses if (u["fingerprint"] or "").startswith(SHA256)), None)
        observed = (seen.get(dataset) or {}).get("fingerprint")
        digest = recorded if uses else observed  # never today's content passed off as what the model consumed
        entries.append(DatasetEntry(
            node=dataset, attrs=attrs, roles=sorted({u["role"] for u in uses}),
            sha256=digest.removeprefix(SHA256) if digest and digest.startswith(SHA256) else None,
            hash_basis=("consumed" if uses else "observed") if digest and digest.startswith(SHA256) else None,
            inputs=sorted(p for p in graph.predecessors(dataset) if p in members),
            findings=[f for f in report.findings if f.root == dataset],
            location=shown_location(attrs.get("location")),
            columns=[(name, c.classifications) for name, c in cg.columns.get(dataset, {}).items()] if cg else [],
            read=list(cg.features[(dataset, node)]) if cg and (dataset, node) in cg.features else None,
        ))
    base = next((p for p in graph.predecessors(node) if graph.nodes[p]["kind"] == MODEL), None)
    return Material(node=node, attrs=graph.nodes[node], base=base, datasets=entries,
                    findings=[f for f in report.findings if f.root == node], evaluated_on=as_of.date(),
                    revision=graph.graph["revision"])


def finding_text(finding: Finding) -> str:
    """One finding as a single line: what a BOM property or annotation carries."""
    return f"{finding.severity} {finding.root_condition}: {finding.detail}"
