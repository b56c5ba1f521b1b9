"""Risk evaluation: conditions, propagated through the lineage, priced by the policy.

`evaluate` is what `headwater risk`, the report, the gate and the API call. It is a function of the
store and a date: ask it about a past moment and it judges the catalog as it stood then (rebuilt
from the history, `catalog/history/past.py`), with only the incidents opened and the check runs made
by then.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import networkx as nx

from catalog.runs import newest_run_id, observations
from catalog.store import Store
from checks.assessment_cache import KeyedAnswers
from checks.column_findings import ColumnScope, describe, refine
from checks.conditions import ANONYMISING, Condition, detect, model_tiers_downstream, start_of
from checks.policy import Policy, load_policy, lower
from checks.results import Finding, RiskReport
from lineage import queries
from lineage.graph import DATASET, MODEL
from lineage.propagate import Reach, Root, propagate
from lineage.service import graph_of

TIER_ORDER = ("other", "gpai", "high")
DEFAULT_PATH_LIMIT = 5


def policy_for(store: Store, override: Path | None = None) -> Policy:
    """The policy to use: an explicit file, else the one a catalog file named, else the default."""
    if override is None:
        named = store.setting("policy")
        override = Path(named) if named else None
    return load_policy(override)


@dataclass
class Assessment:
    """What every risk answer is computed from: the conditions found and where each one reaches.

    Findings are (node, root) pairs: on a large platform there are millions, so callers that need
    a few nodes (the viewer, one model) ask the assessment about those nodes only.
    """

    graph: nx.DiGraph
    as_of: datetime
    policy: Policy
    conditions: list[Condition]
    roots: list[Root]
    reach: Reach
    tiers_below: dict[str, set[str]]
    columns: ColumnScope = field(default_factory=ColumnScope)  # privacy roots narrowed by column lineage
    memo: dict[Any, Any] = field(default_factory=dict)  # answers derived from this assessment (it never changes)

    @cached_property
    def by_key(self) -> dict[str, tuple[Root, Condition]]:
        return {root.key: (root, condition) for root, condition in zip(self.roots, self.conditions, strict=True)}

    def tier(self, node: str) -> str:
        """A model's own tier; a dataset takes the highest tier of the models it feeds."""
        attrs = self.graph.nodes[node]
        if attrs["kind"] == MODEL:
            return self.policy.tier_of(attrs.get("risk_tier"))
        return max(self.tiers_below.get(node, set()) or {"other"}, key=TIER_ORDER.index)

    def priced(self, node: str, key: str, mode: str, tier: str) -> "Priced":
        """Severity, texts and applicability of one root's condition as it affects one node."""
        root, condition = self.by_key[key]
        rule = self.policy.conditions[condition.condition]
        inherited = self.policy.conditions["upstream_tainted"]
        own = node == root.dataset or mode == "direct"
        severity = rule.severity_for(tier, condition.variant)
        if mode == "review":
            severity = lower(severity)
        applies_from = rule.applies_from.get(tier)
        return Priced(
            root=root, condition=condition, own=own, severity=severity, title=rule.title,
            applies="best_practice" if applies_from and self.as_of < start_of(applies_from) else "in_force",
            applies_from=applies_from,
            citations=rule.citations if own else _unique(rule.citations + inherited.citations),
            note=rule.note if own else f"{inherited.note} {rule.note}",
            actions=rule.actions if own else _unique(inherited.actions[:1] + rule.actions + inherited.actions[1:]),
        )


@dataclass
class Priced:
    root: Root
    condition: Condition
    own: bool
    severity: str
    title: str
    applies: str
    applies_from: date | None
    citations: list[str]
    note: str
    actions: list[str]


ASSESSMENTS: KeyedAnswers[Assessment] = KeyedAnswers()


def assess(store: Store, *, as_of: datetime | None = None, policy: Policy | None = None) -> Assessment:
    """The assessment of the catalog at `as_of` (now when None), computed once per what it depends on
    (`checks.assessment_cache`): the API, the viewer and the report share it until the store changes."""
    graph = graph_of(store, as_of)  # the catalog as it stood then, when a moment is given
    policy = policy or policy_for(store)
    with store.read() as session:
        newest_run = newest_run_id(session)
    key = (store.url, graph.graph["revision"], graph.graph.get("as_of_change"), as_of, _digest(policy), newest_run)
    return ASSESSMENTS.get(key, lambda moment: _assess(store, graph, moment, policy), moment=as_of)


def _assess(store: Store, graph: nx.DiGraph, as_of: datetime, policy: Policy) -> Assessment:
    by_id = {attrs["store_id"]: node for node, attrs in graph.nodes(data=True) if attrs["kind"] == DATASET}
    with store.read() as session:
        seen = {by_id[k]: v for k, v in observations(session, as_of).items() if k in by_id}
    conditions = detect(graph, seen, as_of, policy.settings, policy.tier_of)
    roots = [_root(f"{c.dataset}|{c.condition}|{i}", c, policy) for i, c in enumerate(conditions)]
    anonymised = {
        node for node, attrs in graph.nodes(data=True)
        if attrs["kind"] == DATASET and attrs.get("deid_method") in ANONYMISING and attrs.get("deid_verified")
        and as_of - start_of(attrs["deid_verified"]) <= policy.settings.deidentification_max_age
    }
    reach = propagate(graph, roots, anonymised=anonymised)
    columns = refine(graph, conditions, roots, reach, policy)
    return Assessment(graph=graph, as_of=as_of, policy=policy, conditions=conditions, roots=roots, reach=reach,
                      tiers_below=model_tiers_downstream(graph, policy.tier_of), columns=columns)


def _digest(policy: Policy) -> str:
    """What a policy says, not where it came from: an edited file is a new policy."""
    return hashlib.sha256(policy.model_dump_json().encode()).hexdigest()


def evaluate(store: Store, *, as_of: datetime | None = None, policy: Policy | None = None,
             model: str | None = None, path_limit: int = DEFAULT_PATH_LIMIT) -> RiskReport:
    """Every finding (of one `model` when given), worst first, `path_limit` paths each."""
    report, _ = evaluate_page(store, as_of=as_of, policy=policy, models=[model] if model else None,
                              path_limit=path_limit)
    return report


def evaluate_page(store: Store, *, as_of: datetime | None = None, policy: Policy | None = None,
                  models: list[str] | None = None, path_limit: int = DEFAULT_PATH_LIMIT, limit: int | None = None,
                  offset: int = 0) -> tuple[RiskReport, int]:
    """`limit` findings from `offset` in the full report's order, and how many there are in all.

    Findings are ranked without building them, and only the page's are built with their paths: a
    page costs its own paths, not the platform's. `models` (model references, as `queries.resolve`
    takes them) keeps the findings on those models only."""
    assessment = assess(store, as_of=as_of, policy=policy)
    only = [queries.resolve(assessment.graph, m, kinds=(MODEL,)) for m in models] if models is not None else None
    findings, total = findings_on(assessment, only, path_limit, limit=limit, offset=offset)
    return RiskReport(as_of=assessment.as_of, policy=assessment.policy.source,
                      revision=assessment.graph.graph["revision"], findings=findings), total


def findings_on(assessment: Assessment, nodes: list[str] | None, path_limit: int, *, limit: int | None = None,
                offset: int = 0) -> tuple[list[Finding], int]:
    """The findings on `nodes` (node ids; every node when None) in report order, `limit` of them from
    `offset`, built with their paths; and how many there are in all."""
    ranked = _ranked(assessment, nodes)
    page = ranked[offset:None if limit is None else offset + limit]
    per_root: dict[str, tuple[set[str], dict[str, int]]] = {}
    return [_finding(assessment, node, key, mode, path_limit, per_root) for *_, node, key, mode in page], len(ranked)


def _root(key: str, condition: Condition, policy: Policy) -> Root:
    rule = policy.conditions[condition.condition]
    return Root(
        key=key, dataset=condition.dataset, into_datasets=rule.propagate.datasets, into_models=rule.propagate.models,
        anonymisation=rule.anonymisation, models=condition.models,
        effective_from=(condition.effective_from or condition.since) if rule.time_scoped else None,
    )


SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
RANKED_KEPT = 1_000_000  # rankings up to this many findings are kept for the next page; larger ones are redone
Ranked = tuple[bool, int, str, str, str, int, str, str, str]  # sort fields, then (node, root key, mode)


def _ranked(assessment: Assessment, only: list[str] | None) -> list[Ranked]:
    """Every (node, root) finding in report order: models first, worst first, then node, condition,
    root (and the order they were found, as a stable sort keeps it). A finding's severity depends
    on its root's condition, the mode, the node's tier and whether the node is the root: priced
    once per combination, not per finding."""
    memo_key = ("ranked", None if only is None else tuple(only))
    kept = assessment.memo.get(memo_key)
    if kept is not None:
        return kept
    graph, reach = assessment.graph, assessment.reach
    prices: dict[tuple[str, str, str, bool], tuple[int, str]] = {}
    ranked: list[Ranked] = []
    reached = reach.modes.items() if only is None else reach.at_each(list(dict.fromkeys(only))).items()
    for node, modes in reached:
        not_model = graph.nodes[node]["kind"] != MODEL
        tier = assessment.tier(node)
        for key, mode in modes.items():
            root, condition = assessment.by_key[key]
            combination = (key, mode, tier, node == root.dataset)
            price = prices.get(combination)
            if price is None:
                price = prices[combination] = (SEVERITY_ORDER[assessment.priced(node, key, mode, tier).severity],
                                               condition.condition)
            ranked.append((not_model, price[0], node, price[1], root.dataset, len(ranked), node, key, mode))
    ranked.sort()
    if len(ranked) <= RANKED_KEPT:
        assessment.memo[memo_key] = ranked
    return ranked


def _finding(assessment: Assessment, node: str, key: str, mode: str, path_limit: int,
             per_root: dict[str, tuple[set[str], dict[str, int]]]) -> Finding:
    """One finding, built, with up to `path_limit` paths through the nodes its root reached
    (`per_root` keeps, for the findings of one answer, each root's members and path counts)."""
    graph = assessment.graph
    tier = assessment.tier(node)
    priced = assessment.priced(node, key, mode, tier)
    root, condition = priced.root, priced.condition
    paths: list[list[str]] = []
    path_count = None
    if node != root.dataset and path_limit:
        if key not in per_root:  # which nodes the root reaches: only paths need it
            members = assessment.reach.members(key) - {root.dataset}
            per_root[key] = (members, queries.count_paths(graph, root.dataset, members) or {})
        members, counts = per_root[key]
        path_count = counts.get(node)
        paths = queries.paths_between(graph, root.dataset, node, path_limit, members)
    label = assessment.columns.label(key, node)
    return Finding(
        node=node, node_kind=graph.nodes[node]["kind"], tier=tier, root=root.dataset,
        condition=condition.condition if priced.own else "upstream_tainted", root_condition=condition.condition,
        title=priced.title, severity=priced.severity, mode=mode, applies=priced.applies,  # type: ignore[arg-type]
        applies_from=priced.applies_from, since=condition.since, detail=describe(label, condition.detail),
        paths=paths, path_count=path_count, column_lineage=label,  # type: ignore[arg-type]
        column_paths=assessment.columns.paths(key, node, path_limit) if label in ("column", "indirect") else [],
        citations=priced.citations, note=priced.note, actions=priced.actions,
    )


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def model_report(store: Store, model: str, *, as_of: datetime | None = None, policy: Policy | None = None) -> str:
    """The model's training-data governance report, in Markdown."""
    from checks.reports.markdown import model_report as render

    assessment = assess(store, as_of=as_of, policy=policy)
    graph = assessment.graph
    node = queries.resolve(graph, model, kinds=(MODEL,))
    upstream = [n for n in queries.upstream(graph, node) if graph.nodes[n]["kind"] == DATASET]
    own = [f for f in findings_on(assessment, upstream, 0)[0] if f.node == f.root]  # what the drawing colours
    report = RiskReport(as_of=assessment.as_of, policy=assessment.policy.source, revision=graph.graph["revision"],
                        findings=findings_on(assessment, [node], DEFAULT_PATH_LIMIT)[0] + own)
    by_id = {attrs["store_id"]: n for n, attrs in graph.nodes(data=True) if attrs["kind"] == DATASET}
    with store.read() as session:
        seen = {by_id[k]: v for k, v in observations(session, report.as_of).items() if k in by_id}
    from checks.exposure import exposure

    return render(graph, node, report, seen, datetime.now(timezone.utc), exposure=exposure(assessment, node))
