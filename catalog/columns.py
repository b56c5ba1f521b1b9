"""Where each catalog-file field is kept in the store: the one mapping both directions use.

A dataset has some thirty-five governance fields. Listing them by hand in the loader (file → row)
and again in the answers (row → GET) let the two drift: the API once accepted a dozen fields on
PUT that it never returned. Both now walk the spec (`catalog/spec.py`) through this module: a field
is kept in a column of its own name, or, for a nested entry (`licence: {id, expires, …}`), in
columns named by a prefix and the entry's field (`licence_expires`). A field added to the spec
needs a column, or a line here, and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from typing import Any, get_args

from pydantic import BaseModel

# Nested entries, by the prefix of their columns (catalog/schema.py).
NESTED = {"licence": "licence_", "tdm_reservation": "tdm_", "deidentification": "deid_", "bias_examination": "bias_"}


def is_nested(name: str, annotation: Any) -> bool:
    """Whether a spec field is a nested entry kept in prefixed columns (a dataset's `licence: {id, …}`),
    not a plain field that shares its name (a model's `licence`, an SPDX id)."""
    return name in NESTED and any(isinstance(arg, type) and issubclass(arg, BaseModel)
                                  for arg in (annotation, *get_args(annotation)))


def nested_spec(annotation: Any) -> type[BaseModel]:
    """The spec model inside `X | None`."""
    for arg in (annotation, *get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    raise TypeError(f"{annotation!r} holds no nested spec")  # pragma: no cover - NESTED names nested fields only


def stored_columns(spec: BaseModel, *, skip: set[str]) -> dict[str, Any]:
    """The columns a spec entry writes: each field in its column, a nested entry spread over its
    prefix's columns (a missing entry writes each of its fields' defaults, None when required).
    `skip` are the fields the caller writes itself (identity, references, normalised values)."""
    columns: dict[str, Any] = {}
    for name, nested in _layout(type(spec)):
        if name in skip:
            continue
        value = getattr(spec, name)
        if nested is None:
            columns[name] = list(value) if isinstance(value, (list, tuple)) else value
        elif value is None:
            columns.update({column: default() for column, _, default in nested})
        else:
            columns.update({column: getattr(value, field) for column, field, _ in nested})
    return columns


_Nested = list[tuple[str, str, Callable[[], Any]]]


@cache
def _layout(spec: type[BaseModel]) -> list[tuple[str, _Nested | None]]:
    """Each field of a spec class, with its nested entry's (column, field, default) when it has one:
    worked out once per class, not for each of a load's 100,000 entries (it was a tenth of a load)."""
    layout: list[tuple[str, _Nested | None]] = []
    for name, info in spec.model_fields.items():
        if not is_nested(name, info.annotation):
            layout.append((name, None))
            continue
        nested = []
        for field_name, field_info in nested_spec(info.annotation).model_fields.items():
            default = ((lambda: None) if field_info.is_required()
                       else partial(field_info.get_default, call_default_factory=True))
            nested.append((NESTED[name] + field_name, field_name, default))
        layout.append((name, nested))
    return layout
