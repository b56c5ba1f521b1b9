"""What a GET answers for a dataset or a model, derived field by field from the catalog-file spec.

A GET must return every field a PUT accepts, or a governance fact (a TDM reservation, a bias
examination) goes in and never comes out again. So those fields are listed once, in
`catalog/spec.py`: `DatasetPublic` and `ModelPublic` are built from `DatasetSpec` and `ModelSpec`.
A field added to the spec is in the answers without a line here when the store keeps it in a
column of its name; otherwise reading a row fails loudly (and tests/api/test_round_trip.py with it)
until a reader says where it is. How a stored value is shown is said per type, not per field:

- input rules (lengths, name checks, enumerations) are dropped: an answer shows what the store
  holds, and a value stored under older rules must not turn a GET into a 500;
- durations are shown as people write them (`2d`), a nested entry (`licence`, `tdm_reservation`…)
  as its own public shape, a missing list as an empty one.

Where the store keeps a field elsewhere than in a column of its name, `catalog/columns.py` or a reader in
`dataset_public` / `model_public` says so: `location` is shown with every credential masked
(catalog/secrets.py), `expectations` as how many the suite holds (the answer has always been the
count), and the references (`derived_from`, `job`, `base_model`, `trained_on`) are read from the
edges that catalog files and PUTs declared.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, Field, create_model

from catalog.columns import NESTED, is_nested, nested_spec
from catalog.durations import format_duration
from catalog.ids import Key, Kind, ModelKey, node_id
from catalog.locations import shown_location
from catalog.schema import Dataset, Model
from catalog.spec import DatasetSpec, ModelSpec

SOURCES = ("which source set each field, and when: {field: {source: catalog | openlineage | mlflow | dbt | "
           "huggingface | croissant, at}} (catalog/field_sources.py)")
IDENTITY = ("namespace", "name")  # in the spec they name the entry; in an answer they come with its id


Input = tuple[Key, str | None]  # an input dataset of a derivation, and the name of the job on the edge


def public_type(annotation: Any) -> Any:
    """The type a spec field's stored value is shown with: the spec's type without its input rules."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return public_type(get_args(annotation)[0])
    if origin is Literal:
        return str
    if origin is Union or origin is UnionType:
        return Union[tuple(public_type(arg) for arg in get_args(annotation))]  # built at run time from the spec
    if origin is list:
        return list[public_type(get_args(annotation)[0])]  # type: ignore[misc]
    if annotation is timedelta:
        return str
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _public_twin(annotation)
    return annotation


def shown(annotation: Any, value: Any) -> Any:
    """A stored value as `public_type(annotation)` shows it."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return shown(get_args(annotation)[0], value)
    if origin is Union or origin is UnionType:
        if value is None:
            return None
        (present, *_) = [arg for arg in get_args(annotation) if arg is not type(None)]
        return shown(present, value)
    if origin is list:
        return [shown(get_args(annotation)[0], item) for item in value or []]
    if annotation is timedelta:
        return format_duration(value) if value else None  # a zero duration reads as none, as it always has
    return value


_twins: dict[type[BaseModel], type[BaseModel]] = {}


def _public_twin(spec: type[BaseModel]) -> type[BaseModel]:
    """`LicenceSpec` → `LicencePublic`: the same fields, shown as stored values are."""
    if spec not in _twins:
        name = spec.__name__.removesuffix("Spec") + "Public"
        _twins[spec] = create_model(name, __doc__=spec.__doc__, **_fields(spec, skip=()))  # type: ignore[call-overload]
    return _twins[spec]


def _fields(spec: type[BaseModel], *, skip: tuple[str, ...], overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Field definitions for `create_model`, one per spec field, in the spec's order; all required,
    since an answer always holds every field (`null` when unset)."""
    overrides = overrides or {}
    return {
        name: overrides.get(name, (public_type(info.annotation), Field(description=info.description)))
        for name, info in spec.model_fields.items() if name not in skip
    }


DatasetPublic = create_model(  # type: ignore[call-overload]
    "DatasetPublic", __doc__="A dataset as the catalog holds it: every field its entry accepts, and where it was declared.",
    id=(str, ...), namespace=(str, ...), name=(str, ...),
    **_fields(DatasetSpec, skip=IDENTITY, overrides={
        "expectations": (int, Field(description="how many expectations its suite holds")),
    }),
    catalog_file=(str | None, ...), catalog_line=(int | None, ...),
    field_sources=(dict[str, Any], Field(description=SOURCES)), created_at=(datetime, ...), updated_at=(datetime, ...),
)

ModelPublic = create_model(  # type: ignore[call-overload]
    "ModelPublic", __doc__="One version of a model as the catalog holds it: every field its entry accepts.",
    id=(str, ...), namespace=(str, ...), name=(str, ...),
    **_fields(ModelSpec, skip=IDENTITY, overrides={
        "version": (str, Field(description="this version; the id ends in @VERSION")),
        "risk_tier": (str | None, Field(description="the AI Act risk tier; null when the registry the version came "
                                                    "from did not say (a risk_tier_unknown finding)")),
    }),
    source=(str, Field(description="where this version came from: catalog, api, openlineage, mlflow")),
    registered_at=(datetime | None, Field(description="when the version was registered where it came from")),
    versions=(list[str], Field(description="the ids of every version of this model, oldest first")),
    field_sources=(dict[str, Any], Field(description=SOURCES)), created_at=(datetime, ...), updated_at=(datetime, ...),
)


class Page(BaseModel):
    total: int
    limit: int
    offset: int


class DatasetPage(Page):
    items: list[DatasetPublic]  # type: ignore[valid-type]


class ModelPage(Page):
    items: list[ModelPublic]  # type: ignore[valid-type]


class ItemPage(Page):
    """A page of plain items: feeds, derivations or incidents, each a flat record with node ids."""

    items: list[dict[str, Any]]


# --- reading stored rows into the shapes -----------------------------------------------------------

def _nested(row: Any, prefix: str, spec: type[BaseModel]) -> dict[str, Any] | None:
    """A nested entry from its columns; none when a field it requires is unset (it was never declared)."""
    values = {name: shown(info.annotation, getattr(row, prefix + name)) for name, info in spec.model_fields.items()}
    if any(values[name] is None for name, info in spec.model_fields.items() if info.is_required()):
        return None
    return values


def _values(kind: Kind, spec: type[BaseModel], row: Any, readers: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """The answer's fields from a row: its id, then each spec field by its reader, its columns or its column."""
    values: dict[str, Any] = {"id": node_id(kind, row.namespace, row.name, row.version if kind == "model" else None),
                              "namespace": row.namespace, "name": row.name}
    for name, info in spec.model_fields.items():
        if name in IDENTITY:
            continue
        if name in readers:
            values[name] = readers[name]()
        elif is_nested(name, info.annotation):
            values[name] = _nested(row, NESTED[name], nested_spec(info.annotation))
        else:
            values[name] = shown(info.annotation, getattr(row, name))
    return values


def dataset_public(row: Dataset, inputs: list[Input], columns: list[Any] | None = None,
                   flows: dict[Key, list[tuple[str, str, str]]] | None = None) -> DatasetPublic:  # type: ignore[valid-type]
    """`inputs` are the dataset's declared derivations (catalog.reads.declared_inputs), `columns` and
    `flows` its declared columns and column flows (`declared_columns`, `declared_column_flows`)."""
    flows = flows or {}
    readers: dict[str, Callable[[], Any]] = {
        "location": lambda: shown_location(row.location),
        "expectations": lambda: len(row.expectations or []),
        "columns": lambda: [{"name": c.name, "type": c.type, "description": c.description,
                             "classifications": list(c.classifications or [])} for c in columns or ()],
        "derived_from": lambda: [_derivation(key, flows.get(key)) for key, _job in inputs],
        "job": lambda: next((job for _key, job in inputs if job), None),
    }
    return DatasetPublic(**_values("dataset", DatasetSpec, row, readers), catalog_file=row.catalog_file,
                         catalog_line=row.catalog_line, field_sources=row.field_sources or {},
                         created_at=row.created_at, updated_at=row.updated_at)


def model_public(row: Model, *, base: ModelKey | None, feeds: list[dict[str, Any]],
                 versions: list[str]) -> ModelPublic:  # type: ignore[valid-type]
    """`base` is the key of the model version it was fine-tuned from; `feeds` its declared feeds
    (catalog.reads.declared_feeds); `versions` every version of the model, oldest first."""
    readers: dict[str, Callable[[], Any]] = {
        "base_model": lambda: node_id("model", *base) if base else None,
        "trained_on": lambda: [{"dataset": node_id("dataset", *feed["dataset"]), "role": feed["role"],
                                "fingerprint": feed["fingerprint"], "at": feed["consumed_at"],
                                "features": feed.get("features")} for feed in feeds],
    }
    return ModelPublic(**_values("model", ModelSpec, row, readers), source=row.source, registered_at=row.registered_at,
                       versions=[node_id("model", row.namespace, row.name, version) for version in versions],
                       field_sources=row.field_sources or {}, created_at=row.created_at, updated_at=row.updated_at)


def _derivation(key: Key, flows: list[tuple[str, str, str]] | None) -> Any:
    """A `derived_from` entry as a PUT takes it: the input's id, or {dataset, columns, indirect}."""
    if not flows:
        return node_id("dataset", *key)
    columns: dict[str, list[str]] = {}
    for output, source, kind in flows:
        if output:
            columns.setdefault(output, []).append(source)
    return {"dataset": node_id("dataset", *key), "columns": columns,
            "indirect": [source for output, source, _ in flows if not output]}
