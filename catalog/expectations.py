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
    return {"type": name, "kwargs": kwargs, "severity": severity}


def suite_hash(expectations: list[dict[str, Any]]) -> str:
    """Identifies a suite by content; key order and YAML formatting do not change it."""
    canonical = json.dumps(expectations, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def read_suite_file(path: Path) -> list[Any]:
    """The expectations of a suite JSON exported from GX (`{"name", "expectations": [...]}`)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ExpectationProblem(f"suite file {path} not found") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExpectationProblem(f"cannot read suite file {path}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("expectations"), list):
        return data["expectations"]
    if isinstance(data, list):
        return data
    raise ExpectationProblem(f"{path} is not a GX expectation suite: expected an object with an 'expectations' list")


def disable_gx_analytics() -> None:
    """No usage statistics leave this machine; must run before great_expectations is imported."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"


def build(expectation: dict[str, Any]) -> Any:
    """The GX expectation object for a normalised entry; raises ExpectationProblem when GX would."""
    disable_gx_analytics()
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
