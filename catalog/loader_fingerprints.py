"""Compare fingerprints before touching rows: an unchanged reload of catalog files costs a read.

A reload of the reference catalog used to parse 86 MB, validate 105,000 entries and diff a million
edges to find that nothing had changed. Each load now records, per catalog file (by resolved path):

- `digest`: SHA-256 over the code that interprets a file (`interpretation()`) and the file's bytes,
  the very bytes that were parsed;
- `inputs`: what else the load read for that file: each suite file (`expectations_file:`) by its
  digest, taken before the plan read it, and the policy file it named (which must exist);
- the store's mark when that load committed: its revision and its newest history change.

A load whose every file matches its record, and whose records all carry the store's present mark,
can change nothing: the store is as those loads left it (any later write, through Headwater or by
direct SQL on a tracked table, moved the revision or the history), and the same bytes read by the
same code give the same plan. It is answered from the records, without a write transaction.
Anything else loads in full, which also reconciles a row someone edited since through the API: the
catalog file is the source of truth for what it declares.

Why both marks: the revision moves on every Headwater write, the history on every write to a
tracked table, including direct SQL that no revision sees. What a record does not see (and a full
load would): a symlink in a data location's path that now points elsewhere (locations are stored
resolved). `load_catalog(..., force=True)` loads in full regardless.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from catalog.files import UnreadableFile, read_regular_file
from catalog.schema import CatalogFileLoad, HistoryChange, StoreRevision, utcnow

# The modules whose code decides what a catalog file writes: a change to any of them (a new field,
# a new default, a fixed bug) must make every file count as changed.
_INTERPRETERS = (
    "catalog.spec", "catalog.document", "catalog.loader", "catalog.loader_plan", "catalog.loader_writes",
    "catalog.loader_problems", "catalog.loader_fingerprints", "catalog.bulk", "catalog.columns",
    "catalog.field_sources", "catalog.locations", "catalog.expectations", "catalog.names", "catalog.ids",
    "catalog.schema", "catalog.sniff", "catalog.durations",
)
KINDS = ("datasets", "models", "incidents")
SUITE_LIMIT = 50 * 1024 * 1024  # as large as a catalog file may be; a suite file is far smaller


@lru_cache(maxsize=1)
def interpretation() -> bytes:
    """What reads a file, as bytes to hash with it: the interpreting modules' source, the schema
    head, the parsing libraries' versions, and the home folder `~/` locations expand to."""
    import pydantic
    import yaml

    from catalog.migrations.versions import __path__ as versions

    hasher = hashlib.sha256()
    for name in _INTERPRETERS:
        spec = importlib.util.find_spec(name)
        origin = spec.origin if spec is not None else None
        hasher.update(name.encode() + b"\0")
        if origin and os.path.isfile(origin):
            hasher.update(Path(origin).read_bytes())
    heads = sorted(p.name for folder in versions for p in Path(folder).glob("[0-9]*.py"))
    hasher.update("\0".join([*heads, pydantic.VERSION, yaml.__version__, os.path.expanduser("~")]).encode())
    return hasher.hexdigest().encode()


def file_digest(raw: bytes) -> str:
    return hashlib.sha256(interpretation() + b"\0" + raw).hexdigest()


def suite_digest(path: Path) -> str:
    """A suite file's state: where it resolves (the store keeps that) and its bytes' digest, or why
    it could not be read (then the load itself reports it)."""
    try:
        where = str(path.resolve())
        return f"{where} {hashlib.sha256(read_regular_file(path, SUITE_LIMIT)).hexdigest()}"
    except (UnreadableFile, OSError, RuntimeError) as exc:
        return f"unreadable: {exc}"


def policy_state(path: Path) -> str:
    """A policy file's state as a load sees it: where it resolves (the store keeps that), and that it exists."""
    try:
        return f"{path.resolve()} {'file' if path.is_file() else 'missing'}"
    except (OSError, RuntimeError) as exc:
        return f"unreadable: {exc}"


def input_state(kind_and_path: str) -> str:
    """The present state of one recorded input ("suite:PATH" or "policy:PATH")."""
    kind, _, path = kind_and_path.partition(":")
    return suite_digest(Path(path)) if kind == "suite" else policy_state(Path(path))


@dataclass
class FileRead:
    """One catalog file as this load read it."""

    path: Path  # as given
    resolved: str
    raw: bytes | None  # None when it could not be read: the load reports why
    digest: str | None = None
    inputs: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def read_files(paths: Sequence[Path]) -> list[FileRead]:
    reads: list[FileRead] = []
    for path in paths:
        path = Path(path)
        try:
            resolved = str(path.resolve())
        except (OSError, RuntimeError):
            resolved = str(path.absolute())
        try:
            raw: bytes | None = read_regular_file(path, _catalog_limit())
        except UnreadableFile:
            raw = None
        reads.append(FileRead(path, resolved, raw, file_digest(raw) if raw is not None else None))
    return reads


def _catalog_limit() -> int:
    from catalog.document import MAX_BYTES

    return MAX_BYTES


def mark(session: Session) -> tuple[int, int]:
    """(store revision, newest history change): both stand still only while nothing is written."""
    revision = int(session.scalar(select(StoreRevision.revision).where(StoreRevision.id == 1)) or 0)
    last = int(session.scalar(select(HistoryChange.id).order_by(HistoryChange.id.desc()).limit(1)) or 0)
    return revision, last


def unchanged(session: Session, reads: list[FileRead]) -> dict[str, dict[str, int]] | None:
    """The counts to report when this load can change nothing (every kind "unchanged"), else None."""
    if not reads or any(r.digest is None for r in reads) or len({r.resolved for r in reads}) != len(reads):
        return None  # an unreadable file must be reported; a file named twice is a duplicate of itself
    records = {row.path: row for row in session.scalars(
        select(CatalogFileLoad).where(CatalogFileLoad.path.in_([r.resolved for r in reads])))}
    now = mark(session)
    for read in reads:
        record = records.get(read.resolved)
        if record is None or record.digest != read.digest or (record.revision, record.last_change) != now:
            return None
    for read in reads:  # only now the (cheap) other inputs: most reloads that differ stop above
        if any(input_state(name) != state for name, state in records[read.resolved].inputs.items()):
            return None
    counts: dict[str, dict[str, int]] = {}
    for kind in KINDS:  # in the order a load reports them
        total = sum(records[read.resolved].counts.get(kind, 0) for read in reads)
        if total:
            counts[kind] = {"created": 0, "updated": 0, "unchanged": total}
    return counts


def record(session: Session, reads: list[FileRead], *, changed: bool) -> None:
    """Remember what this load read, with the mark the store will have when it commits.

    Called last inside the load's transaction: the history mark is final (the audit entry sealed at
    commit adds no change), and the revision moves by one at commit exactly when `changed`
    (`Store.transaction`). Written with Core on an untracked table: no revision, no history.
    """
    session.flush()
    revision, last = mark(session)
    revision += 1 if changed else 0
    connection = session.connection()
    paths = [r.resolved for r in reads]
    for start in range(0, len(paths), 500):
        connection.execute(delete(CatalogFileLoad.__table__).where(CatalogFileLoad.path.in_(paths[start:start + 500])))
    now = utcnow()
    connection.execute(insert(CatalogFileLoad.__table__), [
        {"path": r.resolved, "digest": r.digest, "inputs": r.inputs, "counts": r.counts, "revision": revision,
         "last_change": last, "loaded_at": now}
        for r in reads])


def counted(plan: Any) -> dict[Path, dict[str, int]]:
    """How many entries of each kind each file declared, summing to the load's own counts: an
    incident two files declare (one row) counts for the first of them."""
    per_file: dict[Path, dict[str, int]] = {}
    for kind, registry in (("datasets", plan.datasets), ("models", plan.models)):
        for declared in registry.values():
            bucket = per_file.setdefault(declared.doc.path, {})
            bucket[kind] = bucket.get(kind, 0) + 1
    seen: set[Any] = set()
    for (ref, incident), doc in zip(plan.incidents, plan.incident_docs, strict=True):
        key = (ref, incident.kind, incident.opened)
        if key not in seen:
            seen.add(key)
            bucket = per_file.setdefault(doc.path, {})
            bucket["incidents"] = bucket.get("incidents", 0) + 1
    return per_file
