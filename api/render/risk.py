"""Governance findings as people read them: the risk report, its by-model summary, the gate's verdict.

Worst first everywhere: a reviewer reads from the top and stops when the rest can wait.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from api.render.markup import condition, label_id, rank, said, severity
from catalog.ids import short_name

if TYPE_CHECKING:
    from checks.gate import GateResult
    from checks.results import Finding, RiskReport
    from checks.summary import RiskSummary


def risk_report(console: Console, report: "RiskReport", *, model_only: bool = False) -> None:
    """One branch per model, one line per finding, worst first; then the datasets' own conditions.

    `model_only` (`headwater risk --model`) trades the datasets table for each finding's note,
    citations and actions: one model's reviewer needs what to do, not the whole platform.
    """
    models = [f for f in report.findings if f.node_kind == "model"]
    console.print(f"Risk as of {report.as_of:%Y-%m-%d %H:%M} UTC · store revision {report.revision}")
    by_model: dict[str, list["Finding"]] = {}
    for finding in models:
        by_model.setdefault(finding.node, []).append(finding)
    tree = Tree("[bold]Findings by model[/]")
    for node, findings in sorted(by_model.items(), key=lambda item: (rank(item[1][0].severity), item[0])):
        branch = tree.add(f"{label_id(node)}  worst: {severity(findings[0].severity)}  ({len(findings)} findings)")
        for f in findings:
            extra = " [dim](best practice until {0:%Y-%m-%d})[/]".format(f.applies_from) if f.applies == "best_practice" else ""
            since = f", since {f.since:%Y-%m-%d}" if f.since else ""
            line = branch.add(f"{severity(f.severity)} {escape(condition(f))}{extra} from {escape(short_name(f.root))} "
                              f"[dim]({f.mode}{since})[/]")
            line.add(f"[dim]{said(f.detail)}[/]")
            for path in f.column_paths[:3]:
                line.add("[dim]columns: " + escape(column_path(path)) + "[/]")
            if model_only:
                line.add(escape(f.note))
                line.add("[dim]" + escape("; ".join(f.citations)) + "[/]")
                for action in f.actions:
                    line.add(f"→ {escape(action)}")
    if models:
        console.print(tree, soft_wrap=False)
    else:
        console.print("no findings reach any model")
    if model_only:
        return
    own = [f for f in report.findings if f.node_kind == "dataset" and f.node == f.root]
    if own:
        datasets = Table(title="Conditions on datasets", title_justify="left")
        for column in ("dataset", "severity", "condition", "evidence"):
            datasets.add_column(column, overflow="fold")
        for f in own:
            datasets.add_row(escape(short_name(f.node)), severity(f.severity), escape(f.condition), said(f.detail))
        console.print(datasets)
    console.print(f"{len(report.findings)} findings ({len(models)} on models); "
                  f"`headwater risk --model NAME` adds notes, citations and actions")


def column_path(path: list) -> str:
    """`admissions.diagnosis → diagnosis_features.dx_code → readmission@1`."""
    return " → ".join(short_name(step.node) + ("" if step.column is None else
                                               f".{step.column}" if step.column else " (every row)")
                      for step in path)


def risk_summary(console: Console, summary: "RiskSummary") -> None:
    """`headwater risk --by-model`: one branch per model, worst first, its counts and its top findings.

    For platforms where the full report runs to thousands of lines; `--limit` bounds the models.
    """
    console.print(f"Risk as of {summary.as_of:%Y-%m-%d %H:%M} UTC · store revision {summary.revision} · "
                  f"{summary.conditions} conditions reach {summary.datasets_reached} datasets and "
                  f"{summary.models_total} models ({summary.findings_on_models} findings on models)")
    tree = Tree("[bold]Models, worst first[/]")
    for row in summary.models:
        counts = ", ".join(f"{n} {s}" for s, n in row.by_severity.items())
        branch = tree.add(f"{label_id(row.model)}  worst: {severity(row.worst)}  ({row.findings} findings: {counts})")
        for f in row.top:
            line = branch.add(f"{severity(f.severity)} {escape(condition(f))} from {escape(short_name(f.root))} "
                              f"[dim]({f.mode})[/]")
            for path in f.paths:
                line.add("[dim]" + escape(" → ".join(short_name(n) for n in path)) + "[/]")
    console.print(tree, soft_wrap=False)
    shown = len(summary.models)
    if shown < summary.models_total:
        console.print(f"{shown} of {summary.models_total} models shown; --limit shows more, --model NAME one")


GATE_ORDER = {"failing": 0, "waived": 1, "below_threshold": 2}
GATE_STYLE = {"failing": "bold red", "waived": "cyan", "below_threshold": "dim"}


def gate_result(console: Console, result: "GateResult") -> None:
    """Failing findings first, then waived, then those below the threshold; then the verdict.

    Errored checks are rows too: data that cannot be judged fails the gate unless it is waived.
    """
    table = Table(title=f"Gate: findings on {len(result.scope)} model(s) in scope", title_justify="left")
    for column in ("model", "condition", "root", "severity", "status"):
        table.add_column(column, overflow="fold")
    for item in sorted(result.items, key=lambda i: (GATE_ORDER[i.status], rank(i.finding.severity), i.model)):
        f = item.finding
        status = f"[{GATE_STYLE[item.status]}]{item.status.replace('_', ' ')}[/]"
        if item.expired_waiver:
            status += " [yellow](waiver expired)[/]"
        table.add_row(escape(short_name(item.model)), escape(condition(f)), escape(short_name(f.root)),
                      severity(f.severity), status)
    for check in result.errored:
        table.add_row(escape(", ".join(short_name(m) for m in check.models)), "check_errored",
                      escape(short_name(check.dataset)), "-", f"[bold red]{check.status}[/]: {said(check.error)}")
    console.print(table)
    for note in result.waivers:
        console.print(f"[yellow]{note.state} waiver[/] {escape(note.condition)} on {escape(short_name(note.dataset))} "
                      f"(expires {note.expires}) at {escape(note.file)}:{note.line}")
    failing = len(result.failing) + sum(1 for e in result.errored if e.status == "failing")
    console.print(f"checks: {result.checks_validated} validated, {result.checks_reused} reused")
    if result.passed:
        console.print(f"[bold green]gate passed[/]: nothing at or above {result.fail_on} reaches a model in scope unwaived")
    else:
        console.print(f"[bold red]gate failed[/]: {failing} finding(s) at or above {result.fail_on}, or unjudgeable data")
