"""Risk evaluation: conditions, propagated through the lineage, priced by the policy.

`evaluate` is what `headwater risk`, the report, the gate and the API call. It is a function of the
store and a date: ask it about a past moment and it judges the catalog as it stood then (rebuilt
from the history, `catalog/history/past.py`), with only the incidents opened and the check runs made
by then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import cached_property
from pathlib import Path

import networkx as nx

from catalog.runs import observations
from catalog.store import Store
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


def assess(store: Store, *, as_of: datetime | None = None, policy: Policy | None = None) -> Assessment:
    graph = graph_of(store, as_of)  # the catalog as it stood then, when a moment is given
    as_of = as_of or datetime.now(timezone.utc)
    policy = policy or policy_for(store)
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
    return Assessment(graph=graph, as_of=as_of, policy=policy, conditions=conditions, roots=roots, reach=reach,
                      tiers_below=model_tiers_downstream(graph, policy.tier_of))


def evaluate(store: Store, *, as_of: datetime | None = None, policy: Policy | None = None,
             model: str | None = None, path_limit: int = DEFAULT_PATH_LIMIT) -> RiskReport:
    assessment = assess(store, as_of=as_of, policy=policy)
    only = queries.resolve(assessment.graph, model, kinds=(MODEL,)) if model else None
    findings = _findings(assessment, only, path_limit)
    return RiskReport(as_of=assessment.as_of, policy=assessment.policy.source,
                      revision=assessment.graph.graph["revision"], findings=findings)


def _root(key: str, condition: Condition, policy: Policy) -> Root:
    rule = policy.conditions[condition.condition]
    return Root(
        key=key, dataset=condition.dataset, into_datasets=rule.propagate.datasets, into_models=rule.propagate.models,
        anonymisation=rule.anonymisation, models=condition.models,
        effective_from=(condition.effective_from or condition.since) if rule.time_scoped else None,
    )


def _findings(assessment: Assessment, only: str | None, path_limit: int) -> list[Finding]:
    graph, reach = assessment.graph, assessment.reach
    members: dict[str, set[str]] | None = None
    counts: dict[str, dict[str, int] | None] = {}
    findings = []
    for node, modes in (reach.modes.items() if only is None else [(only, reach.at(only))]):
        kind = graph.nodes[node]["kind"]
        tier = assessment.tier(node)
        for key, mode in modes.items():
            priced = assessment.priced(node, key, mode, tier)
            root, condition = priced.root, priced.condition
            paths: list[list[str]] = []
            path_count = None
            if node != root.dataset and path_limit:
                if members is None:  # which nodes each root reaches: only paths need it
                    members = {}
                    for reached, keys in reach.modes.items():
                        for k in keys:
                            members.setdefault(k, set()).add(reached)
                if key not in counts:
                    counts[key] = queries.count_paths(graph, root.dataset, members[key] - {root.dataset})
                path_count = (counts[key] or {}).get(node)
                paths = queries.paths_between(graph, root.dataset, node, path_limit, members[key] - {root.dataset})
            findings.append(Finding(
                node=node, node_kind=kind, tier=tier, root=root.dataset,
                condition=condition.condition if priced.own else "upstream_tainted", root_condition=condition.condition,
                title=priced.title, severity=priced.severity, mode=mode, applies=priced.applies,
                applies_from=priced.applies_from, since=condition.since, detail=condition.detail,
                paths=paths, path_count=path_count, citations=priced.citations, note=priced.note, actions=priced.actions,
            ))
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    findings.sort(key=lambda f: (f.node_kind != "model", order[f.severity], f.node, f.root_condition, f.root))
    return findings


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def model_report(store: Store, model: str, *, as_of: datetime | None = None, policy: Policy | None = None) -> str:
    """The model's training-data governance report, in Markdown."""
    from checks.reports.markdown import model_report as render

    graph = graph_of(store, as_of)
    node = queries.resolve(graph, model, kinds=(MODEL,))
    report = evaluate(store, as_of=as_of, policy=policy, path_limit=DEFAULT_PATH_LIMIT)
    by_id = {attrs["store_id"]: n for n, attrs in graph.nodes(data=True) if attrs["kind"] == DATASET}
    with store.read() as session:
        seen = {by_id[k]: v for k, v in observations(session, report.as_of).items() if k in by_id}
    return render(graph, node, report, seen, datetime.now(timezone.utc))
