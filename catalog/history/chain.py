"""The audit trail: each committed transaction's changes sealed into one hash-chained entry.

An entry's `digest` is SHA-256 over its changes, each written as the JSON array
`[id, entity, row_id, op, before, after]` plus a newline, in id order (`before`/`after` are the
exact texts stored). Its `hash` is SHA-256 over the canonical JSON of the entry's own fields (see
`_content`), which include that digest and the previous entry's hash. So editing or deleting one
change, or one entry, breaks its entry's hash and every link after it, and `verify` names the first
entry that no longer matches. What this cannot stop: someone with write access to the database can
recompute the whole chain. Publishing the head hash elsewhere (a CI artifact, a signed tag,
`headwater audit verify --format json` in a log) is what makes that detectable; docs/history.md.

Changes the triggers recorded outside any Headwater transaction (someone's direct SQL) are sealed
at the next Headwater write as an entry of their own, by `unknown`, through `direct-sql`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from catalog.schema import HistoryChange, HistoryEntry

# One encoder for every change: `json.dumps` with a keyword builds a new JSONEncoder per call, which
# was a visible share of sealing a million-change load. The same settings, so the same bytes.
_ENCODE_CHANGE = json.JSONEncoder(ensure_ascii=False).encode
_STRING = json.encoder.encode_basestring  # the encoder's own string literal (C), ensure_ascii=False's


def encode_change(row: Any) -> str:
    """A change as `_ENCODE_CHANGE` writes it, spelt out for the one shape the table holds (an int
    and five texts or nulls): the encoder's setup per call was half of sealing a million changes."""
    number, entity, row_id, op, before, after = row
    if (type(number) is int and type(entity) is str and type(row_id) is str and type(op) is str
            and (before is None or type(before) is str) and (after is None or type(after) is str)):
        return (f"[{number}, {_STRING(entity)}, {_STRING(row_id)}, {_STRING(op)}, "
                f"{'null' if before is None else _STRING(before)}, {'null' if after is None else _STRING(after)}]")
    return _ENCODE_CHANGE(list(row))


# Built once: every write transaction runs them, and building a statement costs about as much as running it.
# Core, not ORM: the writer of a group commit seals an entry every few milliseconds.
_ENTRIES, _CHANGE_ROWS = HistoryEntry.__table__, HistoryChange.__table__
_LAST_CHANGE = select(func.max(_CHANGE_ROWS.c.id))
_HEAD = select(_ENTRIES.c.id, _ENTRIES.c.at, _ENTRIES.c.hash, _ENTRIES.c.last_change).order_by(
    _ENTRIES.c.id.desc()).limit(1)
_CHANGES = (select(_CHANGE_ROWS.c.id, _CHANGE_ROWS.c.entity, _CHANGE_ROWS.c.row_id, _CHANGE_ROWS.c.op,
                   _CHANGE_ROWS.c.before, _CHANGE_ROWS.c.after)
            .where(_CHANGE_ROWS.c.id >= bindparam("first"), _CHANGE_ROWS.c.id <= bindparam("last"))
            .order_by(_CHANGE_ROWS.c.id))
_INSERT_ENTRY = insert(_ENTRIES)
_FIELDS = ("id", "at", "actor", "source", "detail", "revision", "first_change", "last_change", "digest", "previous",
           "hash")


class _Head(NamedTuple):
    """What appending after an entry needs of it."""

    id: int
    at: datetime
    hash: str
    last_change: int


def last_change(session: Session) -> int:
    """The newest change's id (0 when none): where the next transaction's changes begin."""
    return int(session.connection().execute(_LAST_CHANGE).scalar() or 0)


def seal(session: Session, *, since: int, actor: str, source: str, detail: dict[str, Any], revision: int,
         clock: Callable[[], datetime], newest: int | None = None) -> HistoryEntry | None:
    """Seal the changes after `since` (this transaction's) into an entry; None when there are none.

    `newest` is the newest change's id when the caller has just read it (`last_change`), so it is
    not read twice."""
    newest = last_change(session) if newest is None else newest
    if newest <= since:
        return None
    row = session.connection().execute(_HEAD).first()
    head: _Head | HistoryEntry | None = _Head(*row) if row is not None else None
    covered = head.last_change if head is not None else 0
    if covered < since:
        head = _append(session, head, first=covered + 1, last=since, actor="unknown", source="direct-sql",
                       detail={"note": "changed in the database outside Headwater"}, revision=revision, clock=clock)
    return _append(session, head, first=since + 1, last=newest, actor=actor, source=source, detail=detail,
                   revision=revision, clock=clock)


def open_trail(session: Session, *, revision: int, clock: Callable[[], datetime]) -> HistoryEntry:
    """Entry 1: where the store's history begins, with the rows it held then as `baseline` changes
    (none for a new store). Its time is the earliest moment any `--as-of` can ask about."""
    return _append(session, None, first=1, last=last_change(session), actor="headwater", source="migration",
                   detail={"note": "history begins"}, revision=revision, clock=clock)


def _append(session: Session, head: _Head | HistoryEntry | None, *, first: int, last: int, actor: str, source: str,
            detail: dict[str, Any], revision: int, clock: Callable[[], datetime]) -> HistoryEntry:
    """Write the entry after `head`; returned as a HistoryEntry the session does not track (it is
    inserted with one Core statement: an ORM flush of it cost more than the rest of the seal)."""
    at = clock()
    if head is not None and head.at > at:
        at = head.at  # entries never go back in time, so "as of" can bisect them by `at`
    entry = HistoryEntry(id=(head.id if head is not None else 0) + 1, at=at, actor=actor, source=source[:64],
                         detail=detail, revision=revision, first_change=first, last_change=last,
                         digest=digest(session, first, last), previous=head.hash if head is not None else None)
    entry.hash = entry_hash(entry)
    session.connection().execute(_INSERT_ENTRY, {name: getattr(entry, name) for name in _FIELDS})
    return entry


def _changes(session: Session, first: int, last: int) -> Iterator[Any]:
    for rows in session.connection().execute(_CHANGES, {"first": first, "last": last}).partitions(10_000):
        yield from rows  # fetched many at a time: a load's seal reads a million changes


def digest(session: Session, first: int, last: int) -> str:
    """SHA-256 over the changes `first`..`last` as the module docstring spells them, the lines
    written by the database itself (`_LINES`) when its JSON quoting is the encoder's."""
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect not in _LINES or not _quotes_as_python(connection):
        return python_digest(session, first, last)
    cursor = connection.connection.dbapi_connection.cursor()  # the session's own transaction, no row objects
    hasher = hashlib.sha256()
    update = hasher.update
    try:
        for start in range(first, last + 1, _STEP):
            cursor.execute(_LINES[dialect].format(rows=_RANGE[dialect]), (start, min(start + _STEP - 1, last)))
            for line, in cursor:  # hashed as they come: a list and a joined copy of each step cost a sixth more
                update(line)
                update(b"\n")
    finally:
        cursor.close()
    return hasher.hexdigest()


def python_digest(session: Session, first: int, last: int) -> str:
    """The same digest with each change encoded here: what `digest` does without `_LINES`, and what
    `verify` checks again before calling an entry edited (an entry sealed before `_LINES` was)."""
    hasher = hashlib.sha256()
    for row in _changes(session, first, last):
        hasher.update(encode_change(row).encode())
        hasher.update(b"\n")
    return hasher.hexdigest()


# A change's line, `encode_change`'s bytes, written by the database: a million-change load's seal
# then builds two Python objects per change, not eight plus a string each, and its quoting runs in C.
# SQLite's `json_quote` and PostgreSQL's `to_json(text)` escape as the encoder does (`"`, `\\`, \b \f
# \n \r \t, other controls as \u00xx lowercase, nothing else); `_quotes_as_python` checks that of the
# server at hand once, and falls back to `python_digest` where it is not so.
_STEP = 10_000
_LINES = {
    "sqlite": "SELECT CAST('[' || id || ', ' || json_quote(entity) || ', ' || json_quote(row_id) || ', ' || "
              "json_quote(op) || ', ' || json_quote(\"before\") || ', ' || json_quote(\"after\") || ']' AS BLOB) "
              "FROM {rows} ORDER BY id",
    "postgresql": "SELECT convert_to('[' || id || ', ' || to_json(entity)::text || ', ' || to_json(row_id)::text || "
                  "', ' || to_json(op)::text || ', ' || coalesce(to_json(\"before\")::text, 'null') || ', ' || "
                  "coalesce(to_json(\"after\")::text, 'null') || ']', 'UTF8') FROM {rows} ORDER BY id",
}
_RANGE = {"sqlite": "history_changes WHERE id BETWEEN ? AND ?",
          "postgresql": "history_changes WHERE id BETWEEN %s AND %s"}
_PROBE_ROWS = {  # one literal change, in place of the table
    "sqlite": "(SELECT ? AS id, ? AS entity, ? AS row_id, ? AS op, ? AS \"before\", ? AS \"after\")",
    "postgresql": "(SELECT %s::bigint AS id, %s::text AS entity, %s::text AS row_id, %s::text AS op, "
                  "%s::text AS \"before\", %s::text AS \"after\") AS probe",
}
# every character the encoder escapes, the ones next to them it does not, and some far from ASCII
_PROBE = "".join(map(chr, range(1, 0x20))) + ' "\\/\x7f\x80 é \u2028\u2029 \ud7ff \ufeff \U0001f600 {"a": "b\\"c"}'
_QUOTING: dict[tuple[str, Any], bool] = {}


def _quotes_as_python(connection: Any) -> bool:
    """Whether this database writes `_PROBE` (with a NUL too, on SQLite) as `encode_change` does."""
    dialect = connection.dialect
    known = (dialect.name, dialect.server_version_info)
    if known not in _QUOTING:
        probes = [(2**40, "datasets", "7", "insert", None, _PROBE), (3, "settings", _PROBE, "update", "{}", "[]")]
        if dialect.name == "sqlite":  # PostgreSQL's text holds no NUL
            probes.append((4, "settings", "a\x00b", "delete", "\x00", None))
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            written = []
            for probe in probes:
                cursor.execute(_LINES[dialect.name].format(rows=_PROBE_ROWS[dialect.name]), probe)
                written.append(bytes(cursor.fetchone()[0]))
        finally:
            cursor.close()
        _QUOTING[known] = written == [encode_change(probe).encode() for probe in probes]
    return _QUOTING[known]


def _content(entry: HistoryEntry) -> dict[str, Any]:
    return {"id": entry.id, "at": entry.at.isoformat(), "actor": entry.actor, "source": entry.source,
            "detail": entry.detail or {}, "revision": entry.revision, "first_change": entry.first_change,
            "last_change": entry.last_change, "digest": entry.digest, "previous": entry.previous}


def entry_hash(entry: HistoryEntry) -> str:
    canonical = json.dumps(_content(entry), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- reading the chain back ---------------------------------------------------------------------------

@dataclass
class Verdict:
    """What `verify` found: `ok`, how much it checked, and the first break."""

    ok: bool
    entries: int
    changes: int
    head: str | None
    broken_entry: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "changes": self.changes, "head": self.head,
                "broken_entry": self.broken_entry, "problem": self.problem}


def verify(session: Session) -> Verdict:
    """Recompute every entry's digest and hash and every link, oldest first; stop at the first break."""
    previous: HistoryEntry | None = None
    count = changes = 0
    for entry in session.scalars(select(HistoryEntry).order_by(HistoryEntry.id)):
        count += 1
        expected_first = previous.last_change + 1 if previous is not None else 1
        problem = None
        if entry.id != (previous.id + 1 if previous is not None else 1):
            problem = f"entry {(previous.id + 1) if previous else 1} is missing (deleted)"
        elif entry.first_change != expected_first:
            problem = f"its changes should begin at {expected_first}, not {entry.first_change}"
        elif entry.previous != (previous.hash if previous is not None else None):
            problem = "it no longer links to the entry before it"
        elif (digest(session, entry.first_change, entry.last_change) != entry.digest
              and python_digest(session, entry.first_change, entry.last_change) != entry.digest):
            present = int(session.scalar(select(func.count()).select_from(HistoryChange).where(
                HistoryChange.id.between(entry.first_change, entry.last_change))) or 0)
            span = entry.last_change - entry.first_change + 1
            what = "edited" if present == span else f"deleted ({span - present} of {span} missing)"
            problem = f"its changes {entry.first_change}..{entry.last_change} were {what} after it was sealed"
        elif entry_hash(entry) != entry.hash:
            problem = "its own fields (time, actor, source, range) were edited after it was sealed"
        if problem is not None:
            return Verdict(False, count, changes, previous.hash if previous else None, entry.id,
                           f"entry {entry.id} ({entry.at:%Y-%m-%d %H:%M:%S} UTC, {entry.actor} via {entry.source}): "
                           f"{problem}")
        changes += entry.last_change - entry.first_change + 1
        previous = entry
    newest = last_change(session)
    covered = previous.last_change if previous is not None else 0
    if newest > covered:
        return Verdict(False, count, changes, previous.hash if previous else None, None,
                       f"changes {covered + 1}..{newest} are in no entry: written outside Headwater since the last "
                       f"entry (direct SQL), or appended to the history by hand")
    return Verdict(True, count, changes, previous.hash if previous else None)


def export(session: Session, since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """The trail as JSON-ready records, one per entry, each with its changes exactly as hashed."""
    query = select(HistoryEntry).order_by(HistoryEntry.id)
    if since is not None:
        query = query.where(HistoryEntry.at >= since)
    for entry in session.scalars(query):
        record = {**_content(entry), "hash": entry.hash}
        record["changes"] = [dict(zip(("id", "entity", "row_id", "op", "before", "after"), row))
                             for row in _changes(session, entry.first_change, entry.last_change)]
        yield record


def entries_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(HistoryEntry)) or 0)
