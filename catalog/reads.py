"""The read queries the services ask of the store: each takes an open Session, returns rows or plain values.

`store.py` holds the engine, the transactions and the `Writer`; `runs.py` the check-run history.
The catalog's other reads live here, so a service never builds SQL itself and one module shows what
every page of the API costs the database. A session is passed in rather than opened here so that
a service can ask several questions in one read transaction (or inside its write transaction).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.orm import Session, aliased

from catalog.bulk import chunks
from catalog.ids import Key, ModelKey, version_key
from catalog.schema import Dataset, Derivation, Feed, Incident, Job, Model
from catalog.schema_columns import ColumnFlow, DatasetColumn

CATALOG = "catalog"  # the `source` of what catalog files and PUTs declared (OpenLineage has its own)


# --- datasets and models by key or page ----------------------------------------------------------

def dataset(session: Session, key: Key) -> Dataset | None:
    namespace, name = key
    return session.scalar(select(Dataset).where(Dataset.namespace == namespace, Dataset.name == name))


def model(session: Session, key: ModelKey) -> Model | None:
    """One model version."""
    namespace, name, version = key
    return session.scalar(select(Model).where(Model.namespace == namespace, Model.name == name,
                                              Model.version == version))


def declared_model(session: Session, key: Key) -> Model | None:
    """The newest version of a model that a catalog file declared: what an imported version with no
    tier of its own (MLflow without tags, a standard OpenLineage MODEL output) takes its tier from."""
    namespace, name = key
    return session.scalar(select(Model).where(Model.namespace == namespace, Model.name == name,
                                              Model.catalog_file.is_not(None)).order_by(Model.id.desc()))


INHERITED = ("risk_tier", "purpose", "owner")  # what a new version takes from `declared_model`


def model_versions(session: Session, keys: Iterable[Key]) -> dict[Key, list[str]]:
    """Every version of each model (namespace, name), oldest first (catalog.ids.version_key)."""
    found: dict[Key, list[str]] = {}
    for part in chunks(sorted(set(keys))):
        query = select(Model.namespace, Model.name, Model.version).where(tuple_(Model.namespace, Model.name).in_(part))
        for namespace, name, version in session.execute(query):
            found.setdefault((namespace, name), []).append(version)
    return {key: sorted(versions, key=version_key) for key, versions in found.items()}


def datasets(session: Session, *, namespace: str | None = None, owner: str | None = None, origin: str | None = None,
             tag: str | None = None, limit: int | None = None, offset: int = 0) -> tuple[int, list[Dataset]]:
    """(how many match, the page of them) in namespace and name order; `limit=None` means all.

    Tags live in a JSON list, so that filter runs in Python: portable across SQLite and PostgreSQL,
    at the price of reading every row the other filters leave.
    """
    query = select(Dataset)
    if namespace:
        query = query.where(Dataset.namespace == namespace)
    if owner:
        query = query.where(Dataset.owner == owner)
    if origin:
        query = query.where(Dataset.origin == origin)
    query = query.order_by(Dataset.namespace, Dataset.name)
    if tag:
        rows = [row for row in session.scalars(query) if tag in (row.tags or [])]
        return len(rows), rows[offset:None if limit is None else offset + limit]
    return _page(session, query, limit, offset)


def models(session: Session, *, namespace: str | None = None, limit: int | None = None,
           offset: int = 0) -> tuple[int, list[Model]]:
    """(how many match, the page of them) in namespace and name order; `limit=None` means all."""
    query = select(Model)
    if namespace:
        query = query.where(Model.namespace == namespace)
    return _page(session, query.order_by(Model.namespace, Model.name, Model.created_at, Model.id), limit, offset)


def _page(session: Session, query: Select[Any], limit: int | None, offset: int) -> tuple[int, list[Any]]:
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    if limit is not None:
        query = query.limit(limit)
    return total, list(session.scalars(query.offset(offset)))


def catalog_files(session: Session) -> list[str]:
    """Every catalog file a stored dataset was declared in."""
    return list(session.scalars(select(Dataset.catalog_file).where(Dataset.catalog_file.is_not(None)).distinct()))


def dataset_exists(session: Session, dataset_id: int) -> bool:
    return session.get(Dataset, dataset_id) is not None


def locations(session: Session) -> list[tuple[str, bool | None, str | None]]:
    """(location, personal_data, catalog_file) of every dataset with a location: who shares a file."""
    rows = session.execute(select(Dataset.location, Dataset.personal_data, Dataset.catalog_file)
                           .where(Dataset.location.is_not(None)))
    return [(location, personal, declared_in) for location, personal, declared_in in rows]


# --- what an entry declared, for reading it back ---------------------------------------------------

def declared_inputs(session: Session, dataset_ids: Iterable[int]) -> dict[int, list[tuple[Key, str | None]]]:
    """Per dataset id, the inputs its entry's `derived_from` declared, with the job name on each edge.

    Only edges whose source is a catalog file or a PUT: they are what a PUT of the entry replaces,
    so a body read back and PUT again changes nothing. Lineage that arrived from OpenLineage is
    at /derivations and /lineage.
    """
    source = aliased(Dataset)
    found: dict[int, list[tuple[Key, str | None]]] = {}
    for part in chunks(list(dataset_ids)):
        query = (select(Derivation.output_id, source.namespace, source.name, Job.name)
                 .join(source, source.id == Derivation.input_id).outerjoin(Job, Job.id == Derivation.job_id)
                 .where(Derivation.output_id.in_(part), Derivation.source == CATALOG)
                 .order_by(Derivation.output_id, source.namespace, source.name))
        for output_id, namespace, name, job in session.execute(query):
            found.setdefault(output_id, []).append(((namespace, name), job))
    return found


def declared_feeds(session: Session, model_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """Per model id, the feeds its entry's `trained_on` declared: dataset key, role, fingerprint, consumed_at.

    Catalog-sourced feeds only, for the reason `declared_inputs` gives.
    """
    found: dict[int, list[dict[str, Any]]] = {}
    for part in chunks(list(model_ids)):
        query = (select(Feed.model_id, Dataset.namespace, Dataset.name, Feed.role, Feed.fingerprint, Feed.consumed_at,
                        Feed.features)
                 .join(Dataset, Dataset.id == Feed.dataset_id)
                 .where(Feed.model_id.in_(part), Feed.source == CATALOG)
                 .order_by(Feed.model_id, Dataset.namespace, Dataset.name, Feed.role))
        for model_id, namespace, name, role, fingerprint, consumed_at, features in session.execute(query):
            found.setdefault(model_id, []).append({"dataset": (namespace, name), "role": role, "fingerprint": fingerprint,
                                                   "consumed_at": consumed_at, "features": features})
    return found


def declared_columns(session: Session, dataset_ids: Iterable[int]) -> dict[int, list[DatasetColumn]]:
    """Per dataset id, the columns its entry's `columns` declared (catalog-sourced), in their order."""
    found: dict[int, list[DatasetColumn]] = {}
    for part in chunks(list(dataset_ids)):
        query = (select(DatasetColumn).where(DatasetColumn.dataset_id.in_(part), DatasetColumn.source == CATALOG)
                 .order_by(DatasetColumn.dataset_id, DatasetColumn.position, DatasetColumn.name))
        for row in session.execute(query).scalars():
            found.setdefault(row.dataset_id, []).append(row)
    return found


def declared_column_flows(session: Session, dataset_ids: Iterable[int]) -> dict[int, dict[Key, list[tuple[str, str, str]]]]:
    """Per output dataset id, per input key, the column flows its `derived_from` entries declared:
    (output column, input column, kind), '' as the output column for a whole-dataset (INDIRECT) flow."""
    source = aliased(Dataset)
    found: dict[int, dict[Key, list[tuple[str, str, str]]]] = {}
    for part in chunks(list(dataset_ids)):
        query = (select(ColumnFlow.output_id, source.namespace, source.name, ColumnFlow.output_column,
                        ColumnFlow.input_column, ColumnFlow.kind)
                 .join(source, source.id == ColumnFlow.input_id)
                 .where(ColumnFlow.output_id.in_(part), ColumnFlow.source == CATALOG)
                 .order_by(ColumnFlow.output_id, ColumnFlow.id))
        for output_id, namespace, name, output_column, input_column, kind in session.execute(query):
            found.setdefault(output_id, {}).setdefault((namespace, name), []).append((output_column, input_column, kind))
    return found


def model_keys(session: Session, model_ids: Iterable[int]) -> dict[int, ModelKey]:
    """The keys of model versions by id: what a `base_model_id` points at."""
    found: dict[int, ModelKey] = {}
    for part in chunks(sorted(set(model_ids))):
        for model_id, namespace, name, version in session.execute(
                select(Model.id, Model.namespace, Model.name, Model.version).where(Model.id.in_(part))):
            found[model_id] = (namespace, name, version)
    return found


# --- edges and incidents -------------------------------------------------------------------------

def feeds(session: Session, *, model_namespace: str | None = None, model_name: str | None = None,
          model_version: str | None = None) -> list[tuple[Feed, Dataset, Model]]:
    """Every feed with its dataset and model version, by model, version, dataset and role; narrowed to
    one model's name (and namespace and version, when given)."""
    query = (select(Feed, Dataset, Model).join(Dataset, Dataset.id == Feed.dataset_id)
             .join(Model, Model.id == Feed.model_id)
             .order_by(Model.namespace, Model.name, Model.version, Dataset.name, Feed.role))
    if model_name is not None:
        query = query.where(Model.name == model_name)
    if model_namespace:
        query = query.where(Model.namespace == model_namespace)
    if model_version:
        query = query.where(Model.version == model_version)
    return [(feed, data, used_by) for feed, data, used_by in session.execute(query)]


def datasets_fed_by_digest(session: Session, prefix: str) -> set[int]:
    """Ids of the datasets some feed records by another tool's digest (`mlflow:`), not a fingerprint."""
    return set(session.scalars(select(Feed.dataset_id).where(Feed.fingerprint.like(f"{prefix}%")).distinct()))


def feeds_of(session: Session, model_id: int) -> list[tuple[Feed, Dataset]]:
    """One model's feeds with their datasets, in dataset and role order (what a snapshot records)."""
    query = (select(Feed, Dataset).join(Dataset, Dataset.id == Feed.dataset_id).where(Feed.model_id == model_id)
             .order_by(Dataset.namespace, Dataset.name, Feed.role))
    return [(feed, data) for feed, data in session.execute(query)]


def dataset_ids(session: Session) -> dict[Key, int]:
    """Every dataset's id by its (namespace, name), without loading the rows."""
    return {(ns, name): i for i, ns, name in session.execute(select(Dataset.id, Dataset.namespace, Dataset.name))}


def derivation_ids(session: Session) -> Iterator[tuple[int, int, str]]:
    """Every derivation as (input id, output id, source), without loading the rows."""
    yield from session.execute(select(Derivation.input_id, Derivation.output_id, Derivation.source))  # type: ignore[misc]


def derivations(session: Session) -> list[tuple[Derivation, Dataset, Dataset, Job | None]]:
    """Every derivation with its input, output and job, by output then input."""
    source, target = aliased(Dataset), aliased(Dataset)
    query = (select(Derivation, source, target, Job).join(source, source.id == Derivation.input_id)
             .join(target, target.id == Derivation.output_id).outerjoin(Job, Job.id == Derivation.job_id)
             .order_by(target.namespace, target.name, source.name))
    return [(edge, inp, out, job) for edge, inp, out, job in session.execute(query)]


def incidents(session: Session) -> list[tuple[Incident, Dataset]]:
    """Every incident with its dataset, oldest first."""
    query = select(Incident, Dataset).join(Dataset, Dataset.id == Incident.dataset_id).order_by(Incident.opened)
    return [(incident, data) for incident, data in session.execute(query)]


def incidents_at(session: Session, key: Key, kind: str, opened: datetime) -> list[Incident]:
    """The incidents of one kind opened at one moment on one dataset: how an incident is identified."""
    namespace, name = key
    query = (select(Incident).join(Dataset, Dataset.id == Incident.dataset_id)
             .where(Dataset.namespace == namespace, Dataset.name == name, Incident.kind == kind,
                    Incident.opened == opened))
    return list(session.scalars(query))
