"""Mapping stored events onto the catalog: datasets, jobs, runs, derivations, models and feeds.

One `Ingestion` per transaction. Its SQL is the OpenLineage part of the store: like
`catalog/store.py` and `catalog/bulk.py` it reads and writes rows, and nothing outside the store
modules does. The rules (which run defines a job's edges, the newest event winning per facet,
catalog files keeping their own values) are set out in docs/openlineage.md.

Longer than 400 lines because one `Ingestion` applies a batch in one fixed order inside one
transaction (jobs, datasets, runs, lineage, models, feeds); split across modules, that order and the
rows it carries from step to step would have to be passed around instead of read from one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple

from pydantic import BaseModel, Field
from sqlalchemy import bindparam, delete, insert, select, update

from catalog import reads
from catalog.errors import InvalidEvent, LineageCycle, LookalikeName
from catalog.ids import DEFAULT_VERSION, Key, ModelKey
from catalog.names import how_they_differ
from catalog.openlineage.assertions import assertion_runs
from catalog.openlineage.cycles import closed_cycle, describe_cycle
from catalog.openlineage.events import ParsedEvent
from catalog.openlineage.column_ingest import COLUMN_FACETS, apply_columns
from catalog.openlineage.facets import DatasetChanges, JobChanges
from catalog.openlineage.limits import check_fan_out
from catalog.schema import Dataset, Derivation, Feed, Job, LineageEvent, LineageRun, utcnow
from catalog.store import Writer

SOURCE = "openlineage"  # the `source` of every derivation and feed that events wrote


class IngestResult(BaseModel):
    """What one `ingest_events` call did. Counts are of rows, except `events`, `stored` and `duplicates`."""

    events: int = Field(0, description="valid events received")
    stored: int = Field(0, description="new events kept raw")
    duplicates: int = Field(0, description="events already stored (or repeated in the batch): skipped")
    run_events: int = 0
    dataset_events: int = 0
    job_events: int = 0
    datasets_created: int = 0
    datasets_updated: int = 0
    jobs_created: int = 0
    jobs_updated: int = 0
    models_created: int = 0
    models_updated: int = 0
    derivations_added: int = 0
    derivations_removed: int = 0
    feeds_added: int = 0
    feeds_updated: int = 0
    feeds_removed: int = 0
    revision: int = 0
    shared_with: int = Field(0, description="other requests committed in the same transaction (the API's group "
                                            "commit); when above 0, the row counts are the whole transaction's")


class Known(NamedTuple):
    """A stored dataset or job that this batch changes nothing about: its id is all the mapping needs.

    Routine run events (a scheduler's START and COMPLETE naming the tables it always reads and
    writes, with no facets) are most of what arrives; reading their datasets and jobs as whole ORM
    rows (facets, field sources) was most of the cost of mapping them.
    """

    id: int


def _chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


_RUN_VALUES = ("state", "event_time", "lineage_time", "has_outputs", "inputs", "outputs", "models")


@dataclass(eq=False)
class _Run:
    """A `lineage_runs` row as plain values: read, folded and written with Core statements.

    Through the ORM, each run of a batch cost an object, its change tracking and a statement of its
    own at the flush; a routine START or COMPLETE is little more than this row and its raw event.
    `stored` keeps the values as read, so only a run that changed is written.
    """

    job_id: int
    run_id: str
    state: str | None
    event_time: datetime
    lineage_time: datetime | None = None
    has_outputs: bool = False
    inputs: list[Any] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)
    models: list[Any] = field(default_factory=list)
    id: int | None = None  # None: not stored yet
    stored: tuple[Any, ...] | None = None

    def values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _RUN_VALUES)


_RUNS, _EVENTS, _EDGES = LineageRun.__table__, LineageEvent.__table__, Derivation.__table__
# Pairs are looked up as `a IN (...) AND b IN (...)`, then matched exactly in Python: SQLite plans
# `(a, b) IN (VALUES ...)` as a scan of the whole index, which grows with every run ever stored.
_READ_RUNS = select(_RUNS.c.id, _RUNS.c.job_id, _RUNS.c.run_id, *(_RUNS.c[name] for name in _RUN_VALUES)).where(
    _RUNS.c.job_id.in_(bindparam("jobs", expanding=True)), _RUNS.c.run_id.in_(bindparam("runs", expanding=True)))
_UPDATE_RUN = update(_RUNS).where(_RUNS.c.id == bindparam("_id")).values(
    {name: bindparam(name) for name in (*_RUN_VALUES, "updated_at")})
_CANDIDATE_RUNS = select(_RUNS.c.job_id, _RUNS.c.run_id, _RUNS.c.lineage_time, _RUNS.c.outputs, _RUNS.c.models).where(
    _RUNS.c.job_id.in_(bindparam("jobs", expanding=True)), _RUNS.c.has_outputs.is_(True),
    _RUNS.c.lineage_time >= bindparam("since"))
_KNOWN_EVENTS = select(_EVENTS.c.payload_hash).where(_EVENTS.c.payload_hash.in_(bindparam("hashes", expanding=True)))
_EDGES_INTO = select(_EDGES.c.id, _EDGES.c.input_id, _EDGES.c.output_id, _EDGES.c.job_id, _EDGES.c.source).where(
    _EDGES.c.output_id.in_(bindparam("outputs", expanding=True)))


class Ingestion:
    def __init__(self, writer: Writer, events: list[ParsedEvent]) -> None:
        self.writer = writer
        self.session = writer.session
        self.result = IngestResult(events=len(events))
        for event in events:
            if event.kind == "RunEvent":
                self.result.run_events += 1
            elif event.kind == "DatasetEvent":
                self.result.dataset_events += 1
            else:
                self.result.job_events += 1
        # In event-time order, so the latest facet wins whatever order the batch came in.
        self.events = sorted(events, key=lambda e: e.event_time)
        self.datasets: dict[Key, Dataset | Known] = {}
        self.jobs: dict[Key, Job | Known] = {}
        self.new: set[int] = set()  # id() of the events stored by this call (the others were duplicates)
        self.created: dict[str, set[Any]] = {"dataset": set(), "model": set()}  # for the lookalike check

    def run(self) -> IngestResult:
        new = self._store_raw()
        if new:
            self._map(new)
            self._refuse_lookalikes()
        return self.result

    def _refuse_lookalikes(self) -> None:
        """Raise LookalikeName (the transaction rolls back whole) when a new name reads as another's."""
        for kind in ("dataset", "model"):
            for key, other in sorted(self.writer.lookalikes(kind, self.created[kind]).items()):
                index, path = self._where_named(key)
                shown = other[1] if other[0] == key[0] else f"{other[0]}:{other[1]}"
                difference = how_they_differ(":".join(key[:2]), ":".join(other))
                raise LookalikeName(path, f"the {kind} '{key[1]}' (namespace '{key[0]}') looks like the {kind} "
                                          f"'{shown}': {difference}; name it as that one, or so nobody can mistake it",
                                    index=index)

    def _where_named(self, key: Any) -> tuple[int | None, str]:
        """The first event (batch index) and JSON path naming `key`, to point the error at it."""
        for event in self.events:
            if event.dataset is not None and event.dataset.key == key:
                return event.index, "dataset.name"
            for side, refs in (("inputs", event.inputs), ("outputs", event.outputs)):
                for position, ref in enumerate(refs):
                    if ref.key == key or (ref.model is not None and ref.model_key == key):
                        return event.index, f"{side}[{position}].name"
        return None, ""

    # --- raw events ------------------------------------------------------------------------------
    def _store_raw(self) -> list[ParsedEvent]:
        hashes = [e.digest for e in self.events]
        known: set[str] = set()
        connection = self.session.connection()
        for chunk in _chunks(sorted(set(hashes))):
            known.update(connection.execute(_KNOWN_EVENTS, {"hashes": list(chunk)}).scalars())
        new, rows = [], []
        for event, digest in zip(self.events, hashes, strict=True):
            if digest in known:
                self.result.duplicates += 1
                continue
            known.add(digest)
            new.append(event)
            self.new.add(id(event))
            rows.append({
                "kind": event.kind, "event_type": event.event_type, "event_time": event.event_time,
                "run_id": event.run_id, "job_namespace": event.job.namespace if event.job else None,
                "job_name": event.job.name if event.job else None, "producer": event.producer,
                "payload": event.raw, "payload_hash": digest,
            })
        for chunk in _chunks(rows):
            connection.execute(insert(_EVENTS), list(chunk))
        self.result.stored = len(rows)
        return new

    # --- mapping ---------------------------------------------------------------------------------
    def _map(self, events: list[ParsedEvent]) -> None:
        job_changes: dict[Key, JobChanges] = {}
        dataset_changes: dict[Key, DatasetChanges] = {}
        for event in events:
            if event.job is not None:
                job_changes.setdefault(event.job.key, JobChanges()).fold(event.job, event.event_time)
            refs = [event.dataset] if event.dataset else [*event.inputs, *(o for o in event.outputs if o.model is None)]
            for ref in refs:
                dataset_changes.setdefault(ref.key, DatasetChanges()).fold(ref, event.event_time)
        self._apply_jobs(job_changes)
        self._apply_datasets(dataset_changes)
        touched = [(key, set(change.times) & set(COLUMN_FACETS)) for key, change in sorted(dataset_changes.items())]
        touched = [(key, names) for key, names in touched if names]
        if touched:
            apply_columns(self.writer, self.datasets, touched, self._rows_for)
        for run in assertion_runs(events, self.datasets):
            self.writer.add(run)
        touched = self._fold_runs(events)
        if touched:
            self._apply_lineage(touched)

    def _load_datasets(self, keys: Iterable[Key], *, ids_only: Iterable[Key] = ()) -> None:
        """Rows of the `keys` not loaded yet: whole ORM rows, or only their ids for the keys in `ids_only`."""
        _load(self.session, Dataset, self.datasets, keys, set(ids_only))

    def _load_jobs(self, keys: Iterable[Key], *, ids_only: Iterable[Key] = ()) -> None:
        _load(self.session, Job, self.jobs, keys, set(ids_only))

    def _apply_jobs(self, changes: dict[Key, JobChanges]) -> None:
        self._load_jobs(changes, ids_only=[key for key, change in changes.items() if change.empty])
        for key, change in sorted(changes.items()):  # one order for every writer: no deadlocks between them
            row = self.jobs.get(key)
            if row is None:
                created = self.writer.upsert_job(*key)
                self.jobs[key] = created
                change.apply(self.writer, created)
                self.result.jobs_created += 1
            elif isinstance(row, Job) and change.apply(self.writer, row) == "updated":
                self.result.jobs_updated += 1

    def _apply_datasets(self, changes: dict[Key, DatasetChanges]) -> None:
        self._load_datasets(changes, ids_only=[key for key, change in changes.items() if change.empty])
        for key, change in sorted(changes.items()):  # one order for every writer: no deadlocks between them
            stored = self.datasets.get(key)
            if isinstance(stored, Known):
                continue  # nothing to apply: an empty change leaves a stored row as it is
            self.datasets[key], outcome = change.apply(self.writer, stored, key)
            if outcome == "created":
                self.created["dataset"].add(key)
                self.result.datasets_created += 1
            elif outcome == "updated":
                self.result.datasets_updated += 1
        self.session.flush()

    def _rows_for(self, keys: Iterable[Key]) -> dict[Key, Any]:
        keys = set(keys)
        self._ensure_datasets(keys)
        self.session.flush()
        return {key: self.datasets[key] for key in keys}

    def _ensure_datasets(self, keys: Iterable[Key]) -> None:
        """Rows for datasets a stored run names (created bare if someone deleted them since)."""
        keys = set(keys)
        self._load_datasets(keys, ids_only=keys)
        for key in sorted(keys - self.datasets.keys()):
            self.datasets[key], _ = self.writer.upsert_dataset(*key, {"facets": {}})
            self.created["dataset"].add(key)
            self.result.datasets_created += 1

    # --- runs ------------------------------------------------------------------------------------
    def _fold_runs(self, events: list[ParsedEvent]) -> list[_Run]:
        """Fold each run's events into its `lineage_runs` row; return the rows whose lineage changed."""
        pairs = {(self.jobs[e.job.key].id, e.lineage_run_id or "") for e in events if e.job is not None}
        runs = _read_runs(self.session.connection(), pairs)
        touched: dict[tuple[int, str], _Run] = {}
        for event in events:
            if event.job is None:
                continue
            key = (self.jobs[event.job.key].id, event.lineage_run_id or "")
            row = runs.get(key)
            if row is None:
                row = runs[key] = _Run(job_id=key[0], run_id=key[1], state=event.event_type, event_time=event.event_time)
            if event.event_time >= row.event_time:
                row.event_time, row.state = event.event_time, event.event_type
            if event.carries_lineage and _fold_lineage(row, event):
                self._check_run_fan_out(row, event)
                touched[key] = row
        _write_runs(self.session.connection(), runs.values())
        return [row for row in touched.values() if row.has_outputs]

    def _check_run_fan_out(self, row: _Run, event: ParsedEvent) -> None:
        """A run writes every input x every output of its events together: bound the union, not only each event."""
        assert event.job is not None
        try:
            check_fan_out(len(row.inputs), len(row.outputs) + len(row.models), event.max_edges,
                          what=f"with this event, run {row.run_id} of job {event.job.namespace}:{event.job.name}")
        except InvalidEvent as exc:
            raise InvalidEvent(exc.path, exc.reason, index=event.index) from None

    def _defining_runs(self, touched: list[_Run]) -> tuple[dict[tuple[int, Key], _Run], dict[tuple[int, Key], _Run]]:
        """(job id, output) -> the touched run that now defines it: the job's newest run that wrote it.

        Returned separately for dataset outputs and for model outputs. A touched run that an even newer
        run of its job supersedes for some output defines nothing for that output. The touched runs
        are already written, so the stored runs read here include them.
        """
        job_ids = sorted({run.job_id for run in touched})
        since = min(run.lineage_time for run in touched)  # type: ignore[type-var]
        candidates = self.session.connection().execute(_CANDIDATE_RUNS, {"jobs": job_ids, "since": since})
        newest_outputs: dict[tuple[int, Key], tuple[Any, str]] = {}
        newest_models: dict[tuple[int, ModelKey], tuple[Any, str]] = {}
        for job_id, run_id, lineage_time, outputs, models in candidates:
            rank = (lineage_time, run_id)
            for output in outputs:
                key = (job_id, (output[0], output[1]))
                best = newest_outputs.get(key)
                if best is None or rank > best:
                    newest_outputs[key] = rank
            for model in models:
                key = (job_id, _model_key(model))
                best = newest_models.get(key)
                if best is None or rank > best:
                    newest_models[key] = rank
        mine = {(run.job_id, run.run_id): run for run in touched}
        return ({k: mine[(k[0], rank[1])] for k, rank in newest_outputs.items() if (k[0], rank[1]) in mine},
                {k: mine[(k[0], rank[1])] for k, rank in newest_models.items() if (k[0], rank[1]) in mine})

    # --- derivations and models ------------------------------------------------------------------
    def _apply_lineage(self, touched: list[_Run]) -> None:
        outputs, models = self._defining_runs(touched)
        needed: set[Key] = {key for _, key in outputs}
        for run in {id(r): r for r in [*outputs.values(), *models.values()]}.values():
            needed.update((i["namespace"], i["name"]) for i in run.inputs)
        self._ensure_datasets(needed)

        # The edges each (job, output) should have now: every input of the run that defines it.
        wanted: dict[int, dict[int, set[int]]] = {}  # output id -> job id -> input ids
        for (job_id, key), run in outputs.items():
            output = self.datasets[key]
            inputs = {self.datasets[(i["namespace"], i["name"])].id for i in run.inputs}
            wanted.setdefault(output.id, {})[job_id] = inputs - {output.id}
        before: dict[int, set[tuple[int, int | None]]] = {output_id: set() for output_id in wanted}
        edge_ids: dict[tuple[int, int, int | None], int] = {}  # (output, input, job) -> id, of our edges
        linked: set[tuple[int, int]] = set()  # (input, output) joined by any edge already, whoever declared it
        connection = self.session.connection()
        for chunk in _chunks(sorted(wanted)):
            for edge_id, input_id, output_id, job_id, source in connection.execute(_EDGES_INTO, {"outputs": list(chunk)}):
                linked.add((input_id, output_id))
                if source == SOURCE:
                    before[output_id].add((input_id, job_id))
                    edge_ids[(output_id, input_id, job_id)] = edge_id
        rewired: dict[int, set[tuple[int, int | None]]] = {}
        for output_id in sorted(wanted):
            jobs = wanted[output_id]
            after = {(i, j) for i, j in before[output_id] if j not in jobs}  # other jobs' edges stay
            after |= {(i, job_id) for job_id, inputs in jobs.items() for i in inputs}
            if after == before[output_id]:
                continue
            rewired[output_id] = after
            self.result.derivations_added += len(after - before[output_id])
            self.result.derivations_removed += len(before[output_id] - after)
        if rewired:  # every output's edges in a few statements, not a few per output
            self._rewire(rewired, before, edge_ids)
            # only an edge between two datasets not yet joined can close a cycle; checked on what is now written
            joined = {(i, o) for o, after in rewired.items() for i, _job in after - before[o]} - linked
            if joined:
                self._refuse_cycles(joined, outputs)
        for (_job_id, key), run in sorted(models.items(), key=lambda item: (item[1].lineage_time, item[1].run_id)):
            spec = next(m for m in run.models if _model_key(m) == key)
            self._apply_model(spec, run)

    def _rewire(self, rewired: dict[int, set[tuple[int, int | None]]], before: dict[int, set[tuple[int, int | None]]],
                edge_ids: dict[tuple[int, int, int | None], int]) -> None:
        """Make each rewired output's OpenLineage edges exactly `rewired[output]`, from the edges just
        read (`before`, `edge_ids`): what `Bulk.replace_derivations` does, without reading them again."""
        now = utcnow()
        stale = sorted(edge_ids[(output, i, j)] for output, after in rewired.items() for i, j in before[output] - after)
        new = [{"input_id": i, "output_id": output, "job_id": j, "source": SOURCE, "created_at": now, "updated_at": now}
               for output, after in rewired.items()
               for i, j in sorted(after - before[output], key=lambda edge: (edge[0], edge[1] or 0))]
        connection = self.session.connection()
        for chunk in _chunks(stale):
            connection.execute(delete(_EDGES).where(_EDGES.c.id.in_(chunk)))
        for chunk in _chunks(new, 5000):
            connection.execute(insert(_EDGES), list(chunk))
        self.writer.changed = True

    def _refuse_cycles(self, joined: set[tuple[int, int]], outputs: dict[tuple[int, Key], _Run]) -> None:
        """Raise LineageCycle (the transaction then rolls back whole) when a new edge closes a cycle."""
        cycle = closed_cycle(self.session, joined)
        if cycle is None:
            return
        closing_input, closing_output = cycle[-1]
        output_key = next(key for key, row in self.datasets.items() if row.id == closing_output)
        jobs = [job_id for (job_id, key) in outputs if key == output_key]
        blamed = next((e for e in reversed(self.events) if e.job is not None and self.jobs[e.job.key].id in jobs
                       and any(o.key == output_key for o in e.outputs)), None)
        path = ""
        if blamed is not None:
            position = next(i for i, o in enumerate(blamed.outputs) if o.key == output_key)
            path = f"outputs[{position}]"
        raise LineageCycle(path, describe_cycle(self.session, cycle, closing=(closing_input, closing_output)),
                           index=blamed.index if blamed is not None else None)

    def _apply_model(self, spec: dict[str, Any], run: _Run) -> None:
        key = _model_key(spec)
        row = self.writer.model(*key)
        fields: dict[str, Any] = {}
        if row is None or row.catalog_file is None:
            if spec.get("riskTier") is not None or row is None:
                fields["risk_tier"] = spec.get("riskTier")
            if spec.get("deployed") is not None:
                fields["deployed"] = spec["deployed"]
        if row is None:
            fields["source"] = SOURCE
            declared = reads.declared_model(self.session, key[:2]) if fields.get("risk_tier") is None else None
            if declared is not None:  # a standard MODEL output: the model's catalog entry says
                fields.update({name: getattr(declared, name) for name in reads.INHERITED})
            row, _ = self.writer.upsert_model(key, fields)
            self.created["model"].add(key)
            self.result.models_created += 1
        elif self.writer.update(row, fields) == "updated":
            self.result.models_updated += 1
        feeds: dict[tuple[int, str], dict[str, Any]] = {}
        for entry in run.inputs:
            dataset = self.datasets[(entry["namespace"], entry["name"])]
            role = entry.get("role") or "training"
            feeds[(dataset.id, role)] = {
                "dataset": dataset, "role": role, "fingerprint": entry.get("fingerprint"),
                "consumed_at": datetime.fromisoformat(entry["seen_at"]),
            }
        existing: dict[tuple[int, str], tuple[Any, Any]] = {}
        for stored in self.session.scalars(select(Feed).where(Feed.model_id == row.id)):
            if stored.source == SOURCE:
                existing[(stored.dataset_id, stored.role)] = (stored.fingerprint, stored.consumed_at)
            else:
                feeds.pop((stored.dataset_id, stored.role), None)  # a catalog file declared it: that row stays
        if self.writer.replace_feeds(row, list(feeds.values()), source=SOURCE):
            for feed_key, feed in feeds.items():
                if feed_key not in existing:
                    self.result.feeds_added += 1
                elif existing[feed_key] != (feed["fingerprint"], feed["consumed_at"]):
                    self.result.feeds_updated += 1
            self.result.feeds_removed += len(existing.keys() - feeds.keys())


def _load(session: Any, table: Any, into: dict[Key, Any], keys: Iterable[Key], ids_only: set[Key]) -> None:
    """Fill `into` with the stored rows of `keys` it lacks: ids only (one light query) for `ids_only`."""
    wanted = sorted(set(keys) - into.keys())
    light = [key for key in wanted if key in ids_only]
    whole = [key for key in wanted if key not in ids_only]
    if light and session.new:
        session.flush()  # the light query goes past the ORM, which would otherwise flush pending rows first
    connection = session.connection()
    for chunk in _chunks(light):
        exact = set(chunk)
        for row_id, namespace, name in connection.execute(_IDS_NAMED[table], _named(chunk)):
            if (namespace, name) in exact:
                into[(namespace, name)] = Known(row_id)
    for chunk in _chunks(whole):
        exact = set(chunk)
        for row in session.scalars(_ROWS_NAMED[table], _named(chunk)):
            if (row.namespace, row.name) in exact:
                into[(row.namespace, row.name)] = row


def _where_named(table: Any) -> tuple[Any, Any]:
    """Conditions matching at least the rows `_named` names (namespace IN ... AND name IN ..., matched
    exactly by the caller): an index search on both columns, where SQLite scans the whole index for
    `(namespace, name) IN (VALUES ...)`."""
    return (table.namespace.in_(bindparam("namespaces", expanding=True)),
            table.name.in_(bindparam("names", expanding=True)))


def _named(keys: Sequence[Key]) -> dict[str, list[str]]:
    return {"namespaces": sorted({k[0] for k in keys}), "names": sorted({k[1] for k in keys})}


_IDS_NAMED = {table: select(table.__table__.c.id, table.__table__.c.namespace, table.__table__.c.name)
              .where(*_where_named(table.__table__.c)) for table in (Dataset, Job)}
_ROWS_NAMED = {table: select(table).where(*_where_named(table)) for table in (Dataset, Job)}


def _read_runs(connection: Any, pairs: set[tuple[int, str]]) -> dict[tuple[int, str], _Run]:
    """The stored runs among `pairs` ((job id, run id)), by pair."""
    runs: dict[tuple[int, str], _Run] = {}
    ordered = sorted(pairs)
    for chunk in _chunks(ordered):
        jobs, ids = sorted({job for job, _ in chunk}), sorted({run for _, run in chunk})
        for row in connection.execute(_READ_RUNS, {"jobs": jobs, "runs": ids}):
            key = (row.job_id, row.run_id)
            if key in pairs:
                run = _Run(job_id=row.job_id, run_id=row.run_id, id=row.id,
                           **{name: getattr(row, name) for name in _RUN_VALUES})
                run.stored = run.values()
                runs[key] = run
    return runs


def _write_runs(connection: Any, runs: Iterable[_Run]) -> None:
    """Insert the new runs and update the changed ones, a statement for each kind (executemany)."""
    now = utcnow()
    new, changed = [], []
    for run in runs:
        values = dict(zip(_RUN_VALUES, run.values()))
        if run.id is None:
            new.append({"job_id": run.job_id, "run_id": run.run_id, **values, "created_at": now, "updated_at": now})
        elif run.values() != run.stored:
            changed.append({"_id": run.id, **values, "updated_at": now})
    for chunk in _chunks(new, 5000):
        connection.execute(insert(_RUNS), list(chunk))
    for chunk in _chunks(changed, 5000):
        connection.execute(_UPDATE_RUN, list(chunk))


def _model_key(spec: dict[str, Any]) -> ModelKey:
    """The model version a run's `models` entry names (runs stored before versions carry none: "1")."""
    return (spec["namespace"], spec["name"], spec.get("version") or DEFAULT_VERSION)


def _fold_lineage(row: _Run, event: ParsedEvent) -> bool:
    """Add a lineage-carrying event's inputs, outputs and models to its run; True if that changed it."""
    at = event.event_time
    stamp = at.astimezone(timezone.utc).isoformat()
    before = (row.lineage_time, row.inputs, row.outputs, row.models)
    if row.lineage_time is None or at > row.lineage_time:
        row.lineage_time = at
    inputs = {(i["namespace"], i["name"]): dict(i) for i in row.inputs or []}
    for ref in event.inputs:
        entry = inputs.setdefault(ref.key, {"namespace": ref.namespace, "name": ref.name, "role": None,
                                            "fingerprint": None, "seen_at": stamp, "feed_time": None})
        if datetime.fromisoformat(entry["seen_at"]) > at:
            entry["seen_at"] = stamp
        if ref.feed is not None and (entry["feed_time"] is None or datetime.fromisoformat(entry["feed_time"]) <= at):
            entry.update(role=ref.feed.role, fingerprint=ref.feed.fingerprint, feed_time=stamp)
    outputs = {tuple(o) for o in row.outputs or []}
    models = {_model_key(m): m for m in row.models or []}
    for ref in event.outputs:
        if ref.model is None:
            outputs.add(ref.key)
            continue
        key = ref.model_key
        if key not in models or datetime.fromisoformat(models[key]["time"]) <= at:
            models[key] = {"namespace": key[0], "name": key[1], "version": key[2],
                           "riskTier": ref.model.riskTier, "deployed": ref.model.deployed, "time": stamp}
    row.inputs = [inputs[k] for k in sorted(inputs)]
    row.outputs = [list(o) for o in sorted(outputs)]
    row.models = [models[k] for k in sorted(models)]
    row.has_outputs = bool(row.outputs or row.models)
    return (row.lineage_time, row.inputs, row.outputs, row.models) != before
