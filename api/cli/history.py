"""The catalog's memory: `headwater history` (one node's changes) and `headwater audit` (the trail).

`audit verify` exits 1 when the chain is broken, so a scheduled job or CI step fails on tampering;
`audit export` writes JSON lines for a log archive (one entry per line, with its changes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from api.cli.common import console, emit_json, handle_errors, open_store, settings
from api.cli.options import Format, FormatOption, parse_as_of
from api.errors import EXIT_FAILED

if TYPE_CHECKING:
    from catalog.store import Store

SinceOption = Annotated[Optional[str], typer.Option("--since", metavar="DATE",
                                                    help="Only changes from this date (start of day UTC) or moment.")]


@handle_errors
def history(
    ctx: typer.Context,
    node: Annotated[str, typer.Argument(help="A dataset or model: an id, NAMESPACE:NAME or a name; also one since deleted.")],
    since: SinceOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many changes, newest first.")] = 50,
    fmt: FormatOption = Format.text,
) -> None:
    """What changed about NODE, when, by whom and through what: its own fields, and its feeds,
    derivations and incidents, newest first."""
    from catalog.history.service import history as node_history

    moment = parse_as_of(since, option="--since", day_end=False)
    with open_store(ctx) as store:
        result = node_history(store, node, since=moment, limit=limit)
    if fmt is Format.json:
        emit_json(result)
    else:
        from api.render.history import node_history as render

        render(console(), result)


def _existing_store(ctx: typer.Context) -> "Store":
    """The store at --db, which must exist: opening a missing SQLite file would create a store, and
    its fresh one-entry trail would verify as intact."""
    from sqlalchemy.engine import make_url

    from catalog.errors import ConfigurationError
    from catalog.store import mask_url

    url = settings(ctx).db
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - a bad URL is Store's to explain
        return open_store(ctx)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).expanduser().exists():
        raise ConfigurationError(f"no store at {mask_url(url)}: nothing to audit")
    return open_store(ctx)


audit = typer.Typer(name="audit", help="The tamper-evident audit trail: verify it, export it.", no_args_is_help=True)


@audit.command("verify")
@handle_errors
def verify(ctx: typer.Context, fmt: FormatOption = Format.text) -> None:
    """Recompute the hash chain; exit 1 naming the first entry that no longer matches."""
    from catalog.history.service import verify as verify_chain

    with _existing_store(ctx) as store:
        verdict = verify_chain(store)
    if fmt is Format.json:
        typer.echo(json.dumps(verdict.as_dict(), indent=2))
    elif verdict.ok:
        console().print(f"audit trail intact: {verdict.entries:,} entries, {verdict.changes:,} changes; "
                        f"head {verdict.head}", markup=False)
    else:
        console(stderr=True).print(f"audit trail BROKEN at {verdict.problem}", markup=False)
    if not verdict.ok:
        raise typer.Exit(EXIT_FAILED)


@audit.command("export")
@handle_errors
def export(
    ctx: typer.Context,
    since: SinceOption = None,
    output: Annotated[Optional[Path], typer.Option("-o", "--output", help="Write here instead of stdout.")] = None,
) -> None:
    """The trail as JSON lines, oldest first: each entry with its hash, its link and its changes."""
    from catalog.history.service import export as export_trail

    moment = parse_as_of(since, option="--since", day_end=False)
    with _existing_store(ctx) as store:
        lines = (json.dumps(record, ensure_ascii=False, default=str) + "\n" for record in export_trail(store, moment))
        if output is None:
            for line in lines:
                typer.echo(line, nl=False)
            return
        from checks.reports.files import write_lines

        count = write_lines(output, lines)
    typer.echo(f"wrote {count:,} entries to {output}", err=True)
