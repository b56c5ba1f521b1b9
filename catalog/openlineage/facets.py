"""OpenLineage facets onto catalog rows: which facets fill which fields, and the newest event winning.

One job: fold what a batch says about each dataset and job, in eventTime order, then apply it to the
stored row without letting anything older overwrite anything newer.

Each facet remembers when it was last set or deleted: `facets["_eventTimes"]` on the row maps a facet
name to the eventTime (UTC, ISO 8601) of that event. A facet, and every field it fills (owner from
`ownership`, description from `documentation`, location from `dataSource`, the `dropped` tag from
`lifecycleStateChange`), changes only for an event at least as new as the one that set it, so an old
event replayed in a later request changes nothing. Deletions are remembered too, so an older facet
arriving after its deletion does not come back. When only the times move, the store revision does
not: they are bookkeeping, not catalog content, and lineage caches need not be rebuilt for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from catalog import field_sources
from catalog.ids import Key
from catalog.openlineage.models import EVENT_TIMES
from catalog.schema import Dataset, Job
from catalog.store import Writer

if TYPE_CHECKING:
    from catalog.openlineage.events import DatasetRef, JobRef

DROPPED_TAG = "dropped"
SOURCE = "openlineage"


_SQL_DIALECTS = ("sqlite", "postgresql", "mysql", "mariadb", "mssql", "oracle", "duckdb", "snowflake", "bigquery",
                 "redshift")


@lru_cache(maxsize=4096)
def location_from_data_source(uri: str, namespace: str, name: str) -> str | None:
    """A location Headwater can read (an absolute data file, or `SQLAlchemy URL#table`), else None."""
    from catalog.locations import parse_location

    text = uri.strip()
    scheme = text.split(":", 1)[0].lower() if ":" in text else text.lower()
    if scheme == "file" or namespace == "file" or namespace.startswith("file://"):
        rest = text[len("file:"):].removeprefix("//") if scheme == "file" else ""
        rest = rest[rest.find("/"):] if "/" in rest else ""  # drop a host part: file://host/path
        for candidate in (name, rest):
            if candidate.startswith("/"):
                try:
                    location = parse_location(candidate)
                except ValueError:
                    continue
                if location.kind == "file":
                    return location.value
        return None
    if scheme.split("+", 1)[0] not in _SQL_DIALECTS:
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(text)
        url.get_dialect()
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError):
        return None
    if not url.database:
        return None
    table = name
    if url.get_backend_name() != "sqlite" and table.startswith(f"{url.database}."):
        table = table[len(url.database) + 1:]  # OpenLineage names tables database.schema.table
    try:
        location = parse_location(f"{text}#{table}")
    except ValueError:
        return None
    return location.value if location.kind == "sql" else None


def _owners(facet: dict[str, Any]) -> str | None:
    names = [o["name"] for o in facet.get("owners") or [] if isinstance(o, dict) and isinstance(o.get("name"), str)]
    return ", ".join(names) or None


@dataclass
class FacetChanges:
    """Facets set and deleted (`_deleted: true`) by a batch, folded in event-time order.

    Each facet remembers the eventTime of the event that last set or deleted it, here and in the
    stored row (`facets["_eventTimes"]`), so the newest event wins per facet whatever order the
    events arrive in: a facet (or a field it fills) that a stored event newer than this batch's set
    or deleted stays as it is. Equal times: the later arrival wins, as it always did.
    """

    set_facets: dict[str, Any] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    times: dict[str, datetime] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """Whether the batch named the row without a facet: applying that to a stored row changes nothing."""
        return not self.times

    def take(self, name: str, facet: Any, at: datetime) -> bool:
        """Record one facet; False when it deletes the facet (nothing more to read from it)."""
        self.times[name] = at
        if isinstance(facet, dict) and facet.get("_deleted") is True:
            self.set_facets.pop(name, None)
            self.deleted.add(name)
            return False
        self.set_facets[name] = facet
        self.deleted.discard(name)
        return True

    def merged(self, existing: dict[str, Any] | None) -> tuple[dict[str, Any], bool]:
        """The stored facets with this batch's newer ones applied; and whether a facet (not only a time) changed."""
        facets = dict(existing or {})
        stored = _stored_times(facets.pop(EVENT_TIMES, None))
        before = dict(facets)
        times = dict(stored)
        for name, at in self.times.items():
            if not _fresh(stored, name, at):
                continue  # a newer event already set (or deleted) it
            times[name] = at
            if name in self.deleted:
                facets.pop(name, None)
            else:
                facets[name] = self.set_facets[name]
        changed = facets != before
        if times:  # a dataset no event gave a facet keeps `{}`
            facets[EVENT_TIMES] = {name: at.isoformat() for name, at in sorted(times.items())}
        return dict(sorted(facets.items())), changed


def _stored_times(value: Any) -> dict[str, datetime]:
    """The facet times a row keeps; anything unreadable counts as unknown (the facet then takes any event)."""
    times: dict[str, datetime] = {}
    for name, text in (value or {}).items() if isinstance(value, dict) else ():
        try:
            times[name] = datetime.fromisoformat(text)
        except (TypeError, ValueError):
            continue
    return times


def _fresh(stored: dict[str, datetime], facet: str, at: datetime) -> bool:
    """Whether something learnt at `at` from `facet` may replace what the row holds from that facet."""
    return facet not in stored or stored[facet] <= at


@dataclass
class DatasetChanges(FacetChanges):
    """What a batch says about one dataset."""

    fields: dict[str, tuple[Any, str, datetime]] = field(default_factory=dict)  # field -> (value, facet, eventTime)
    tag: tuple[bool, datetime] | None = None  # True: add `dropped`; False: remove it

    def fold(self, ref: DatasetRef, at: datetime) -> None:
        for name, facet in ref.facets.items():
            if not self.take(name, facet, at) or not isinstance(facet, dict):
                continue
            if name == "documentation" and isinstance(facet.get("description"), str) and facet["description"]:
                self.fields["description"] = (facet["description"], name, at)
            elif name == "ownership" and _owners(facet):
                self.fields["owner"] = (_owners(facet), name, at)
            elif name == "dataSource" and isinstance(facet.get("uri"), str):
                location = location_from_data_source(facet["uri"], ref.namespace, ref.name)
                if location:
                    self.fields["location"] = (location, name, at)
            elif name == "lifecycleStateChange":
                state = facet.get("lifecycleStateChange")
                if state == "DROP":
                    self.tag = (True, at)
                elif state in ("CREATE", "OVERWRITE"):
                    self.tag = (False, at)

    def apply(self, writer: Writer, row: Dataset | None, key: Key) -> tuple[Dataset, str]:
        if row is None:  # added, not flushed: the batch's new datasets are inserted together
            tags = [DROPPED_TAG] if self.tag and self.tag[0] else []
            fields = {name: value for name, (value, _facet, _at) in self.fields.items()}
            sources = {name: {"source": SOURCE, "at": at.isoformat()} for name, (_v, _f, at) in sorted(self.fields.items())}
            row = Dataset(namespace=key[0], name=key[1], **fields, facets=self.merged(None)[0], tags=tags,
                          field_sources=sources)
            writer.add(row)
            return row, "created"
        stored = _stored_times((row.facets or {}).get(EVENT_TIMES))
        facets, facets_changed = self.merged(row.facets)
        values: dict[str, Any] = {}
        current = {name: getattr(row, name) for name in (*self.fields, "catalog_file")}
        for name, (value, facet, at) in self.fields.items():
            if _fresh(stored, facet, at):  # a catalog file's value still wins (catalog/field_sources.py)
                merged = field_sources.reported({name: value}, current, values.get("field_sources", row.field_sources),
                                                SOURCE, at)
                values.update(merged)
        if self.tag is not None and _fresh(stored, "lifecycleStateChange", self.tag[1]):
            tags = [t for t in (row.tags or []) if t != DROPPED_TAG]
            values["tags"] = tags + [DROPPED_TAG] if self.tag[0] else tags
        return row, _update_with_facets(writer, row, values, facets, facets_changed)


def _update_with_facets(writer: Writer, row: Dataset | Job, values: dict[str, Any], facets: dict[str, Any],
                        facets_changed: bool) -> str:
    """Write `values` and `facets`; when only facet times moved, without moving the store revision
    (they are bookkeeping, not catalog content: lineage caches need not be rebuilt for them)."""
    if facets_changed:
        values["facets"] = facets
    elif row.facets != facets:
        row.facets = facets
    return writer.update(row, values)


@dataclass
class JobChanges(FacetChanges):
    description: tuple[str, datetime] | None = None

    def fold(self, ref: JobRef, at: datetime) -> None:
        for name, facet in ref.facets.items():
            if self.take(name, facet, at) and name == "documentation" and isinstance(facet, dict) \
                    and isinstance(facet.get("description"), str) and facet["description"]:
                self.description = (facet["description"], at)

    def apply(self, writer: Writer, row: Job) -> str:
        stored = _stored_times((row.facets or {}).get(EVENT_TIMES))
        facets, facets_changed = self.merged(row.facets)
        values: dict[str, Any] = {}
        if self.description and _fresh(stored, "documentation", self.description[1]):
            values["description"] = self.description[0]
        return _update_with_facets(writer, row, values, facets, facets_changed)
