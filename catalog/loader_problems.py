"""pydantic's errors on a catalog file, as problems naming file, path and line in words for YAML.

pydantic speaks of `extra_forbidden` and `function-after[...]` locations; someone editing a
catalog file needs the field they mistyped, the one they meant and the line to look at.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from catalog.document import Document, format_loc
from catalog.errors import Problem
from catalog.spec import CatalogFileSpec


def validation_problems(document: Document, exc: ValidationError) -> list[Problem]:
    """One problem per pydantic error, located without pydantic's validator steps in the path."""
    problems: list[Problem] = []
    for error in exc.errors():
        loc = tuple(part for part in error["loc"] if not (isinstance(part, str) and part.startswith("function-")))
        problems.append(Problem(str(document.path), format_loc(loc), _explain(error), document.line_of(loc)))
    return problems


def _explain(error: ErrorDetails) -> str:
    """pydantic's message, reworded where it is unclear to someone editing YAML."""
    kind, given = error["type"], error.get("input")
    if kind == "extra_forbidden":
        allowed = _fields_at(tuple(error["loc"][:-1]))
        close = difflib.get_close_matches(str(error["loc"][-1]), allowed, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"expected one of: {', '.join(allowed)}"
        return f"unknown field; {hint}"
    if kind == "missing":
        return "required field is missing"
    message = error["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    message = message[0].lower() + message[1:] if message else message
    if given is not None and not isinstance(given, (dict, list)):
        shown = repr(given)  # cut short: a 9 MB value must not come back as a 9 MB error
        message += f" (got {shown if len(shown) <= 200 else shown[:200] + f'… ({len(shown):,} characters)'})"
    return message


def _fields_at(loc: tuple[str | int, ...]) -> list[str]:
    """The field names allowed at `loc` in the catalog file schema, for "did you mean" hints."""
    current: Any = CatalogFileSpec
    for part in loc:
        if isinstance(part, int):
            args = [a for a in typing.get_args(current) if a is not type(None)]
            current = args[0] if args else current
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return []
        current = current.model_fields[part].annotation
        while typing.get_origin(current) in (typing.Union, types.UnionType):
            current = next(a for a in typing.get_args(current) if a is not type(None))
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []
