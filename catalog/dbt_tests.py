"""dbt test outcomes as check results: one mapping for `import dbt` (run_results.json) and for the
OpenLineage `dataQualityAssertions` facet that dbt-ol sends.

dbt's `error` severity fails the data (critical), `warn` only warns (warning), as a GX suite's
severities do. A test dbt skipped (its model's upstream failed) or could not run judged nothing:
it is errored, not failed. dbt-ol sends a skipped test as `success: false` with neither `actual` nor
`expected`; that is how it is told apart from a real failure.
"""

from __future__ import annotations

from typing import Any

SEVERITY = {"error": "critical", "warn": "warning"}


def result_row(name: str, *, severity: str | None, success: bool | None, column: str | None = None,
               error: str | None = None, failures: Any = None) -> dict[str, Any]:
    """One check_results row (catalog.schema.CheckResult) for one dbt test."""
    return {
        "expectation": name, "kwargs": {"column": column} if column else {},
        "severity": SEVERITY.get((severity or "error").lower(), "critical"),
        "success": success, "errored": error is not None, "error": error,
        "observed_value": None, "unexpected_count": failures if isinstance(failures, int) else None,
        "unexpected_percent": None, "sample": None,
    }


def assertion_row(assertion: dict[str, Any]) -> dict[str, Any]:
    """A `dataQualityAssertions` entry as a check_results row."""
    name = str(assertion.get("name") or assertion.get("assertion") or "assertion")
    ran = "actual" in assertion or "expected" in assertion or assertion.get("success") is True
    failures = assertion.get("actual")
    count = int(failures) if isinstance(failures, str) and failures.isdigit() else None
    return result_row(name, severity=assertion.get("severity"), column=assertion.get("column"),
                      success=bool(assertion.get("success")) if ran else None, failures=count,
                      error=None if ran else "no result: the test did not run (skipped or errored)")
