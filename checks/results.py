"""What check runs, history and snapshots return: one shape for the CLI, JSON and the API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from catalog.locations import shown_location

Outcome = Literal["passed", "warning", "failed", "errored", "unchecked"]
Shown = Annotated[str, AfterValidator(shown_location)]  # a location with any database password masked


class ExpectationResult(BaseModel):
    position: int
    expectation: str
    kwargs: dict[str, Any]
    severity: Literal["critical", "warning"]
    success: bool | None = Field(description="null when the expectation errored")
    errored: bool
    error: str | None = None
    observed_value: Any = None
    unexpected_count: int | None = None
    unexpected_percent: float | None = None
    sample: list[Any] | None = Field(None, description="a few unexpected values; never stored for personal data")


class CheckRunResult(BaseModel):
    id: int
    dataset: str
    started_at: datetime
    finished_at: datetime
    location: Shown | None
    fingerprint: str | None
    fingerprint_observed_at: datetime | None
    modified_at: datetime | None
    suite_hash: str | None
    outcome: Outcome
    error: str | None
    evaluated: int
    failed: int
    errored: int
    reused_from: int | None = Field(description="the run whose verdict was reused: data and suite unchanged since")
    results: list[ExpectationResult]


class Skipped(BaseModel):
    dataset: str
    reason: str


class CheckReport(BaseModel):
    runs: list[CheckRunResult]
    skipped: list[Skipped]
    validated: int = Field(description="datasets Great Expectations looked at in this run")
    reused: int = Field(description="datasets whose earlier verdict still holds (same fingerprint and suite)")

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(("passed", "warning", "failed", "errored", "unchecked"), 0)
        for run in self.runs:
            counts[run.outcome] += 1
        return counts

    @property
    def ok(self) -> bool:
        """False when a critical expectation failed or a dataset could not be judged."""
        return not any(run.outcome in ("failed", "errored") for run in self.runs)


class CheckHistory(BaseModel):
    dataset: str
    runs: list[CheckRunResult]


class ManifestEntry(BaseModel):
    dataset: str
    role: str
    location: Shown
    fingerprint: str
    observed_at: datetime
    previous_fingerprint: str | None
    size: int | None = Field(description="bytes for files, rows for tables")


class TrainingManifest(BaseModel):
    model: str
    version: str | None
    recorded_at: datetime
    feeds: list[ManifestEntry]


class ColumnStep(BaseModel):
    node: str
    column: str | None = Field(description="the column; '' for the whole dataset; null for a model")


class Finding(BaseModel):
    """One condition as it affects one node: the unit of every risk answer."""

    node: str
    node_kind: Literal["dataset", "model"]
    tier: Literal["high", "gpai", "other"]
    root: str = Field(description="the dataset where the condition was detected")
    condition: str = Field(description="the root condition, or upstream_tainted when inherited")
    root_condition: str
    title: str
    severity: Literal["low", "medium", "high", "critical"]
    mode: Literal["direct", "hard", "review"] = Field(
        description="direct: on the node itself or a dataset it consumes; hard: inherited as is; review: inherited, to assess")
    applies: Literal["in_force", "best_practice"]
    applies_from: date | None = None
    since: datetime | None
    detail: str
    paths: list[list[str]] = Field(default_factory=list)
    path_count: int | None = None
    column_lineage: Literal["column", "indirect", "assumed"] | None = Field(
        default=None, description="for a privacy condition carried by classified columns: column when column "
                                  "lineage shows the values reaching the node, indirect when only filters, joins or "
                                  "group-bys do, assumed when some hop has no column lineage (the table-level rule)")
    column_paths: list[list[ColumnStep]] = Field(
        default_factory=list, description="the column paths that justify the finding, from the classified columns")
    citations: list[str]
    note: str
    actions: list[str]


class RiskReport(BaseModel):
    as_of: datetime
    policy: list[str]
    revision: int
    findings: list[Finding]

    def for_node(self, node: str) -> list[Finding]:
        return [f for f in self.findings if f.node == node]
