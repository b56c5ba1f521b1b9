"""Check-run history: the SQL that stores and reads runs and their per-expectation results, and the
columns a run saw in the data (source "check", issue 21)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from catalog.bulk import Bulk
from catalog.bulk_columns import ColumnValues, replace_columns
from catalog.fingerprint import Observation
from catalog.schema import CheckResult, CheckRun, Dataset
from catalog.schema_columns import DatasetColumn


TABLE_SIGNAL = "table_signal"  # the key of a run's `digests` that keeps the change signal seen with its fingerprint
CHECK_COLUMNS = "check"  # the `source` of the dataset_columns rows a check run read from the data
HEADWATER = "headwater"  # the `source` of the runs `headwater check` makes (GX); dbt's runs say "dbt"
WORST = {"errored": 0, "failed": 1, "warning": 2, "passed": 3, "unchecked": 4}


def outcome_of(results: list[dict[str, Any]]) -> str:
    """A judged run's outcome from its results: a critical failure fails it, any other only warns (a
    suite's severities say whether the data is wrong or merely worth a look); one result that could
    not be judged makes the run errored. GX suites and dbt tests are judged by this one rule."""
    if any(r["errored"] for r in results):
        return "errored"
    if any(r["success"] is False and r["severity"] == "critical" for r in results):
        return "failed"
    if any(r["success"] is False for r in results):
        return "warning"
    return "passed"


def latest_runs(session: Session, dataset_ids: Iterable[int]) -> dict[int, CheckRun]:
    """The newest run `headwater check` made of each dataset (with its results loaded), for reuse."""
    ids = list(dataset_ids)
    if not ids:
        return {}
    newest = (
        select(CheckRun.dataset_id, func.max(CheckRun.id).label("run_id"))
        .where(CheckRun.dataset_id.in_(ids), CheckRun.source == HEADWATER)
        .group_by(CheckRun.dataset_id)
        .subquery()
    )
    query = (
        select(CheckRun)
        .join(newest, newest.c.run_id == CheckRun.id)
        .options(selectinload(CheckRun.results))
    )
    return {run.dataset_id: run for run in session.scalars(query)}


def latest_outcomes(session: Session, dataset_ids: Iterable[int] | None = None) -> dict[int, dict[str, Any]]:
    """The newest run of each dataset as plain values, without per-expectation results: for views.

    Each source's newest run counts (a passing dbt test run does not hide a failing GX suite): the
    worst of them is the dataset's outcome. `None` reads every dataset's newest runs (cheaper than a
    long IN list for whole-platform views).
    """
    newest = (select(CheckRun.dataset_id, func.max(CheckRun.id).label("run_id"))
              .group_by(CheckRun.dataset_id, CheckRun.source))
    if dataset_ids is not None:
        newest = newest.where(CheckRun.dataset_id.in_(list(dataset_ids)))
    latest = newest.subquery()
    query = select(CheckRun.dataset_id, CheckRun.started_at, CheckRun.outcome, CheckRun.fingerprint, CheckRun.failed,
                   CheckRun.errored, CheckRun.error).join(latest, latest.c.run_id == CheckRun.id)
    found: dict[int, dict[str, Any]] = {}
    for row in session.execute(query):
        have = found.get(row.dataset_id)
        if have is None or WORST.get(row.outcome, 9) < WORST.get(have["outcome"], 9):
            found[row.dataset_id] = {**row._asdict(), "fingerprint": row.fingerprint or (have or {}).get("fingerprint")}
        elif have["fingerprint"] is None:
            have["fingerprint"] = row.fingerprint
    return found


def runs_of(session: Session, dataset_id: int, limit: int = 20) -> list[CheckRun]:
    query = (
        select(CheckRun)
        .where(CheckRun.dataset_id == dataset_id)
        .order_by(CheckRun.id.desc())
        .limit(limit)
        .options(selectinload(CheckRun.results))
    )
    return list(session.scalars(query))


def newest_run_id(session: Session) -> int | None:
    """The id of the newest check run: runs are only ever added (deleting a dataset's moves the store
    revision), so this is what tells a cached risk assessment that a check has spoken since."""
    return session.scalar(select(func.max(CheckRun.id)))


def record_run(session: Session, run: CheckRun, results: list[dict[str, Any]]) -> CheckRun:
    run.results = [CheckResult(**result) for result in results]
    session.add(run)
    session.flush()
    return run


def record_columns(writer: Any, dataset_id: int, columns: list[ColumnValues]) -> bool:
    """Record the columns a check run read from the data's header or schema, in the run's transaction.

    The data's header is the poorest statement of a column (a CSV has no types), so it only fills
    in: a row a catalog file, OpenLineage or dbt wrote keeps what it says, and is left alone
    entirely when the check adds nothing to it (it stays that source's row); the check replaces
    only its own rows, so a column gone from the data goes from them. True if anything changed."""
    stored = {row.name: row for row in writer.session.execute(
        select(DatasetColumn.name, DatasetColumn.type, DatasetColumn.description, DatasetColumn.classifications,
               DatasetColumn.position, DatasetColumn.source).where(DatasetColumn.dataset_id == dataset_id))}
    wanted = []
    for column in columns:
        row = stored.get(column.name)
        if row is None or row.source in (CHECK_COLUMNS, "catalog"):
            wanted.append(column)  # replace_columns itself keeps a catalog row's values
            continue
        merged = ColumnValues(column.name, row.type or column.type, row.description or column.description,
                              tuple(row.classifications or ()),
                              row.position if row.position is not None else column.position)
        if (merged.type, merged.description, merged.position) != (row.type, row.description, row.position):
            wanted.append(merged)
    return bool(replace_columns(Bulk(writer), {dataset_id: wanted}, source=CHECK_COLUMNS))


def carried_fingerprint(before: CheckRun | None, where: str | None, signal: str | None) -> Observation | None:
    """The last run's fingerprint, still true now: the same location, and the change signal kept
    with that fingerprint has not moved since (checks/service.py)."""
    if signal is None or before is None or before.fingerprint is None or before.location != where:
        return None
    if (before.digests or {}).get(TABLE_SIGNAL) != signal:
        return None
    return Observation(fingerprint=before.fingerprint, observed_at=datetime.now(timezone.utc),
                       modified_at=before.modified_at)


def datasets_by_key(session: Session, keys: list[tuple[str, str]] | None = None) -> list[Dataset]:
    """Datasets to check: the given (namespace, name) keys, or all of them, in name order."""
    query = select(Dataset).order_by(Dataset.namespace, Dataset.name)
    rows = list(session.scalars(query))
    if keys is None:
        return rows
    wanted = set(keys)
    return [row for row in rows if (row.namespace, row.name) in wanted]


def observations(session: Session, as_of: Any) -> dict[int, dict[str, Any]]:
    """Per dataset, what check runs had seen by `as_of`: the latest run and when content last changed.

    - `latest`: the newest run of any source; `by_source`: the newest of each (headwater's GX
      suites, dbt's tests), since each source's latest verdict stands until that source speaks again;
    - `fingerprint`: the newest fingerprint observed (a dbt run observes none), `digests` the newest
      digest of each other tool (MLflow's), recomputed on the content;
    - `changed_at`: the first run that saw the current fingerprint after an earlier run had seen a
      different one: evidence that the content changed, as opposed to merely being looked at.
    """
    query = (
        select(CheckRun.id, CheckRun.dataset_id, CheckRun.started_at, CheckRun.fingerprint, CheckRun.outcome,
               CheckRun.error, CheckRun.modified_at, CheckRun.failed, CheckRun.errored, CheckRun.source,
               CheckRun.digests)
        .where(CheckRun.started_at <= as_of)
        .order_by(CheckRun.dataset_id, CheckRun.id)
    )
    seen: dict[int, dict[str, Any]] = {}
    for row in session.execute(query):
        entry = seen.get(row.dataset_id)
        if entry is None:
            entry = seen[row.dataset_id] = {"changed_at": None, "first_seen": {}, "fingerprint": None, "digests": {},
                                            "by_source": {}}
        elif row.fingerprint and entry["fingerprint"] and row.fingerprint != entry["fingerprint"]:
            entry["changed_at"] = row.started_at
        if row.fingerprint and row.fingerprint not in entry["first_seen"]:
            entry["first_seen"][row.fingerprint] = row.started_at
        if row.fingerprint:
            entry["fingerprint"] = row.fingerprint
        entry["digests"].update(row.digests or {})
        entry["latest"] = entry["by_source"][row.source] = row._asdict()
    failing = [run["id"] for entry in seen.values() for run in entry["by_source"].values()
               if run["outcome"] in ("failed", "errored")]
    if failing:
        details: dict[int, list[dict[str, Any]]] = {}
        rows = session.execute(
            select(CheckResult.run_id, CheckResult.expectation, CheckResult.severity, CheckResult.success,
                   CheckResult.errored, CheckResult.error, CheckResult.unexpected_count)
            .where(CheckResult.run_id.in_(failing)).order_by(CheckResult.run_id, CheckResult.position)
        )
        for row in rows:
            details.setdefault(row.run_id, []).append(row._asdict())
        for entry in seen.values():
            entry["problems"] = [problem for run in entry["by_source"].values() for problem in details.get(run["id"], [])]
    return seen
