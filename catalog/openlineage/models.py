"""The OpenLineage core spec (2-0-2) as pydantic models, with Headwater's two custom facets.

These check the shape every event must have (required fields, UUIDs, RFC 3339 times, URIs, names
that show every character); standard facets are checked against their own JSON schemas in
`facet_schemas.py`. Unknown fields are allowed and kept: the raw event is what gets stored.
"""

from __future__ import annotations

import re
from pathlib import Path
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from catalog.names import name_problem
from catalog.spec import FeedRole, Fingerprint, RiskTier

# Headwater's own facets: their JSON schemas, published with the package and served by `headwater serve`
FACET_SCHEMA_DIR = Path(__file__).resolve().parent / "spec" / "headwater"
FACET_SCHEMAS = {path.stem: path for path in sorted(FACET_SCHEMA_DIR.glob("*.json"))}
LINEAGE_TYPES = frozenset({"START", "RUNNING", "COMPLETE"})  # the run states whose inputs and outputs are lineage
MODEL_FACET = "headwater_model"
FEED_FACET = "headwater_feed"
EVENT_TIMES = "_eventTimes"  # Headwater's bookkeeping facet: facet name -> eventTime of the event that last set it

Kind = Literal["RunEvent", "DatasetEvent", "JobEvent"]

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S*")


def parse_date_time(value: str) -> datetime:
    """RFC 3339, a missing offset read as UTC; raise ValueError otherwise (a bare date included)."""
    if not _DATE_TIME.fullmatch(value):
        raise ValueError("expected an ISO 8601 date-time such as 2026-11-25T08:00:00Z")
    try:
        parsed = datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("expected an ISO 8601 date-time such as 2026-11-25T08:00:00Z (this one is out of range)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _uri(value: str) -> str:
    if not _URI.fullmatch(value) or "\x00" in value:
        raise ValueError("expected a URI such as https://github.com/OpenLineage/OpenLineage/tree/1.52.0/client/python")
    return value


def _non_empty(value: str) -> str:
    if not value:
        raise ValueError("must not be empty")
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    problem = name_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class _Open(BaseModel):
    """Unknown fields are allowed (and kept: the raw event is what gets stored)."""

    model_config = ConfigDict(extra="allow", strict=True)


class _Facet(_Open):
    producer: str = Field(alias="_producer")
    schema_url: str = Field(alias="_schemaURL")


class _DeletableFacet(_Facet):
    deleted: StrictBool | None = Field(default=None, alias="_deleted")


class _Run(_Open):
    runId: str
    facets: dict[str, _Facet] | None = None

    @field_validator("runId")
    @classmethod
    def _run_id(cls, value: str) -> str:
        if not UUID.fullmatch(value):
            raise ValueError("expected a UUID")
        return value


class _Job(_Open):
    namespace: str
    name: str
    facets: dict[str, _DeletableFacet] | None = None

    check_names = field_validator("namespace", "name")(_non_empty)


class _Dataset(_Open):
    namespace: str
    name: str
    facets: dict[str, _DeletableFacet] | None = None

    check_names = field_validator("namespace", "name")(_non_empty)


class _InputDataset(_Dataset):
    inputFacets: dict[str, _Facet] | None = None


class _OutputDataset(_Dataset):
    outputFacets: dict[str, _Facet] | None = None


class _BaseEvent(_Open):
    eventTime: str
    producer: str
    schemaURL: str

    @field_validator("eventTime")
    @classmethod
    def _event_time(cls, value: str) -> str:
        parse_date_time(value)
        return value

    check_uris = field_validator("producer", "schemaURL")(_uri)


class RunEventModel(_BaseEvent):
    eventType: Literal["START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER"] | None = None
    run: _Run
    job: _Job
    inputs: list[_InputDataset] | None = None
    outputs: list[_OutputDataset] | None = None


class _DatasetEvent(_BaseEvent):
    dataset: _Dataset


class _JobEvent(_BaseEvent):
    job: _Job
    inputs: list[_InputDataset] | None = None
    outputs: list[_OutputDataset] | None = None


EVENT_MODELS: dict[str, type[_BaseEvent]] = {"RunEvent": RunEventModel, "DatasetEvent": _DatasetEvent, "JobEvent": _JobEvent}


class ModelFacet(_Facet):
    """`headwater_model`: this output is an AI model (see the module docstring)."""

    name: str | None = None
    namespace: str | None = None
    version: str | None = None
    riskTier: RiskTier
    deployed: StrictBool | None = None

    @field_validator("name", "namespace", "version")
    @classmethod
    def _names(cls, value: str | None) -> str | None:
        return value if value is None else _non_empty(value)


class FeedFacet(_Facet):
    """`headwater_feed`: how a training run used this input."""

    role: FeedRole = "training"
    fingerprint: Fingerprint | None = None
