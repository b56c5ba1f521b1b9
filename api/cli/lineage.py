"""Reading the lineage: `headwater lineage`, `impact`, `path` and `view`.

Each reads the graph the store already holds (`view` also marks every node with its findings);
none runs a check, so none imports Great Expectations or pandas.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from api.cli.common import console, emit_json, handle_errors, open_store
from api.cli.options import AsOfOption, Format, FormatOption, parse_as_of


@handle_errors
def lineage(
    ctx: typer.Context,
    node: Annotated[str, typer.Argument(help="A node id (dataset:NS:NAME, model:NS:NAME) or an unambiguous name.")],
    upstream: Annotated[bool, typer.Option("--upstream/--downstream", help="Walk towards sources or towards models.")] = True,
    depth: Annotated[Optional[int], typer.Option("--depth", "-d", min=0, help="Levels to walk (jobs do not count); default all.")] = None,
    column: Annotated[Optional[str], typer.Option(
        "--column", "-c", help="Walk the lineage of this column of the dataset (or write DATASET.COLUMN).")] = None,
    as_of: AsOfOption = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Print the lineage tree of a dataset or model, or of one column (DATASET.COLUMN)."""
    from lineage import column_service, service

    moment = parse_as_of(as_of)
    direction = "upstream" if upstream else "downstream"
    with open_store(ctx) as store:
        dataset, named = (node, column) if column is not None else column_service.split_reference(store, node, moment)
        if named is not None:
            columns = column_service.column_lineage(store, dataset, column=named, direction=direction, depth=depth,
                                                    as_of=moment)
        else:
            result = service.lineage(store, node, direction=direction, depth=depth, as_of=moment)
    if named is not None:
        if fmt is Format.json:
            emit_json(columns)
        else:
            from api.render.lineage import column_lineage_result

            column_lineage_result(console(), columns)
        return
    if fmt is Format.json:
        emit_json(result)
    else:
        from api.render.lineage import lineage_result

        lineage_result(console(), result)


@handle_errors
def impact(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Argument(help="The dataset whose consequences you want: e.g. a breached source.")],
    paths: Annotated[int, typer.Option("--paths", min=1, help="At most this many paths per model, shortest first.")] = 10,
    as_of: AsOfOption = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Every model and dataset downstream of DATASET, with the paths that reach each model."""
    from lineage import service

    moment = parse_as_of(as_of)
    with open_store(ctx) as store:
        result = service.impact(store, dataset, path_limit=paths, as_of=moment)
    if fmt is Format.json:
        emit_json(result)
    else:
        from api.render.lineage import impact_result

        impact_result(console(), result)


@handle_errors
def path(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="Where the path starts (usually a dataset).")],
    target: Annotated[str, typer.Argument(help="Where it ends (a dataset or a model).")],
    paths: Annotated[int, typer.Option("--paths", min=1, help="At most this many paths, shortest first.")] = 10,
    as_of: AsOfOption = None,
    fmt: FormatOption = Format.text,
) -> None:
    """The paths through the lineage from SOURCE to TARGET."""
    from lineage import service

    moment = parse_as_of(as_of)
    with open_store(ctx) as store:
        result = service.path(store, source, target, limit=paths, as_of=moment)
    if fmt is Format.json:
        emit_json(result)
    else:
        from api.render.lineage import path_result

        path_result(console(), result)


@handle_errors
def view(
    ctx: typer.Context,
    focus: Annotated[Optional[str], typer.Option("--focus", help="Centre on this node: what it rests on and what it feeds.")] = None,
    depth: Annotated[Optional[int], typer.Option("--depth", "-d", min=0, help="Levels each way from the focus; default all.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Show what this model rests on.")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path("lineage.html"),
    # 5,000 is lineage.view.DEFAULT_MAX_NODES, written out so `headwater --help` does not import networkx
    max_nodes: Annotated[int, typer.Option("--max-nodes", min=1, help="Past this many nodes, group them.")] = 5_000,
    as_of: AsOfOption = None,
) -> None:
    """Write the lineage viewer: one self-contained HTML page that works offline."""
    from api.viewer import viewer_page
    from checks.reports.files import write_report

    with open_store(ctx) as store:
        page, shown = viewer_page(store, focus=focus, depth=depth, model=model, max_nodes=max_nodes, as_of=parse_as_of(as_of))
    write_report(output, page)
    grouped = f", grouped from {shown['selected']:,}" if shown["grouped"] else ""
    console(stderr=True).print(f"wrote {output} ({shown['nodes']:,} nodes{grouped}, {shown['edges']:,} edges)")
