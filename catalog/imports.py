"""Writing what an importer read from another tool (MLflow, dbt) into the catalog, in one transaction.

An importer (catalog/importers/) reads the other tool and describes what it found as an
`ImportPlan`, with no SQL; this module is the one that writes it, with the same rules for every
tool: datasets found by their location first (the table OpenLineage or a catalog file already
names is that dataset, not a new one), fields merged by source (catalog/field_sources.py: a
catalog file's value wins; a tool clears only what it set), feeds, derivations and columns
replaced per source (a catalog file's column keeps its values: catalog/bulk_columns.py), check runs
recorded once (a re-import of the same run writes nothing). Importing the same
thing twice changes nothing, so the store revision stays where it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from catalog import field_sources, reads
from catalog.bulk import Bulk
from catalog.bulk_columns import ColumnValues, replace_columns
from catalog.errors import ConfigurationError
from catalog.ids import Key, ModelKey
from catalog.names import name_problem
from catalog.schema import CheckResult, CheckRun, Dataset, Model, utcnow
from catalog.store import Store


@dataclass
class ImportedDataset:
    """A dataset the tool names: by location when it has one (`key` is then only its name if new)."""

    handle: str  # how feeds, derivations and checks of this plan refer to it
    key: Key
    location: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # description, owner, ... (as the tool says them)


@dataclass
class ImportedFeed:
    dataset: str  # a handle
    role: str
    fingerprint: str | None
    consumed_at: datetime | None


@dataclass
class ImportedVersion:
    key: ModelKey
    fields: dict[str, Any] = field(default_factory=dict)  # risk_tier, purpose, owner, deployed, stage, registered_at
    feeds: list[ImportedFeed] = field(default_factory=list)
    base: ModelKey | None = None  # the version it was fine-tuned from: one of this plan's, or already stored


@dataclass
class ImportedCheck:
    """One test run of the tool on one dataset: `results` as check_results rows (expectation, severity, ...)."""

    dataset: str  # a handle
    started_at: datetime
    finished_at: datetime
    outcome: str
    results: list[dict[str, Any]]
    error: str | None = None


@dataclass
class ImportPlan:
    source: str  # mlflow, dbt: the `source` of every row and field it writes
    datasets: list[ImportedDataset] = field(default_factory=list)
    versions: list[ImportedVersion] = field(default_factory=list)
    derivations: dict[str, set[tuple[str, Key | None]]] = field(default_factory=dict)  # output -> (input, job)
    checks: list[ImportedCheck] = field(default_factory=list)
    columns: dict[str, list[ColumnValues]] = field(default_factory=dict)  # handle -> its columns, in order


MAX_NAME = 1000


def checked_name(where: object, value: str, what: str) -> str:
    """A name another tool gives, refused as a catalog file's would be (empty, too long, hidden or
    control characters: catalog/names.py), with where it came from."""
    value = value.strip()
    problem = name_problem(value) if value else "it is empty"
    if problem or len(value) > MAX_NAME:
        raise ConfigurationError(f"{where}: {what} {value!r} cannot be a name: {problem or f'over {MAX_NAME:,} characters'}")
    return value


class ImportResult(BaseModel):
    source: str
    datasets: dict[str, int]
    versions: dict[str, int]
    feeds_changed: int
    derivations_changed: int
    checks_recorded: int
    columns_changed: int = 0  # datasets whose columns from this source changed
    revision: int


def apply_import(store: Store, plan: ImportPlan) -> ImportResult:
    """Write the plan in one transaction; a name that cannot be one, or a lookalike, refuses it whole."""
    for key in [d.key for d in plan.datasets] + [v.key for v in plan.versions]:
        for part, what in zip(key, ("namespace", "name", "version"), strict=False):
            checked_name(f"{plan.source} import", part, what)
    with store.transaction(f"import:{plan.source}") as writer:
        bulk = Bulk(writer)
        now = utcnow()
        counts: dict[str, dict[str, int]] = {"datasets": {}, "versions": {}}

        def count(kind: str, change: str) -> None:
            counts[kind][change] = counts[kind].get(change, 0) + 1

        ids = _datasets(writer, bulk, plan, now, count)
        feeds_changed = derivations_changed = 0
        if plan.versions:
            stored = bulk.stored_fields(Model, [v.key for v in plan.versions],
                                        [*{name for v in plan.versions for name in v.fields}, "field_sources",
                                         "catalog_file"])
            new = [v.key for v in plan.versions if v.key not in stored]
            for key, other in writer.lookalikes("model", new).items():
                raise ConfigurationError(f"the model '{key[1]}' looks like the model '{other[1]}' already in the "
                                        "catalog; register it under that name, or one nobody can mistake")
            model_ids: dict[ModelKey, int] = {}
            for version in plan.versions:
                have = stored.get(version.key)
                if have is None:
                    _inherit_declared(writer, version)
                    sources = {name: {"source": plan.source, "at": now.isoformat()}
                               for name, value in sorted(version.fields.items()) if not field_sources.empty(value)}
                    row, _ = writer.upsert_model(version.key, {**version.fields, "source": plan.source,
                                                               "field_sources": sources})
                    count("versions", "created")
                else:
                    row = writer.model(*version.key)
                    values = field_sources.reported(version.fields, have, have.get("field_sources"), plan.source, now)
                    count("versions", writer.update(row, values) if values else "unchanged")
                model_ids[version.key] = row.id
            bases = {v.key: v.base for v in plan.versions if v.base}
            if bases:
                model_ids.update(bulk.ids(Model, set(bases.values()) - model_ids.keys()))
                missing = sorted(set(bases.values()) - model_ids.keys())
                if missing:
                    raise ConfigurationError(f"base model {missing[0][1]}@{missing[0][2]} is neither in the import nor "
                                             "in the catalog")
                bulk.set_column(Model, {model_ids[key]: model_ids[base] for key, base in bases.items()}, "base_model_id")
            feeds_changed = len(bulk.replace_feeds({
                model_ids[v.key]: {(ids[f.dataset], f.role): {"fingerprint": f.fingerprint, "consumed_at": f.consumed_at}
                                   for f in v.feeds}
                for v in plan.versions}, source=plan.source))
        if plan.derivations:
            jobs = bulk.ensure_jobs({job for edges in plan.derivations.values() for _, job in edges if job})
            derivations_changed = len(bulk.replace_derivations({
                ids[output]: {(ids[inp], jobs[job] if job else None) for inp, job in edges}
                for output, edges in plan.derivations.items()}, source=plan.source))
        columns_changed = len(replace_columns(bulk, {ids[handle]: columns for handle, columns in plan.columns.items()},
                                              source=plan.source)) if plan.columns else 0
        recorded = _checks(writer, plan, ids)
    return ImportResult(source=plan.source, datasets=counts["datasets"], versions=counts["versions"],
                        feeds_changed=feeds_changed, derivations_changed=derivations_changed,
                        checks_recorded=recorded, columns_changed=columns_changed, revision=store.revision())


def _inherit_declared(writer: Any, version: ImportedVersion) -> None:
    """A new version the tool says no tier (purpose, owner) of takes them from the model's catalog-file entry."""
    missing = [name for name in reads.INHERITED if field_sources.empty(version.fields.get(name))]
    declared = reads.declared_model(writer.session, version.key[:2]) if missing else None
    if declared is not None:
        version.fields.update({field_name: getattr(declared, field_name) for field_name in missing})


def _datasets(writer: Any, bulk: Bulk, plan: ImportPlan, now: datetime, count: Any) -> dict[str, int]:
    """Handle -> dataset id: found by location, else by key, else created."""
    session = writer.session
    locations = sorted({d.location for d in plan.datasets if d.location})
    by_location: dict[str, int] = {}
    for start in range(0, len(locations), 500):
        rows = session.execute(select(Dataset.location, Dataset.id)
                               .where(Dataset.location.in_(locations[start:start + 500])).order_by(Dataset.id))
        for location, dataset_id in rows:
            by_location.setdefault(location, dataset_id)
    keys = bulk.ids(Dataset, [d.key for d in plan.datasets])
    new = [d.key for d in plan.datasets if d.key not in keys and not (d.location and d.location in by_location)]
    for key, other in writer.lookalikes("dataset", new).items():
        raise ConfigurationError(f"the dataset '{key[1]}' looks like the dataset '{other[1]}' already in the catalog")
    ids: dict[str, int] = {}
    for imported in plan.datasets:
        dataset_id = by_location.get(imported.location or "") or keys.get(imported.key)
        values = {**imported.fields, **({"location": imported.location} if imported.location else {})}
        if dataset_id is None:
            sources = {name: {"source": plan.source, "at": now.isoformat()}
                       for name, value in sorted(values.items()) if not field_sources.empty(value)}
            row, _ = writer.upsert_dataset(*imported.key, {**values, "field_sources": sources})
            keys[imported.key] = row.id
            if imported.location:
                by_location[imported.location] = row.id
            count("datasets", "created")
        else:
            row = session.get(Dataset, dataset_id)
            have = {name: getattr(row, name) for name in (*values, "catalog_file")}
            merged = field_sources.reported(values, have, row.field_sources, plan.source, now)
            count("datasets", writer.update(row, merged) if merged else "unchanged")
        ids[imported.handle] = row.id
    return ids


def _checks(writer: Any, plan: ImportPlan, ids: dict[str, int]) -> int:
    """Record each test run once: a run of this source at the same start on the same dataset is the same run."""
    recorded = 0
    for check in plan.checks:
        dataset_id = ids[check.dataset]
        exists = writer.session.scalar(select(CheckRun.id).where(
            CheckRun.dataset_id == dataset_id, CheckRun.source == plan.source, CheckRun.started_at == check.started_at))
        if exists is not None:
            continue
        run = CheckRun(dataset_id=dataset_id, source=plan.source, started_at=check.started_at,
                       finished_at=check.finished_at, outcome=check.outcome, error=check.error,
                       evaluated=sum(1 for r in check.results if not r.get("errored")),
                       failed=sum(1 for r in check.results if r.get("success") is False),
                       errored=sum(1 for r in check.results if r.get("errored")),
                       results=[CheckResult(position=i, **r) for i, r in enumerate(check.results)])
        writer.add(run)
        recorded += 1
    writer.session.flush()
    return recorded
