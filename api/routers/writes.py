"""Writes: PUT (idempotent create or update) and DELETE for datasets and models, POST and DELETE incidents.

Each takes the write token and calls one function of api/edits.py, which loads a body exactly as
a catalog file entry is loaded; what is left here is HTTP: a 201 for what was created, else a 200.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Response, status

from api import edits
from api.deps import SettingsDep, StoreDep, Writer
from catalog.spec import IncidentSpec, Timestamp

router = APIRouter(prefix="/api/v1", tags=["catalog"], dependencies=[Writer])


def _answer(response: Response, edit: edits.Edit) -> dict:
    response.status_code = status.HTTP_201_CREATED if edit.created else status.HTTP_200_OK
    return edit.body()


@router.put("/datasets/{dataset:path}", responses={201: {"description": "created"}})
def put_dataset(store: StoreDep, settings: SettingsDep, response: Response, dataset: str,
                body: dict[str, Any] = Body(..., description="the dataset's catalog-file entry (name and namespace come from the path)")) -> dict:
    return _answer(response, edits.put_entry(store, settings, "datasets", dataset, body))


@router.delete("/datasets/{dataset:path}", status_code=status.HTTP_204_NO_CONTENT)
def delete_dataset(store: StoreDep, dataset: str) -> Response:
    edits.delete_entry(store, "dataset", dataset)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put("/models/{model:path}", responses={201: {"description": "created"}})
def put_model(store: StoreDep, settings: SettingsDep, response: Response, model: str,
              body: dict[str, Any] = Body(..., description="the model's catalog-file entry")) -> dict:
    return _answer(response, edits.put_entry(store, settings, "models", model, body))


@router.delete("/models/{model:path}", status_code=status.HTTP_204_NO_CONTENT)
def delete_model(store: StoreDep, model: str) -> Response:
    edits.delete_entry(store, "model", model)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/incidents", status_code=status.HTTP_201_CREATED,
             responses={200: {"description": "already recorded (or updated): nothing new created"}})
def post_incident(store: StoreDep, response: Response, incident: IncidentSpec) -> dict:
    """Record an incident (idempotent on dataset, kind and opening time); `dataset` is a full id or a name."""
    return _answer(response, edits.record_incident(store, incident))


@router.delete("/incidents", status_code=status.HTTP_204_NO_CONTENT)
def delete_incident(store: StoreDep, dataset: str, kind: str, opened: Timestamp) -> Response:
    """Remove an incident recorded by mistake (to close one, POST it again with `resolved`)."""
    edits.delete_incident(store, dataset, kind, opened)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
