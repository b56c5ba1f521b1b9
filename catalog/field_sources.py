"""Which source set each field of a dataset or model version, and the rules for several sources.

A dataset can be described by a catalog file, a PUT, OpenLineage events, MLflow, dbt. Each row
keeps `field_sources`: `{field: {"source": "openlineage", "at": "2026-12-01T10:00:00+00:00"}}`.
The rules, the same for every writer:
- a catalog file's (or a PUT's) explicit value wins over every other source;
- a field the file leaves out keeps the value another source filled (a file that says nothing of
  the owner does not erase the owner OpenLineage reported); only what the file itself set is
  cleared when the file stops saying it;
- any other source fills only fields no catalog file has set, and clears only what it set itself;
- an entry's source and time change only when its value does, so reloading an unchanged file, or
  replaying an event, leaves the row (and the store revision) as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any

CATALOG = "catalog"  # catalog files and PUTs: what a person declared
BOOKKEEPING = frozenset({"catalog_file", "catalog_line", "source", "field_sources", "expectations_file", "facets"})


@lru_cache(maxsize=4)
def _iso(at: datetime) -> str:
    """A load stamps seven fields of each of 100,000 entries with the one time it runs at."""
    return at.isoformat()


def empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def declared(fields: dict[str, Any], stored: Mapping[str, Any] | None, sources: Mapping[str, Any] | None,
             at: datetime) -> dict[str, Any]:
    """The fields a catalog entry writes, merged with what other sources set; `field_sources` included."""
    kept = dict(sources or {})
    out = dict(fields)
    for name, value in fields.items():
        if name in BOOKKEEPING:
            continue
        prior = (kept.get(name) or {}).get("source")
        if empty(value):
            if stored is not None and prior not in (None, CATALOG) and not empty(stored.get(name)):
                out[name] = stored[name]  # another source filled it; the file says nothing of it
            else:
                kept.pop(name, None)
        elif prior != CATALOG or stored is None or stored.get(name) != value:
            kept[name] = {"source": CATALOG, "at": _iso(at)}
    out["field_sources"] = dict(sorted(kept.items()))
    return out


def reported(values: dict[str, Any], stored: Mapping[str, Any] | None, sources: Mapping[str, Any] | None,
             source: str, at: datetime) -> dict[str, Any]:
    """What another source (OpenLineage, MLflow, dbt) may write of `values`: not over a catalog file's
    value, and `None` only over its own. Returns the fields to write, `field_sources` included when
    it changed."""
    kept = dict(sources or {})
    out: dict[str, Any] = {}
    for name, value in values.items():
        prior = (kept.get(name) or {}).get("source")
        current = None if stored is None else stored.get(name)
        if prior == CATALOG and not empty(current):
            continue
        if prior is None and stored is not None and not empty(current) and stored.get("catalog_file"):
            continue  # declared before sources were recorded: the file's value still wins
        if empty(value):
            if prior == source and not empty(current):
                out[name] = value
                kept.pop(name, None)
            continue
        if current != value or prior != source:
            out[name] = value
            kept[name] = {"source": source, "at": at.isoformat()}
    if kept != dict(sources or {}):
        out["field_sources"] = dict(sorted(kept.items()))
    return out
