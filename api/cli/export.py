"""`headwater export bom`: a model version's AI bill of materials, CycloneDX 1.6 or SPDX 3.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from api.cli.common import handle_errors, open_store
from api.cli.options import AsOfOption, parse_as_of

app = typer.Typer(name="export", help="Export what a model version rests on: an AI bill of materials.",
                  no_args_is_help=True)


@app.command("bom")
@handle_errors
def bom(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="The model version: NAME@VERSION, or NAME for its deployed version.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="cyclonedx (1.6 JSON) or spdx (3.0.1 JSON-LD).")] = "cyclonedx",
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write here instead of stdout.")] = None,
    as_of: AsOfOption = None,
) -> None:
    """The model version, every dataset it rests on (roles, owner, origin, licence, personal data,
    hashes), its open findings, and the lineage as dependencies."""
    from checks.bom.service import export_bom

    when = parse_as_of(as_of)
    with open_store(ctx) as store:
        text = export_bom(store, model, fmt, as_of=when)
    if output is None:
        typer.echo(text, nl=False)
    else:
        from checks.reports.files import write_report

        write_report(output, text)
        typer.echo(f"wrote {output}", err=True)
