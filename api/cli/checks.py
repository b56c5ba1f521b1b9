"""Judging the data: `headwater check`, `snapshot` and `gate`.

Only these (and `load`, for new suites) run Great Expectations, and only inside the command. A
failed check or gate is a result, not a crash: the report is printed (and, for the gate, written)
first, then the command exits 1.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from api.cli.common import console, emit_json, handle_errors, open_store
from api.cli.options import AsOfOption, Format, FormatOption, PolicyOption, parse_as_of
from api.errors import EXIT_FAILED


@handle_errors
def check(
    ctx: typer.Context,
    datasets: Annotated[Optional[list[str]], typer.Argument(help="Datasets to check; default all.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Validate again even where data and suite are unchanged.")] = False,
    history: Annotated[Optional[str], typer.Option("--history", metavar="DATASET", help="Show the check history of DATASET instead.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="With --history: how many runs.")] = 20,
    fmt: FormatOption = Format.text,
) -> None:
    """Run each dataset's expectations on its real data with Great Expectations, and fingerprint it.

    Exit 1 when a critical expectation fails or a dataset cannot be judged (errored).
    """
    from checks import service

    with open_store(ctx) as store:
        if history:
            past = service.history(store, history, limit=limit)
            if fmt is Format.json:
                emit_json(past)
            else:
                from api.render.checks import check_history

                check_history(console(), past)
            return
        if fmt is Format.json:
            report = service.run_checks(store, datasets or None, force=force)
        else:
            from api.render.checks import check_progress

            with check_progress(console(stderr=True)) as progress:
                report = service.run_checks(store, datasets or None, force=force, progress=progress)
    if fmt is Format.json:
        emit_json(report)
    else:
        from api.render.checks import check_report

        check_report(console(), report)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


@handle_errors
def snapshot(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="The model about to be trained.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the training manifest as JSON.")] = False,
) -> None:
    """Record the fingerprints of everything MODEL trains on, now: its training manifest.

    Call it just before training. Refuses (exit 2, nothing recorded) when a source cannot be read.
    """
    from checks import service

    with open_store(ctx) as store:
        result = service.snapshot(store, model)
    if as_json:
        emit_json(result)
    else:
        from api.render.checks import manifest

        manifest(console(), result)


@handle_errors
def gate(
    ctx: typer.Context,
    catalogs: Annotated[Optional[list[Path]], typer.Argument(help="Catalog files to load first; default: the store as it is.")] = None,
    fail_on: Annotated[str, typer.Option("--fail-on", help="Fail on findings at or above: low, medium, high, critical.")] = "high",
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Models in scope (repeatable); default every deployed model.")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Every model, deployed or not.")] = False,
    waivers: Annotated[Optional[Path], typer.Option("--waivers", help="A waivers file (YAML).")] = None,
    junit: Annotated[Optional[Path], typer.Option("--junit", help="Write JUnit XML here.")] = None,
    sarif: Annotated[Optional[Path], typer.Option("--sarif", help="Write SARIF 2.1.0 here.")] = None,
    markdown: Annotated[Optional[Path], typer.Option("--markdown", help="Write a Markdown summary here.")] = None,
    json_file: Annotated[Optional[Path], typer.Option("--json", help="Write the result as JSON here.")] = None,
    github: Annotated[bool, typer.Option("--github", help="GitHub Actions annotations, and a step summary when GITHUB_STEP_SUMMARY is set.")] = False,
    as_of: AsOfOption = None,
    policy: PolicyOption = None,
    force: Annotated[bool, typer.Option("--force", help="Validate again even where data and suites are unchanged.")] = False,
) -> None:
    """The CI data-quality gate: exit 1 when a finding at or above --fail-on reaches a model in scope."""
    from api.render.checks import check_progress
    from api.render.risk import gate_result
    from checks import gate as gate_service
    from checks import risk as risk_service
    from checks.reports.files import GateReportPaths, append_step_summary, write_gate_reports

    if fail_on not in ("low", "medium", "high", "critical"):
        raise typer.BadParameter(f"expected low, medium, high or critical, got {fail_on!r}", param_hint="--fail-on")
    moment = parse_as_of(as_of)  # before any catalog is loaded or check run
    with open_store(ctx) as store:
        if catalogs:
            from catalog.loader import iter_catalog_files, load_catalog

            load_catalog(store, iter_catalog_files(catalogs))
        chosen = risk_service.policy_for(store, policy)
        with check_progress(console(stderr=True)) as progress:
            result = gate_service.run_gate(store, fail_on=fail_on, models=model, everything=everything,
                                           waivers_file=waivers, as_of=moment, policy=chosen, force=force,
                                           progress=progress)
        from lineage.service import graph_of

        graph = graph_of(store, moment)
    paths = GateReportPaths(junit=junit, sarif=sarif, markdown=markdown, json=json_file)
    summary = write_gate_reports(result, graph, chosen, paths)
    if github:
        from checks.reports.github import annotations

        for line in annotations(result):
            print(line)
        append_step_summary(summary)
    gate_result(console(), result)
    if not result.passed:
        raise typer.Exit(EXIT_FAILED)
