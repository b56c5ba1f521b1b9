"""`headwater gate`: the CI decision, as a result object every report format renders.

The gate fails when a finding at or above `fail_on` reaches a model in scope and no live waiver
covers it, or when a dataset such a model rests on could not be checked at all (data that could not
be judged cannot be vouched for). Failing is a result, not an error: the reports are written and
the exit code is 1.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from catalog.store import Store
from checks import risk
from checks.policy import LEVELS, Policy, level_rank
from checks.results import CheckRunResult, Finding
from checks.waivers import Waiver, load_waivers
from lineage import queries
from lineage.graph import DATASET, MODEL
from lineage.service import graph_of

Status = Literal["failing", "waived", "below_threshold"]


class GateItem(BaseModel):
    """One finding on one model in scope, with the gate's verdict on it."""

    model: str
    finding: Finding
    status: Status
    waiver: str | None = Field(None, description="the waiver that covers it: reason, approver, expiry")
    expired_waiver: str | None = Field(None, description="a waiver that would have covered it but has expired")
    file: str | None = Field(None, description="the catalog file declaring the root dataset")
    line: int | None = None


class ErroredCheck(BaseModel):
    dataset: str
    models: list[str]
    error: str
    status: Literal["failing", "waived"]
    waiver: str | None = None
    file: str | None = None
    line: int | None = None


class WaiverNote(BaseModel):
    file: str
    line: int | None
    condition: str
    dataset: str
    model: str | None
    expires: str
    state: Literal["expired", "stale"]


class GateResult(BaseModel):
    passed: bool
    fail_on: str
    as_of: datetime
    scope: list[str]
    items: list[GateItem]
    errored: list[ErroredCheck]
    checks: list[CheckRunResult] = Field(description="the latest check run of every dataset the scope rests on")
    waivers: list[WaiverNote] = Field(description="expired and stale waivers")
    checks_validated: int
    checks_reused: int

    @property
    def failing(self) -> list[GateItem]:
        return [item for item in self.items if item.status == "failing"]


def run_gate(store: Store, *, fail_on: str = "high", models: list[str] | None = None, everything: bool = False,
             waivers_file: Path | None = None, as_of: datetime | None = None, policy: Policy | None = None,
             force: bool = False, progress=None, clock=None) -> GateResult:
    from checks import service

    if fail_on not in LEVELS:
        from catalog.errors import ConfigurationError

        raise ConfigurationError(f"--fail-on must be one of {', '.join(LEVELS)}, not {fail_on!r}")
    graph = graph_of(store, as_of)
    scope = _scope(graph, models, everything)
    if not scope:
        from catalog.errors import ConfigurationError

        which = "no model" if everything else "no deployed model"
        raise ConfigurationError(f"nothing to gate: the store ({store.display_url}) holds {which}; load the catalog "
                                 "first (`headwater gate CATALOG…`), name models with --model, or use --all")
    waivers = load_waivers(waivers_file, lambda name, kind: queries.resolve_all(graph, name, kinds=(kind,))) if waivers_file else []
    upstream = sorted({n for m in scope for n in queries.upstream(graph, m) if graph.nodes[n]["kind"] == DATASET})
    extra = {"clock": clock} if clock else {}
    report = service.run_checks(store, upstream, force=force, progress=progress, **extra) if upstream else None
    as_of = as_of or datetime.now(timezone.utc)  # after the checks, so their runs count as known
    evaluated, _ = risk.evaluate_page(store, as_of=as_of, policy=policy, models=sorted(scope))  # the gated models' findings only
    threshold = level_rank(fail_on)
    used: set[int] = set()
    items = []
    for finding in evaluated.findings:
        if finding.node not in scope:
            continue
        live, expired = _waivers_for(waivers, finding.root_condition, finding.root, finding.node, as_of)
        if live is not None:
            used.add(live.index)
            status: Status = "waived"
        elif level_rank(finding.severity) >= threshold:
            status = "failing"
        else:
            status = "below_threshold"
        if expired is not None:
            used.add(expired.index)
        root = graph.nodes[finding.root]
        items.append(GateItem(model=finding.node, finding=finding, status=status, waiver=_describe(live),
                              expired_waiver=_describe(expired), file=root.get("catalog_file"), line=root.get("catalog_line")))
    errored = []
    for run in (report.runs if report else []):
        if run.outcome != "errored":
            continue
        reached = sorted(m for m in scope if run.dataset in set(queries.upstream(graph, m)))
        live = next((w for w in waivers if w.spec.condition == "check_errored" and w.dataset == run.dataset
                     and (w.model is None or set(w.covers) & set(reached)) and w.spec.expires >= as_of.date()), None)
        if live is not None:
            used.add(live.index)
        reason = run.error or "; ".join(f"{r.expectation}: {r.error}" for r in run.results if r.errored)
        node = graph.nodes[run.dataset]
        errored.append(ErroredCheck(dataset=run.dataset, models=reached, error=reason,
                                    status="waived" if live else "failing", waiver=_describe(live),
                                    file=node.get("catalog_file"), line=node.get("catalog_line")))
    notes = []
    for waiver in waivers:
        state = "expired" if waiver.spec.expires < as_of.date() else ("stale" if waiver.index not in used else None)
        if state:
            notes.append(WaiverNote(file=waiver.file, line=waiver.line, condition=waiver.spec.condition,
                                    dataset=waiver.dataset, model=waiver.model,
                                    expires=waiver.spec.expires.isoformat(), state=state))
    passed = not any(i.status == "failing" for i in items) and not any(e.status == "failing" for e in errored)
    return GateResult(
        passed=passed, fail_on=fail_on, as_of=as_of, scope=sorted(scope), items=items, errored=errored,
        checks=report.runs if report else [], waivers=notes,
        checks_validated=report.validated if report else 0, checks_reused=report.reused if report else 0,
    )


def _scope(graph, models: list[str] | None, everything: bool) -> set[str]:
    if models:  # a model named without a version: its deployed versions, else its newest
        return {node for name in models for node in queries.resolve_all(graph, name, kinds=(MODEL,))}
    kind = {n for n, a in graph.nodes(data=True) if a["kind"] == MODEL}
    return kind if everything else {n for n in kind if graph.nodes[n].get("deployed")}


def _waivers_for(waivers: list[Waiver], condition: str, root: str, model: str, as_of: datetime):
    live = expired = None
    for waiver in waivers:
        if waiver.spec.condition != condition or waiver.dataset != root or (waiver.model and model not in waiver.covers):
            continue
        if waiver.spec.expires >= as_of.date():
            live = live or waiver
        else:
            expired = expired or waiver
    return live, expired


def _describe(waiver: Waiver | None) -> str | None:
    if waiver is None:
        return None
    return f"{waiver.spec.reason} (approved by {waiver.spec.approved_by}, until {waiver.spec.expires:%Y-%m-%d}; {waiver.file}:{waiver.line})"
