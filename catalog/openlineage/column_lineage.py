"""What an OpenLineage dataset says about its columns: the `schema` facet's fields and the
`columnLineage` facet's flows from input columns, read as plain data (issue 21's raw material).

`columnLineage` exists in two shapes, and producers in the field send both:

- 1-0-x (openlineage-python's `facet.ColumnLineageDatasetFacet`, older Spark and dbt): each output
  field lists `inputFields` and says once, for all of them, `transformationType` IDENTITY or MASKED;
- 1-1-0 and later (`facet_v2`, Spark 1.x, dbt-ol, Airflow SQL operators, Trino): each input field
  carries its own `transformations` (`type` DIRECT or INDIRECT, a `subtype` such as IDENTITY,
  TRANSFORMATION, AGGREGATION, FILTER, JOIN, and `masking`), and a dataset-level `dataset` list
  names the columns that shape the whole output (filters, joins, group-bys, sorts).

Both become `ColumnFlow`s. Where a producer says nothing about the transformation (an empty
`transformations` list, as dbt-ol and Spark send for plain projections) the flow is DIRECT: the
column's values reach the output, which is the reading a privacy judgement must assume. A type this
reader does not know is kept in `subtype` and read as DIRECT for the same reason. A flow from the
`dataset` list has no output column: it shapes every row of the output, and is INDIRECT unless its
producer says otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

FlowKind = Literal["DIRECT", "INDIRECT"]
KINDS: tuple[FlowKind, ...] = ("DIRECT", "INDIRECT")
LEGACY_MASKED = "MASKED"  # 1-0-x transformationType: "no original data available (like a hash of PII)"


@dataclass(frozen=True, order=True)
class ColumnFlow:
    """Values (DIRECT) or influence (INDIRECT) flowing from one input column into an output column
    (`output_column` None: into the whole output dataset)."""

    output_column: str | None
    input_namespace: str
    input_name: str
    input_column: str
    kind: FlowKind
    subtype: str | None = None
    masking: bool = False


@dataclass(frozen=True)
class SchemaColumn:
    """One field of a `schema` facet; a nested struct's fields are named by their path (`address.city`)."""

    name: str
    type: str | None = None
    description: str | None = None
    position: int | None = None


def column_flows(facet: Mapping[str, Any] | None) -> list[ColumnFlow]:
    """Every flow a `columnLineage` facet states, in a stable order, each once."""
    if not isinstance(facet, Mapping):
        return []
    found: set[ColumnFlow] = set()
    fields = facet.get("fields")
    if isinstance(fields, Mapping):
        for output, spec in fields.items():
            if not isinstance(spec, Mapping):
                continue
            legacy = spec.get("transformationType")
            for source in _inputs(spec.get("inputFields")):
                found.update(_flows(str(output), source, legacy, default="DIRECT"))
    for source in _inputs(facet.get("dataset")):
        found.update(_flows(None, source, None, default="INDIRECT"))
    return sorted(found, key=lambda f: (f.output_column is None, f.output_column or "", f.input_namespace,
                                        f.input_name, f.input_column, f.kind, f.subtype or "", f.masking))


def schema_columns(facet: Mapping[str, Any] | None) -> list[SchemaColumn]:
    """The columns a `schema` facet lists, nested struct fields flattened to dotted names."""
    if not isinstance(facet, Mapping):
        return []
    return list(_schema_fields(facet.get("fields"), prefix=""))


def _schema_fields(fields: Any, prefix: str) -> Iterator[SchemaColumn]:
    if not isinstance(fields, list):
        return
    for field in fields:
        if not isinstance(field, Mapping) or not isinstance(field.get("name"), str):
            continue
        name = prefix + field["name"]
        position = field.get("ordinal_position")
        yield SchemaColumn(name=name, type=_text(field.get("type")), description=_text(field.get("description")),
                           position=position if isinstance(position, int) and not isinstance(position, bool) else None)
        yield from _schema_fields(field.get("fields"), prefix=name + ".")


def _inputs(items: Any) -> Iterator[Mapping[str, Any]]:
    if not isinstance(items, list):
        return
    for item in items:
        if isinstance(item, Mapping) and all(isinstance(item.get(k), str) for k in ("namespace", "name", "field")):
            yield item


def _flows(output: str | None, source: Mapping[str, Any], legacy: Any, *, default: FlowKind) -> Iterator[ColumnFlow]:
    def flow(kind: FlowKind, subtype: str | None, masking: bool) -> ColumnFlow:
        return ColumnFlow(output, source["namespace"], source["name"], source["field"], kind, subtype, masking)

    transformations = [t for t in source.get("transformations") or () if isinstance(t, Mapping)]
    if not transformations:
        if isinstance(legacy, str) and legacy:  # 1-0-x: IDENTITY or MASKED, both carry the column's values
            yield flow("DIRECT", legacy.upper(), legacy.upper() == LEGACY_MASKED)
        else:
            yield flow(default, None, False)
        return
    for transformation in transformations:
        stated = str(transformation.get("type") or "").upper()
        kind: FlowKind = stated if stated in KINDS else "DIRECT"  # type: ignore[assignment]
        subtype = _text(transformation.get("subtype"))
        if stated not in KINDS and stated:
            subtype = stated if subtype is None else f"{stated}/{subtype}"
        yield flow(kind, subtype, transformation.get("masking") is True)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
