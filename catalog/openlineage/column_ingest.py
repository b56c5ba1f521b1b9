"""OpenLineage's column facets into the store: `schema` into a dataset's columns, `columnLineage` into
column flows (issue 21).

Read from the facets the batch left on each dataset row (`facets.DatasetChanges` already keeps the
newest of each facet by event time), so an older event that arrives late does not roll the columns
back, and a re-sent event changes nothing. A `columnLineage` facet replaces every OpenLineage flow
into its dataset: it is the producer's whole statement of where the output's columns come from. A
catalog file's columns and flows are left alone (`catalog.bulk_columns`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from catalog.bulk import Bulk
from catalog.bulk_columns import ColumnValues, FlowValues, replace_columns, replace_flows
from catalog.ids import Key
from catalog.openlineage.column_lineage import column_flows, schema_columns
from catalog.store import Writer

SOURCE = "openlineage"
COLUMN_FACETS = ("schema", "columnLineage")


def flow_count(facets: Mapping[str, Any]) -> int:
    """How many flows a dataset's `columnLineage` facet states (what the event limits count)."""
    return len(column_flows(facets.get("columnLineage")))


def apply_columns(writer: Writer, rows: Mapping[Key, Any], touched: Iterable[tuple[Key, set[str]]],
                  ensure: Callable[[Iterable[Key]], Mapping[Key, Any]]) -> None:
    """Write the columns and flows of the datasets whose column facets this batch set (`touched`:
    key and the facet names it set). `ensure` gives rows for input datasets a flow names that no
    event of the batch did (created bare, as a run's inputs are)."""
    columns: dict[int, list[ColumnValues]] = {}
    stated: dict[int, list[Any]] = {}
    for key, names in touched:
        row = rows[key]
        facets = row.facets or {}
        if "schema" in names:
            columns[row.id] = [ColumnValues(c.name, c.type, c.description, (), c.position if c.position is not None
                                            else i) for i, c in enumerate(schema_columns(facets.get("schema")))]
        if "columnLineage" in names:
            stated[row.id] = column_flows(facets.get("columnLineage"))
    if not columns and not stated:
        return
    named = {(f.input_namespace, f.input_name) for flows in stated.values() for f in flows}
    known = ensure(named)
    flows: dict[int, list[FlowValues]] = {
        output: [(known[(f.input_namespace, f.input_name)].id, f.input_column, f.output_column or "", f.kind,
                  f.subtype, f.masking) for f in found]
        for output, found in stated.items()}
    bulk = Bulk(writer)
    if columns:
        replace_columns(bulk, columns, source=SOURCE)
    if flows:
        replace_flows(bulk, flows, source=SOURCE)
