"""Governance: `headwater risk` (findings across the platform) and `report` (one model's document).

Both evaluate as of a moment (`--as-of`) under the default policy merged with `--policy`, and
parse the moment first, so a bad date is a usage error before the store is opened.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from api.cli.common import console, emit_json, handle_errors, open_store
from api.cli.options import AsOfOption, PolicyOption, RiskFormat, parse_as_of


@handle_errors
def risk(
    ctx: typer.Context,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Only this model's findings.")] = None,
    as_of: AsOfOption = None,
    policy: PolicyOption = None,
    paths: Annotated[int, typer.Option("--paths", min=0, help="Paths to list per finding (0: none).")] = 5,
    fmt: Annotated[RiskFormat, typer.Option("--format", "-f", help="text, json or markdown.")] = RiskFormat.text,
    by_model: Annotated[bool, typer.Option("--by-model", help="One row per model, worst first: counts and the top "
                                           "findings (for large platforms; text or json).")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="With --by-model: models to show.")] = 50,
    top: Annotated[int, typer.Option("--top", min=0, help="With --by-model: findings to show per model.")] = 3,
) -> None:
    """Governance findings: every condition, where it reaches, how severe, what to do."""
    moment = parse_as_of(as_of)
    from checks import risk as risk_service

    if by_model:
        from checks.summary import summarise

        with open_store(ctx) as store:
            chosen = risk_service.policy_for(store, policy)
            summary = summarise(store, as_of=moment, policy=chosen, model=model, limit=limit, top=top,
                                path_limit=min(paths, 1))
        if fmt is RiskFormat.json:
            emit_json(summary)
        else:  # markdown has no by-model form; it prints as text
            from api.render.risk import risk_summary

            risk_summary(console(), summary)
        return
    with open_store(ctx) as store:
        chosen = risk_service.policy_for(store, policy)
        report = risk_service.evaluate(store, as_of=moment, policy=chosen, model=model, path_limit=paths)
    if fmt is RiskFormat.json:
        emit_json(report)
    elif fmt is RiskFormat.markdown:
        from checks.reports.markdown import risk_summary as markdown_summary

        sys.stdout.write(markdown_summary(report))
    else:
        from api.render.risk import risk_report

        risk_report(console(), report, model_only=model is not None)


@handle_errors
def report(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="The model to report on.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the Markdown here instead of stdout.")] = None,
    as_of: AsOfOption = None,
    policy: PolicyOption = None,
) -> None:
    """The model's training-data governance report (Markdown, with a Mermaid lineage chart)."""
    moment = parse_as_of(as_of)
    from checks import risk as risk_service

    with open_store(ctx) as store:
        chosen = risk_service.policy_for(store, policy)
        text = risk_service.model_report(store, model, as_of=moment, policy=chosen)
    if output is None:
        sys.stdout.write(text)
    else:
        from checks.reports.files import write_report

        write_report(output, text)
        console(stderr=True).print(f"wrote {output}")
