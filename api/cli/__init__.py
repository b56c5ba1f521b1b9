"""`headwater`: the command line. Each command opens the store, calls one service, renders.

One module per group of commands, named for what they work on: `catalog` (load, ingest),
`lineage` (lineage, impact, path, view), `checks` (check, snapshot, gate), `risk` (risk, report),
`history` (history, audit) and `server` (serve, demo); `options` and `common` hold what they share. Report files are
written by `checks.reports.files` and event files read by `catalog.event_input`, so a command
only parses, calls and prints.

Everything past Typer and the settings (the store, the graph, Great Expectations, FastAPI) is
imported inside the commands, so `headwater --help` starts in a fraction of a second.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated, Any, Optional

import typer

from api.cli import catalog, checks, export, history, importing, lineage, risk, server
from api.config import Settings

app = typer.Typer(
    name="headwater",
    help="Data-governance lineage catalog for AI training data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Registered here, not where each is defined, so this one tuple is the order `headwater --help` lists them in.
COMMANDS: tuple[Callable[..., Any], ...] = (
    catalog.load, lineage.lineage, lineage.impact, lineage.path, checks.check, checks.snapshot, risk.risk,
    risk.report, lineage.view, checks.gate, catalog.ingest, history.history, server.serve, server.demo,
)
for _command in COMMANDS:
    app.command()(_command)
app.add_typer(importing.app, name="import")
app.add_typer(export.app, name="export")
app.add_typer(history.audit, name="audit")


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"headwater {version('headwater')}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[Optional[str], typer.Option(
        "--db", envvar="HEADWATER_DB", show_envvar=True,
        help="Store URL: sqlite:///path.db (default sqlite:///headwater.db) or postgresql+psycopg://user:pw@host/db.",
    )] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = False,
) -> None:
    # The one Settings of this invocation: every command reads the store URL and limits from it.
    ctx.obj = Settings.from_env(db=db)


def main() -> None:
    """Console-script entry point (`headwater = "api.cli:main"`): Typer exits with the command's code."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.stderr.write("interrupted\n")
        sys.exit(130)


__all__ = ["COMMANDS", "app", "main"]
