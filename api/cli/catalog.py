"""Putting things into the catalog: `headwater load` (catalog files) and `headwater ingest` (OpenLineage events).

Both are all or nothing, as the API's writes are: one bad file or event, and nothing is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import console, emit_json, handle_errors, open_store
from api.cli.options import Format, FormatOption


@handle_errors
def load(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Catalog files (YAML or JSON), or folders holding them.")],
    fmt: FormatOption = Format.text,
) -> None:
    """Upsert catalog files into the store: all of them or, on any error, none."""
    from catalog.loader import iter_catalog_files, load_catalog

    with open_store(ctx) as store:
        result = load_catalog(store, iter_catalog_files(files))
    if fmt is Format.json:
        import json

        print(json.dumps({"files": result.files, "counts": result.counts, "revision": result.revision}, indent=2))
    else:
        from api.render.lineage import load_result

        load_result(console(), result)


@handle_errors
def ingest(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="FILE|-", help="OpenLineage events: a JSON event or array, or NDJSON; - reads stdin.")],
    fmt: FormatOption = Format.text,
) -> None:
    """Ingest OpenLineage events as `POST /api/v1/lineage` does: all of them or, on any error, none."""
    import os

    from catalog.errors import InvalidEvent
    from catalog.event_input import read_event_input
    from catalog.openlineage import EventLimits, ingest_events

    limits = EventLimits.from_env(os.environ)  # the server's bounds: eventTime skew, edges per event
    given = read_event_input(source)
    with open_store(ctx) as store:
        try:
            result = ingest_events(store, given.events, limits=limits)
        except InvalidEvent as error:
            raise given.located(error) from None
    if fmt is Format.json:
        emit_json(result)
    else:
        console().print(f"{result.events} events ({result.stored} new, {result.duplicates} already seen); "
                        f"datasets {result.datasets_created} created, {result.datasets_updated} updated; "
                        f"jobs {result.jobs_created} created; models {result.models_created} created")
