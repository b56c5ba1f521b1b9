"""Catalog edits over the API: PUT and DELETE of datasets and models, incidents recorded and removed.

A PUT body is the dataset's or model's entry of a catalog file, and it is loaded exactly as a
catalog file is (same validation, same references, same cycle checks, one transaction), so the
API and `headwater load` can never disagree about what a field means. What the server adds is
confinement: an entry may not point it at a file outside its data roots, nor at a database server
its operator has not allowed (api/confinement.py). That rule belongs to the server, not to the
catalog, so this service lives in `api/` beside it; the SQL it needs is in catalog/reads.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from api.config import Settings
from api.confinement import confine_entry, data_roots
from catalog import reads
from catalog.errors import InvalidCatalogFile, NotFound, Problem
from catalog.ids import NodeId
from catalog.loader import load_document
from catalog.spec import IncidentSpec
from catalog.store import Store

Entries = Literal["datasets", "models"]  # a catalog file's list, and the API's path, for each kind of entry


@dataclass(frozen=True)
class Edit:
    """What a write did: the loader's counts and the store revision after it; `created` when it added
    something new (a 201, where an update or an unchanged entry is a 200)."""

    counts: dict[str, dict[str, int]]
    revision: int
    created: bool

    def body(self) -> dict[str, Any]:
        return {"counts": self.counts, "revision": self.revision}


def put_entry(store: Store, settings: Settings, entries: Entries, reference: str, body: dict[str, Any]) -> Edit:
    """Create or update the entry `reference` (`ns:name` or an id) from its catalog-file `body`.

    The path names the entry: a body that names another one is refused rather than obeyed, so a PUT
    to one name never quietly writes another, nor quietly drops what the body says.
    """
    key = _key(reference, "dataset" if entries == "datasets" else "model")
    source = f"PUT /api/v1/{entries}/{reference}"
    named = [("name", key.name), ("namespace", key.namespace)] + ([("version", key.version)] if key.version else [])
    disagree = [Problem(source, field, f"the body says {_brief(body[field])} but the path says {value!r}")
                for field, value in named if field in body and str(body[field]) != value]
    if disagree:
        raise InvalidCatalogFile(disagree, what="the request body")
    roots = data_roots(settings, store)
    confine_entry(body, roots, source, settings.allowed_databases)
    entry = {**body, **dict(named)}
    try:
        result = load_document(store, {"catalog": key.namespace, entries: [entry]}, source=entries, base=roots[0],
                               history=("api", {"request": f"PUT {entries} {key.qualified}"}))
    except InvalidCatalogFile as error:
        raise _as_body_fields(error, f"{entries}[0]", source) from None
    return Edit(result.counts, result.revision, created=bool(result.counts.get(entries, {}).get("created")))


def delete_entry(store: Store, kind: Literal["dataset", "model"], reference: str) -> None:
    """Remove a dataset (with its feeds, derivations, incidents and check history), a model version
    (`NAME@VERSION`, with its feeds), or a model named without a version: every version of it."""
    key = _key(reference, kind)
    with store.transaction("api", {"request": f"DELETE {kind} {key.qualified}"}) as writer:
        if kind == "dataset":
            removed = writer.delete_dataset(*key.key)
        else:
            versions = [key.version] if key.version else reads.model_versions(writer.session, [key.key]).get(key.key, [])
            removed = sum(writer.delete_model((*key.key, version)) for version in versions) > 0
        if not removed:
            raise NotFound(f"no {kind} {key.qualified}")


def record_incident(store: Store, incident: IncidentSpec) -> Edit:
    """Record an incident, idempotent on dataset, kind and opening time (so a resend changes nothing).

    Loaded as a catalog file's `incidents` entry whose namespace is the dataset's, so a bare name
    in `dataset` resolves as it would in that file.
    """
    try:
        namespace = NodeId.parse(incident.dataset, "dataset").namespace
    except ValueError:  # a bare name
        namespace = "default"
    document = {"catalog": namespace, "incidents": [incident.model_dump(mode="json", exclude_none=True)]}
    try:
        result = load_document(store, document, source="incidents", base=Path.cwd(),
                               history=("api", {"request": "POST incident"}))
    except InvalidCatalogFile as error:
        raise _as_body_fields(error, "incidents[0]", "POST /api/v1/incidents") from None
    return Edit(result.counts, result.revision, created=bool(result.counts.get("incidents", {}).get("created")))


def delete_incident(store: Store, dataset: str, kind: str, opened: datetime) -> None:
    """Remove an incident recorded by mistake (one that happened is closed by recording it again with
    `resolved`, which keeps its history)."""
    from lineage.service import resolve

    key = resolve(store, dataset, "dataset")
    moment = opened if opened.tzinfo else opened.replace(tzinfo=timezone.utc)
    with store.transaction("api", {"request": "DELETE incident"}) as writer:
        found = reads.incidents_at(writer.session, key.key, kind, moment)
        if not found:
            raise NotFound(f"no {kind} incident on {key} opened {moment:%Y-%m-%d %H:%M}")
        for incident in found:
            writer.delete(incident)


def _key(reference: str, kind: Literal["dataset", "model"]) -> NodeId:
    """The entry a write's path names: written out in full, since a write may create it (no bare names)."""
    try:
        return NodeId.parse(reference, kind)
    except ValueError:
        at = "[@VERSION]" if kind == "model" else ""
        raise NotFound(f"expected {kind}:NAMESPACE:NAME{at} or NAMESPACE:NAME{at} in the path, "
                       f"got {reference!r}") from None


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
