"""Reading the catalog's entities for people and the API: datasets and models as public shapes."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, select

from catalog.durations import format_duration
from catalog.errors import NotFound
from catalog.locations import shown_location
from catalog.schema import Dataset, Model
from catalog.store import Store


class DatasetPublic(BaseModel):
    id: str
    namespace: str
    name: str
    description: str | None
    location: str | None
    owner: str | None
    origin: str | None
    personal_data: bool | None
    special_categories: list[str]
    legal_basis: str | None
    purpose: str | None
    licence: dict[str, Any] | None
    retention: str | None
    freshness: str | None
    last_updated: datetime | None
    documentation: str | None
    tags: list[str]
    expectations: int = Field(description="how many expectations its suite holds")
    catalog_file: str | None
    catalog_line: int | None
    created_at: datetime
    updated_at: datetime


class ModelPublic(BaseModel):
    id: str
    namespace: str
    name: str
    version: str | None
    risk_tier: str
    deployed: bool
    purpose: str | None
    owner: str | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime


class Page(BaseModel):
    total: int
    limit: int
    offset: int


class DatasetPage(Page):
    items: list[DatasetPublic]


class ModelPage(Page):
    items: list[ModelPublic]


def dataset_public(row: Dataset) -> DatasetPublic:
    licence = None
    if row.licence_id:
        expires: date | None = row.licence_expires
        licence = {"id": row.licence_id, "expires": expires, "url": row.licence_url, "revoked": row.licence_revoked}
    return DatasetPublic(
        id=f"dataset:{row.namespace}:{row.name}", namespace=row.namespace, name=row.name, description=row.description,
        location=shown_location(row.location), owner=row.owner, origin=row.origin, personal_data=row.personal_data,
        special_categories=list(row.special_categories or []), legal_basis=row.legal_basis, purpose=row.purpose,
        licence=licence, retention=format_duration(row.retention) if row.retention else None,
        freshness=format_duration(row.freshness) if row.freshness else None, last_updated=row.last_updated,
        documentation=row.documentation, tags=list(row.tags or []), expectations=len(row.expectations or []),
        catalog_file=row.catalog_file, catalog_line=row.catalog_line, created_at=row.created_at, updated_at=row.updated_at,
    )


def model_public(row: Model) -> ModelPublic:
    return ModelPublic(
        id=f"model:{row.namespace}:{row.name}", namespace=row.namespace, name=row.name, version=row.version,
        risk_tier=row.risk_tier, deployed=row.deployed, purpose=row.purpose, owner=row.owner,
        tags=list(row.tags or []), created_at=row.created_at, updated_at=row.updated_at,
    )


def list_datasets(store: Store, *, namespace: str | None = None, owner: str | None = None, origin: str | None = None,
                  tag: str | None = None, limit: int = 100, offset: int = 0) -> DatasetPage:
    query = select(Dataset)
    if namespace:
        query = query.where(Dataset.namespace == namespace)
    if owner:
        query = query.where(Dataset.owner == owner)
    if origin:
        query = query.where(Dataset.origin == origin)
    with store.read() as session:
        if tag:  # tags live in a JSON list: filter in Python, portable across SQLite and PostgreSQL
            rows = [r for r in session.scalars(query.order_by(Dataset.namespace, Dataset.name)) if tag in (r.tags or [])]
            return DatasetPage(total=len(rows), limit=limit, offset=offset,
                               items=[dataset_public(r) for r in rows[offset:offset + limit]])
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(query.order_by(Dataset.namespace, Dataset.name).limit(limit).offset(offset)).all()
        return DatasetPage(total=total or 0, limit=limit, offset=offset, items=[dataset_public(r) for r in rows])


def list_models(store: Store, *, namespace: str | None = None, limit: int = 100, offset: int = 0) -> ModelPage:
    query = select(Model)
    if namespace:
        query = query.where(Model.namespace == namespace)
    with store.read() as session:
        total = session.scalar(select(func.count()).select_from(query.subquery()))
        rows = session.scalars(query.order_by(Model.namespace, Model.name).limit(limit).offset(offset)).all()
        return ModelPage(total=total or 0, limit=limit, offset=offset, items=[model_public(r) for r in rows])


def get_dataset(store: Store, namespace: str, name: str) -> DatasetPublic:
    with store.read() as session:
        row = session.scalar(select(Dataset).where(Dataset.namespace == namespace, Dataset.name == name))
        if row is None:
            raise NotFound(f"no dataset {namespace}:{name}")
        return dataset_public(row)


def get_model(store: Store, namespace: str, name: str) -> ModelPublic:
    with store.read() as session:
        row = session.scalar(select(Model).where(Model.namespace == namespace, Model.name == name))
        if row is None:
            raise NotFound(f"no model {namespace}:{name}")
        return model_public(row)


class EdgePage(Page):
    items: list[dict[str, Any]]


def list_feeds(store: Store, *, model: str | None = None, limit: int = 100, offset: int = 0) -> EdgePage:
    from catalog.schema import Feed

    query = (select(Feed, Dataset, Model).join(Dataset, Dataset.id == Feed.dataset_id)
             .join(Model, Model.id == Feed.model_id).order_by(Model.namespace, Model.name, Dataset.name, Feed.role))
    if model:
        namespace, _, name = model.removeprefix("model:").rpartition(":")
        query = query.where(Model.name == name, *([Model.namespace == namespace] if namespace else []))
    with store.read() as session:
        rows = session.execute(query).all()
    items = [{"dataset": f"dataset:{d.namespace}:{d.name}", "model": f"model:{m.namespace}:{m.name}", "role": f.role,
              "fingerprint": f.fingerprint, "consumed_at": f.consumed_at, "source": f.source} for f, d, m in rows]
    return EdgePage(total=len(items), limit=limit, offset=offset, items=items[offset:offset + limit])


def list_derivations(store: Store, *, limit: int = 100, offset: int = 0) -> EdgePage:
    from sqlalchemy.orm import aliased

    from catalog.schema import Derivation, Job

    source, target = aliased(Dataset), aliased(Dataset)
    query = (select(Derivation, source, target, Job).join(source, source.id == Derivation.input_id)
             .join(target, target.id == Derivation.output_id).outerjoin(Job, Job.id == Derivation.job_id)
             .order_by(target.namespace, target.name, source.name))
    with store.read() as session:
        rows = session.execute(query).all()
    items = [{"input": f"dataset:{s.namespace}:{s.name}", "output": f"dataset:{t.namespace}:{t.name}",
              "job": f"job:{j.namespace}:{j.name}" if j else None, "source": d.source} for d, s, t, j in rows]
    return EdgePage(total=len(items), limit=limit, offset=offset, items=items[offset:offset + limit])


def list_incidents(store: Store, *, dataset: str | None = None, open_only: bool = False,
                   limit: int = 100, offset: int = 0) -> EdgePage:
    from catalog.schema import Incident

    query = select(Incident, Dataset).join(Dataset, Dataset.id == Incident.dataset_id).order_by(Incident.opened)
    with store.read() as session:
        rows = session.execute(query).all()
    items = [{"dataset": f"dataset:{d.namespace}:{d.name}", "kind": i.kind, "opened": i.opened,
              "effective_from": i.effective_from, "due": i.due, "resolved": i.resolved, "note": i.note}
             for i, d in rows
             if (not dataset or dataset in (d.name, f"{d.namespace}:{d.name}", f"dataset:{d.namespace}:{d.name}"))
             and (not open_only or i.resolved is None)]
    return EdgePage(total=len(items), limit=limit, offset=offset, items=items[offset:offset + limit])


def catalog_folders(store: Store) -> list[Path]:
    """The folders of the catalog files loaded into the store: where their operator keeps data."""
    with store.read() as session:
        files = session.scalars(select(Dataset.catalog_file).where(Dataset.catalog_file.is_not(None)).distinct())
        return sorted({Path(f).parent for f in files})
