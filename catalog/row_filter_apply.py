"""Applying a parsed `row_condition` (`catalog/row_filters.py`): a pandas mask, a SQL expression, GX's form.

Each translation builds values, never text to evaluate: the mask compares Series, the SQL
expression quotes identifiers and binds every value, and GX's structured condition is what GX's
SQL engine binds in turn.
"""

from __future__ import annotations

import operator
from typing import Any

from catalog.row_filters import Group, Node, Not, Predicate, RowFilterError, literal_text


def mask(node: Node, frame: Any) -> Any:
    """The rows of a pandas frame the condition selects, as a boolean Series.

    Three-valued, as SQL is: a comparison with a missing value is unknown, `not unknown` stays
    unknown, and unknown rows are not selected; so a condition selects the same rows from a file
    as from a table.
    """
    return _kleene(node, frame).fillna(False).astype(bool)


def _kleene(node: Node, frame: Any) -> Any:
    import pandas as pd

    if isinstance(node, Group):
        parts = [_kleene(part, frame) for part in node.parts]
        combine = operator.and_ if node.kind == "and" else operator.or_
        result = parts[0]
        for part in parts[1:]:
            result = combine(result, part)
        return result
    if isinstance(node, Not):
        return ~_kleene(node.inner, frame)
    if node.column not in frame.columns:
        raise RowFilterError(f"row_condition names column {node.column!r}, which the data does not have")
    series = frame[node.column]
    missing = series.isna()
    if node.op == "is null":
        return missing.astype("boolean")
    if node.op == "is not null":
        return (~missing).astype("boolean")
    if node.op in ("in", "not in"):
        known = series.isin(list(node.value))
        known = known if node.op == "in" else ~known
    else:
        compare = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
                   ">": operator.gt, ">=": operator.ge}[node.op]
        try:
            known = compare(series, node.value)
        except TypeError as exc:
            raise RowFilterError(f"cannot compare column {node.column!r} with {literal_text(node.value)}: {exc}") from None
    result = pd.Series(known, index=series.index).astype("boolean")
    result[missing.to_numpy()] = pd.NA
    return result


def sql(node: Node) -> Any:
    """The condition as a SQLAlchemy expression: quoted identifiers, bound parameters."""
    import sqlalchemy as sa

    if isinstance(node, Group):
        parts = [sql(part) for part in node.parts]
        return sa.and_(*parts) if node.kind == "and" else sa.or_(*parts)
    if isinstance(node, Not):
        return sa.not_(sql(node.inner))
    column = sa.column(node.column)
    if node.op == "is null":
        return column.is_(None)
    if node.op == "is not null":
        return column.is_not(None)
    if node.op == "in":
        return column.in_([sa.literal(v) for v in node.value])
    if node.op == "not in":
        return column.not_in([sa.literal(v) for v in node.value])
    compare = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
               ">": operator.gt, ">=": operator.ge}[node.op]
    return compare(column, sa.literal(node.value))


_NEGATED = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">", "in": "not in", "not in": "in",
            "is null": "is not null", "is not null": "is null"}
MAX_GX_TERMS = 100  # GX's own cap on the conditions of one row_condition


def to_gx(node: Node) -> dict[str, Any]:
    """GX's structured condition for the same rows, for GX's SQL engine (which binds every value).

    GX takes an OR of ANDs of tests and no NOT, so negations are pushed down to the tests (exact
    under SQL's three-valued logic: NOT (a < 1) and a >= 1 are both unknown when a is null) and the
    tree is expanded into that form; a condition whose expansion exceeds GX's cap is refused.
    """
    terms = _dnf(_push_not(node, False))
    if sum(len(term) for term in terms) > MAX_GX_TERMS:
        raise RowFilterError(f"this row condition expands to more than {MAX_GX_TERMS} tests for SQL; simplify it")
    ands = [{"type": "and", "conditions": [_gx_test(t) for t in term]} if len(term) > 1 else _gx_test(term[0])
            for term in terms]
    return ands[0] if len(ands) == 1 else {"type": "or", "conditions": ands}


def _push_not(node: Node, negate: bool) -> Node:
    if isinstance(node, Not):
        return _push_not(node.inner, not negate)
    if isinstance(node, Predicate):
        return Predicate(node.column, _NEGATED[node.op], node.value) if negate else node
    kind = {"and": "or", "or": "and"}[node.kind] if negate else node.kind
    return Group(kind, tuple(_push_not(part, negate) for part in node.parts))


def _dnf(node: Node) -> list[list[Predicate]]:
    if isinstance(node, Predicate):
        return [[node]]
    assert isinstance(node, Group)
    if node.kind == "or":
        return [term for part in node.parts for term in _dnf(part)]
    terms: list[list[Predicate]] = [[]]
    for part in node.parts:
        terms = [left + right for left in terms for right in _dnf(part)]
        if len(terms) > MAX_GX_TERMS:
            raise RowFilterError(f"this row condition expands to more than {MAX_GX_TERMS} tests for SQL; simplify it")
    return terms


def _gx_test(test: Predicate) -> dict[str, Any]:
    column = {"name": test.column}
    if test.op in ("is null", "is not null"):
        return {"type": "nullity", "column": column, "is_null": test.op == "is null"}
    if test.op in ("in", "not in"):
        return {"type": "comparison", "column": column, "operator": "IN" if test.op == "in" else "NOT_IN",
                "parameter": list(test.value)}
    return {"type": "comparison", "column": column, "operator": test.op, "parameter": test.value}
