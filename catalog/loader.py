"""`headwater load`: catalog files into the store, all or nothing.

Nothing is written until everything is checked, so a file with a mistake leaves the store as it
was. The files are read and validated against the catalog schema, then the plan
(`catalog.loader_plan`) resolves every reference and refuses lookalike names, cycles and bad
expectation suites; the load stops with the list of problems found, not at the first. The plan is
checked against the store and written (`catalog.loader_writes`) in one transaction. A catalog file
is declarative for what it declares: a dataset's `derived_from` and a model's `trained_on` replace
the edges that earlier catalog loads gave it, but never edges that arrived from OpenLineage.

Each load records what it read (`catalog.loader_fingerprints`): a reload of unchanged files into a
store nobody wrote since is answered from those records without parsing a byte.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from catalog import loader_fingerprints as fingerprints
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
    skipped: bool = False  # answered from the records of the last loads: no file was parsed

    def count(self, kind: str, change: Change) -> None:
        bucket = self.counts.setdefault(kind, {"created": 0, "updated": 0, "unchanged": 0})
        bucket[change] += 1

    @property
    def changed(self) -> bool:
        return any(c["created"] or c["updated"] for c in self.counts.values())


def load_catalog(store: Store, paths: Sequence[Path], *, force: bool = False) -> LoadResult:
    """Validate `paths` together and upsert them in one transaction; raise InvalidCatalogFile.

    A reload that can change nothing is answered from what the last loads recorded, before any
    file is parsed (catalog/loader_fingerprints.py); `force` loads in full regardless.
    """
    if not paths:
        raise ConfigurationError("nothing to load: no catalog files were given")
    files = [str(Path(p)) for p in paths]
    reads = fingerprints.read_files(paths)
    if not force:
        with store.read() as session:
            counts = fingerprints.unchanged(session, reads)
        if counts is not None:
            return LoadResult(files=files, counts=counts, revision=store.revision(), skipped=True)
    documents: list[tuple[Document, CatalogFileSpec]] = []
    problems: list[Problem] = []
    for read in reads:
        document, read_problems = read_document(read.path, raw=read.raw)
        read.raw = None  # parsed: 86 MB of a reference catalog need not stay in memory twice
        problems += read_problems
        if document is None:
            continue
        try:
            documents.append((document, CatalogFileSpec.model_validate(document.data)))
        except ValidationError as exc:
            other = sniff.describe(document.data, suffix=read.path.suffix)
            problems += [Problem(str(read.path), "", other, 1)] if other else validation_problems(document, exc)
    if problems:
        raise InvalidCatalogFile(problems)
    return _load(store, documents, files, history=("catalog-file", {"files": [r.resolved for r in reads]}),
                 reads=reads)


def load_document(store: Store, data: dict[str, Any], *, source: str, base: Path,
                  history: tuple[str, dict[str, Any]] = ("api", {})) -> LoadResult:
    """Load one catalog document given as data (the API's PUT and POST bodies), exactly as a file would load.

    `source` names it in errors; relative locations resolve against `base`; `history` is the
    audit entry's source and detail. Nothing is recorded for a reload to skip: a document is not
    a file, and this write moves the store's mark, so every file counts as changed afterwards.
    """
    document = Document(base / source, data)
    try:
        spec = CatalogFileSpec.model_validate(data)
    except ValidationError as exc:
        raise InvalidCatalogFile(validation_problems(document, exc)) from None
    return _load(store, [(document, spec)], [source], history=history)


def _load(store: Store, documents: list[tuple[Document, CatalogFileSpec]], files: list[str], *,
          history: tuple[str, dict[str, Any]], reads: list[fingerprints.FileRead] | None = None) -> LoadResult:
    """Prepare without the store, judge changed suites without the write lock, then one transaction.

    Great Expectations takes seconds to import and to build a suite: done inside the transaction,
    every other writer (a PUT, an OpenLineage POST, a check run) waited for it. The verdicts are
    kept by suite hash, so the transaction only asks GX again about a suite someone changed in the
    store in between. The plan's cycle check reads the store's edges inside the transaction, which
    waits for any other writer first (`Store.transaction`): a concurrent load or ingestion commits
    before the check, or after this commit, never in between. A lost race runs the transaction again
    (catalog/retry.py), not the preparation. `reads` (catalog files) are recorded in the same
    transaction, with the mark the store has when it commits.
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
            if reads is not None:
                per_file = fingerprints.counted(plan)
                for read, (document, _spec) in zip(reads, documents, strict=True):
                    read.inputs = plan.inputs.get(document.path, {})
                    read.counts = per_file.get(document.path, {})
                fingerprints.record(writer.session, reads, changed=writer.changed)
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
