"""What the catalog holds and how it connects: load results, lineage trees, impact, paths, the summary.

Dense places (paths, tables) show a node by its bare name; headings show full ids, since a name
alone can be ambiguous across namespaces. `--format json` always carries full ids.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from api.render.markup import label, plural, tier
from catalog.ids import short_name

if TYPE_CHECKING:
    from catalog.loader import LoadResult
    from lineage.column_service import ColumnLineageResult
    from lineage.results import ImpactResult, LineageResult, LineageSummary, PathResult, TreeNode


def load_result(console: Console, result: "LoadResult") -> None:
    """Counts per kind and change, then whether the store's revision moved."""
    table = Table(title=f"Loaded {len(result.files)} {plural(len(result.files), 'file')}", title_justify="left")
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
    console.print(f"{datasets} {plural(datasets, 'dataset')}, {models} {plural(models, 'model')} {result.direction}")


def column_lineage_result(console: Console, result: "ColumnLineageResult") -> None:
    """The columns reached from one column, nearest first, and where column lineage is missing."""
    arrow = "←" if result.direction == "upstream" else "→"
    table = Table(title=f"{escape(short_name(result.dataset))}.{escape(result.column or '')}  {result.direction} {arrow}",
                  title_justify="left")
    for heading in ("distance", "dataset", "column", "flow"):
        table.add_column(heading, justify="right" if heading == "distance" else "left")
    for step in result.steps:
        table.add_row(str(step.distance), escape(short_name(step.dataset)),
                      escape(step.column) if step.column else "[dim](every row)[/]", step.kind.lower())
    console.print(table)
    unknown = result.unknown_inputs if result.direction == "upstream" else result.unknown_outputs
    if unknown:
        console.print(f"[yellow]no column lineage[/] from {', '.join(escape(short_name(n)) for n in unknown)}: "
                      "the table lineage goes on there, the column walk cannot")
    console.print(f"{len(result.steps)} {plural(len(result.steps), 'column')} {result.direction}")


def _grow(branch: Tree, children: list["TreeNode"]) -> None:
    for child in children:
        text = label(child.node) + ("  [dim](shown above)[/]" if child.repeated else "")
        _grow(branch.add(text), child.children)


def impact_result(console: Console, result: "ImpactResult") -> None:
    """One branch per model reached, its paths below it; then the datasets reached."""
    models, datasets = len(result.models), len(result.datasets)
    head = Tree(f"Impact of {label(result.root)}: {models} {plural(models, 'model')}, "
                f"{datasets} {plural(datasets, 'dataset')} downstream")
    for model in result.models:
        count = "an unknown number of" if model.path_count is None else str(model.path_count)
        branch = head.add(
            f"{label(model.model)}  {tier(model.risk_tier)}  "
            f"{'deployed' if model.deployed else 'not deployed'}  [dim]{count} {plural(model.path_count, 'path')}[/]"
        )
        for path in model.paths:
            branch.add(" → ".join(escape(short_name(n)) for n in path))
        if model.path_count is not None and model.path_count > len(model.paths):
            branch.add(f"[dim]… {model.path_count - len(model.paths)} more (use --paths or --format json)[/]")
    if result.datasets:
        head.add("datasets: " + ", ".join(escape(short_name(r.node.id)) for r in result.datasets))
    console.print(head, soft_wrap=False)


def path_result(console: Console, result: "PathResult") -> None:
    if not result.paths:
        console.print(f"no path from {label(result.source)} to {label(result.target)}")
        return
    count = "an unknown number of" if result.path_count is None else str(result.path_count)
    console.print(f"{count} {plural(result.path_count, 'path')} from {label(result.source)} to {label(result.target)}")
    for number, path in enumerate(result.paths, 1):
        console.print(f"  {number}. " + " → ".join(escape(short_name(n)) for n in path))


def summary(console: Console, result: "LineageSummary") -> None:
    """Totals by kind and origin, then one row per model: what it consumes and the sources below that."""
    origins = ", ".join(f"{count} {escape(origin)}" for origin, count in sorted(result.by_origin.items()))
    console.print(
        f"{result.datasets} datasets ({result.sources} sources: {origins}), {result.jobs} jobs, "
        f"{result.models} models, {result.edges} edges"
    )
    table = Table(title="What each model rests on", title_justify="left")
    for column in ("model", "risk tier", "deployed", "consumes", "upstream sources"):
        table.add_column(column, overflow="fold")
    for item in result.model_summaries:
        table.add_row(
            escape(short_name(item.model.id)), tier(item.risk_tier),
            "yes" if item.deployed else "no",
            "\n".join(escape(short_name(n)) for n in item.direct),
            "\n".join(escape(short_name(n)) for n in item.sources),
        )
    console.print(table)
