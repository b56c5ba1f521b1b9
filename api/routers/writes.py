"""Writes: PUT (idempotent create or update) and DELETE for datasets and models, POST incidents.

A PUT body is the dataset's or model's entry of a catalog file, and it is loaded exactly as a
catalog file is (same validation, same references, same cycle checks, one transaction), so the
API and `headwater load` can never disagree about what a field means.
"""

from __future__ import annotations

from datetime import timezone
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Body, Response, status

from api.confinement import confine_entry, data_roots
from api.config import Settings
from api.deps import SettingsDep, StoreDep, Writer
from catalog.errors import InvalidCatalogFile, NotFound, Problem
from catalog.loader import LoadResult, load_document
from catalog.spec import IncidentSpec, Timestamp

router = APIRouter(prefix="/api/v1", tags=["catalog"], dependencies=[Writer])


def _split(node: str, kind: str) -> tuple[str, str]:
    """`dataset:NS:NAME` or `NS:NAME` (the namespace may itself hold ':'; the name may not)."""
    text = node.removeprefix(f"{kind}:")
    namespace, sep, name = text.rpartition(":")
    if not sep or not namespace or not name:
        raise NotFound(f"expected {kind}:NAMESPACE:NAME or NAMESPACE:NAME in the path, got {node!r}")
    return namespace, name


def _as_body_fields(error: InvalidCatalogFile, prefix: str, source: str) -> InvalidCatalogFile:
    """Catalog-file paths (`datasets[0].licence.expires`) as body fields (`licence.expires`)."""
    problems = [
        Problem(source, p.path[len(prefix):].lstrip(".") if p.path.startswith(prefix) else p.path, p.message)
        for p in error.problems
    ]
    return InvalidCatalogFile(problems, what="the request body")


def _brief(value: Any) -> str:
    """A value quoted back in an error, cut short: a 9 MB name must not come back as a 19 MB answer."""
    text = repr(value)
    return text if len(text) <= 200 else f"{text[:200]}… ({len(text):,} characters)"


def _put(store, settings: Settings, response: Response, kind: str, node: str, body: dict[str, Any]) -> LoadResult:
    namespace, name = _split(node, kind[:-1])
    source = f"PUT /api/v1/{kind}/{node}"
    disagree = [Problem(source, key, f"the body says {_brief(body[key])} but the path says {value!r}")
                for key, value in (("name", name), ("namespace", namespace)) if key in body and body[key] != value]
    if disagree:  # a PUT to one name must not quietly write another, nor quietly drop what the body says
        raise InvalidCatalogFile(disagree, what="the request body")
    entry = {**body, "name": name, "namespace": namespace}
    roots = data_roots(settings, store)
    confine_entry(body, roots, source, settings.allowed_databases)
    try:
        result = load_document(store, {"catalog": namespace, kind: [entry]}, source=kind, base=roots[0])
    except InvalidCatalogFile as error:
        raise _as_body_fields(error, f"{kind}[0]", source) from None
    counts = result.counts.get(kind, {})
    response.status_code = status.HTTP_201_CREATED if counts.get("created") else status.HTTP_200_OK
    return result


@router.put("/datasets/{dataset:path}", responses={201: {"description": "created"}})
def put_dataset(store: StoreDep, settings: SettingsDep, response: Response, dataset: str,
                body: dict[str, Any] = Body(..., description="the dataset's catalog-file entry (name and namespace come from the path)")) -> dict:
    result = _put(store, settings, response, "datasets", dataset, body)
    return {"counts": result.counts, "revision": result.revision}


@router.delete("/datasets/{dataset:path}", status_code=status.HTTP_204_NO_CONTENT)
def delete_dataset(store: StoreDep, dataset: str) -> Response:
    return _delete(store, dataset, "dataset")


def _delete(store, node: str, kind: str) -> Response:
    namespace, name = _split(node, kind)
    with store.transaction() as writer:
        removed = writer.delete_dataset(namespace, name) if kind == "dataset" else writer.delete_model(namespace, name)
        if not removed:
            raise NotFound(f"no {kind} {namespace}:{name}")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/models/{model:path}", responses={201: {"description": "created"}})
def put_model(store: StoreDep, settings: SettingsDep, response: Response, model: str,
              body: dict[str, Any] = Body(..., description="the model's catalog-file entry")) -> dict:
    result = _put(store, settings, response, "models", model, body)
    return {"counts": result.counts, "revision": result.revision}


@router.delete("/models/{model:path}", status_code=status.HTTP_204_NO_CONTENT)
def delete_model(store: StoreDep, model: str) -> Response:
    return _delete(store, model, "model")


@router.post("/incidents", status_code=status.HTTP_201_CREATED,
             responses={200: {"description": "already recorded (or updated): nothing new created"}})
def post_incident(store: StoreDep, response: Response, incident: IncidentSpec) -> dict:
    """Record an incident (idempotent on dataset, kind and opening time); `dataset` is a full id or a name."""
    namespace = incident.dataset.removeprefix("dataset:").rpartition(":")[0] or "default"
    try:
        document = {"catalog": namespace, "incidents": [incident.model_dump(mode="json", exclude_none=True)]}
        result = load_document(store, document, source="incidents", base=Path.cwd())
    except InvalidCatalogFile as error:
        raise _as_body_fields(error, "incidents[0]", "POST /api/v1/incidents") from None
    if not result.counts.get("incidents", {}).get("created"):
        response.status_code = status.HTTP_200_OK
    return {"counts": result.counts, "revision": result.revision}



@router.delete("/incidents", status_code=status.HTTP_204_NO_CONTENT)
def delete_incident(store: StoreDep, dataset: str, kind: str, opened: Timestamp) -> Response:
    """Remove an incident recorded by mistake (to close one, POST it again with `resolved`)."""
    from sqlalchemy import delete, select

    from catalog.schema import Dataset, Incident
    from lineage import queries
    from lineage.graph import DATASET
    from lineage.service import graph_of

    graph = graph_of(store)
    node = queries.resolve(graph, dataset, kinds=(DATASET,))
    moment = opened if opened.tzinfo else opened.replace(tzinfo=timezone.utc)
    with store.transaction() as writer:
        dataset_id = writer.session.scalar(select(Dataset.id).where(
            Dataset.namespace == graph.nodes[node]["namespace"], Dataset.name == graph.nodes[node]["name"]))
        removed = writer.session.execute(delete(Incident).where(
            Incident.dataset_id == dataset_id, Incident.kind == kind, Incident.opened == moment)).rowcount
        if not removed:
            raise NotFound(f"no {kind} incident on {node} opened {moment:%Y-%m-%d %H:%M}")
        writer.changed = True
    return Response(status_code=status.HTTP_204_NO_CONTENT)
