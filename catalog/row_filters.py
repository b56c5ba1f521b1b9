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
no string from the catalog is ever parsed by Python, pandas or the database as code. Applying a
parsed condition (the mask, the SQL expression, GX's structured form) is `row_filter_apply.py`.
"""

from __future__ import annotations

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
            return f"{column} {node.op} (" + ", ".join(literal_text(v) for v in node.value) + ")"
        return f"{column} {node.op} {literal_text(node.value)}"
    if isinstance(node, Not):
        return f"not ({describe(node.inner)})"
    return "(" + f" {node.kind} ".join(describe(part) for part in node.parts) + ")"


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


def literal_text(value: Any) -> str:
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
