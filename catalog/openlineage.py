"""OpenLineage ingestion: RunEvent, DatasetEvent and JobEvent, as Marquez's `POST /api/v1/lineage` takes them.

`parse_event(obj)` validates one event and returns a `ParsedEvent`, or raises `InvalidEvent` naming the
JSON path at fault (`run.runId: expected a UUID`). `ingest_events(store, events)` validates a whole
batch first, then keeps every new event raw and maps it onto the catalog, all in ONE transaction: an
invalid event anywhere in the batch means nothing of the batch is written. Ingesting an event again
is a no-op (events are identified by the SHA-256 of their canonical JSON), so senders may retry freely.

Validation (spec 2-0-2, `catalog/openlineage_spec/`, copied unchanged from OpenLineage 1.52.0)
---------------------------------------------------------------------------------------------
* The kind is told from the body's shape, the way the spec's `oneOf` does (not from `schemaURL`):
  `run` and `job` -> RunEvent; `dataset` without `job` -> DatasetEvent (a `run` there is ignored);
  `job` without `run` and without `dataset` -> JobEvent. `dataset` + `job` without `run` matches both
  DatasetEvent and JobEvent and is rejected, as the spec does; so is `run` without `job`.
* Required everywhere: `eventTime` (RFC 3339 date-time; a missing UTC offset is read as UTC, as the
  Python client emits such values), `producer` and `schemaURL` (absolute URIs). RunEvent: `run.runId`
  (a UUID), `job.namespace`, `job.name`, `eventType` one of START RUNNING COMPLETE ABORT FAIL OTHER when
  given. Datasets: `namespace`, `name` (non-empty strings). Every facet is an object with `_producer`
  and `_schemaURL`; `_deleted`, where given, is a boolean. Names and URIs may not hold NUL, and no
  value may be NaN or Infinity (neither is JSON, and PostgreSQL refuses both).
* Standard facets (run, job, dataset, input and output facets with a schema in `openlineage_spec/facets`)
  are validated against that schema with `jsonschema`, chosen by facet name and place; `uuid` and
  `date-time` formats are enforced there too. Custom facets need only `_producer` and `_schemaURL`.
* Unknown fields and unknown facets are kept: the raw event is stored exactly as received, and every
  dataset and job facet is kept on the dataset or job. The one facet name refused is `_eventTimes`,
  Headwater's own bookkeeping (below).

Limits (`catalog/openlineage_limits.py`; `EventLimits`, from the environment at the entry points)
---------------------------------------------------------------------------------------------------
An event is a claim by whoever holds a write token, and the newest claim wins, so:
* `eventTime` may be at most 5 minutes ahead of the server's clock (`HEADWATER_MAX_CLOCK_SKEW`, a
  duration: `10s`, `5min`, `1h`); later is refused naming `eventTime`, never clamped. A date-time
  with no UTC equivalent (`0001-01-01T00:00:00+01:00`, `9999-12-31T23:59:59-01:00`) is refused too.
* One event may write at most 10,000 derivation edges (`HEADWATER_MAX_EDGES_PER_EVENT`), counted as
  distinct inputs x distinct outputs (AI-model outputs included) of a START, RUNNING or COMPLETE
  RunEvent or a JobEvent. A run writes the union of its events' inputs and outputs, so an event that
  would take its run past the limit is refused as well (found while mapping). Past the limit the
  event is refused whole, with the number of edges it would write and the limit, and nothing of its
  batch is written: lineage is never silently truncated.
* A batch's answer lists at most the first 20 invalid events; the others are counted. After the
  20th, nothing more is validated: non-objects are counted as invalid, objects as not checked.
* A batch whose derivations would close a cycle (job 1 writes B from A, job 2 writes A from B; or
  with a catalog file's edge) is refused with `LineageCycle`, naming the cycle's datasets and the
  job (or catalog file) behind each edge; nothing of it is written (`catalog/openlineage_cycles.py`).

Mapping (Marquez style)
-----------------------
* `lineage_events` keeps each new event raw (kind, eventType, eventTime, runId, job, producer, payload).
* Jobs: `job.namespace`/`job.name` -> a job; its facets are merged into `jobs.facets` (a facet sent
  again replaces the stored one; `_deleted: true` removes it); `documentation.description` -> description.
* Datasets: every input and output (and a DatasetEvent's `dataset`) -> a dataset keyed by namespace
  and name. Dataset facets, input facets and output facets are merged into `datasets.facets` by name
  (the newest event wins; `_deleted: true` removes). Fields filled from facets:
    - `documentation.description` -> description
    - `ownership.owners[].name` (joined with ", ") -> owner
    - `dataSource.uri` -> location, when it names a readable file (`file` URI or namespace, absolute
      .csv/.parquet/.jsonl path) or is a SQLAlchemy URL whose dialect is installed and which names a
      database (the location is then `URL#table`); anything else (`postgres://host:5432`, `bigquery`)
      stays in the facet only.
    - `lifecycleStateChange` DROP -> tag `dropped`; CREATE or OVERWRITE -> the tag is removed.
  `schema`, `symlinks`, `columnLineage`, `dataQualityAssertions`, `dataQualityMetrics`, statistics and
  every other facet are kept in `datasets.facets` only. A facet never writes a null over a field, and
  a dataset declared in a catalog file keeps every field its file gave a value: OpenLineage only fills
  the blanks there (the catalog file is the governance record; reloading it would undo an override).
* Runs (`lineage_runs`): each run accumulates the union of the inputs and outputs of its START,
  RUNNING and COMPLETE events (a START that lists inputs and a COMPLETE that lists outputs add up).
  FAIL, ABORT and OTHER events still create datasets and keep facets but add no lineage. A JobEvent's
  inputs and outputs are the job's declared (static) lineage and count as one run of their own.
* Derivations: for each (job, output dataset), the edges are input -> output for every input of that
  job's *latest run that wrote the output* (newest by eventTime of its lineage events; an input that
  is the output itself, such as an in-place update, adds no edge). They carry the job and
  `source="openlineage"` and are written with `Writer.replace_derivations`, so re-sending changes
  nothing. A newer run of the job with other inputs replaces that job's edges into the output; a late
  event of an older run changes nothing; a newer run that writes elsewhere leaves the output's edges
  alone (its content still comes from the earlier run); edges from other jobs and from catalog files
  are never touched.
* The newest event wins per facet, whatever the arrival order: `datasets.facets["_eventTimes"]` (and
  `jobs.facets["_eventTimes"]`) maps each facet name to the eventTime of the event that last set or
  deleted it, and a facet (with the fields it fills: owner, description, location, the `dropped`
  tag) changes only for an event at least as new. An older event arriving in a later request is
  still kept raw, and still adds its datasets and its run, but overwrites nothing newer (Marquez
  lets the latest arrival win; a replayed old event could then rewrite an owner). Equal times: the
  later arrival wins. Rows written before this bookkeeping take any event, once.
* The store revision moves only when datasets, jobs, models or edges change; storing raw events, run
  state or facet times alone does not invalidate lineage caches.
* A feed row is one per (model, dataset, role): where a catalog file declared the feed, that row stays
  the catalog's, and a catalog file that later declares a feed OpenLineage reported takes it over.

AI models: the `headwater_model` output facet
---------------------------------------------
An output declares that the run produced an AI model (rather than a dataset) with a custom facet named
`headwater_model`, in the output's `outputFacets` (or, equally, its `facets`)::

    "outputFacets": {"headwater_model": {
        "_producer": "https://github.com/acme/training/tree/v3",          # required (base facet)
        "_schemaURL": "https://headwater.dev/spec/facets/1-0-0/HeadwaterModelFacet.json",  # required
        "name": "credit-scorer",        # optional; default: the output dataset's name
        "namespace": "acme-ml",         # optional; default: the output dataset's namespace
        "version": "3.2.0",             # optional string
        "riskTier": "high",             # required: prohibited | high | gpai | limited | minimal
        "deployed": true                # optional boolean
    }}

Inputs may say how the model used them with an input facet `headwater_feed` (in `inputFacets`, or
`facets`): {"_producer", "_schemaURL", "role": training | validation | test | fine_tuning | retrieval |
evaluation (default training), "fingerprint": "sha256:<64 hex>" (optional)}.

Such an output becomes a model (no dataset is created for it; to update a model declared in a catalog
file, give the facet that model's namespace and name); the inputs of the job's latest run that
declared the model become its feeds (`source="openlineage"`, replacing that model's earlier OpenLineage feeds), each with
its role, fingerprint and consumed_at = the eventTime of the first event of the run that listed it.
The version is updated from the facet; risk tier and deployed are set from it unless the model is
declared in a catalog file, whose values win. Both facets are validated: a bad `riskTier` is rejected
as `outputs[0].outputFacets.headwater_model.riskTier: expected one of ...`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator
from sqlalchemy import insert, select, tuple_

from catalog.errors import InvalidEvent, LineageCycle, LookalikeName
from catalog.names import how_they_differ, name_problem
from catalog.openlineage_cycles import closed_cycle, describe_cycle
from catalog.openlineage_facets import (  # noqa: F401 - location_from_data_source is part of this module's API
    EVENT_TIMES, DatasetChanges, JobChanges, location_from_data_source,
)
from catalog.openlineage_limits import (
    DEFAULT_LIMITS, EventLimits, check_event_time, check_fan_out, distinct_count, event_time_in_utc,
)
from catalog.retry import retry_lost_races
from catalog.schema import Dataset, Derivation, Feed, Job, LineageEvent, LineageRun
from catalog.spec import FeedRole, Fingerprint, RiskTier
from catalog.bulk import Bulk
from catalog.store import Store, Writer

SOURCE = "openlineage"
SPEC_DIR = Path(__file__).resolve().parent / "openlineage_spec"
EVENT_TYPES = ("START", "RUNNING", "COMPLETE", "ABORT", "FAIL", "OTHER")
LINEAGE_TYPES = frozenset({"START", "RUNNING", "COMPLETE"})
MODEL_FACET = "headwater_model"
FEED_FACET = "headwater_feed"

Kind = Literal["RunEvent", "DatasetEvent", "JobEvent"]
Key = tuple[str, str]

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S*")


# --- pydantic models of the core spec ------------------------------------------------------------

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
        if not _UUID.fullmatch(value):
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


class _RunEvent(_BaseEvent):
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


_EVENT_MODELS: dict[str, type[_BaseEvent]] = {"RunEvent": _RunEvent, "DatasetEvent": _DatasetEvent, "JobEvent": _JobEvent}


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


# --- parsed events -------------------------------------------------------------------------------

@dataclass
class DatasetRef:
    namespace: str
    name: str
    facets: dict[str, Any] = field(default_factory=dict)  # dataset facets, then input/output facets
    model: ModelFacet | None = None  # outputs: the headwater_model facet
    feed: FeedFacet | None = None  # inputs: the headwater_feed facet

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)

    @property
    def model_key(self) -> Key:
        assert self.model is not None
        return (self.model.namespace or self.namespace, self.model.name or self.name)


@dataclass
class JobRef:
    namespace: str
    name: str
    facets: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)


@dataclass
class ParsedEvent:
    kind: Kind
    event_time: datetime
    event_type: str | None
    producer: str
    schema_url: str
    raw: dict[str, Any]  # the event exactly as received
    digest: str = ""  # SHA-256 of its canonical JSON: what makes a re-sent event a duplicate
    run_id: str | None = None
    job: JobRef | None = None
    inputs: list[DatasetRef] = field(default_factory=list)
    outputs: list[DatasetRef] = field(default_factory=list)
    dataset: DatasetRef | None = None
    index: int | None = None  # position in the request's batch, for answers that name the event
    # the edge limit it was validated under; mapping holds its run to the same (`catalog.openlineage_limits`)
    max_edges: int = DEFAULT_LIMITS.max_edges_per_event

    @property
    def carries_lineage(self) -> bool:
        """Whether its inputs and outputs count as the lineage of its run."""
        return self.kind == "JobEvent" or (self.kind == "RunEvent" and self.event_type in LINEAGE_TYPES)

    @property
    def lineage_run_id(self) -> str | None:
        if self.kind == "RunEvent":
            return self.run_id
        if self.kind == "JobEvent":
            return "jobevent:" + self.event_time.astimezone(timezone.utc).isoformat()
        return None


def parse_event(obj: Any, *, limits: EventLimits = DEFAULT_LIMITS, now: datetime | None = None) -> ParsedEvent:
    """Validate one OpenLineage event; raise InvalidEvent naming the JSON path at fault.

    `now` is the server's clock (default: the current time), against which `limits` bounds how far
    ahead the event may be dated; `limits` also bounds the edges it may write.
    """
    if not isinstance(obj, dict):
        raise InvalidEvent("", f"expected a JSON object (an OpenLineage event), got {_json_type(obj)}")
    kind = _kind(obj)
    try:
        model = _EVENT_MODELS[kind].model_validate(obj)
    except ValidationError as exc:
        raise _pydantic_problem(exc, kind) from None
    _check_standard_facets(obj)
    try:
        digest = event_hash(obj)
    except UnicodeEncodeError:
        raise InvalidEvent("", "contains a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text") from None
    except ValueError:
        raise InvalidEvent("", "contains NaN or Infinity, which JSON does not allow") from None
    except TypeError as exc:
        raise InvalidEvent("", f"contains a value that is not JSON: {exc}") from None
    event_time = event_time_in_utc(parse_date_time(model.eventTime), model.eventTime)
    check_event_time(event_time, model.eventTime, limits, now or datetime.now(timezone.utc))
    event = ParsedEvent(
        kind=kind, event_time=event_time,
        event_type=model.eventType if isinstance(model, _RunEvent) else None,
        producer=model.producer, schema_url=model.schemaURL, raw=obj, digest=digest,
        max_edges=limits.max_edges_per_event,
    )
    if kind == "RunEvent":
        event.run_id = obj["run"]["runId"].lower()
    if kind in ("RunEvent", "JobEvent"):
        job = obj["job"]
        event.job = JobRef(job["namespace"], job["name"], dict(job.get("facets") or {}))
        event.inputs = [_dataset_ref(d, "inputs", i, "inputFacets") for i, d in enumerate(obj.get("inputs") or [])]
        event.outputs = [_dataset_ref(d, "outputs", i, "outputFacets") for i, d in enumerate(obj.get("outputs") or [])]
        _reserved(event.job.facets, "job.facets")
        if event.carries_lineage:
            check_fan_out(distinct_count(event.inputs), distinct_count(event.outputs), limits.max_edges_per_event)
    else:
        event.dataset = _dataset_ref(obj["dataset"], "dataset", None, None)
    return event


def _reserved(facets: dict[str, Any], where: str) -> None:
    """Refuse a facet named like Headwater's own bookkeeping, which would let an event reset it."""
    if EVENT_TIMES in facets:
        raise InvalidEvent(f"{where}.{EVENT_TIMES}", f"the facet name {EVENT_TIMES!r} is reserved by Headwater "
                                                     "(it keeps when each facet was last set); rename the facet")


def parse_events(objs: Iterable[Any], *, limits: EventLimits = DEFAULT_LIMITS,
                 now: datetime | None = None) -> list[ParsedEvent]:
    """Parse a batch; raise InvalidEvent for the first invalid one, carrying the first
    `limits.max_problems` of them in `errors`.

    The work is bounded too: once that many are found the batch is refused anyway, so what follows
    is not validated. Its non-objects are counted as invalid (`omitted`; counting them costs next to
    nothing) and its objects as not checked (`unchecked`): validating three million `{}` would cost
    half a minute of CPU, and an error object for each, gigabytes.
    """
    now = now or datetime.now(timezone.utc)
    items = objs if isinstance(objs, list) else list(objs)
    parsed: list[ParsedEvent] = []
    errors: list[InvalidEvent] = []
    for index, obj in enumerate(items):
        try:
            event = parse_event(obj, limits=limits, now=now)
        except InvalidEvent as exc:
            errors.append(InvalidEvent(exc.path, exc.reason, index=index))
            if len(errors) == limits.max_problems:
                rest = items[index + 1:]
                objects = list(map(type, rest)).count(dict)  # in C, not one by one: five million take a blink
                raise InvalidEvent.of_batch(errors, omitted=len(rest) - objects, unchecked=objects,
                                            limit=limits.max_problems) from None
            continue
        if not errors:  # once one is invalid the batch is refused: keep nothing more
            event.index = index
            parsed.append(event)
    if errors:
        raise InvalidEvent.of_batch(errors, limit=limits.max_problems)
    return parsed


def _kind(obj: dict[str, Any]) -> Kind:
    if "run" in obj and "job" in obj:
        return "RunEvent"
    if "dataset" in obj:
        if "job" in obj:
            raise InvalidEvent("", "an event with 'dataset' and 'job' but no 'run' is both a DatasetEvent and a "
                                   "JobEvent, which the spec forbids; send 'dataset' alone, or 'job' without 'dataset'")
        return "DatasetEvent"
    if "job" in obj:
        return "JobEvent"
    if "run" in obj:
        raise InvalidEvent("job", "required field is missing (a RunEvent needs 'run' and 'job')")
    raise InvalidEvent("", "not an OpenLineage event: expected a RunEvent ('run' and 'job'), "
                           "a DatasetEvent ('dataset') or a JobEvent ('job')")


def _dataset_ref(raw: dict[str, Any], side: str, index: int | None, extra: str | None) -> DatasetRef:
    ref = DatasetRef(raw["namespace"], raw["name"], dict(raw.get("facets") or {}))
    where = side if index is None else f"{side}[{index}]"
    _reserved(ref.facets, f"{where}.facets")
    extra_facets = dict(raw.get(extra) or {}) if extra else {}
    if extra:
        _reserved(extra_facets, f"{where}.{extra}")
    ref.facets.update(extra_facets)
    if extra == "outputFacets":
        found = _custom_facet(raw, extra, MODEL_FACET)
        if found:
            ref.model = _custom(ModelFacet, found[1], f"{where}.{found[0]}.{MODEL_FACET}")
    elif extra == "inputFacets":
        found = _custom_facet(raw, extra, FEED_FACET)
        if found:
            ref.feed = _custom(FeedFacet, found[1], f"{where}.{found[0]}.{FEED_FACET}")
    return ref


def _custom_facet(raw: dict[str, Any], extra: str, name: str) -> tuple[str, Any] | None:
    for place in (extra, "facets"):
        facets = raw.get(place) or {}
        if name in facets and not (isinstance(facets[name], dict) and facets[name].get("_deleted") is True):
            return place, facets[name]
    return None


def _custom(model: type[BaseModel], raw: Any, where: str) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InvalidEvent(_join(where, error["loc"]), _explain(error)) from None


# --- error messages ------------------------------------------------------------------------------

def _join(prefix: str, loc: Sequence[Any]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


_EXPECTED = {
    "string_type": "a string", "dict_type": "an object", "model_type": "an object", "list_type": "an array",
    "bool_type": "true or false", "int_type": "an integer",
}


def _explain(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required field is missing"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_json_type(error.get('input'))}"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"expected one of {expected.replace(chr(39), '')}, got {error.get('input')!r}"
    message = error["msg"].removeprefix("Value error, ")
    return message


def _pydantic_problem(exc: ValidationError, kind: str) -> InvalidEvent:
    error = exc.errors()[0]
    loc = list(error["loc"])
    reason = _explain(error)
    if error["type"] == "missing" and len(loc) == 1 and loc[0] in ("run", "job", "dataset"):
        reason += f" (a {kind} needs it)"
    return InvalidEvent(_join("", loc), reason)


# --- standard facets, against their own schemas ---------------------------------------------------

class _FacetSchemas:
    """(core facet type, facet name) -> a jsonschema validator, from the bundled spec files."""

    def __init__(self) -> None:
        from jsonschema import Draft202012Validator, FormatChecker
        from referencing import Registry, Resource

        core = json.loads((SPEC_DIR / "OpenLineage.json").read_text(encoding="utf-8"))
        files = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((SPEC_DIR / "facets").glob("*.json"))]
        registry = Registry().with_resources((s["$id"], Resource.from_contents(s)) for s in [core, *files])
        formats = FormatChecker(formats=())

        @formats.checks("uuid")
        def _is_uuid(value: Any) -> bool:
            return not isinstance(value, str) or _UUID.fullmatch(value) is not None

        @formats.checks("date-time", raises=ValueError)
        def _is_date_time(value: Any) -> bool:
            if isinstance(value, str):
                parse_date_time(value)
            return True

        self.validators: dict[tuple[str, str], tuple[str, Any]] = {}
        for facet_file in files:
            title = facet_file["$id"].rsplit("/", 1)[1].removesuffix(".json")
            for key, prop in facet_file["properties"].items():
                refs = [prop] if "$ref" in prop else prop.get("anyOf", []) + prop.get("oneOf", [])
                for ref in refs:
                    name = ref["$ref"].rsplit("/", 1)[1]
                    for parent in self._parents(core["$id"], facet_file, name):
                        validator = Draft202012Validator({"$ref": f"{facet_file['$id']}#/$defs/{name}"},
                                                         registry=registry, format_checker=formats)
                        self.validators[(parent, key)] = (title, validator)
        self._cache: dict[tuple[str, str, str], InvalidEvent | None] = {}

    @classmethod
    def _parents(cls, core_id: str, facet_file: dict[str, Any], name: str) -> set[str]:
        definition = facet_file["$defs"][name]
        found = set()
        for part in definition.get("allOf", []):
            if part.get("$ref", "").startswith(core_id):
                found.add(part["$ref"].rsplit("/", 1)[1])
        for part in definition.get("oneOf", []) + definition.get("anyOf", []):
            if part.get("$ref", "").startswith("#/$defs/"):
                found |= cls._parents(core_id, facet_file, part["$ref"].rsplit("/", 1)[1])
        return found

    def check(self, facet_type: str, key: str, facet: Any, where: str) -> None:
        entry = self.validators.get((facet_type, key))
        if entry is None:
            return
        cache_key = (facet_type, key, repr(facet))  # repr tells JSON values apart (1, 1.0, True) and is cheap
        if cache_key in self._cache:
            problem = self._cache[cache_key]
        else:
            problem = self._first_problem(entry, facet)
            if len(self._cache) >= 8192:
                self._cache.clear()
            self._cache[cache_key] = problem
        if problem is not None:
            raise InvalidEvent(f"{where}.{key}{problem.path}", problem.reason)

    @staticmethod
    def _first_problem(entry: tuple[str, Any], facet: Any) -> InvalidEvent | None:
        from jsonschema.exceptions import best_match

        title, validator = entry
        error = best_match(validator.iter_errors(facet))
        if error is None:
            return None
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = next((p for p in error.validator_value if p not in error.instance), None)
            path += f".{missing}" if missing else ""
            reason = "required field is missing"
        elif error.validator == "type":
            wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
            names = {"integer": "an integer", "number": "a number", "string": "a string", "object": "an object",
                     "array": "an array", "boolean": "true or false", "null": "null"}
            reason = f"expected {' or '.join(names.get(w, w) for w in wanted)}, got {json.dumps(error.instance)[:60]}"
        elif error.validator == "format":
            reason = {"uuid": "expected a UUID", "date-time": "expected an ISO 8601 date-time"}.get(error.validator_value, f"expected a {error.validator_value}")
        elif error.validator == "enum":
            reason = f"expected one of {', '.join(map(str, error.validator_value))}, got {json.dumps(error.instance)[:60]}"
        else:
            reason = error.message
        return InvalidEvent(path, f"{reason} ({title} schema)")


@lru_cache(maxsize=1)
def _facet_schemas() -> _FacetSchemas:
    return _FacetSchemas()


def _check_standard_facets(obj: dict[str, Any]) -> None:
    schemas = _facet_schemas()

    def facets_of(holder: Any, key: str) -> dict[str, Any]:
        value = holder.get(key) if isinstance(holder, dict) else None
        return value if isinstance(value, dict) else {}

    places = [("run.facets", "RunFacet", facets_of(obj.get("run"), "facets")),
              ("job.facets", "JobFacet", facets_of(obj.get("job"), "facets")),
              ("dataset.facets", "DatasetFacet", facets_of(obj.get("dataset"), "facets"))]
    for side, extra, extra_type in (("inputs", "inputFacets", "InputDatasetFacet"),
                                    ("outputs", "outputFacets", "OutputDatasetFacet")):
        for i, dataset in enumerate(obj.get(side) or []):
            places.append((f"{side}[{i}].facets", "DatasetFacet", facets_of(dataset, "facets")))
            places.append((f"{side}[{i}].{extra}", extra_type, facets_of(dataset, extra)))
    for where, facet_type, facets in places:
        for key, facet in facets.items():
            if isinstance(facet, dict) and facet.get("_deleted") is True:
                continue  # a deletion marker carries no body to check
            schemas.check(facet_type, key, facet, where)




# --- ingestion -----------------------------------------------------------------------------------

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


def event_hash(obj: Any) -> str:
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def ingest_events(store: Store, events: Iterable[Any], *, attempts: int = 5,
                  limits: EventLimits = DEFAULT_LIMITS) -> IngestResult:
    """Validate every event, then store and map the new ones in one transaction (all or nothing).

    Raises InvalidEvent (nothing written) when any event is invalid, is dated too far ahead, would
    write more edges than `limits` allow, or would close a derivation cycle (LineageCycle). Writers
    racing on the same new dataset, job or event (one of them hits a unique constraint) or
    deadlocking on PostgreSQL retry the whole transaction, so concurrent API workers never lose a batch.
    """
    return ingest_parsed(store, [parse_events(events, limits=limits)], attempts=attempts)[0]


def ingest_parsed(store: Store, groups: Sequence[list[ParsedEvent]], *, attempts: int = 5) -> list[IngestResult]:
    """Store and map several already validated batches in ONE transaction, each with its own result.

    This is the API's group commit: many small requests share one commit instead of paying one each,
    and each still learns what its own events did. All groups are written or none is; a lost race
    retries the whole transaction, as `ingest_events` does.
    """

    def write() -> list[IngestResult]:
        with store.transaction() as writer:
            if len(groups) == 1:
                return [_Ingestion(writer, groups[0]).run()]
            # one mapping pass over every group's events: per-request passes would cost 5x as much
            ingestion = _Ingestion(writer, [event for group in groups for event in group])
            shared = ingestion.run()
            return [_share(shared, group, ingestion.new, len(groups) - 1) for group in groups]

    results = retry_lost_races(write, attempts=attempts)
    revision = store.revision()
    for result in results:
        result.revision = revision
    return results


def _share(shared: IngestResult, group: list[ParsedEvent], new: set[int], others: int) -> IngestResult:
    """One request's answer from a shared transaction: its own event counts, the transaction's row counts."""
    stored = sum(1 for event in group if id(event) in new)
    kinds = {kind: sum(1 for event in group if event.kind == kind) for kind in ("RunEvent", "DatasetEvent", "JobEvent")}
    return shared.model_copy(update={
        "events": len(group), "stored": stored, "duplicates": len(group) - stored, "run_events": kinds["RunEvent"],
        "dataset_events": kinds["DatasetEvent"], "job_events": kinds["JobEvent"], "shared_with": others,
    })


def _chunks(items: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class _Ingestion:
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
        self.datasets: dict[Key, Dataset] = {}
        self.jobs: dict[Key, Job] = {}
        self.new: set[int] = set()  # id() of the events stored by this call (the others were duplicates)
        self.created: dict[str, set[Key]] = {"dataset": set(), "model": set()}  # for the lookalike check

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
                difference = how_they_differ(":".join(key), ":".join(other))
                raise LookalikeName(path, f"the {kind} '{key[1]}' (namespace '{key[0]}') looks like the {kind} "
                                          f"'{shown}': {difference}; name it as that one, or so nobody can mistake it",
                                    index=index)

    def _where_named(self, key: Key) -> tuple[int | None, str]:
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
        for chunk in _chunks(sorted(set(hashes))):
            known.update(self.session.scalars(select(LineageEvent.payload_hash).where(LineageEvent.payload_hash.in_(chunk))))
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
            self.session.execute(insert(LineageEvent), list(chunk))
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
        touched = self._fold_runs(events)
        if touched:
            self._apply_lineage(touched)

    def _load_datasets(self, keys: Iterable[Key]) -> None:
        wanted = sorted(set(keys) - self.datasets.keys())
        for chunk in _chunks(wanted):
            for row in self.session.scalars(select(Dataset).where(tuple_(Dataset.namespace, Dataset.name).in_(chunk))):
                self.datasets[(row.namespace, row.name)] = row

    def _load_jobs(self, keys: Iterable[Key]) -> None:
        wanted = sorted(set(keys) - self.jobs.keys())
        for chunk in _chunks(wanted):
            for row in self.session.scalars(select(Job).where(tuple_(Job.namespace, Job.name).in_(chunk))):
                self.jobs[(row.namespace, row.name)] = row

    def _apply_jobs(self, changes: dict[Key, JobChanges]) -> None:
        self._load_jobs(changes)
        for key, change in sorted(changes.items()):  # one order for every writer: no deadlocks between them
            row = self.jobs.get(key)
            if row is None:
                row = self.writer.upsert_job(*key)
                self.jobs[key] = row
                change.apply(self.writer, row)
                self.result.jobs_created += 1
            elif change.apply(self.writer, row) == "updated":
                self.result.jobs_updated += 1

    def _apply_datasets(self, changes: dict[Key, DatasetChanges]) -> None:
        self._load_datasets(changes)
        for key, change in sorted(changes.items()):  # one order for every writer: no deadlocks between them
            self.datasets[key], outcome = change.apply(self.writer, self.datasets.get(key), key)
            if outcome == "created":
                self.created["dataset"].add(key)
                self.result.datasets_created += 1
            elif outcome == "updated":
                self.result.datasets_updated += 1
        self.session.flush()

    def _ensure_datasets(self, keys: Iterable[Key]) -> None:
        """Rows for datasets a stored run names (created bare if someone deleted them since)."""
        keys = set(keys)
        self._load_datasets(keys)
        for key in sorted(keys - self.datasets.keys()):
            self.datasets[key], _ = self.writer.upsert_dataset(*key, {"facets": {}})
            self.created["dataset"].add(key)
            self.result.datasets_created += 1

    # --- runs ------------------------------------------------------------------------------------
    def _fold_runs(self, events: list[ParsedEvent]) -> list[LineageRun]:
        """Fold each run's events into its `lineage_runs` row; return the rows whose lineage changed."""
        pairs = {(self.jobs[e.job.key].id, e.lineage_run_id) for e in events if e.job is not None}
        runs: dict[tuple[int, str], LineageRun] = {}
        for chunk in _chunks(sorted(pairs)):
            for row in self.session.scalars(select(LineageRun).where(tuple_(LineageRun.job_id, LineageRun.run_id).in_(chunk))):
                runs[(row.job_id, row.run_id)] = row
        touched: dict[tuple[int, str], LineageRun] = {}
        for event in events:
            if event.job is None:
                continue
            key = (self.jobs[event.job.key].id, event.lineage_run_id or "")
            row = runs.get(key)
            if row is None:
                row = LineageRun(job_id=key[0], run_id=key[1], event_time=event.event_time, state=event.event_type,
                                 has_outputs=False, inputs=[], outputs=[], models=[])
                self.session.add(row)
                runs[key] = row
            if event.event_time >= row.event_time:
                row.event_time, row.state = event.event_time, event.event_type
            if event.carries_lineage and _fold_lineage(row, event):
                self._check_run_fan_out(row, event)
                touched[key] = row
        self.session.flush()
        return [row for row in touched.values() if row.has_outputs]

    def _check_run_fan_out(self, row: LineageRun, event: ParsedEvent) -> None:
        """A run writes every input x every output of its events together: bound the union, not only each event."""
        assert event.job is not None
        try:
            check_fan_out(len(row.inputs), len(row.outputs) + len(row.models), event.max_edges,
                          what=f"with this event, run {row.run_id} of job {event.job.namespace}:{event.job.name}")
        except InvalidEvent as exc:
            raise InvalidEvent(exc.path, exc.reason, index=event.index) from None

    def _defining_runs(self, touched: list[LineageRun]) -> tuple[dict[tuple[int, Key], LineageRun], dict[tuple[int, Key], LineageRun]]:
        """(job id, output) -> the touched run that now defines it: the job's newest run that wrote it.

        Returned separately for dataset outputs and for model outputs. A touched run that an even newer
        run of its job supersedes for some output defines nothing for that output.
        """
        job_ids = sorted({run.job_id for run in touched})
        since = min(run.lineage_time for run in touched)  # type: ignore[type-var]
        candidates = self.session.scalars(select(LineageRun).where(
            LineageRun.job_id.in_(job_ids), LineageRun.has_outputs.is_(True), LineageRun.lineage_time >= since,
        )).all()
        newest_outputs: dict[tuple[int, Key], LineageRun] = {}
        newest_models: dict[tuple[int, Key], LineageRun] = {}
        for run in candidates:
            rank = (run.lineage_time, run.run_id)
            for output in run.outputs:
                key = (run.job_id, (output[0], output[1]))
                best = newest_outputs.get(key)
                if best is None or rank > (best.lineage_time, best.run_id):
                    newest_outputs[key] = run
            for model in run.models:
                key = (run.job_id, (model["namespace"], model["name"]))
                best = newest_models.get(key)
                if best is None or rank > (best.lineage_time, best.run_id):
                    newest_models[key] = run
        mine = {id(run) for run in touched}
        return ({k: r for k, r in newest_outputs.items() if id(r) in mine},
                {k: r for k, r in newest_models.items() if id(r) in mine})

    # --- derivations and models ------------------------------------------------------------------
    def _apply_lineage(self, touched: list[LineageRun]) -> None:
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
        linked: set[tuple[int, int]] = set()  # (input, output) joined by any edge already, whoever declared it
        for chunk in _chunks(sorted(wanted)):
            rows = self.session.execute(select(Derivation.input_id, Derivation.output_id, Derivation.job_id,
                                               Derivation.source).where(Derivation.output_id.in_(chunk)))
            for input_id, output_id, job_id, source in rows:
                linked.add((input_id, output_id))
                if source == SOURCE:
                    before[output_id].add((input_id, job_id))
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
            Bulk(self.writer).replace_derivations(rewired, source=SOURCE)
            # only an edge between two datasets not yet joined can close a cycle; checked on what is now written
            joined = {(i, o) for o, after in rewired.items() for i, _job in after - before[o]} - linked
            if joined:
                self._refuse_cycles(joined, outputs)
        for (_job_id, key), run in sorted(models.items(), key=lambda item: (item[1].lineage_time, item[1].run_id)):
            spec = next(m for m in run.models if (m["namespace"], m["name"]) == key)
            self._apply_model(spec, run)

    def _refuse_cycles(self, joined: set[tuple[int, int]], outputs: dict[tuple[int, Key], LineageRun]) -> None:
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

    def _apply_model(self, spec: dict[str, Any], run: LineageRun) -> None:
        key = (spec["namespace"], spec["name"])
        row = self.writer.model(*key)
        fields: dict[str, Any] = {}
        if spec.get("version") is not None:
            fields["version"] = spec["version"]
        if row is None or row.catalog_file is None:
            fields["risk_tier"] = spec["riskTier"]
            if spec.get("deployed") is not None:
                fields["deployed"] = spec["deployed"]
        if row is None:
            row, _ = self.writer.upsert_model(*key, fields)
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


def _fold_lineage(row: LineageRun, event: ParsedEvent) -> bool:
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
    models = {(m["namespace"], m["name"]): m for m in row.models or []}
    for ref in event.outputs:
        if ref.model is None:
            outputs.add(ref.key)
            continue
        key = ref.model_key
        if key not in models or datetime.fromisoformat(models[key]["time"]) <= at:
            models[key] = {"namespace": key[0], "name": key[1], "version": ref.model.version,
                           "riskTier": ref.model.riskTier, "deployed": ref.model.deployed, "time": stamp}
    row.inputs = [inputs[k] for k in sorted(inputs)]
    row.outputs = [list(o) for o in sorted(outputs)]
    row.models = [models[k] for k in sorted(models)]
    row.has_outputs = bool(row.outputs or row.models)
    return (row.lineage_time, row.inputs, row.outputs, row.models) != before
