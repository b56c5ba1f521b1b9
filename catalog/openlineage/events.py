"""Validating OpenLineage events: `parse_event` and `parse_events`, into `ParsedEvent`s.

The kind is told from the body's shape, as the spec's `oneOf` does (not from `schemaURL`); every
error names the JSON path at fault (`run.runId: expected a UUID`), and a batch's answer lists at
most `limits.max_problems` invalid events. What an event may claim (its time, its fan-out) is
bounded in `limits.py`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ValidationError

from catalog.errors import InvalidEvent
from catalog.ids import DEFAULT_VERSION, Key, ModelKey
from catalog.openlineage.facet_schemas import check_standard_facets
from catalog.openlineage.column_ingest import flow_count
from catalog.openlineage.limits import DEFAULT_LIMITS, EventLimits, check_event_time, check_column_flows, check_fan_out, distinct_count, event_time_in_utc
from catalog.openlineage.models import (
    EVENT_MODELS, EVENT_TIMES, FEED_FACET, LINEAGE_TYPES, MODEL_FACET, FeedFacet, Kind, ModelFacet, RunEventModel, parse_date_time,
)


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
    def model_key(self) -> ModelKey:
        """The model version this output is: the facet's names, else the dataset's; version "1" if none."""
        assert self.model is not None
        return (self.model.namespace or self.namespace, self.model.name or self.name,
                self.model.version or DEFAULT_VERSION)


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
    # the edge limit it was validated under; mapping holds its run to the same (`limits.py`)
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
        model = EVENT_MODELS[kind].model_validate(obj)
    except ValidationError as exc:
        raise _pydantic_problem(exc, kind) from None
    check_standard_facets(obj)
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
        event_type=model.eventType if isinstance(model, RunEventModel) else None,
        producer=model.producer, schema_url=model.schemaURL, raw=obj, digest=digest,
        max_edges=limits.max_edges_per_event,
    )
    if kind == "RunEvent":
        event.run_id = obj["run"]["runId"].lower()
    if kind in ("RunEvent", "JobEvent"):
        job = obj["job"]
        event.job = JobRef(job["namespace"], producer_job_name(job["name"], model.producer), dict(job.get("facets") or {}))
        event.inputs = [_dataset_ref(d, "inputs", i, "inputFacets") for i, d in enumerate(obj.get("inputs") or [])]
        event.outputs = [_dataset_ref(d, "outputs", i, "outputFacets") for i, d in enumerate(obj.get("outputs") or [])]
        _reserved(event.job.facets, "job.facets")
        if event.carries_lineage:
            check_fan_out(distinct_count(event.inputs), distinct_count(event.outputs), limits.max_edges_per_event)
        check_column_flows([flow_count(ref.facets) for ref in event.outputs], limits.max_edges_per_event)
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


DBT_PRODUCER = "/integration/dbt"
DBT_BUILD_RUN = ".build.run"


def producer_job_name(name: str, producer: str) -> str:
    """One job per producer of a table: dbt-ol names a model's job `X` under `dbt run` and `X.build.run`
    under `dbt build`, which would leave the edges of the other name standing after a ref is removed."""
    if DBT_PRODUCER in producer and name.endswith(DBT_BUILD_RUN):
        return name[:-len(DBT_BUILD_RUN)]
    return name


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
        else:
            ref.model = _standard_model(ref, where)
    elif extra == "inputFacets":
        found = _custom_facet(raw, extra, FEED_FACET)
        if found:
            ref.feed = _custom(FeedFacet, found[1], f"{where}.{found[0]}.{FEED_FACET}")
    return ref


def _standard_model(ref: DatasetRef, where: str) -> ModelFacet | None:
    """An output the spec's own `datasetType` facet calls a MODEL is a model version, its `version`
    facet's `datasetVersion` the version. The spec says nothing of risk, so the tier is unknown
    until someone sets it (a risk_tier_unknown finding), and the version is not taken as deployed."""
    kind = ref.facets.get("datasetType")
    if not isinstance(kind, dict) or kind.get("_deleted") is True or kind.get("datasetType") != "MODEL":
        return None
    if not ref.name.strip():
        raise InvalidEvent(f"{where}.name", "an output whose datasetType is MODEL needs a name: it names the model")
    version = ref.facets.get("version")
    number = version.get("datasetVersion") if isinstance(version, dict) and version.get("_deleted") is not True else None
    if number is not None and (not isinstance(number, str) or not number.strip()):
        raise InvalidEvent(f"{where}.facets.version.datasetVersion", "expected a non-empty string: the model's version")
    return ModelFacet.model_construct(name=None, namespace=None, version=number, riskTier=None, deployed=None)


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


def event_hash(obj: Any) -> str:
    canonical = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
