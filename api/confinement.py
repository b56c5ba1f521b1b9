"""What files the server may read: locations under its data roots, and nothing else.

The server reads data files for whoever holds a write token (a check fingerprints and validates
them, and results can echo values back), so it must not be steerable at /etc/passwd, a home folder
or another team's data. The rule:

- data roots are `HEADWATER_DATA_ROOTS` (folders, separated by `os.pathsep`); when unset, the
  server's working directory and the folder of every catalog file an operator loaded into the store;
- a PUT whose `location` (relative ones resolve against the first root) is a file or SQLite
  database outside the roots is refused (422 naming `location`); so is an OpenLineage event whose
  `dataSource` names one (400 naming the facet), before anything is written;
- a check run by the server re-checks every location just before reading it (paths are resolved,
  so `..` and symlinks are judged by where they lead): a dataset named in the request is refused
  (422, nothing checked), others are skipped with the reason.

Catalog files loaded with the CLI are their operator's own word: their relative locations resolve
against the file, and the CLI's own commands read them without roots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from api.config import Settings
from catalog.errors import InvalidCatalogFile, InvalidEvent, OutsideDataRoots, Problem
from catalog.locations import confine, parse_location
from catalog.store import Store


def data_roots(settings: Settings, store: Store) -> list[Path]:
    """The configured roots, or the working directory and the loaded catalog files' folders."""
    if settings.data_roots:
        return [Path(root).expanduser().resolve() for root in settings.data_roots]
    from catalog.service import catalog_folders

    return [Path.cwd().resolve(), *catalog_folders(store)]


def confine_entry(body: dict[str, Any], roots: list[Path], source: str) -> None:
    """Refuse a PUT body whose `location` leads outside the roots (malformed ones are the loader's to report)."""
    raw = body.get("location")
    if not isinstance(raw, str):
        return
    try:
        location = parse_location(raw, roots[0])
    except ValueError:
        return
    try:
        confine(location, roots, shown=raw)
    except OutsideDataRoots as refused:
        raise InvalidCatalogFile([Problem(source, "location", str(refused))], what="the request body") from None


def confine_events(events: list[Any], roots: Callable[[], list[Path]]) -> None:
    """Refuse OpenLineage events whose `dataSource` facets name a local file outside the roots.

    `roots` is asked only when an event names a local file, so ingestion of the usual events (no
    dataSource, or a warehouse URL) costs no look-up of the catalog folders.
    """
    from catalog.openlineage import location_from_data_source

    refused: list[InvalidEvent] = []
    allowed: list[Path] | None = None
    for index, event in enumerate(events):
        if not isinstance(event, dict):
            continue  # not an event at all: validation names it
        for path, ref in _dataset_refs(event):
            facets = ref.get("facets") if isinstance(ref, dict) else None
            source = facets.get("dataSource") if isinstance(facets, dict) else None
            uri = source.get("uri") if isinstance(source, dict) else None
            if not isinstance(uri, str) or not isinstance(ref.get("namespace"), str) or not isinstance(ref.get("name"), str):
                continue
            value = location_from_data_source(uri, ref["namespace"], ref["name"])
            if value is None:
                continue
            allowed = roots() if allowed is None else allowed
            try:
                confine(parse_location(value), allowed, shown=ref["name"])
            except (OutsideDataRoots, ValueError) as exc:
                refused.append(InvalidEvent(f"{path}.facets.dataSource.uri", str(exc), index=index))
    if refused:
        first = refused[0]
        first.errors = refused
        raise first


def _dataset_refs(event: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for side in ("inputs", "outputs"):
        refs = event.get(side)
        if isinstance(refs, list):
            for position, ref in enumerate(refs):
                yield f"{side}[{position}]", ref
    if isinstance(event.get("dataset"), dict):
        yield "dataset", event["dataset"]
