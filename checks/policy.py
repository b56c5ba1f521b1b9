"""The governance policy: severities, propagation, citations, notes and actions, as data.

The shipped `policy.yaml` is the default. A user's policy file is merged over it condition by
condition and key by key, so overriding one severity does not mean restating the whole policy.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from catalog.document import read_document
from catalog.durations import parse_duration
from catalog.errors import InvalidCatalogFile, Problem

DEFAULT = Path(__file__).with_name("policy.yaml")
CONDITIONS = (
    "source_stale", "quality_check_failed", "fingerprint_mismatch", "poisoning_flagged", "breach_flagged",
    "consent_withdrawn", "erasure_or_objection_pending", "lawful_basis_missing", "special_category_unbased",
    "deidentification_invalid", "retention_exceeded", "licence_invalid", "tdm_reserved", "provenance_unknown",
    "documentation_missing", "bias_check_missing_or_failed", "risk_tier_unknown", "upstream_tainted",
)
LEVELS = ("low", "medium", "high", "critical")
Level = Literal["low", "medium", "high", "critical"]
Tier = Literal["high", "gpai", "other"]
Mode = Literal["hard", "review", "none"]


def level_rank(level: str) -> int:
    return LEVELS.index(level)


def lower(level: str) -> str:
    """One severity level down, never below low: what review-mode inheritance costs."""
    return LEVELS[max(0, level_rank(level) - 1)]


class PolicyModel(BaseModel):
    """A policy file's parts: unknown keys are errors, so a misspelt rule name is caught, not ignored."""

    model_config = ConfigDict(extra="forbid")


class BySeverity(PolicyModel):
    high: Level
    gpai: Level
    other: Level


class Propagation(PolicyModel):
    datasets: Mode
    models: Mode


class Rule(PolicyModel):
    title: str
    severity: BySeverity
    variants: dict[str, BySeverity] = Field(default_factory=dict)
    propagate: Propagation
    anonymisation: Literal["stops", "review", "none"] = "none"
    # which columns carry the condition: where a dataset's columns are classified and column lineage
    # is known, the condition travels only through those (none: the whole table, as integrity does)
    columns: Literal["personal", "special_category", "none"] = "none"
    time_scoped: bool = False
    applies_from: dict[Tier, date] = Field(default_factory=dict)
    citations: list[str] = Field(min_length=1)
    note: str = Field(min_length=1)
    actions: list[str] = Field(min_length=1)

    def severity_for(self, tier: str, variant: str | None = None) -> str:
        table = self.variants.get(variant) if variant else None
        return getattr(table or self.severity, tier)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


class PolicySettings(PolicyModel):
    erasure_deadline: Duration = timedelta(days=30)
    erasure_due_soon: Duration = timedelta(days=7)
    deidentification_max_age: Duration = timedelta(days=365)


class Policy(PolicyModel):
    version: int = 1
    tiers: dict[str, Tier]
    settings: PolicySettings = Field(default_factory=PolicySettings)
    conditions: dict[str, Rule]
    source: list[str] = Field(default_factory=list, description="the files this policy was read from")

    @model_validator(mode="after")
    def _complete(self) -> "Policy":
        missing = [c for c in CONDITIONS if c not in self.conditions]
        unknown = [c for c in self.conditions if c not in CONDITIONS]
        if missing:
            raise ValueError(f"no rule for {', '.join(missing)}")
        if unknown:
            raise ValueError(f"unknown condition {', '.join(unknown)}; expected one of {', '.join(CONDITIONS)}")
        return self

    def tier_of(self, risk_tier: str | None) -> str:
        """The policy tier of an AI Act risk tier; an unknown one is priced as high until someone sets it."""
        if risk_tier is None:
            return "high"
        return self.tiers.get(risk_tier, "other")


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base.get(key), value) if key in base else value
        return merged
    return override


def _read(path: Path) -> tuple[dict, Any]:
    document, problems = read_document(path)
    if problems:
        raise InvalidCatalogFile(problems, what="the policy file")
    return document.data, document


@lru_cache(maxsize=1)
def _default() -> dict:
    return _read(DEFAULT)[0]


def load_policy(override: Path | None = None) -> Policy:
    """The default policy, with `override` merged over it; InvalidCatalogFile names file and line."""
    data = _default()
    sources = [str(DEFAULT)]
    document = None
    if override is not None:
        extra, document = _read(Path(override).resolve())
        unknown = [name for name in (extra.get("conditions") or {}) if name not in CONDITIONS]
        if unknown:
            import difflib

            problems = []
            for name in unknown:
                close = difflib.get_close_matches(name, CONDITIONS, n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"expected one of: {', '.join(CONDITIONS)}"
                problems.append(Problem(str(override), f"conditions.{name}", f"unknown condition; {hint}",
                                        document.line_of(("conditions", name))))
            raise InvalidCatalogFile(problems, what="the policy file")
        data = _merge(data, extra)
        sources.append(str(override))
    try:
        return Policy.model_validate({**data, "source": sources})
    except ValidationError as exc:
        from catalog.document import format_loc

        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            line = document.line_of(loc) if document is not None else None
            problems.append(Problem(str(override or DEFAULT), format_loc(loc), error["msg"], line))
        raise InvalidCatalogFile(problems, what="the policy file") from None
