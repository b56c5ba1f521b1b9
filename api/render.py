"""Text renderings of service results for the terminal (rich). JSON output skips this module."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from catalog.secrets import mask_secrets

if TYPE_CHECKING:
    from catalog.loader import LoadResult
    from checks.results import CheckHistory, CheckReport, RiskReport, TrainingManifest
    from lineage.results import ImpactResult, LineageResult, LineageSummary, NodeRef, PathResult, TreeNode

KIND_STYLE = {"dataset": "cyan", "job": "dim", "model": "bold magenta"}
TIER_STYLE = {"prohibited": "bold red", "high": "red", "gpai": "yellow", "limited": "blue", "minimal": "green"}


def label(node: "NodeRef") -> str:
    """How a node is named on screen: kind, then the full id, every user string escaped."""
    style = KIND_STYLE.get(node.kind, "")
    return f"[{style}]{escape(node.id)}[/]"


def said(message: str) -> str:
    """A message for the terminal: credentials masked (it may quote a location, and runs recorded
    before every form was masked may still hold one), then escaped as every user string is."""
    return escape(mask_secrets(message))


def load_result(console: Console, result: "LoadResult") -> None:
    table = Table(title=f"Loaded {len(result.files)} file{'s' if len(result.files) != 1 else ''}", title_justify="left")
    table.add_column("kind")
    for column in ("created", "updated", "unchanged"):
        table.add_column(column, justify="right")
    for kind in ("datasets", "models", "incidents"):
        counts = result.counts.get(kind, {"created": 0, "updated": 0, "unchanged": 0})
        table.add_row(kind, *(str(counts[c]) for c in ("created", "updated", "unchanged")))
    console.print(table)
    state = "changed" if result.changed else "unchanged"
    console.print(f"store {state}, revision {result.revision}")


def lineage_result(console: Console, result: "LineageResult") -> None:
    arrow = "←" if result.direction == "upstream" else "→"
    depth = "all levels" if result.depth is None else f"depth {result.depth}"
    root = Tree(f"{label(result.root)}  [dim]{result.direction} {arrow} ({depth})[/]")
    _grow(root, result.tree.children)
    console.print(root, soft_wrap=False)
    datasets = sum(1 for r in result.nodes if r.node.kind == "dataset")
    models = sum(1 for r in result.nodes if r.node.kind == "model")
    console.print(f"{datasets} dataset{'s' if datasets != 1 else ''}, {models} model{'s' if models != 1 else ''} {result.direction}")


def _grow(branch: Tree, children: list["TreeNode"]) -> None:
    for child in children:
        text = label(child.node) + ("  [dim](shown above)[/]" if child.repeated else "")
        _grow(branch.add(text), child.children)


def impact_result(console: Console, result: "ImpactResult") -> None:
    models, datasets = len(result.models), len(result.datasets)
    head = Tree(
        f"Impact of {label(result.root)}: {models} model{'s' if models != 1 else ''}, "
        f"{datasets} dataset{'s' if datasets != 1 else ''} downstream"
    )
    for model in result.models:
        tier = f"[{TIER_STYLE.get(model.risk_tier, '')}]{escape(model.risk_tier)}[/]"
        count = "an unknown number of" if model.path_count is None else str(model.path_count)
        branch = head.add(
            f"{label(model.model)} {escape(model.version or '')}  {tier}  "
            f"{'deployed' if model.deployed else 'not deployed'}  [dim]{count} path{'s' if model.path_count != 1 else ''}[/]"
        )
        for path in model.paths:
            branch.add(" → ".join(escape(_short(n)) for n in path))
        if model.path_count is not None and model.path_count > len(model.paths):
            branch.add(f"[dim]… {model.path_count - len(model.paths)} more (use --paths or --format json)[/]")
    if result.datasets:
        head.add("datasets: " + ", ".join(escape(_short(r.node.id)) for r in result.datasets))
    console.print(head, soft_wrap=False)


def path_result(console: Console, result: "PathResult") -> None:
    if not result.paths:
        console.print(f"no path from {label(result.source)} to {label(result.target)}")
        return
    count = "an unknown number of" if result.path_count is None else str(result.path_count)
    console.print(f"{count} path{'s' if result.path_count != 1 else ''} from {label(result.source)} to {label(result.target)}")
    for number, path in enumerate(result.paths, 1):
        console.print(f"  {number}. " + " → ".join(escape(_short(n)) for n in path))


def summary(console: Console, result: "LineageSummary") -> None:
    origins = ", ".join(f"{count} {escape(origin)}" for origin, count in sorted(result.by_origin.items()))
    console.print(
        f"{result.datasets} datasets ({result.sources} sources: {origins}), {result.jobs} jobs, "
        f"{result.models} models, {result.edges} edges"
    )
    table = Table(title="What each model rests on", title_justify="left")
    for column in ("model", "risk tier", "deployed", "consumes", "upstream sources"):
        table.add_column(column, overflow="fold")
    for item in result.model_summaries:
        tier = f"[{TIER_STYLE.get(item.risk_tier, '')}]{escape(item.risk_tier)}[/]"
        table.add_row(
            escape(f"{item.model.name} {item.version or ''}".strip()), tier, "yes" if item.deployed else "no",
            "\n".join(escape(_short(n)) for n in item.direct),
            "\n".join(escape(_short(n)) for n in item.sources),
        )
    console.print(table)


def _short(node_id: str) -> str:
    """`dataset:acme-ml:raw.x` -> `raw.x` for dense tables; full ids stay in JSON output.

    Namespaces may hold ':' (OpenLineage uses URIs such as postgres://db:5432), names rarely do,
    so the name is what follows the last ':'.
    """
    return node_id.rsplit(":", 1)[-1]


OUTCOME_STYLE = {"passed": "green", "warning": "yellow", "failed": "bold red", "errored": "bold magenta", "unchecked": "dim"}


@contextmanager
def check_progress(console: Console) -> Iterator[Callable[[str, str], None]]:
    """A progress bar over datasets; the check service calls back once per dataset."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, transient=True) as progress:
        task = progress.add_task("", total=None)

        def advance(dataset: str, outcome: str) -> None:
            progress.update(task, advance=1, description=f"{_short(dataset)}: {outcome}")

        yield advance


def _outcome(outcome: str) -> str:
    return f"[{OUTCOME_STYLE.get(outcome, '')}]{outcome}[/]"


def _fingerprint(value: str | None) -> str:
    return value.removeprefix("sha256:")[:12] if value else "-"


def check_report(console: Console, report: "CheckReport") -> None:
    table = Table(title="Checks", title_justify="left")
    for column in ("dataset", "outcome", "expectations", "fingerprint", "verdict"):
        table.add_column(column, overflow="fold")
    for run in report.runs:
        if run.results:
            counts = f"{run.evaluated - run.failed} ok, {run.failed} failed" + (f", {run.errored} errored" if run.errored else "")
        else:
            counts = "-"
        verdict = f"reused from run {run.reused_from}" if run.reused_from else ("validated" if run.results else "fingerprinted")
        table.add_row(escape(_short(run.dataset)), _outcome(run.outcome), counts, _fingerprint(run.fingerprint), verdict)
    console.print(table)
    for run in report.runs:
        if run.error:
            console.print(f"[bold magenta]errored[/] {escape(_short(run.dataset))}: {said(run.error)}")
        for result in run.results:
            if result.errored:
                console.print(f"[bold magenta]errored[/] {escape(_short(run.dataset))} #{result.position} "
                              f"{escape(result.expectation)}: {said(result.error or '')}")
            elif result.success is False:
                style = "bold red" if result.severity == "critical" else "yellow"
                detail = _detail(result)
                console.print(f"[{style}]{result.severity}[/] {escape(_short(run.dataset))} #{result.position} "
                              f"{escape(result.expectation)} {escape(_kwargs(result.kwargs))}{detail}")
    for skipped in report.skipped:
        console.print(f"[dim]skipped {escape(_short(skipped.dataset))}: {said(skipped.reason)}[/]")
    counts = report.counts
    summary = ", ".join(f"{n} {k}" for k, n in counts.items() if n)
    console.print(f"{len(report.runs)} datasets: {summary or 'nothing to check'}; "
                  f"{report.validated} validated, {report.reused} reused")


def _kwargs(kwargs: dict) -> str:
    return "(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"


def _detail(result) -> str:
    parts = []
    if result.unexpected_count is not None:
        percent = f" ({result.unexpected_percent:.2f}%)" if result.unexpected_percent is not None else ""
        parts.append(f"{result.unexpected_count} unexpected{percent}")
    if result.observed_value is not None:
        parts.append(f"observed {result.observed_value!r}")
    if result.sample:
        parts.append("e.g. " + ", ".join(repr(v) for v in result.sample[:5]))
    return (": " + "; ".join(parts)) if parts else ""


def check_history(console: Console, history: "CheckHistory") -> None:
    table = Table(title=f"Check history of {escape(history.dataset)}", title_justify="left")
    for column in ("run", "started (UTC)", "outcome", "failed", "errored", "fingerprint", "verdict"):
        table.add_column(column)
    for run in history.runs:
        table.add_row(str(run.id), f"{run.started_at:%Y-%m-%d %H:%M:%S}", _outcome(run.outcome), str(run.failed),
                      str(run.errored), _fingerprint(run.fingerprint),
                      f"reused from {run.reused_from}" if run.reused_from else "validated" if run.results else "-")
    console.print(table)
    if not history.runs:
        console.print("no check runs yet: run `headwater check`")


def manifest(console: Console, result: "TrainingManifest") -> None:
    table = Table(title=f"Training manifest of {escape(result.model)} {escape(result.version or '')}", title_justify="left")
    for column in ("dataset", "role", "fingerprint", "changed since last record"):
        table.add_column(column, overflow="fold", no_wrap=column == "fingerprint")
    for entry in result.feeds:
        changed = "-" if entry.previous_fingerprint is None else ("yes" if entry.previous_fingerprint != entry.fingerprint else "no")
        table.add_row(escape(_short(entry.dataset)), escape(entry.role), entry.fingerprint, changed)
    console.print(table)
    console.print(f"recorded at {result.recorded_at:%Y-%m-%d %H:%M:%S} UTC")


SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}


def _severity(level: str) -> str:
    return f"[{SEVERITY_STYLE.get(level, '')}]{level}[/]"


def risk_report(console: Console, report: "RiskReport", *, model_only: bool = False) -> None:
    """One branch per model, one line per finding, worst first; then the datasets' own conditions."""
    models = [f for f in report.findings if f.node_kind == "model"]
    console.print(f"Risk as of {report.as_of:%Y-%m-%d %H:%M} UTC · store revision {report.revision}")
    by_model: dict[str, list] = {}
    for finding in models:
        by_model.setdefault(finding.node, []).append(finding)
    tree = Tree("[bold]Findings by model[/]")
    for node, findings in sorted(by_model.items(), key=lambda item: (_rank(item[1][0].severity), item[0])):
        branch = tree.add(f"{label_id(node)}  worst: {_severity(findings[0].severity)}  ({len(findings)} findings)")
        for f in findings:
            condition = f.condition if f.condition != "upstream_tainted" else f"upstream_tainted ← {f.root_condition}"
            extra = " [dim](best practice until {0:%Y-%m-%d})[/]".format(f.applies_from) if f.applies == "best_practice" else ""
            since = f", since {f.since:%Y-%m-%d}" if f.since else ""
            line = branch.add(f"{_severity(f.severity)} {escape(condition)}{extra} from {escape(_short(f.root))} "
                              f"[dim]({f.mode}{since})[/]")
            line.add(f"[dim]{said(f.detail)}[/]")
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
            datasets.add_row(escape(_short(f.node)), _severity(f.severity), escape(f.condition), said(f.detail))
        console.print(datasets)
    console.print(f"{len(report.findings)} findings ({len(models)} on models); "
                  f"`headwater risk --model NAME` adds notes, citations and actions")


def risk_summary(console: Console, summary) -> None:
    """`headwater risk --by-model`: one branch per model, worst first, its counts and its top findings."""
    console.print(f"Risk as of {summary.as_of:%Y-%m-%d %H:%M} UTC · store revision {summary.revision} · "
                  f"{summary.conditions} conditions reach {summary.datasets_reached} datasets and "
                  f"{summary.models_total} models ({summary.findings_on_models} findings on models)")
    tree = Tree("[bold]Models, worst first[/]")
    for row in summary.models:
        counts = ", ".join(f"{n} {s}" for s, n in row.by_severity.items())
        branch = tree.add(f"{label_id(row.model)}  worst: {_severity(row.worst)}  ({row.findings} findings: {counts})")
        for f in row.top:
            condition = f.condition if f.condition != "upstream_tainted" else f"upstream_tainted ← {f.root_condition}"
            line = branch.add(f"{_severity(f.severity)} {escape(condition)} from {escape(_short(f.root))} [dim]({f.mode})[/]")
            for path in f.paths:
                line.add("[dim]" + escape(" → ".join(_short(n) for n in path)) + "[/]")
    console.print(tree, soft_wrap=False)
    shown = len(summary.models)
    if shown < summary.models_total:
        console.print(f"{shown} of {summary.models_total} models shown; --limit shows more, --model NAME one")


def label_id(node_id: str) -> str:
    kind = node_id.split(":", 1)[0]
    return f"[{KIND_STYLE.get(kind, '')}]{escape(node_id)}[/]"


def _rank(level: str) -> int:
    return ("critical", "high", "medium", "low").index(level)


def gate_result(console: Console, result) -> None:
    table = Table(title=f"Gate: findings on {len(result.scope)} model(s) in scope", title_justify="left")
    for column in ("model", "condition", "root", "severity", "status"):
        table.add_column(column, overflow="fold")
    order = {"failing": 0, "waived": 1, "below_threshold": 2}
    style = {"failing": "bold red", "waived": "cyan", "below_threshold": "dim"}
    for item in sorted(result.items, key=lambda i: (order[i.status], _rank(i.finding.severity), i.model)):
        f = item.finding
        condition = f.condition if f.condition != "upstream_tainted" else f"upstream_tainted ← {f.root_condition}"
        status = f"[{style[item.status]}]{item.status.replace('_', ' ')}[/]"
        if item.expired_waiver:
            status += " [yellow](waiver expired)[/]"
        table.add_row(escape(_short(item.model)), escape(condition), escape(_short(f.root)), _severity(f.severity), status)
    for check in result.errored:
        table.add_row(escape(", ".join(_short(m) for m in check.models)), "check_errored", escape(_short(check.dataset)),
                      "-", f"[bold red]{check.status}[/]: {said(check.error)}")
    console.print(table)
    for note in result.waivers:
        console.print(f"[yellow]{note.state} waiver[/] {escape(note.condition)} on {escape(_short(note.dataset))} "
                      f"(expires {note.expires}) at {escape(note.file)}:{note.line}")
    failing = len(result.failing) + sum(1 for e in result.errored if e.status == "failing")
    console.print(f"checks: {result.checks_validated} validated, {result.checks_reused} reused")
    if result.passed:
        console.print(f"[bold green]gate passed[/]: nothing at or above {result.fail_on} reaches a model in scope unwaived")
    else:
        console.print(f"[bold red]gate failed[/]: {failing} finding(s) at or above {result.fail_on}, or unjudgeable data")
