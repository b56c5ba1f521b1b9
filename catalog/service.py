"""Reading the catalog's entries for people and the API: datasets, models, their edges and incidents.

Each function answers one question the API (and the CLI) asks, in one read transaction, and
returns a public shape (catalog/public.py); the SQL is in catalog/reads.py. Entries are named by
their `NodeId` here: turning a user's reference (a bare name, `ns:name`) into one needs the lineage
graph, which is a layer above (lineage.service.resolve), so the catalog never depends on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from catalog import reads
from catalog.errors import NotFound
from catalog.ids import NodeId, node_id, qualified_name
from catalog.public import (
    DatasetPage, DatasetPublic, ItemPage, ModelPage, ModelPublic, dataset_public, model_public,
)
from catalog.schema import Dataset, Model
from catalog.store import Store

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = [  # the shapes are re-exported: routers name an answer by the service that gives it
    "DatasetPage", "DatasetPublic", "ItemPage", "ModelPage", "ModelPublic", "catalog_folders", "dataset_page",
    "exists", "get_dataset", "get_model", "list_datasets", "list_derivations", "list_feeds", "list_incidents",
    "list_models",
]


def list_datasets(store: Store, *, namespace: str | None = None, owner: str | None = None, origin: str | None = None,
                  tag: str | None = None, limit: int = 100, offset: int = 0) -> DatasetPage:
    with store.read() as session:
        total, rows = reads.datasets(session, namespace=namespace, owner=owner, origin=origin, tag=tag,
                                     limit=limit, offset=offset)
        return dataset_page(session, rows, total=total, limit=limit, offset=offset)


def dataset_page(session: Session, rows: list[Dataset], *, total: int, limit: int, offset: int) -> DatasetPage:
    """A page of datasets already chosen (`rows`, the page only): their declared inputs are read in
    one query for the whole page, not one per dataset."""
    ids = [row.id for row in rows]
    inputs, columns, flows = (reads.declared_inputs(session, ids), reads.declared_columns(session, ids),
                              reads.declared_column_flows(session, ids))
    return DatasetPage(total=total, limit=limit, offset=offset,
                       items=[dataset_public(row, inputs.get(row.id, []), columns.get(row.id), flows.get(row.id))
                              for row in rows])


def list_models(store: Store, *, namespace: str | None = None, limit: int = 100, offset: int = 0) -> ModelPage:
    with store.read() as session:
        total, rows = reads.models(session, namespace=namespace, limit=limit, offset=offset)
        return ModelPage(total=total, limit=limit, offset=offset, items=_models_public(session, rows))


def get_dataset(store: Store, key: NodeId) -> DatasetPublic:  # type: ignore[valid-type]
    with store.read() as session:
        row = reads.dataset(session, key.key)
        if row is None:  # deleted since its name was resolved
            raise NotFound(f"no dataset {key.qualified}")
        return dataset_public(row, reads.declared_inputs(session, [row.id]).get(row.id, []),
                              reads.declared_columns(session, [row.id]).get(row.id),
                              reads.declared_column_flows(session, [row.id]).get(row.id))


def get_model(store: Store, key: NodeId) -> ModelPublic:  # type: ignore[valid-type]
    """One model version (`key` carries its version: lineage.service.resolve picks one for a bare name)."""
    with store.read() as session:
        row = reads.model(session, key.model_key)
        if row is None:
            raise NotFound(f"no model {key.qualified}")
        (shown,) = _models_public(session, [row])
        return shown


def exists(store: Store, key: NodeId) -> bool:
    """Whether the store holds this dataset or model (jobs are not entries, so never)."""
    with store.read() as session:
        if key.kind == "dataset":
            return reads.dataset(session, key.key) is not None
        if key.kind == "model" and key.version is None:
            return bool(reads.model_versions(session, [key.key]))
        return key.kind == "model" and reads.model(session, key.model_key) is not None


def _models_public(session: Session, rows: list[Model]) -> list[ModelPublic]:  # type: ignore[valid-type]
    feeds = reads.declared_feeds(session, [row.id for row in rows])
    bases = reads.model_keys(session, [row.base_model_id for row in rows if row.base_model_id is not None])
    versions = reads.model_versions(session, [(row.namespace, row.name) for row in rows])
    return [model_public(row, base=bases.get(row.base_model_id) if row.base_model_id is not None else None,
                         feeds=feeds.get(row.id, []), versions=versions.get((row.namespace, row.name), []))
            for row in rows]


def list_feeds(store: Store, *, model: str | None = None, limit: int = 100, offset: int = 0) -> ItemPage:
    """`model` is a model id, `ns:name[@version]` or a bare name (any namespace, every version)."""
    namespace, name, version = _model_filter(model) if model else (None, None, None)
    with store.read() as session:
        rows = reads.feeds(session, model_namespace=namespace, model_name=name, model_version=version)
    items = [{"dataset": node_id("dataset", d.namespace, d.name),
              "model": node_id("model", m.namespace, m.name, m.version),
              "role": f.role, "fingerprint": f.fingerprint, "consumed_at": f.consumed_at, "source": f.source}
             for f, d, m in rows]
    return ItemPage(total=len(items), limit=limit, offset=offset, items=items[offset:offset + limit])


def _model_filter(model: str) -> tuple[str | None, str, str | None]:
    """(namespace or None, name, version or None) of a model reference; a bare name matches in every namespace."""
    try:
        key = NodeId.parse(model, "model")
    except ValueError:
        name, at, version = model.removeprefix("model:").rpartition("@")
        return (None, name, version) if at else (None, model.removeprefix("model:"), None)
    return key.namespace, key.name, key.version


def list_derivations(store: Store, *, limit: int = 100, offset: int = 0) -> ItemPage:
    with store.read() as session:
        rows = reads.derivations(session)
    items = [{"input": node_id("dataset", s.namespace, s.name), "output": node_id("dataset", t.namespace, t.name),
              "job": node_id("job", j.namespace, j.name) if j else None, "source": d.source} for d, s, t, j in rows]
    return ItemPage(total=len(items), limit=limit, offset=offset, items=items[offset:offset + limit])


def list_incidents(store: Store, *, dataset: str | None = None, open_only: bool = False,
                   limit: int = 100, offset: int = 0) -> ItemPage:
    """`dataset` matches a dataset's id, its `ns:name` or its bare name (in any namespace)."""
    with store.read() as session:
        rows = reads.incidents(session)
    items = [{"dataset": node_id("dataset", d.namespace, d.name), "kind": i.kind, "opened": i.opened,
              "effective_from": i.effective_from, "due": i.due, "resolved": i.resolved, "note": i.note}
             for i, d in rows
             if (not dataset or dataset in (d.name, qualified_name(d.namespace, d.name), node_id("dataset", d.namespace, d.name)))
             and (not open_only or i.resolved is None)]
    return ItemPage(total=len(items), limit=limit, offset=offset, items=items[offset:offset + limit])


def catalog_folders(store: Store) -> list[Path]:
    """The folders of the catalog files loaded into the store: where their operator keeps data."""
    with store.read() as session:
        return sorted({Path(f).parent for f in reads.catalog_files(session)})
