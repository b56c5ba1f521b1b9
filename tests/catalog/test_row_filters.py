"""`row_condition` is read by our own grammar into a tree; no string reaches an evaluator."""

from __future__ import annotations

import pandas as pd
import pytest

from catalog.row_filter_apply import mask, to_gx
from catalog.row_filters import Group, Not, Predicate, RowFilterError, describe, from_gx, parse, read


def test_comparisons_and_or_not_parse_into_a_tree():
    node = parse("age >= 18 and (country == 'DE' or country in (\"FR\", 'IT')) and not email is null")
    assert node == Group("and", (
        Predicate("age", ">=", 18),
        Group("or", (Predicate("country", "==", "DE"), Predicate("country", "in", ("FR", "IT")))),
        Not(Predicate("email", "is null")),
    ))
    assert parse(describe(node)) == node  # the canonical text reads back the same


def test_gx_spellings_are_accepted():
    assert parse('col("first name") != "x"') == Predicate("first name", "!=", "x")
    assert parse("`first name` <= -1.5e2") == Predicate("first name", "<=", -150.0)
    structured = {"type": "and", "conditions": [
        {"type": "comparison", "column": {"name": "age"}, "operator": ">", "parameter": 17},
        {"type": "nullity", "column": {"name": "email"}, "is_null": False},
        {"type": "comparison", "column": {"name": "c"}, "operator": "NOT_IN", "parameter": ["a", "b"]},
    ]}
    assert from_gx(structured) == Group("and", (Predicate("age", ">", 17), Predicate("email", "is not null"),
                                                Predicate("c", "not in", ("a", "b"))))


@pytest.mark.parametrize("payload", [
    "@pd.io.common.os.system('id > pwned.txt') == 0",
    "__import__('os').system('id')",
    "age.__class__.__mro__[1].__subclasses__()",
    "`a` + `b` == 1",
    "age > 1 and exec('x')",
    "a == b",                  # comparing two columns is not a literal: refused, not guessed
    "a == 1; DROP TABLE t",
    "a == 1 -- comment",
    "a == 1 or",
    "lambda: 1",
])
def test_code_is_a_parse_error_not_an_evaluation(payload):
    with pytest.raises(RowFilterError):
        parse(payload)


def test_unsafe_parsers_are_refused_and_safe_ones_read_our_grammar():
    with pytest.raises(RowFilterError, match="evaluates the condition as code"):
        read({"row_condition": "age > 1", "condition_parser": "pandas"})
    assert read({"row_condition": 'col("age") > 1', "condition_parser": "great_expectations"}) == Predicate("age", ">", 1)
    assert read({"column": "x"}) is None


def test_mask_selects_rows_without_a_query_string():
    frame = pd.DataFrame({"age": [10, 20, None, 40], "country": ["DE", "FR", "DE", None]})
    selected = mask(parse("age >= 18 and country not in ('FR')"), frame)
    assert selected.tolist() == [False, False, False, False]
    assert mask(parse("age >= 18 or country == 'DE'"), frame).tolist() == [True, True, True, True]
    assert mask(parse("not age < 18"), frame).tolist() == [False, True, False, True]  # unknown stays unknown, as in SQL
    assert mask(parse("not age < 18 or age is null"), frame).tolist() == [False, True, True, True]
    assert mask(parse("age is null"), frame).tolist() == [False, False, True, False]
    with pytest.raises(RowFilterError, match="does not have"):
        mask(parse("missing == 1"), frame)


def test_limits_bound_the_work():
    with pytest.raises(RowFilterError, match="at most"):
        parse(" or ".join(f"a == {i}" for i in range(60)))
    with pytest.raises(RowFilterError, match="nested too deeply"):
        parse("(" * 30 + "a == 1" + ")" * 30)
    with pytest.raises(RowFilterError, match="characters"):
        parse("a == '" + "x" * 3000 + "'")


def test_gx_form_pushes_negation_down_and_expands_to_an_or_of_ands():
    gx = to_gx(parse("not (a < 1 or b is null) and (c == 'x' or c in ('y', 'z'))"))
    assert gx["type"] == "or" and len(gx["conditions"]) == 2
    first = gx["conditions"][0]
    assert first["type"] == "and" and [c.get("operator", c.get("is_null")) for c in first["conditions"]] == [">=", False, "=="]
    assert from_gx(gx) == parse("(a >= 1 and b is not null and c == 'x') or (a >= 1 and b is not null and c in ('y', 'z'))")
    with pytest.raises(RowFilterError, match="expands to more than"):
        to_gx(parse(" and ".join(f"(a == {i} or b == {i})" for i in range(8))))
