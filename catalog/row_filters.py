"""`row_condition`: which rows an expectation applies to, parsed as data and never evaluated as code.

Great Expectations hands a `row_condition` string to `DataFrame.query` (the pandas parser), which
reaches any Python attribute: `@pd.io.common.os.system('…') == 0` runs a shell command. Even its
structured conditions become a query string for pandas. A catalog file, a suite file and an API
body come from people we do not control, so Headwater reads the condition itself, with this small
grammar, and applies it itself:

    condition  := or
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" condition ")" | test
    test       := column OP literal | column "is" ["not"] "null" | column ["not"] "in" "(" literal, … ")"
    column     := identifier | `any name` | col("any name")         (GX's own spelling is accepted)
    literal    := number | 'text' | "text" | true | false
    OP         := == | != | < | <= | > | >=

The same tree is also accepted as GX's structured form (`{"type": "comparison", "column": {"name":
…}, "operator": ">=", "parameter": 18}`, `nullity`, `and`, `or`). Checks select the rows with a
boolean mask built from the tree (pandas) or SQLAlchemy expressions with bound parameters (SQL);
no string from the catalog is ever parsed by Python, pandas or the database as code.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any, Union

MAX_LENGTH = 2_000
MAX_TESTS = 50
OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
# Parsers GX knows; only its own grammar matches ours. The others evaluate code.
SAFE_PARSERS = (None, "great_expectations", "great_expectations__experimental__")

Literal = Union[str, int, float, bool]


class RowFilterError(ValueError):
    """A condition that does not parse; the message says where and what was expected."""


@dataclass(frozen=True)
class Predicate:
    column: str
    op: str  # one of OPERATORS, "in", "not in", "is null", "is not null"
    value: Literal | tuple[Literal, ...] | None = None


@dataclass(frozen=True)
class Not:
    inner: "Node"


@dataclass(frozen=True)
class Group:
    kind: str  # "and" | "or"
    parts: tuple["Node", ...]


Node = Union[Predicate, Not, Group]

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<number>-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
    | '(?P<single>(?:[^'\\]|\\.)*)'
    | "(?P<double>(?:[^"\\]|\\.)*)"
    | `(?P<backtick>[^`]*)`
    | (?P<op>==|!=|<=|>=|<|>|\(|\)|,|\[|\])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""", re.VERBOSE)
_KEYWORDS = {"and", "or", "not", "in", "is", "null", "none", "true", "false"}


def parse(text: str) -> Node:
    """The tree of a condition string; raises RowFilterError naming the position at fault."""
    if not isinstance(text, str):
        raise RowFilterError(f"expected a condition such as \"age >= 18 and country == 'DE'\", got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise RowFilterError(f"a row condition is at most {MAX_LENGTH} characters")
    parser = _Parser(_tokens(text), text)
    node = parser.condition()
    if parser.peek() is not None:
        raise parser.error("expected 'and', 'or' or the end")
    _count(node)
    return node


def from_gx(data: Any) -> Node:
    """The tree of GX's structured condition (the JSON a GX 1.x suite stores)."""
    if not isinstance(data, dict):
        raise RowFilterError("expected a condition string or a GX condition object")
    kind = data.get("type")
    if kind == "comparison":
        column, op, value = _gx_column(data), data.get("operator"), data.get("parameter")
        if op in ("IN", "NOT_IN"):
            if not isinstance(value, list) or not all(_is_literal(v) for v in value):
                raise RowFilterError("'parameter' of IN / NOT_IN must be a list of numbers, texts or booleans")
            return Predicate(column, "in" if op == "IN" else "not in", tuple(value))
        if op not in OPERATORS or not _is_literal(value):
            raise RowFilterError(f"expected an operator among {', '.join(OPERATORS)}, IN, NOT_IN and a number, text "
                                 "or boolean 'parameter'")
        return Predicate(column, op, value)
    if kind == "nullity":
        if not isinstance(data.get("is_null"), bool):
            raise RowFilterError("'is_null' must be true or false")
        return Predicate(_gx_column(data), "is null" if data["is_null"] else "is not null")
    if kind in ("and", "or"):
        parts = data.get("conditions")
        if not isinstance(parts, list) or not parts:
            raise RowFilterError(f"'{kind}' needs a non-empty 'conditions' list")
        node: Node = Group(kind, tuple(from_gx(part) for part in parts))
        _count(node)
        return node
    raise RowFilterError(f"unknown condition type {kind!r}; expected comparison, nullity, and or or")


def read(kwargs: dict[str, Any]) -> Node | None:
    """The row filter of an expectation's arguments, or None; raises RowFilterError.

    `condition_parser: pandas` (or `spark`, `python`) asks for a code evaluator and is refused: the
    same condition in our grammar does the job without one.
    """
    raw = kwargs.get("row_condition")
    parser = kwargs.get("condition_parser")
    if parser not in SAFE_PARSERS:
        raise RowFilterError(f"condition_parser {parser!r} evaluates the condition as code and is not allowed; "
                             "drop condition_parser and write the condition as `column >= 1 and other == 'x'`")
    if raw is None or raw == "":
        return None
    return parse(raw) if isinstance(raw, str) else from_gx(raw)


def columns(node: Node) -> set[str]:
    if isinstance(node, Predicate):
        return {node.column}
    if isinstance(node, Not):
        return columns(node.inner)
    return set().union(*(columns(part) for part in node.parts))


def describe(node: Node) -> str:
    """The condition in the grammar above (canonical: stable for fingerprints and messages)."""
    if isinstance(node, Predicate):
        column = node.column if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", node.column) and node.column not in _KEYWORDS \
            else "`" + node.column + "`"
        if node.op in ("is null", "is not null"):
            return f"{column} {node.op}"
        if node.op in ("in", "not in"):
            return f"{column} {node.op} (" + ", ".join(_literal(v) for v in node.value) + ")"
        return f"{column} {node.op} {_literal(node.value)}"
    if isinstance(node, Not):
        return f"not ({describe(node.inner)})"
    return "(" + f" {node.kind} ".join(describe(part) for part in node.parts) + ")"


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
            raise RowFilterError(f"cannot compare column {node.column!r} with {_literal(node.value)}: {exc}") from None
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


# --- parsing -------------------------------------------------------------------------------------

def _tokens(text: str) -> list[tuple[str, Any, int]]:
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            start = len(text) - len(text[position:].lstrip())
            raise RowFilterError(f"unexpected character {text[start]!r} at position {start + 1}; a row condition "
                                 "holds column names, comparisons (== != < <= > >=), in (…), is null, and, or, not, "
                                 "numbers and quoted texts")
        kind = match.lastgroup
        value: Any = match.group(kind)
        start = match.start(kind)
        if kind == "number":
            value = float(value) if any(c in value for c in ".eE") else int(value)
        elif kind in ("single", "double"):
            value, kind = _unescape(value), "text"
        elif kind == "backtick":
            kind = "name"
        elif kind == "word":
            lowered = value.lower()
            kind, value = ("keyword", lowered) if lowered in _KEYWORDS else ("name", value)
        tokens.append((kind, value, start))
        position = match.end()
    return tokens


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


class _Parser:
    def __init__(self, tokens: list[tuple[str, Any, int]], text: str) -> None:
        self.tokens, self.text, self.at = tokens, text, 0

    def peek(self) -> tuple[str, Any, int] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, Any, int]:
        token = self.peek()
        if token is None:
            raise self.error("the condition ends too early")
        self.at += 1
        return token

    def error(self, message: str) -> RowFilterError:
        token = self.peek()
        where = f"at position {token[2] + 1}" if token else "at the end"
        return RowFilterError(f"{message} ({where} of {self.text!r})")

    def accept(self, kind: str, value: Any = None) -> bool:
        token = self.peek()
        if token is not None and token[0] == kind and (value is None or token[1] == value):
            self.at += 1
            return True
        return False

    def condition(self, depth: int = 0) -> Node:
        if depth > 20:
            raise self.error("nested too deeply")
        return self._group("or", lambda: self._group("and", lambda: self.negation(depth)))

    def _group(self, keyword: str, item) -> Node:
        parts = [item()]
        while self.accept("keyword", keyword):
            parts.append(item())
        return parts[0] if len(parts) == 1 else Group(keyword, tuple(parts))

    def negation(self, depth: int) -> Node:
        if self.accept("keyword", "not"):
            return Not(self.negation(depth + 1))
        if self.accept("op", "("):
            node = self.condition(depth + 1)
            if not self.accept("op", ")"):
                raise self.error("expected ')'")
            return node
        return self.test()

    def test(self) -> Predicate:
        column = self.column()
        if self.accept("keyword", "is"):
            negated = self.accept("keyword", "not")
            if not (self.accept("keyword", "null") or self.accept("keyword", "none")):
                raise self.error("expected 'null' after 'is'")
            return Predicate(column, "is not null" if negated else "is null")
        if self.accept("keyword", "not"):
            if not self.accept("keyword", "in"):
                raise self.error("expected 'in' after 'not'")
            return Predicate(column, "not in", self.literals())
        if self.accept("keyword", "in"):
            return Predicate(column, "in", self.literals())
        token = self.peek()
        if token is None or token[0] != "op" or token[1] not in OPERATORS:
            raise self.error("expected a comparison (== != < <= > >=), 'in' or 'is null'")
        self.at += 1
        return Predicate(column, token[1], self.literal())

    def column(self) -> str:
        token = self.take()
        if token[0] == "name" and token[1] == "col" and self.accept("op", "("):  # GX's col("name")
            inner = self.take()
            if inner[0] not in ("text", "name") or not self.accept("op", ")"):
                raise self.error("expected col(\"column name\")")
            return str(inner[1])
        if token[0] != "name":
            self.at -= 1
            raise self.error("expected a column name")
        return str(token[1])

    def literal(self) -> Literal:
        token = self.take()
        if token[0] in ("number", "text"):
            return token[1]
        if token[0] == "keyword" and token[1] in ("true", "false"):
            return token[1] == "true"
        self.at -= 1
        raise self.error("expected a number, a quoted text, true or false")

    def literals(self) -> tuple[Literal, ...]:
        closing = ")" if self.accept("op", "(") else ("]" if self.accept("op", "[") else None)
        if closing is None:
            raise self.error("expected '(' with a list of values")
        values = [self.literal()]
        while self.accept("op", ","):
            values.append(self.literal())
        if not self.accept("op", closing):
            raise self.error(f"expected ',' or '{closing}'")
        return tuple(values)


def _gx_column(data: dict[str, Any]) -> str:
    column = data.get("column")
    name = column.get("name") if isinstance(column, dict) else column
    if not isinstance(name, str) or not name:
        raise RowFilterError("'column' must name a column ({\"name\": \"age\"})")
    return name


def _is_literal(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) and value is not None


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return repr(value)


def _count(node: Node) -> None:
    tests = 0
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Predicate):
            tests += 1
        elif isinstance(current, Not):
            stack.append(current.inner)
        else:
            stack.extend(current.parts)
    if tests > MAX_TESTS:
        raise RowFilterError(f"a row condition holds at most {MAX_TESTS} tests, this one {tests}")
