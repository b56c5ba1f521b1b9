"""A node's history for people: one line per change (when, who, through what, what), then its fields."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from catalog.history.changes import NodeHistory

_WIDTH = 60  # a value longer than this is cut: the JSON format has it whole


def node_history(console: Console, result: "NodeHistory") -> None:
    state = "" if result.exists else " [yellow](deleted: it exists only in the history)[/]"
    console.print(f"[bold]History of {escape(result.node)}[/]{state}, newest first")
    if not result.changes:
        console.print("  no changes in this window")
    for change in result.changes:
        where = change.row if change.row != "itself" else ""
        console.print(f"  {change.at:%Y-%m-%d %H:%M:%S}  entry {change.entry}  {escape(change.actor)} via "
                      f"{escape(change.source)}{_detail(change.detail)}  [bold]{change.op}[/] {escape(where)}".rstrip())
        if change.op == "updated":
            for name, values in change.fields.items():
                console.print(f"      {escape(name)}: {escape(_short(values.before))} -> {escape(_short(values.after))}")


def _detail(detail: dict[str, Any]) -> str:
    shown = detail.get("files") or detail.get("request") or detail.get("producers") or detail.get("dataset")
    if not shown:
        return ""
    return f" ({', '.join(shown) if isinstance(shown, list) else shown})"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= _WIDTH else text[:_WIDTH - 1] + "…"
