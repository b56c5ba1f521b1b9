"""`headwater check`, `check --history` and `snapshot`: what the CLI and the API call.

A check run looks at every selected dataset it can read. It always fingerprints it (freshness and
tamper detection need the observation even when there is nothing to validate), then:
- no expectations: recorded as `unchecked`, with its fingerprint;
- same fingerprint and same suite as the last judged run: that verdict is reused (unless
  `force`), and Great Expectations is not even imported when every dataset is reused;
- otherwise Great Expectations validates the real data.
Each dataset's run is committed on its own, so an interrupted run keeps what it finished. With it go
the columns the data's header or schema names (catalog/data_columns.py, source "check"): a CSV
header line, a Parquet footer, a table's columns from the database's catalog, never the rows.

A table's fingerprint is a full scan, a file's a read of every byte; their change signal
(catalog/fingerprint.py `table_signal`, `file_signal`) is a few milliseconds of metadata, one
stat() for a file. Each run keeps the signal it saw with its fingerprint, in the
run's `digests` under "table_signal" (only when the signal read the same before and after the
table was read, so both describe one content). While the signal stays put, the next run carries
that fingerprint over instead of scanning; `force` always scans. When the verdict is to be
computed anyway (`force`, a new suite, no earlier verdict), the fingerprint is computed on a
second thread while Great Expectations validates: both only read, and the database (or, for
SQLite and files, C code that releases the GIL) does the work, so the two overlap on two cores.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from catalog import reads
from catalog.errors import HeadwaterError, NotFound, OutsideDataRoots
from catalog.expectations import suite_hash
from catalog.fingerprint import Observation, Unreadable, file_signal, observe, table_signal
from catalog.ids import Key, node_id
from catalog.locations import Location, confine, local_path, parse_location
from catalog.runs import (
    TABLE_SIGNAL, carried_fingerprint, datasets_by_key, latest_runs, outcome_of, record_columns, record_run, runs_of,
)
from catalog.schema import CheckRun, Dataset, utcnow
from catalog.secrets import mask_secrets
from catalog.store import Store
from checks.conditions import MLFLOW_DIGEST
from checks.validator import validate_location
from checks.results import (
    CheckHistory, CheckReport, CheckRunResult, ExpectationResult, ManifestEntry, Skipped, TrainingManifest,
)
from lineage.service import resolve

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

Progress = Callable[[str, str], None]  # (dataset id, what happened)


class SnapshotRefused(HeadwaterError):
    """A training source cannot be read, so no manifest is recorded."""


def run_checks(store: Store, names: list[str] | None = None, *, force: bool = False,
               progress: Progress | None = None, clock: Callable[[], datetime] = utcnow,
               roots: Sequence[Path] | None = None, databases: Sequence[str] | None = None) -> CheckReport:
    """`clock` stamps the runs; tests pass a fixed one so that what is known "as of" a date is pinned.

    With `roots` (the server passes its data roots), no file outside them is read: a dataset named
    in `names` that lies outside refuses the whole run before anything is checked; otherwise such a
    dataset is skipped with the reason.
    """
    keys = _resolve(store, names) if names else None
    with store.read() as session:
        datasets = datasets_by_key(session, keys)
        previous = latest_runs(session, [d.id for d in datasets])
        withheld = samples_withheld(session, datasets)
        digested = reads.datasets_fed_by_digest(session, MLFLOW_DIGEST)
    outside = _outside(datasets, roots, databases) if roots is not None else {}
    if names and outside:
        raise OutsideDataRoots("nothing was checked: " + "; ".join(outside.values()))
    report = CheckReport(runs=[], skipped=[], validated=0, reused=0)
    validator = None
    for dataset in datasets:
        label = node_id("dataset", dataset.namespace, dataset.name)
        location = _location(dataset)
        if location is None or dataset.id in outside:
            reason = "no location" if not dataset.location else f"{mask_secrets(dataset.location)} is not a file or SQL table"
            report.skipped.append(Skipped(dataset=label, reason=outside.get(dataset.id, reason)))
            if progress:
                progress(label, "skipped")
            continue
        started = clock()
        run = CheckRun(dataset_id=dataset.id, started_at=started, location=dataset.location)
        results: list[dict[str, Any]] = []
        suite = list(dataset.expectations or [])
        run.suite_hash = suite_hash(suite) if suite else None
        before = previous.get(dataset.id)
        samples = dataset.id not in withheld
        signal = _signal(location)
        seen = None if force else carried_fingerprint(before, dataset.location, signal)
        validated = False
        if seen is None:
            if suite and (force or not _judged_with(before, run.suite_hash)):
                if validator is None:
                    from checks.validator import Validator

                    validator = Validator()
                seen, run.error, results = _observe_and_validate(validator, location, suite, samples=samples)
                validated = True
                report.validated += 1
            else:
                try:
                    seen = observe(location)
                except Unreadable as exc:
                    run.error = mask_secrets(str(exc))
            if signal is not None and _signal(location) != signal:
                signal = None  # moved while we read: the fingerprint may describe either side of the change
        if seen is not None:
            run.fingerprint, run.fingerprint_observed_at, run.modified_at = seen.fingerprint, seen.observed_at, seen.modified_at
        if seen is not None and dataset.id in digested:
            run.digests = _digests(location, before, run)
        if seen is not None and signal is not None:
            run.digests = {**(run.digests or {}), TABLE_SIGNAL: signal}
        if run.error is None and suite and not validated:
            if not force and _still_holds(before, run):
                run.reused_from_id = before.reused_from_id or before.id
                results = [_copy(result, withhold=dataset.id in withheld) for result in before.results]
                run.outcome = before.outcome
                report.reused += 1
            else:
                if validator is None:
                    from checks.validator import Validator

                    validator = Validator()
                results, run.error = validate_location(validator, location, suite, samples=samples)
                report.validated += 1
        run.outcome = _outcome(run, results, suite) if not run.reused_from_id else run.outcome
        run.evaluated = sum(1 for r in results if not r["errored"])
        run.failed = sum(1 for r in results if r["success"] is False)
        run.errored = sum(1 for r in results if r["errored"])
        columns = _columns(location) if seen is not None else None
        run.finished_at = max(clock(), started)
        with store.transaction("check", {"dataset": label}) as writer:
            if not reads.dataset_exists(writer.session, dataset.id):  # deleted while it was checked: no row to point at
                if names:
                    raise NotFound(f"{label} was deleted while it was being checked; no run was recorded for it")
                report.skipped.append(Skipped(dataset=label, reason="deleted while it was being checked"))
                continue
            record_run(writer.session, run, results)
            if columns is not None:
                record_columns(writer, dataset.id, columns)
            writer.changed = True
        report.runs.append(_run_result(run, label))
        if progress:
            progress(label, run.outcome + (" (reused)" if run.reused_from_id else ""))
    return report


def history(store: Store, name: str, *, limit: int = 20) -> CheckHistory:
    """The dataset's newest `limit` runs, shown with what may be shown now: values a run kept before
    the dataset's samples were withheld are withheld from its history too."""
    (key,) = _resolve(store, [name])
    label = node_id("dataset", *key)
    with store.read() as session:
        found = datasets_by_key(session, [key])
        if not found:  # deleted since the name was resolved
            raise NotFound(f"no dataset {label}")
        (dataset,) = found
        runs = runs_of(session, dataset.id, limit)
        withhold = dataset.id in samples_withheld(session, [dataset])
        return CheckHistory(dataset=label, runs=[_run_result(run, label, withhold=withhold) for run in runs])


def snapshot(store: Store, model: str) -> TrainingManifest:
    """Fingerprint everything `model` feeds on, now, and record it on its feeds: all or nothing, so its
    feeds never hold today's fingerprint for some sources and an older one for the rest."""
    key = resolve(store, model, "model")
    node = str(key)
    with store.read() as session:
        model_row = reads.model(session, key.model_key)
        if model_row is None:  # deleted since its name was resolved
            raise NotFound(f"no model {node}")
        version = model_row.version
        feeds = reads.feeds_of(session, model_row.id)
    if not feeds:
        raise SnapshotRefused(f"{node} has no training sources in the catalog: declare `trained_on` first")
    observations: dict[int, Observation] = {}
    problems = []
    for _feed, dataset in feeds:
        if dataset.id in observations:
            continue
        location = _location(dataset)
        label = node_id("dataset", dataset.namespace, dataset.name)
        if location is None:
            problems.append(f"{label}: {'no location' if not dataset.location else 'location is not a file or SQL table'}")
            continue
        try:
            observations[dataset.id] = observe(location)
        except Unreadable as exc:
            problems.append(f"{label}: {mask_secrets(str(exc))}")
    if problems:
        raise SnapshotRefused("cannot snapshot " + node + "; nothing was recorded:\n  " + "\n  ".join(problems))
    recorded_at = datetime.now(timezone.utc)
    entries = []
    with store.transaction("snapshot", {"model": node}) as writer:
        for feed, dataset in feeds:
            seen = observations[dataset.id]
            writer.record_feed_fingerprint(feed.id, seen.fingerprint, seen.observed_at)
            entries.append(ManifestEntry(
                dataset=node_id("dataset", dataset.namespace, dataset.name), role=feed.role, location=dataset.location,
                fingerprint=seen.fingerprint, observed_at=seen.observed_at, previous_fingerprint=feed.fingerprint,
                size=seen.size,
            ))
    return TrainingManifest(model=node, version=version, recorded_at=recorded_at, feeds=entries)


# --- helpers ----------------------------------------------------------------------------------------

def _resolve(store: Store, names: list[str]) -> list[Key]:
    """The datasets the user named, every name resolved before anything is read or checked."""
    return [resolve(store, name, "dataset").key for name in names]


def _outside(datasets: list[Dataset], roots: Sequence[Path], databases: Sequence[str] | None) -> dict[int, str]:
    """Per dataset id, why its location may not be read under `roots` (and, for database servers,
    the operator's allow-list)."""
    refused = {}
    for dataset in datasets:
        location = _location(dataset)
        if location is None:
            continue
        try:
            confine(location, roots, shown=mask_secrets(dataset.location or ""), databases=databases)
        except OutsideDataRoots as exc:
            refused[dataset.id] = f"{node_id('dataset', dataset.namespace, dataset.name)}: {exc}"
    return refused


def _location(dataset: Dataset) -> Location | None:
    """Where Headwater can read the dataset itself (a file or a SQL table); None for object-store URIs
    and unparsable values, which are recorded but never read."""
    if not dataset.location:
        return None
    try:
        location = parse_location(dataset.location)
    except ValueError:
        return None
    return location if location.checkable else None


def samples_withheld(session: "Session", datasets: Sequence[Dataset]) -> set[int]:
    """Ids of `datasets` whose checks may keep no sample values: those sharing their data with any
    entry that is personal or has not declared (`personal_data` null) whether it is.

    The data decides, not the entry: a second entry at a personal file, or one OpenLineage
    discovered there (OpenLineage never sets `personal_data`, and its datasets have no catalog file
    until someone declares them), would otherwise store raw values from it. Entries are compared by
    `place` (the resolved file, or the database and table), across the whole store, not only the
    datasets being checked. Values are allowed only where every entry at the place was declared
    (by a catalog file or a PUT) with `personal_data: false`."""
    wanted = {d.id: _place(d.location) for d in datasets}
    places = {place for place in wanted.values() if place is not None}
    closed: set[tuple[str, ...]] = set()
    for location, personal, declared_in in reads.locations(session):
        place = _place(location)
        if place in places and (personal is not False or declared_in is None):
            closed.add(place)
    return {dataset_id for dataset_id, place in wanted.items() if place is None or place in closed}


def _place(value: str | None) -> tuple[str, ...] | None:
    """Where a location's data really is, so two spellings of one file or table compare equal:
    the file's real path (symlinks and `..` resolved), a SQLite file's real path and the table, or a
    database's backend, host, database and table (user, password, driver, port and query ignored;
    the table without its schema and case, so entries that might be one table are judged as one)."""
    if not value:
        return None
    try:
        location = parse_location(value)
    except ValueError:
        return ("unparsed", mask_secrets(value))
    if location.kind == "file":
        return ("file", os.path.realpath(location.value))
    if location.kind != "sql":
        return ("uri", mask_secrets(location.value))
    table = (location.table or "").rsplit(".", 1)[-1].strip('"`[]').lower()
    database = local_path(location)
    if database is not None:
        return ("sqlite", os.path.realpath(database), table)
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(location.value.partition("#")[0])
    except (ArgumentError, ValueError):
        return ("sql", mask_secrets(location.value.partition("#")[0]).lower(), table)
    return ("sql", url.get_backend_name(), (url.host or "").lower(), url.database or "", table)


def _digests(location: Location, before: CheckRun | None, run: CheckRun) -> dict[str, str]:
    """MLflow's digest of the content, for the feeds MLflow recorded: carried over when the content's
    fingerprint has not moved, else recomputed (checks/mlflow_digest.py)."""
    if before is not None and before.fingerprint == run.fingerprint and (before.digests or {}).get("mlflow"):
        return {"mlflow": before.digests["mlflow"]}
    from checks.mlflow_digest import mlflow_digest

    digest = mlflow_digest(location)
    return {"mlflow": digest} if digest else {}


def _columns(location: Location) -> list[Any] | None:
    """The columns the data's header or schema names (catalog/data_columns.py), None when it cannot
    say: the run itself already reports what is wrong with the data."""
    from catalog.data_columns import read_columns

    try:
        return read_columns(location)
    except Unreadable:
        return None


def _signal(location: Location) -> str | None:
    """The location's change signal (catalog/fingerprint.py): a stat for a file, metadata for a table."""
    if location.kind == "file":
        return file_signal(Path(location.value))
    if location.kind != "sql":
        return None
    return table_signal(location.value.partition("#")[0], location.table or "")


def _judged_with(before: CheckRun | None, suite: str | None) -> bool:
    """Whether an earlier verdict could be reused at all, were the content unchanged."""
    return before is not None and before.outcome != "errored" and before.fingerprint is not None \
        and before.suite_hash == suite


def _observe_and_validate(validator: Any, location: Location, suite: list[dict[str, Any]], *,
                          samples: bool) -> tuple[Observation | None, str | None, list[dict[str, Any]]]:
    """Fingerprint and validation side by side (module docstring); GX stays on this thread, the
    only one that uses it. A location that cannot be fingerprinted errors the run with that reason,
    as it does when the two run one after the other."""
    with ThreadPoolExecutor(1, thread_name_prefix="headwater-fingerprint") as pool:
        fingerprint = pool.submit(observe, location)
        results, error = validate_location(validator, location, suite, samples=samples)
        try:
            seen = fingerprint.result()
        except Unreadable as exc:
            return None, mask_secrets(str(exc)), []
    return seen, error, results


def _still_holds(before: CheckRun | None, run: CheckRun) -> bool:
    """Whether the last verdict may be reused: the same content (fingerprint) judged by the same suite,
    and it was a verdict at all (an errored run judged nothing)."""
    return (
        before is not None and before.outcome != "errored" and before.fingerprint is not None
        and before.fingerprint == run.fingerprint and before.suite_hash == run.suite_hash
    )


def _outcome(run: CheckRun, results: list[dict[str, Any]], suite: list[dict[str, Any]]) -> str:
    if run.error is not None:
        return "errored"
    return outcome_of(results) if suite else "unchecked"


def _copy(result: Any, *, withhold: bool = False) -> dict[str, Any]:
    """A stored result as a dict; with `withhold`, without the values a check may not keep now (a
    verdict reused from before a personal entry appeared at the same file must not carry them on)."""
    copied = {column: getattr(result, column) for column in (
        "position", "expectation", "kwargs", "severity", "success", "errored", "error", "observed_value",
        "unexpected_count", "unexpected_percent", "sample",
    )}
    if withhold:
        from checks.validator import SHAPE_ONLY

        copied["sample"] = None
        if not copied["expectation"].startswith(SHAPE_ONLY):
            copied["observed_value"] = None
    return copied


def _run_result(run: CheckRun, label: str, *, withhold: bool = False) -> CheckRunResult:
    """The run as it leaves the process: messages masked again, since runs recorded before every
    credential form was masked may still hold one (the location is masked by its `Shown` type), and,
    with `withhold`, without values recorded before the dataset's samples were withheld."""
    results = []
    for result in run.results:
        copied = _copy(result, withhold=withhold)
        copied["error"] = mask_secrets(copied["error"]) if copied["error"] else copied["error"]
        results.append(ExpectationResult(**copied))
    return CheckRunResult(
        id=run.id, dataset=label, started_at=run.started_at, finished_at=run.finished_at, location=run.location,
        fingerprint=run.fingerprint, fingerprint_observed_at=run.fingerprint_observed_at, modified_at=run.modified_at,
        suite_hash=run.suite_hash, outcome=run.outcome, error=mask_secrets(run.error) if run.error else run.error,
        evaluated=run.evaluated, failed=run.failed, errored=run.errored, reused_from=run.reused_from_id,
        results=results,
    )


