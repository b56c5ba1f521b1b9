"""Risk at scale: one row per model (counts, worst severity, the top findings), paged.

`checks.risk.evaluate` answers with every (node, root) finding: 7.5 million pydantic objects on the
reference platform with 1% of its sources flagged, minutes and gigabytes. What a person (or a
dashboard) reads at that size is per model: how many findings, how bad the worst, from which
conditions, and the few that matter most with their paths. This module computes exactly that from
the same `assess()` (the same propagation and pricing as the full report, so the numbers agree with
it), decodes only the models' rows of the propagation, and searches paths only for the top findings
of the models on the page.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from catalog.store import Store
from checks.policy import Policy
from checks.results import Finding
from lineage import queries
from lineage.graph import MODEL

ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


class ModelRisk(BaseModel):
    model: str
    risk_tier: str | None
    tier: str
    deployed: bool
    worst: str | None = Field(description="the most severe finding's severity")
    findings: int
    by_severity: dict[str, int]
    by_condition: dict[str, int] = Field(description="findings by the root condition")
    top: list[Finding] = Field(description="the most severe findings, with paths from their roots")


class RiskSummary(BaseModel):
    as_of: datetime
    policy: list[str]
    revision: int
    conditions: int = Field(description="conditions detected (roots)")
    datasets_reached: int = Field(description="datasets some condition reaches")
    models_total: int = Field(description="models with at least one finding")
    findings_on_models: int
    by_severity: dict[str, int] = Field(description="findings on models, by severity")
    limit: int
    offset: int
    models: list[ModelRisk]


def summarise(store: Store, *, as_of: datetime | None = None, policy: Policy | None = None, model: str | None = None,
              limit: int = 50, offset: int = 0, top: int = 3, path_limit: int = 1) -> RiskSummary:
    """Per-model risk, worst first (then most findings, then id); `top` findings each, `path_limit` paths each."""
    from checks.risk import assess

    assessment = assess(store, as_of=as_of, policy=policy)
    graph, reach = assessment.graph, assessment.reach
    if model:
        wanted = [queries.resolve(graph, model, kinds=(MODEL,))]
    else:
        wanted = sorted(n for n, kind in graph.nodes(data="kind") if kind == MODEL)
    rows, totals = _ranked_models(assessment, wanted)
    names = {v: k for k, v in ORDER.items()}
    page = []
    downstream: dict[str, tuple[set[str], dict[str, int] | None]] = {}  # per root: its downstream and path counts
    for _, node, priced in rows[offset:offset + limit]:
        attrs = graph.nodes[node]
        tier = assessment.tier(node)
        page.append(ModelRisk(
            model=node, risk_tier=attrs.get("risk_tier"), tier=tier, deployed=bool(attrs.get("deployed")),
            worst=names[priced[0][0]], findings=len(priced), by_severity=_named(Counter(p[0] for p in priced), names),
            by_condition=dict(sorted(Counter(p[1] for p in priced).items())),
            top=[_finding(assessment, node, key, tier, path_limit, downstream) for *_, key in priced[:top]],
        ))
    return RiskSummary(
        as_of=assessment.as_of, policy=assessment.policy.source, revision=graph.graph["revision"],
        conditions=len(assessment.roots), datasets_reached=sum(1 for n in reach.reached() if graph.nodes[n]["kind"] != MODEL),
        models_total=len(rows), findings_on_models=sum(totals.values()), by_severity=_named(totals, names),
        limit=limit, offset=offset, models=page,
    )


def _ranked_models(assessment: Any, wanted: list[str]) -> tuple[list[tuple[tuple[Any, ...], str, list[tuple[int, str, str, str]]]], Counter[int]]:
    """Every model with findings, worst first, with its priced findings; kept on the assessment (which
    never changes), so the next page of the same answer costs the page only."""
    memo_key = ("models_ranked", tuple(wanted))
    kept = assessment.memo.get(memo_key)
    if kept is not None:
        return kept
    reach = assessment.reach
    rows: list[tuple[tuple[Any, ...], str, list[tuple[int, str, str, str]]]] = []
    totals: Counter[str] = Counter()
    # A root's pricing on a model depends on the model only through its tier (a model is never a root):
    # priced once per (root, mode, tier), not for each of the million (model, root) pairs.
    prices: dict[tuple[str, str, str], tuple[int, str, str]] = {}
    for node, modes in reach.at_each(wanted).items():
        tier = assessment.tier(node)
        priced = []
        for key, mode in modes.items():
            price = prices.get((key, mode, tier))
            if price is None:
                p = assessment.priced(node, key, mode, tier)
                price = prices[(key, mode, tier)] = (ORDER[p.severity], p.condition.condition, p.root.dataset)
            priced.append((*price, key))
        if not priced:
            continue
        priced.sort()
        totals.update(p[0] for p in priced)
        rows.append(((priced[0][0], -len(priced), node), node, priced))
    rows.sort()
    assessment.memo[memo_key] = (rows, totals)
    return rows, totals


def _named(counts: Counter[int], names: dict[int, str]) -> dict[str, int]:
    return {names[k]: counts[k] for k in sorted(counts)}


def _finding(assessment: Any, node: str, key: str, tier: str, path_limit: int,
             downstream: dict[str, tuple[set[str], dict[str, int] | None]]) -> Finding:
    """The full finding of one (model, root), as `evaluate` builds it, its paths searched now.

    Paths run through the root's downstream; where a rule stops propagation part-way (verified
    anonymisation) the full report's paths avoid the nodes it did not reach, so they can differ.
    """
    mode = assessment.reach.at_each([node])[node][key]
    priced = assessment.priced(node, key, mode, tier)
    root, condition = priced.root, priced.condition
    paths: list[list[str]] = []
    path_count = None
    if node != root.dataset and path_limit == 1 and len(assessment.graph) >= queries.ARRAY_PATHS_NODES:
        from lineage.arrays import topology
        from lineage.path_counts import FromSource

        if root.dataset not in downstream:  # on the arrays: no Python step per node a hub reaches
            downstream[root.dataset] = FromSource(topology(assessment.graph), root.dataset)  # type: ignore[assignment]
        walked: Any = downstream[root.dataset]
        path_count, paths = walked.count(node), [walked.first_path(node)]
    elif node != root.dataset and path_limit:
        graph = assessment.graph
        if root.dataset not in downstream:
            within = set(queries.downstream(graph, root.dataset))
            downstream[root.dataset] = (within, queries.count_paths(graph, root.dataset, within))
        within, counts = downstream[root.dataset]
        path_count = (counts or {}).get(node)
        paths = queries.paths_between(graph, root.dataset, node, path_limit, within)
    return Finding(
        node=node, node_kind="model", tier=tier, root=root.dataset,
        condition=condition.condition if priced.own else "upstream_tainted", root_condition=condition.condition,
        title=priced.title, severity=priced.severity, mode=mode, applies=priced.applies,
        applies_from=priced.applies_from, since=condition.since, detail=condition.detail,
        paths=paths, path_count=path_count, citations=priced.citations, note=priced.note, actions=priced.actions,
    )
