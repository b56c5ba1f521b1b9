"""`headwater check`, `check --history` and `snapshot`: what the CLI and the API call.

A check run looks at every selected dataset it can read. It always fingerprints it (freshness and
tamper detection need the observation even when there is nothing to validate), then:
- no expectations: recorded as `unchecked`, with its fingerprint;
- same fingerprint and same suite as the last judged run: that verdict is reused (unless
  `force`), and Great Expectations is not even imported when every dataset is reused;
- otherwise Great Expectations validates the real data.
Each dataset's run is committed on its own, so an interrupted run keeps what it finished.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from catalog.errors import HeadwaterError, OutsideDataRoots
from catalog.expectations import suite_hash
from catalog.fingerprint import Observation, Unreadable, observe, split_table
from catalog.locations import Location, confine, parse_location
from catalog.runs import datasets_by_key, latest_runs, record_run, runs_of
from catalog.schema import CheckRun, Dataset, utcnow
from catalog.store import Store
from checks.results import (
    CheckHistory, CheckReport, CheckRunResult, ExpectationResult, ManifestEntry, Skipped, TrainingManifest,
)
from lineage import queries
from lineage.graph import DATASET, MODEL, node_id
from lineage.service import graph_of

Progress = Callable[[str, str], None]  # (dataset id, what happened)


class SnapshotRefused(HeadwaterError):
    """A training source cannot be read, so no manifest is recorded."""


def run_checks(store: Store, names: list[str] | None = None, *, force: bool = False,
               progress: Progress | None = None, clock: Callable[[], datetime] = utcnow,
               roots: Sequence[Path] | None = None) -> CheckReport:
    """`clock` stamps the runs; tests pass a fixed one so that what is known "as of" a date is pinned.

    With `roots` (the server passes its data roots), no file outside them is read: a dataset named
    in `names` that lies outside refuses the whole run before anything is checked; otherwise such a
    dataset is skipped with the reason.
    """
    keys = _resolve(store, names) if names else None
    with store.read() as session:
        datasets = datasets_by_key(session, keys)
        previous = latest_runs(session, [d.id for d in datasets])
    outside = _outside(datasets, roots) if roots is not None else {}
    if names and outside:
        raise OutsideDataRoots("nothing was checked: " + "; ".join(outside.values()))
    report = CheckReport(runs=[], skipped=[], validated=0, reused=0)
    validator = None
    for dataset in datasets:
        label = node_id(DATASET, dataset.namespace, dataset.name)
        location = _location(dataset)
        if location is None or dataset.id in outside:
            reason = "no location" if not dataset.location else f"{dataset.location} is not a file or SQL table"
            report.skipped.append(Skipped(dataset=label, reason=outside.get(dataset.id, reason)))
            if progress:
                progress(label, "skipped")
            continue
        started = clock()
        run = CheckRun(dataset_id=dataset.id, started_at=started, location=dataset.location)
        results: list[dict[str, Any]] = []
        try:
            seen = observe(location)
        except Unreadable as exc:
            seen = None
            run.error = str(exc)
        if seen is not None:
            run.fingerprint, run.fingerprint_observed_at, run.modified_at = seen.fingerprint, seen.observed_at, seen.modified_at
        suite = list(dataset.expectations or [])
        run.suite_hash = suite_hash(suite) if suite else None
        before = previous.get(dataset.id)
        if run.error is None and suite:
            if not force and _still_holds(before, run):
                run.reused_from_id = before.reused_from_id or before.id
                results = [_copy(result) for result in before.results]
                run.outcome = before.outcome
                report.reused += 1
            else:
                if validator is None:
                    from checks.validator import Validator

                    validator = Validator()
                results, run.error = _validate(validator, location, suite, samples=not dataset.personal_data)
                report.validated += 1
        run.outcome = _outcome(run, results, suite) if not run.reused_from_id else run.outcome
        run.evaluated = sum(1 for r in results if not r["errored"])
        run.failed = sum(1 for r in results if r["success"] is False)
        run.errored = sum(1 for r in results if r["errored"])
        run.finished_at = max(clock(), started)
        with store.transaction() as writer:
            record_run(writer.session, run, results)
            writer.changed = True
        report.runs.append(_run_result(run, label))
        if progress:
            progress(label, run.outcome + (" (reused)" if run.reused_from_id else ""))
    return report


def history(store: Store, name: str, *, limit: int = 20) -> CheckHistory:
    (key,) = _resolve(store, [name])
    with store.read() as session:
        (dataset,) = datasets_by_key(session, [key])
        runs = runs_of(session, dataset.id, limit)
        label = node_id(DATASET, *key)
        return CheckHistory(dataset=label, runs=[_run_result(run, label) for run in runs])


def snapshot(store: Store, model: str) -> TrainingManifest:
    """Fingerprint everything `model` feeds on, now, and record it on its feeds: all or nothing."""
    graph = graph_of(store)
    node = queries.resolve(graph, model, kinds=(MODEL,))
    attrs = graph.nodes[node]
    with store.read() as session:
        from sqlalchemy import select

        from catalog.schema import Feed, Model

        model_row = session.scalar(select(Model).where(Model.namespace == attrs["namespace"], Model.name == attrs["name"]))
        feeds = session.execute(
            select(Feed, Dataset).join(Dataset, Dataset.id == Feed.dataset_id).where(Feed.model_id == model_row.id)
            .order_by(Dataset.namespace, Dataset.name, Feed.role)
        ).all()
    if not feeds:
        raise SnapshotRefused(f"{node} has no training sources in the catalog: declare `trained_on` first")
    observations: dict[int, Observation] = {}
    problems = []
    for _feed, dataset in feeds:
        if dataset.id in observations:
            continue
        location = _location(dataset)
        label = node_id(DATASET, dataset.namespace, dataset.name)
        if location is None:
            problems.append(f"{label}: {'no location' if not dataset.location else 'location is not a file or SQL table'}")
            continue
        try:
            observations[dataset.id] = observe(location)
        except Unreadable as exc:
            problems.append(f"{label}: {exc}")
    if problems:
        raise SnapshotRefused("cannot snapshot " + node + "; nothing was recorded:\n  " + "\n  ".join(problems))
    recorded_at = datetime.now(timezone.utc)
    entries = []
    with store.transaction() as writer:
        for feed, dataset in feeds:
            seen = observations[dataset.id]
            writer.record_feed_fingerprint(feed.id, seen.fingerprint, seen.observed_at)
            entries.append(ManifestEntry(
                dataset=node_id(DATASET, dataset.namespace, dataset.name), role=feed.role, location=dataset.location,
                fingerprint=seen.fingerprint, observed_at=seen.observed_at, previous_fingerprint=feed.fingerprint,
                size=seen.size,
            ))
    return TrainingManifest(model=node, version=attrs.get("version"), recorded_at=recorded_at, feeds=entries)


# --- helpers ----------------------------------------------------------------------------------------

def _resolve(store: Store, names: list[str]) -> list[tuple[str, str]]:
    graph = graph_of(store)
    keys = []
    for name in names:
        node = queries.resolve(graph, name, kinds=(DATASET,))
        keys.append((graph.nodes[node]["namespace"], graph.nodes[node]["name"]))
    return keys


def _outside(datasets: list[Dataset], roots: Sequence[Path]) -> dict[int, str]:
    """Per dataset id, why its location may not be read under `roots`."""
    refused = {}
    for dataset in datasets:
        location = _location(dataset)
        if location is None:
            continue
        try:
            confine(location, roots, shown=dataset.location)
        except OutsideDataRoots as exc:
            refused[dataset.id] = f"{node_id(DATASET, dataset.namespace, dataset.name)}: {exc}"
    return refused


def _location(dataset: Dataset) -> Location | None:
    if not dataset.location:
        return None
    try:
        location = parse_location(dataset.location)
    except ValueError:
        return None
    return location if location.checkable else None


def _still_holds(before: CheckRun | None, run: CheckRun) -> bool:
    return (
        before is not None and before.outcome != "errored" and before.fingerprint is not None
        and before.fingerprint == run.fingerprint and before.suite_hash == run.suite_hash
    )


def _validate(validator: Any, location: Location, suite: list[dict[str, Any]], *,
              samples: bool) -> tuple[list[dict[str, Any]], str | None]:
    """Per-expectation results, or ([], why) when the data could not be judged at all."""
    try:
        if location.kind == "file":
            from checks.frames import read_frame

            frame = read_frame(location.value, location.format or "")
            outcomes = validator.validate_frame(frame, suite, samples=samples)
            del frame
        else:
            from catalog.fingerprint import require_sqlite_file

            url = location.value.partition("#")[0]
            require_sqlite_file(url)
            schema, table = split_table(location.table or "")
            outcomes = validator.validate_table(url, schema, table, suite, samples=samples)
    except Unreadable as exc:
        return [], str(exc)
    except Exception as exc:  # GX raises its own hierarchy for unreachable sources and bad batches
        from catalog.store import mask_url

        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [], mask_url_in(message, mask_url)
    return [
        {
            "position": o.position, "expectation": suite[o.position]["type"], "kwargs": suite[o.position]["kwargs"],
            "severity": suite[o.position]["severity"], "success": o.success, "errored": o.errored, "error": o.error,
            "observed_value": o.observed_value, "unexpected_count": o.unexpected_count,
            "unexpected_percent": o.unexpected_percent, "sample": o.sample,
        }
        for o in outcomes
    ], None


def mask_url_in(message: str, mask: Callable[[str], str]) -> str:
    """Hide any password in database URLs quoted by a driver's error message."""
    import re

    return re.sub(r"[a-z][a-z0-9+.-]*://[^\s'\"]+", lambda m: mask(m.group(0)), message)


def _outcome(run: CheckRun, results: list[dict[str, Any]], suite: list[dict[str, Any]]) -> str:
    if run.error is not None or any(r["errored"] for r in results):
        return "errored"
    if not suite:
        return "unchecked"
    if any(r["success"] is False and r["severity"] == "critical" for r in results):
        return "failed"
    if any(r["success"] is False for r in results):
        return "warning"
    return "passed"


def _copy(result: Any) -> dict[str, Any]:
    return {column: getattr(result, column) for column in (
        "position", "expectation", "kwargs", "severity", "success", "errored", "error", "observed_value",
        "unexpected_count", "unexpected_percent", "sample",
    )}


def _run_result(run: CheckRun, label: str) -> CheckRunResult:
    return CheckRunResult(
        id=run.id, dataset=label, started_at=run.started_at, finished_at=run.finished_at, location=run.location,
        fingerprint=run.fingerprint, fingerprint_observed_at=run.fingerprint_observed_at, modified_at=run.modified_at,
        suite_hash=run.suite_hash, outcome=run.outcome, error=run.error, evaluated=run.evaluated, failed=run.failed,
        errored=run.errored, reused_from=run.reused_from_id,
        results=[ExpectationResult(**_copy(result)) for result in run.results],
    )


