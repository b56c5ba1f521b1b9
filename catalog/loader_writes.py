"""The writing pass of a load: a checked plan into the tables, a table at a time.

`catalog.bulk` rather than `Writer`'s row-at-a-time upserts: a reference catalog loads in seconds,
not hours. Runs inside the transaction the plan was bound in, once `Plan.bind` found no problem.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from catalog.bulk import Bulk
from catalog.bulk_columns import ColumnValues, replace_columns, replace_flows, trimmed
from catalog.columns import stored_columns
from catalog.changes import Change
from catalog.loader_plan import Declared, Plan
from catalog import field_sources
from catalog.schema import Dataset, Model, utcnow
from catalog.schema_columns import ColumnFlow, DatasetColumn
from catalog.spec import DatasetSpec
from catalog.store import Writer


def apply(plan: Plan, writer: Writer, count: Callable[[str, Change], None]) -> None:
    """Write the plan; `count(kind, change)` hears what became of every dataset, model and incident.

    A row whose own fields are unchanged still counts as updated when its edges changed: the file
    said something different about it.
    """
    bulk = Bulk(writer)
    ids, changes = bulk.upsert_named(Dataset, _with_sources(bulk, Dataset, {
        key: _dataset_fields(plan, d) for key, d in plan.datasets.items()}))
    referenced = {ref for refs in plan.derived_from.values() for ref in refs}
    referenced |= {ref for feeds in plan.feeds.values() for ref, _ in feeds}
    referenced |= {ref for ref, _ in plan.incidents}
    ids.update(bulk.ids(Dataset, referenced - ids.keys()))
    jobs = bulk.ensure_jobs({(key[0], d.spec.job) for key, d in plan.datasets.items() if d.spec.job})
    wanted: dict[int, set[tuple[int, int | None]]] = {}
    for key, declared in plan.datasets.items():
        job = jobs[(key[0], declared.spec.job)] if declared.spec.job else None
        wanted[ids[key]] = {(ids[ref], job) for ref in plan.derived_from[key]}
    rewired = bulk.replace_derivations(wanted, source="catalog")
    columns = {ids[key]: [ColumnValues(c.name, c.type, c.description, tuple(c.classifications), position)
                          for position, c in enumerate(d.spec.columns)] for key, d in plan.datasets.items()}
    rewired |= replace_columns(bulk, trimmed(bulk, DatasetColumn, columns, source="catalog"), source="catalog")
    flows = {ids[key]: [(ids[f.input], f.input_column, f.output_column, f.kind, None, False)
                        for f in plan.column_flows[key]] for key in plan.datasets}
    rewired |= replace_flows(bulk, trimmed(bulk, ColumnFlow, flows, source="catalog"), source="catalog")
    for key in plan.datasets:
        change = "updated" if changes[key] == "unchanged" and ids[key] in rewired else changes[key]
        count("datasets", change)

    model_ids, model_changes = bulk.upsert_named(Model, _with_sources(bulk, Model, {
        key: _model_fields(plan, d) for key, d in plan.models.items()}))
    bases = {base for base in plan.base_models.values() if base}
    model_ids.update(bulk.ids(Model, bases - model_ids.keys()))
    rebased = bulk.set_column(Model, {model_ids[key]: model_ids[base] if base else None
                                      for key, base in plan.base_models.items()}, "base_model_id")
    fed = bulk.replace_feeds({
        model_ids[key]: {(ids[ref], feed.role): {"fingerprint": feed.fingerprint, "consumed_at": feed.at,
                                                 "features": feed.features}
                         for ref, feed in plan.feeds[key]}
        for key in plan.models
    }, source="catalog")
    for key in plan.models:
        change = model_changes[key]
        if change == "unchanged" and model_ids[key] in rebased | fed:
            change = "updated"
        count("models", change)

    incidents = {
        (ids[ref], incident.kind, incident.opened): {
            "resolved": incident.resolved, "note": incident.note,
            "effective_from": incident.effective_from, "due": incident.due,
        }
        for ref, incident in plan.incidents
    }
    for change in bulk.upsert_incidents(incidents).values():
        count("incidents", change)
    if plan.policy is not None:
        writer.set_setting("policy", plan.policy)


def _with_sources(bulk: Bulk, table: Any, wanted: dict[Any, dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """Each entry's fields merged with what other sources filled (catalog/field_sources.py)."""
    if not wanted:
        return wanted
    names = [*next(iter(wanted.values())), "field_sources"]
    stored = bulk.stored_fields(table, wanted, dict.fromkeys(names))
    now = utcnow()
    return {key: field_sources.declared(fields, stored.get(key), (stored.get(key) or {}).get("field_sources"), now)
            for key, fields in wanted.items()}


def _dataset_fields(plan: Plan, declared: Declared) -> dict[str, Any]:
    """Every column of the dataset from its spec (catalog/columns.py); here only what the plan
    normalised, the file's defaults, and where the entry was declared."""
    spec: DatasetSpec = declared.spec
    defaults = plan.file_spec(declared.doc).defaults
    fields = stored_columns(spec, skip={"namespace", "name", "derived_from", "job", "columns"})
    for name in ("owner", "origin", "retention", "freshness"):
        fields[name] = fields[name] or getattr(defaults, name)
    fields.update(
        location=plan.locations[declared.key],
        expectations=plan.expectations[declared.key],
        expectations_file=plan.suite_files[declared.key],
        catalog_file=plan.resolved(declared.doc),
        catalog_line=declared.doc.line_of(declared.loc),
    )
    return fields


def _model_fields(plan: Plan, declared: Declared) -> dict[str, Any]:
    fields = stored_columns(declared.spec, skip={"namespace", "name", "version", "base_model", "trained_on"})
    fields.update(source="catalog", catalog_file=plan.resolved(declared.doc), catalog_line=declared.doc.line_of(declared.loc))
    return fields
