"""Data-quality expectations as the catalog stores them, and their validation against GX.

A catalog entry names a Great Expectations expectation the way GX does (`expect_column_values_to_
not_be_null: {column: id}`), plus our `severity`. Entries are normalised to GX's own suite shape,
`{"type", "kwargs", "severity"}`, so a suite exported from GX (`expectations_file:`) and one written
in the catalog are the same thing once loaded.

Validation builds each expectation through its GX class, which raises on an unknown name or bad
arguments. Building a suite from plain dicts would not: GX drops a misspelt expectation silently.
GX is imported only here and only when there is something new to validate: it costs seconds.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

Severity = str  # "critical" | "warning"
SEVERITIES = ("critical", "warning")
_META_KEYS = {"severity", "meta", "notes", "id", "description"}


class ExpectationProblem(ValueError):
    """One bad expectation entry; `where` is the path inside the entry, e.g. ('kwargs', 'column')."""

    def __init__(self, message: str, where: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.where = where


def normalise(entry: Any) -> dict[str, Any]:
    """A catalog or GX-suite entry as {"type", "kwargs", "severity"}; raises ExpectationProblem."""
    if not isinstance(entry, dict):
        raise ExpectationProblem("expected a mapping such as {expect_column_values_to_not_be_null: {column: id}}")
    severity = entry.get("severity", "warning")
    if severity == "info":  # GX's third level: informational, so never blocking
        severity = "warning"
    if severity not in SEVERITIES:
        raise ExpectationProblem(f"severity must be 'critical' or 'warning' (got {severity!r})", ("severity",))
    if "type" in entry:  # GX's own suite shape
        name, kwargs = entry["type"], entry.get("kwargs", {})
        unknown = set(entry) - _META_KEYS - {"type", "kwargs", "rendered_content", "expectation_context"}
    else:
        names = [key for key in entry if key not in _META_KEYS]
        if len(names) != 1:
            raise ExpectationProblem(
                "each entry names exactly one expectation, e.g. {expect_column_values_to_not_be_null: {column: id}}"
                + (f"; found {', '.join(map(repr, names))}" if names else "")
            )
        name = names[0]
        kwargs = entry[name] if entry[name] is not None else {}
        unknown = set()
    if unknown:
        raise ExpectationProblem(f"unknown key {sorted(unknown)[0]!r}", (sorted(unknown)[0],))
    if not isinstance(name, str) or not name.startswith("expect_"):
        raise ExpectationProblem(f"expected a Great Expectations name starting with 'expect_' (got {name!r})")
    if not isinstance(kwargs, dict):
        raise ExpectationProblem(f"the arguments of {name} must be a mapping (got {type(kwargs).__name__})", (name,))
    return {"type": name, "kwargs": _canonical_row_condition(name, kwargs), "severity": severity}


def _canonical_row_condition(name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    """`row_condition` in our grammar's canonical text, `condition_parser` gone (catalog/row_filters.py).

    Refused here, at load, when it does not parse or asks for a code-evaluating parser, so a bad
    condition is a located load error and never a surprise at check time.
    """
    if "row_condition" not in kwargs and "condition_parser" not in kwargs:
        return kwargs
    from catalog import row_filters

    try:
        node = row_filters.read(kwargs)
    except row_filters.RowFilterError as exc:
        raise ExpectationProblem(f"row_condition: {exc}", (name, "row_condition")) from None
    kept = {k: v for k, v in kwargs.items() if k not in ("row_condition", "condition_parser")}
    if node is not None:
        kept["row_condition"] = row_filters.describe(node)
    return kept


def suite_hash(expectations: list[dict[str, Any]]) -> str:
    """Identifies a suite by content; key order and YAML formatting do not change it."""
    canonical = json.dumps(expectations, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


MAX_SUITE_BYTES = 5 * 1024 * 1024


def read_suite_file(path: Path) -> list[Any]:
    """The expectations of a suite JSON exported from GX (`{"name", "expectations": [...]}`).

    Read as catalog/files.py reads anything named: a regular file, size-capped; the errors say what
    is wrong with the file, never what it holds.
    """
    from catalog.files import UnreadableFile, read_regular_file

    try:
        data = json.loads(read_regular_file(path, MAX_SUITE_BYTES).decode("utf-8"))
    except UnreadableFile as exc:
        raise ExpectationProblem(f"suite file {path}: {exc}") from None
    except UnicodeDecodeError:
        raise ExpectationProblem(f"cannot read suite file {path}: not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ExpectationProblem(f"cannot read suite file {path}: not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise ExpectationProblem(f"cannot read suite file {path}: nested too deeply") from None
    if isinstance(data, dict) and isinstance(data.get("expectations"), list):
        return data["expectations"]
    if isinstance(data, list):
        return data
    raise ExpectationProblem(f"{path} is not a GX expectation suite: expected an object with an 'expectations' list")


def disable_gx_analytics() -> None:
    """No usage statistics leave this machine; must run before great_expectations is imported."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"


def row_filter(expectation: dict[str, Any]) -> Any:
    """The parsed row filter of a normalised entry, or None (parsed again: the store may hold suites
    written before conditions were checked at load, and no stored string is trusted)."""
    from catalog import row_filters

    try:
        return row_filters.read(expectation["kwargs"])
    except row_filters.RowFilterError as exc:
        raise ExpectationProblem(f"row_condition: {exc}", (expectation["type"], "row_condition")) from None


def build(expectation: dict[str, Any], *, sql_rows: bool = False) -> Any:
    """The GX expectation object for a normalised entry; raises ExpectationProblem when GX would.

    GX never receives a row condition as text (it would hand text to `DataFrame.query`): without
    `sql_rows` the expectation is built without one (the caller selects the rows itself), with it
    the condition goes to GX's SQL engine as a structured condition, whose values are bound.
    """
    disable_gx_analytics()
    node = row_filter(expectation)
    kwargs = {k: v for k, v in expectation["kwargs"].items() if k not in ("row_condition", "condition_parser")}
    if node is not None and sql_rows:
        from great_expectations.expectations.row_conditions import deserialize_row_condition

        from catalog.row_filter_apply import to_gx
        from catalog.row_filters import RowFilterError

        try:
            kwargs["row_condition"] = deserialize_row_condition(to_gx(node))
        except RowFilterError as exc:
            raise ExpectationProblem(f"row_condition: {exc}", (expectation["type"], "row_condition")) from None
    expectation = {**expectation, "kwargs": kwargs}
    from great_expectations.exceptions import ExpectationNotFoundError
    from great_expectations.expectations.registry import (
        get_expectation_impl, list_registered_expectation_implementations,
    )

    name = expectation["type"]
    try:
        cls = get_expectation_impl(name)
    except ExpectationNotFoundError:
        close = difflib.get_close_matches(name, list_registered_expectation_implementations(), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise ExpectationProblem(f"unknown expectation '{name}'{hint}") from None
    try:
        return cls(**expectation["kwargs"], severity=expectation["severity"])
    except Exception as exc:  # GX raises pydantic (v1) ValidationError, or TypeError/ValueError
        errors = getattr(exc, "errors", None)
        if callable(errors):
            parts = []
            for error in errors():
                loc = ".".join(str(part) for part in error.get("loc", ()) if part != "__root__")
                message = "unknown argument" if error.get("type") == "value_error.extra" else error.get("msg", "")
                parts.append(f"{loc}: {message}" if loc else message)
            raise ExpectationProblem("; ".join(parts), (name,)) from None
        raise ExpectationProblem(str(exc), (name,)) from None


def validate(expectations: list[dict[str, Any]]) -> list[tuple[int, ExpectationProblem]]:
    """Every problem in a normalised list, with the index of the entry it is in."""
    problems = []
    for index, expectation in enumerate(expectations):
        try:
            build(expectation)
        except ExpectationProblem as problem:
            problems.append((index, problem))
    return problems
