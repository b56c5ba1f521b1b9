"""Check runs as people read them: the progress bar, the report, a dataset's history, a training manifest.

Fingerprints are cut to 12 hex digits in tables (enough to tell runs apart at a glance) except in
the manifest, where the whole value is what a reviewer compares.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from api.render.markup import said
from catalog.ids import short_name

if TYPE_CHECKING:
    from checks.results import CheckHistory, CheckReport, ExpectationResult, TrainingManifest

OUTCOME_STYLE = {"passed": "green", "warning": "yellow", "failed": "bold red", "errored": "bold magenta", "unchecked": "dim"}


@contextmanager
def check_progress(console: Console) -> Iterator[Callable[[str, str], None]]:
    """A progress bar over datasets; the check service calls back once per dataset.

    Transient: it is gone when the checks end, so only the report stays on screen.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=console, transient=True) as progress:
        task = progress.add_task("", total=None)

        def advance(dataset: str, outcome: str) -> None:
            progress.update(task, advance=1, description=f"{short_name(dataset)}: {outcome}")

        yield advance


def _outcome(outcome: str) -> str:
    return f"[{OUTCOME_STYLE.get(outcome, '')}]{outcome}[/]"


def _fingerprint(value: str | None) -> str:
    return value.removeprefix("sha256:")[:12] if value else "-"


def check_report(console: Console, report: "CheckReport") -> None:
    """A row per dataset, then a line per failed or errored expectation, then what was skipped."""
    table = Table(title="Checks", title_justify="left")
    for column in ("dataset", "outcome", "expectations", "fingerprint", "verdict"):
        table.add_column(column, overflow="fold")
    for run in report.runs:
        if run.results:
            counts = f"{run.evaluated - run.failed} ok, {run.failed} failed" + (f", {run.errored} errored" if run.errored else "")
        else:
            counts = "-"
        verdict = f"reused from run {run.reused_from}" if run.reused_from else ("validated" if run.results else "fingerprinted")
        table.add_row(escape(short_name(run.dataset)), _outcome(run.outcome), counts, _fingerprint(run.fingerprint), verdict)
    console.print(table)
    for run in report.runs:
        if run.error:
            console.print(f"[bold magenta]errored[/] {escape(short_name(run.dataset))}: {said(run.error)}")
        for result in run.results:
            if result.errored:
                console.print(f"[bold magenta]errored[/] {escape(short_name(run.dataset))} #{result.position} "
                              f"{escape(result.expectation)}: {said(result.error or '')}")
            elif result.success is False:
                style = "bold red" if result.severity == "critical" else "yellow"
                console.print(f"[{style}]{result.severity}[/] {escape(short_name(run.dataset))} #{result.position} "
                              f"{escape(result.expectation)} {escape(_kwargs(result.kwargs))}{_detail(result)}")
    for skipped in report.skipped:
        console.print(f"[dim]skipped {escape(short_name(skipped.dataset))}: {said(skipped.reason)}[/]")
    summary = ", ".join(f"{n} {k}" for k, n in report.counts.items() if n)
    console.print(f"{len(report.runs)} datasets: {summary or 'nothing to check'}; "
                  f"{report.validated} validated, {report.reused} reused")


def _kwargs(kwargs: dict[str, Any]) -> str:
    return "(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"


def _detail(result: "ExpectationResult") -> str:
    """What Great Expectations saw: how many rows were unexpected, the observed value, a few examples."""
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
    """Each dataset the model trains on with its full fingerprint, and whether it moved since the last record."""
    table = Table(title=f"Training manifest of {escape(result.model)} {escape(result.version or '')}", title_justify="left")
    for column in ("dataset", "role", "fingerprint", "changed since last record"):
        table.add_column(column, overflow="fold", no_wrap=column == "fingerprint")
    for entry in result.feeds:
        changed = "-" if entry.previous_fingerprint is None else ("yes" if entry.previous_fingerprint != entry.fingerprint else "no")
        table.add_row(escape(short_name(entry.dataset)), escape(entry.role), entry.fingerprint, changed)
    console.print(table)
    console.print(f"recorded at {result.recorded_at:%Y-%m-%d %H:%M:%S} UTC")
