"""What every command does the same way: open the store, print, and turn errors into exit codes.

As sqlite-utils does: a command opens the store from the one `Settings` the callback built, calls
one service, and lets `handle_errors` map a `HeadwaterError` to its exit code through the table in
api/errors.py, the same table that gives the API its HTTP statuses.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from api.config import Settings
    from catalog.store import Store

P = ParamSpec("P")
R = TypeVar("R")


def console(stderr: bool = False) -> "Console":
    """A rich console; 120 columns when not on a terminal, so CI logs do not truncate tables."""
    import os

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else 120
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width, emoji=False)


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a HeadwaterError into its message on stderr and the exit code of api/errors.py.

    Anything else is a bug and keeps its traceback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from catalog.errors import HeadwaterError

        try:
            return command(*args, **kwargs)
        except HeadwaterError as error:
            from rich.markup import escape

            from api.errors import classify

            _status, code, _title = classify(error)
            console(stderr=True).print(f"[bold red]error:[/] {escape(str(error))}")
            raise typer.Exit(code) from None

    return wrapper


def settings(ctx: typer.Context) -> "Settings":
    """The Settings the callback built from --db and the environment."""
    chosen: Settings = ctx.obj
    return chosen


def open_store(ctx: typer.Context) -> "Store":
    """The store at --db (or HEADWATER_DB); a context manager that closes it."""
    from catalog.store import Store

    return Store(settings(ctx).db)


def emit_json(result: Any) -> None:
    """A result as `--format json` prints it: the same pydantic model the API returns, indented."""
    sys.stdout.write(result.model_dump_json(indent=2) if hasattr(result, "model_dump_json") else str(result))
    sys.stdout.write("\n")
