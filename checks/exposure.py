"""The sensitive columns a model is exposed to: for each privacy finding on it that column lineage
scopes (`checks.column_findings`), the classified source columns behind it, how each reaches the
model and the column paths that show it.

How a column reaches the model is the column graph's answer for that column alone
(`lineage.column_reach`, one seed per column): `column` when its values flow into what the model
read, `indirect` when only filters, joins or group-bys carry it, `assumed` when some hop on the way
has no column lineage and the table-level rule is what says it arrives. A column of the root that
does not reach the model (a feature table that left it out) is not listed.

Plain data (frozen dataclasses of strings and tuples), for the Markdown model report and any other
renderer: nothing here formats.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import networkx as nx

from checks.column_findings import CARRIERS, ColumnScope
from checks.policy import Policy
from checks.results import Finding
from lineage.column_reach import Seed, reach_columns
from lineage.columns import classified, column_graph, has_columns
from lineage.propagate import Reach

DEFAULT_PATH_LIMIT = 5  # as checks.risk lists paths (not imported: the report renderer, which risk calls, uses this)
SEVERITY_ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}
LINEAGE_ORDER = {"column": 0, "indirect": 1, "assumed": 2}
Step = tuple[str, str | None]  # (node, column): column '' for a whole dataset, None for a model


@dataclass(frozen=True)
class ExposedColumn:
    dataset: str
    column: str
    classifications: tuple[str, ...]
    lineage: str  # column | indirect | assumed
    paths: tuple[tuple[Step, ...], ...]  # from the column to the model, shortest first


@dataclass(frozen=True)
class Exposure:
    """One column-scoped privacy finding on the model and the columns behind it."""

    root: str  # the dataset whose classified columns carry the condition
    condition: str  # the root's condition
    title: str
    severity: str
    mode: str
    lineage: str  # the finding's own column_lineage: the best of its columns'
    columns: tuple[ExposedColumn, ...]


class Assessed(Protocol):
    """What is asked of a `checks.risk.Assessment`."""

    graph: nx.DiGraph
    reach: Reach
    columns: ColumnScope

    def tier(self, node: str) -> str: ...

    def priced(self, node: str, key: str, mode: str, tier: str) -> Any: ...


@dataclass(frozen=True)
class _Scoped:
    key: str
    root: str
    condition: str
    title: str
    severity: str
    mode: str
    lineage: str
    columns: tuple[str, ...]


def exposure(assessment: Assessed, model: str, *, path_limit: int = DEFAULT_PATH_LIMIT) -> list[Exposure]:
    """The sensitive columns `model` (a node id) is exposed to, worst finding first."""
    graph, scope = assessment.graph, assessment.columns
    if scope.reach is None or model not in graph:
        return []
    tier = assessment.tier(model)
    scoped = []
    for key, mode in assessment.reach.at(model).items():
        label = scope.label(key, model)
        if label is None:
            continue
        priced = assessment.priced(model, key, mode, tier)
        scoped.append(_Scoped(key, priced.root.dataset, priced.condition.condition, priced.title, priced.severity,
                              mode, label, scope.seeds[key].columns))
    return _exposed(graph, model, scoped, path_limit)


def exposure_of_findings(graph: nx.DiGraph, model: str, findings: Iterable[Finding], policy: Policy, *,
                         path_limit: int = DEFAULT_PATH_LIMIT) -> list[Exposure]:
    """The same answer from a report's findings on the model (those with a `column_lineage`), when
    no assessment is at hand: the policy says which classifications carry each condition."""
    if not has_columns(graph) or model not in graph:
        return []
    cg = column_graph(graph)
    scoped = []
    for i, f in enumerate(findings):
        if f.node != model or f.column_lineage is None or f.root_condition not in policy.conditions:
            continue
        carriers = CARRIERS.get(policy.conditions[f.root_condition].columns)
        columns = tuple(classified(cg, f.root, carriers)) if carriers else ()
        if columns:
            scoped.append(_Scoped(f"{i}", f.root, f.root_condition, f.title, f.severity, f.mode, f.column_lineage,
                                  columns))
    return _exposed(graph, model, scoped, path_limit)


def _exposed(graph: nx.DiGraph, model: str, scoped: list[_Scoped], path_limit: int) -> list[Exposure]:
    """Walk each root's columns one by one (one seed each, all in one pass) to the model."""
    if not scoped:
        return []
    cg = column_graph(graph)
    seeds = [Seed(f"{s.key}\x00{column}", s.root, (column,)) for s in scoped for column in s.columns]
    walked = reach_columns(cg, seeds)
    found = []
    for s in scoped:
        columns = []
        for column in s.columns:
            key = f"{s.key}\x00{column}"
            label = walked.label(key, model)
            if label is None:
                continue
            known = cg.columns.get(s.root, {}).get(column)
            paths = tuple(tuple(step) for step in walked.paths(key, model, path_limit))
            columns.append(ExposedColumn(s.root, column, known.classifications if known else (), label, paths))
        if columns:
            columns.sort(key=lambda c: (LINEAGE_ORDER[c.lineage], c.column))
            found.append(Exposure(s.root, s.condition, s.title, s.severity, s.mode, s.lineage, tuple(columns)))
    found.sort(key=lambda e: (SEVERITY_ORDER[e.severity], e.condition, e.root))
    return found
