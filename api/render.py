"""Text renderings of service results for the terminal (rich). JSON output skips this module."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

if TYPE_CHECKING:
    from catalog.loader import LoadResult
    from lineage.results import ImpactResult, LineageResult, LineageSummary, NodeRef, PathResult, TreeNode

KIND_STYLE = {"dataset": "cyan", "job": "dim", "model": "bold magenta"}
TIER_STYLE = {"prohibited": "bold red", "high": "red", "gpai": "yellow", "limited": "blue", "minimal": "green"}


def label(node: "NodeRef") -> str:
    """How a node is named on screen: kind, then the full id, every user string escaped."""
    style = KIND_STYLE.get(node.kind, "")
    return f"[{style}]{escape(node.id)}[/]"


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
    console.print(root)
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
    console.print(head)


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
