"""What files the server may read: locations under its data roots, and nothing else.

The server reads data files for whoever holds a write token (a check fingerprints and validates
them, and results can echo values back), so it must not be steerable at /etc/passwd, a home folder
or another team's data. The rule:

- data roots are `HEADWATER_DATA_ROOTS` (folders, separated by `os.pathsep`); when unset, the
  server's working directory and the folder of every catalog file an operator loaded into the store;
- a PUT whose `location` (relative ones resolve against the first root) is a file or SQLite
  database outside the roots, or a database server not on HEADWATER_ALLOWED_DATABASES, is refused
  (422 naming `location`); so is a PUT whose `expectations_file` lies outside the roots (422 naming
  `expectations_file`, the file never opened; inside, it must be a regular file of at most 5 MiB);
  an OpenLineage event whose `dataSource` names a file outside is refused too (400 naming the
  facet), before anything is written;
- a check run by the server re-checks every location just before reading it (paths are resolved,
  so `..` and symlinks are judged by where they lead; database servers against the allow-list,
  so a location that arrived through OpenLineage is judged too): a dataset named in the request is
  refused (422, nothing checked), others are skipped with the reason.

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
from catalog.secrets import mask_secrets
from catalog.store import Store


def data_roots(settings: Settings, store: Store) -> list[Path]:
    """The configured roots, or the working directory and the loaded catalog files' folders."""
    if settings.data_roots:
        return [Path(root).expanduser().resolve() for root in settings.data_roots]
    from catalog.service import catalog_folders

    return [Path.cwd().resolve(), *catalog_folders(store)]


def confine_entry(body: dict[str, Any], roots: list[Path], source: str,
                  databases: tuple[str, ...] = ()) -> None:
    """Refuse a PUT body whose `location` leads outside the roots or to a database server not on the
    allow-list, or whose `expectations_file` is not a file under the roots (malformed values are
    the loader's to report). Nothing is opened here: a refused path is never read."""
    raw = body.get("location")
    if isinstance(raw, str):
        try:
            location = parse_location(raw, roots[0])
        except ValueError:
            location = None
        if location is not None:
            try:
                confine(location, roots, shown=mask_secrets(raw), databases=databases)
            except OutsideDataRoots as refused:
                raise InvalidCatalogFile([Problem(source, "location", str(refused))], what="the request body") from None
    suite = body.get("expectations_file")
    if isinstance(suite, str) and suite.strip():
        path = Path(suite).expanduser()
        real = (path if path.is_absolute() else roots[0] / path).resolve()
        if not any(real.is_relative_to(root.expanduser().resolve()) for root in roots):
            raise InvalidCatalogFile([Problem(source, "expectations_file", (
                f"{suite} lies outside the server's data roots, so the server will not read it "
                "(its operator can add a folder to HEADWATER_DATA_ROOTS)"))], what="the request body")


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
