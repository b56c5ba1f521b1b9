"""`headwater load`: catalog files into the store, all or nothing.

Nothing is written until everything is checked, so a file with a mistake leaves the store as it
was. The files are read and validated against the catalog schema, then the plan
(`catalog.loader_plan`) resolves every reference and refuses lookalike names, cycles and bad
expectation suites; the load stops with the list of problems found, not at the first. The plan is
checked against the store and written (`catalog.loader_writes`) in one transaction. A catalog file
is declarative for what it declares: a dataset's `derived_from` and a model's `trained_on` replace
the edges that earlier catalog loads gave it, but never edges that arrived from OpenLineage.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from catalog import sniff
from catalog.changes import Change
from catalog.document import Document, read_document
from catalog.errors import ConfigurationError, InvalidCatalogFile, Problem
from catalog.loader_plan import Plan
from catalog.loader_problems import validation_problems
from catalog.loader_writes import apply
from catalog.retry import retry_lost_races
from catalog.spec import CatalogFileSpec
from catalog.store import Store

CATALOG_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass
class LoadResult:
    """What a load did: per kind, how many rows it created, updated or left unchanged."""

    files: list[str]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    revision: int = 0

    def count(self, kind: str, change: Change) -> None:
        bucket = self.counts.setdefault(kind, {"created": 0, "updated": 0, "unchanged": 0})
        bucket[change] += 1

    @property
    def changed(self) -> bool:
        return any(c["created"] or c["updated"] for c in self.counts.values())


def load_catalog(store: Store, paths: Sequence[Path]) -> LoadResult:
    """Validate `paths` together and upsert them in one transaction; raise InvalidCatalogFile."""
    if not paths:
        raise ConfigurationError("nothing to load: no catalog files were given")
    documents: list[tuple[Document, CatalogFileSpec]] = []
    problems: list[Problem] = []
    for path in paths:
        document, read_problems = read_document(Path(path))
        problems += read_problems
        if document is None:
            continue
        try:
            documents.append((document, CatalogFileSpec.model_validate(document.data)))
        except ValidationError as exc:
            other = sniff.describe(document.data, suffix=Path(path).suffix)
            problems += [Problem(str(path), "", other, 1)] if other else validation_problems(document, exc)
    if problems:
        raise InvalidCatalogFile(problems)
    files = [str(Path(p)) for p in paths]
    return _load(store, documents, files, history=("catalog-file", {"files": [str(Path(p).resolve()) for p in paths]}))


def load_document(store: Store, data: dict[str, Any], *, source: str, base: Path,
                  history: tuple[str, dict[str, Any]] = ("api", {})) -> LoadResult:
    """Load one catalog document given as data (the API's PUT and POST bodies), exactly as a file would load.

    `source` names it in errors; relative locations resolve against `base`; `history` is the
    audit entry's source and detail.
    """
    document = Document(base / source, data)
    try:
        spec = CatalogFileSpec.model_validate(data)
    except ValidationError as exc:
        raise InvalidCatalogFile(validation_problems(document, exc)) from None
    return _load(store, [(document, spec)], [source], history=history)


def _load(store: Store, documents: list[tuple[Document, CatalogFileSpec]], files: list[str], *,
          history: tuple[str, dict[str, Any]]) -> LoadResult:
    """Prepare without the store, judge changed suites without the write lock, then one transaction.

    Great Expectations takes seconds to import and to build a suite: done inside the transaction,
    every other writer (a PUT, an OpenLineage POST, a check run) waited for it. The verdicts are
    kept by suite hash, so the transaction only asks GX again about a suite someone changed in the
    store in between. The plan's cycle check reads the store's edges inside the transaction, which
    waits for any other writer first (`Store.transaction`): a concurrent load or ingestion commits
    before the check, or after this commit, never in between. A lost race runs the transaction again
    (catalog/retry.py), not the preparation.
    """
    plan = Plan(documents)
    plan.judge_suites(store)

    def write() -> LoadResult:
        result = LoadResult(files=files)
        with store.transaction(*history) as writer:
            problems = plan.bind(writer)
            if problems:
                raise InvalidCatalogFile(problems)
            apply(plan, writer, result.count)
        result.revision = store.revision()
        return result

    return retry_lost_races(write)


def iter_catalog_files(paths: Iterable[Path]) -> list[Path]:
    """Expand folders into the catalog files they hold (*.yaml, *.yml, *.json), sorted.

    A folder holding none is an error, not an empty load: a mistyped path in a CI job or a
    pre-commit hook would otherwise pass green having checked nothing.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in CATALOG_SUFFIXES and p.is_file())
            if not found:
                raise ConfigurationError(f"no catalog files (*.yaml, *.yml, *.json) in the folder {path}")
            files += found
        else:
            files.append(path)
    if not files:
        raise ConfigurationError("nothing to load: no catalog files were given")
    return files
