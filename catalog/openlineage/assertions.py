"""`dataQualityAssertions` input facets as check runs: a dbt test reported over OpenLineage is evidence.

A run's terminal event (COMPLETE, FAIL, ABORT) that carries the facet on an input records one
check run on that dataset, kept beside `headwater check`'s GX runs (source `dbt` when dbt-ol sent
it, else `openlineage`); each source's latest run stands (catalog/runs.py). The START event that
carries the same assertions records nothing, and a re-sent event is a duplicate before it gets here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from catalog.dbt_tests import assertion_row
from catalog.runs import outcome_of
from catalog.ids import Key
from catalog.openlineage.events import DBT_PRODUCER, ParsedEvent
from catalog.schema import CheckResult, CheckRun

if TYPE_CHECKING:
    from catalog.schema import Dataset

FACET = "dataQualityAssertions"
TERMINAL = ("COMPLETE", "FAIL", "ABORT")


def assertion_runs(events: list[ParsedEvent], datasets: dict[Key, Dataset]) -> list[CheckRun]:
    runs = []
    for event in events:
        if event.kind != "RunEvent" or event.event_type not in TERMINAL:
            continue
        for ref in event.inputs:
            facet = ref.facets.get(FACET)
            if not isinstance(facet, dict) or not isinstance(facet.get("assertions"), list) or ref.key not in datasets:
                continue
            rows = [assertion_row(a) for a in facet["assertions"] if isinstance(a, dict)]
            if not rows:
                continue
            runs.append(CheckRun(
                dataset_id=datasets[ref.key].id, source="dbt" if DBT_PRODUCER in event.producer else "openlineage",
                started_at=event.event_time, finished_at=event.event_time, outcome=outcome_of(rows),
                evaluated=sum(1 for r in rows if not r["errored"]), failed=sum(1 for r in rows if r["success"] is False),
                errored=sum(1 for r in rows if r["errored"]),
                results=[CheckResult(position=i, **row) for i, row in enumerate(rows)]))
    return runs
