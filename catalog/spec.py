"""The catalog file's schema, validated with pydantic (every field is listed in docs/reference/catalog-file.md).

Unknown fields are errors, not silently ignored: a misspelt `licnse:` would otherwise drop a
licence from the governance record without anyone noticing.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from catalog.durations import parse_duration
from catalog.names import name_problem

Origin = Literal["internal", "vendor", "public", "scraped", "synthetic", "unknown"]
RiskTier = Literal["prohibited", "high", "gpai", "limited", "minimal"]
FeedRole = Literal["training", "validation", "test", "fine_tuning", "retrieval", "evaluation"]
IncidentKind = Literal[
    "breach", "poisoning", "tampering", "consent_withdrawn", "erasure_request", "objection",
    "licence_revoked", "other",
]
LegalBasis = Literal[
    "consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests",
]
# GDPR Art. 9(1) categories, plus Art. 10 criminal-offence data, under short names.
SpecialCategory = Literal[
    "ethnicity", "political_opinions", "religion", "trade_union", "genetic", "biometric", "health",
    "sex_life", "sexual_orientation", "criminal_offences",
]

# What a column can be marked as: personal data in general, its kinds, and each special category.
Classification = Literal[
    "personal_data", "direct_identifier", "pseudonymous", "free_text",
    "ethnicity", "political_opinions", "religion", "trade_union", "genetic", "biometric", "health",
    "sex_life", "sexual_orientation", "criminal_offences",
]

Day = date  # a second name for `date`, for models that have a field called `date`
FINGERPRINT = re.compile(r"^sha256:[0-9a-f]{64}$")


def _duration(value: Any) -> timedelta:
    return parse_duration(value)


def _utc_datetime(value: Any) -> Any:
    """Dates mean midnight UTC; naive datetimes are taken as UTC, so comparisons never mix kinds."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime.combine(value, time.min, tzinfo=timezone.utc)
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        return datetime.combine(date.fromisoformat(value.strip()), time.min, tzinfo=timezone.utc)
    return value


def _text(value: Any) -> Any:
    """YAML reads `version: 3.2` as a float and `1.0` loses its zero; versions and ids are text."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return str(value)
    return value


def _fingerprint(value: str) -> str:
    if not FINGERPRINT.match(value):
        raise ValueError("expected 'sha256:' followed by 64 lowercase hex digits")
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Fingerprint = Annotated[str, AfterValidator(_fingerprint), Field(description="sha256:<64 hex digits>")]


def _representable(value: datetime) -> datetime:
    """A moment must exist in UTC: 9999-12-31T23:59-12:00 is past the last instant Python (and the
    store, which keeps UTC) can hold, and would otherwise fail deep inside a query."""
    try:
        value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("date-time out of range: it must lie between 0001-01-01 and 9999-12-31 in UTC") from None
    return value


Timestamp = Annotated[datetime, BeforeValidator(_utc_datetime), AfterValidator(_representable)]
Text = Annotated[str, BeforeValidator(_text)]
def _visible(value: str) -> str:
    if value.isascii() and value.isprintable():
        return value  # U+0020..U+007E: letters, digits, punctuation, symbols and the plain space, all visible
    problem = name_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Name = Annotated[str, BeforeValidator(_text), Field(min_length=1, max_length=1000), AfterValidator(_visible)]
# Free text is bounded too: every read serves it to anyone, so an unbounded field is an amplifier.
ShortText = Annotated[str, Field(max_length=1000)]        # an owner, a purpose
Link = Annotated[str, Field(max_length=4096)]             # a URL
LongText = Annotated[str, Field(max_length=100_000)]      # a description, an incident note


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LicenceSpec(Strict):
    id: Text = Field(min_length=1, description="SPDX id, 'proprietary', or the vendor's contract id")
    expires: date | None = Field(
        default=None, description="the last day the licence is valid; after it, a licence_invalid finding")
    url: str | None = Field(default=None, description="a link to the licence text or the contract")
    revoked: bool = Field(default=False, description="true when the licence was withdrawn: a licence_invalid finding")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """`licence: CC-BY-4.0` is short for `licence: {id: CC-BY-4.0}`."""
        return {"id": value} if isinstance(value, str) else value


class TdmReservationSpec(Strict):
    """Whether rightholders reserved text-and-data mining (DSM Art. 4(3)), and how we know."""

    status: Literal["reserved", "not_reserved", "unknown"] = Field(
        description="what the rightholders declared; reserved is a tdm_reserved finding")
    method: str | None = Field(default=None, description="robots.txt, TDMRep, ai.txt, HTTP header, terms of service")
    checked: date | None = Field(default=None, description="when the reservation was last checked")


class DeidentificationSpec(Strict):
    """How the data was de-identified and when that was last verified (GDPR Recital 26)."""

    method: Literal["anonymised", "aggregated", "pseudonymised", "safe_harbor", "expert_determination"] = Field(
        description="how it was de-identified; every method but pseudonymised counts as anonymising")
    verified: date | None = Field(
        default=None, description="when the de-identification was last verified; an anonymising method needs a "
                                  "verification within the policy's deidentification_max_age (365d by default)")


class BiasExaminationSpec(Strict):
    """The AI Act Art. 10(2)(f) examination of this data for bias."""

    status: Literal["passed", "failed", "mitigated"] = Field(
        description="the outcome; for data a high-risk model trains on, failed is a finding, like no examination")
    date: Day | None = Field(default=None, description="when the examination was done")
    documentation: Link | None = Field(default=None, description="a link to the examination's report")


class DefaultsSpec(Strict):
    owner: ShortText | None = Field(default=None, description="the owner of every dataset in this file that names none")
    origin: Origin | None = Field(default=None, description="the origin of every dataset in this file that names none")
    freshness: Duration | None = Field(
        default=None, description="the freshness of every dataset in this file that sets none")
    retention: Duration | None = Field(
        default=None, description="the retention of every dataset in this file that sets none")


class ColumnSpec(Strict):
    """One column of a dataset; its classifications refine the dataset's own flags."""

    name: Name = Field(description="the column's name, as the data names it (a nested field as a.b)")
    type: ShortText | None = Field(default=None, description="its type, as the source system names it")
    description: LongText | None = Field(default=None, description="what the column holds, in free text")
    classifications: list[Classification] = Field(
        default_factory=list, description="personal_data, direct_identifier, pseudonymous, free_text, or a special "
                                          "category such as health; privacy findings travel only through the columns "
                                          "marked so, where column lineage is known")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """`- ward` is short for `- {name: ward}`."""
        return {"name": value} if isinstance(value, (str, int, float)) and not isinstance(value, bool) else value


class DerivationSpec(Strict):
    """A `derived_from` entry that says which input columns each output column comes from."""

    dataset: Name = Field(description="the input dataset: a name, or a full id such as dataset:NAMESPACE:NAME")
    columns: dict[Name, list[Name]] = Field(
        default_factory=dict, description="output column -> the input columns its values come from (one name or a "
                                          "list): DIRECT flows")
    indirect: list[Name] = Field(
        default_factory=list, description="input columns that shape every row of the output (filters, join keys, "
                                          "group-bys): INDIRECT flows")

    @field_validator("columns", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: [v] if isinstance(v, str) else v for k, v in value.items()}
        return value


class DatasetSpec(Strict):
    name: Name = Field(description="the dataset's name, unique in its namespace")
    namespace: Name | None = Field(default=None, description="the namespace it belongs to; default: the file's catalog")
    description: LongText | None = Field(default=None, description="what the data is, in free text")
    location: str | None = Field(  # bounded so masking stays cheap
        default=None, max_length=4096,
        description="where the content lives: a .csv, .parquet or .jsonl file (relative to this file), a SQLAlchemy "
                    "URL with #table, or any other URI (recorded, not read)")
    owner: ShortText | None = Field(
        default=None, description="who answers for the data; default: defaults.owner; none, on a source (no "
                                  "derived_from), is a provenance_unknown finding")
    origin: Origin | None = Field(
        default=None, description="where the data came from; default: defaults.origin; none or unknown, on a source "
                                  "(no derived_from), is a provenance_unknown finding")
    personal_data: bool | None = Field(
        default=None, description="whether it holds personal data; omitted means not declared, and a breach "
                                  "then counts as touching personal data")
    special_categories: list[SpecialCategory] = Field(
        default_factory=list, description="the GDPR Art. 9(1) categories (and Art. 10 criminal-offence data) it "
                                          "holds; any needs a special_category_basis")
    legal_basis: LegalBasis | None = Field(
        default=None, description="the GDPR Art. 6(1) lawful basis; personal data needs one, and a purpose")
    purpose: ShortText | None = Field(
        default=None, description="what the data is processed for; personal data needs one, and a legal_basis")
    licence: LicenceSpec | None = Field(
        default=None, description="the licence it is used under, or just its id; vendor, public and scraped data "
                                  "without one is a provenance_unknown finding")
    retention: Duration | None = Field(
        default=None, description="how long personal data may be kept after collected; default: defaults.retention")
    freshness: Duration | None = Field(
        default=None, description="how old the content may get before it is stale; default: defaults.freshness")
    last_updated: Timestamp | None = Field(
        default=None, description="when the content last changed; default: the last change check runs observed, "
                                  "else the file's modification time")
    documentation: Link | None = Field(default=None, description="link to the datasheet")
    special_category_basis: str | None = Field(default=None, description="the GDPR Art. 9(2) condition relied on")
    collected: date | None = Field(default=None, description="when the data was collected or acquired")
    retention_until: date | None = Field(
        default=None, description="the last day personal data may be kept; overrides collected + retention")
    tdm_reservation: TdmReservationSpec | None = Field(
        default=None, description="whether rightholders reserved text-and-data mining")
    deidentification: DeidentificationSpec | None = Field(
        default=None, description="how the data was de-identified, and when that was verified")
    bias_examination: BiasExaminationSpec | None = Field(
        default=None, description="the bias examination; data a high-risk model trains on needs one that passed "
                                  "or mitigated")
    tags: list[Text] = Field(
        default_factory=list, description="free labels; GET /api/v1/datasets?tag= filters on them")
    columns: list[ColumnSpec] = Field(
        default_factory=list, description="the dataset's columns (a name, or name, type, description and "
                                          "classifications); replaces the columns earlier catalog loads declared")
    derived_from: list[Name | DerivationSpec] = Field(
        default_factory=list, description="the datasets this one is derived from, one name or a list; an entry may be "
                                          "{dataset, columns, indirect} to give its column lineage; replaces what "
                                          "earlier catalog loads declared")
    job: Name | None = Field(default=None, description="the job that derives this dataset; needs derived_from")
    expectations: list[Any] = Field(default_factory=list, description="Great Expectations, by their GX names")
    expectations_file: str | None = Field(default=None, description="a suite JSON exported from GX")

    @field_validator("derived_from", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @property
    def inputs(self) -> list[str]:
        """The names of the datasets it is derived from, with or without a column mapping."""
        return [entry if isinstance(entry, str) else entry.dataset for entry in self.derived_from]

    @model_validator(mode="after")
    def _unique_columns(self) -> "DatasetSpec":
        names = [column.name for column in self.columns]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"column {', '.join(repr(n) for n in twice)} is listed twice")
        return self

    @model_validator(mode="after")
    def _job_needs_inputs(self) -> "DatasetSpec":
        if self.job and not self.derived_from:
            raise ValueError("'job' names the job that derives this dataset, so 'derived_from' is required")
        return self


class FeedSpec(Strict):
    dataset: Name = Field(description="the dataset consumed: a name, or a full id such as dataset:NAMESPACE:NAME")
    role: FeedRole = Field(default="training", description="what the model used the dataset for")
    fingerprint: Fingerprint | None = Field(
        default=None, description="the fingerprint of the content consumed (headwater snapshot "
                                  "records it); none is a fingerprint_mismatch finding")
    at: Timestamp | None = Field(
        default=None, description="when the model consumed it; omitted, a time-scoped condition "
                                  "(poisoning, tampering) is taken to reach the model")
    features: list[Name] | None = Field(
        default=None, description="the columns the model read from it; omitted, every column (privacy findings "
                                  "then reach the model through any column that carries them)")


class ModelSpec(Strict):
    name: Name = Field(description="the model's name, unique in its namespace")
    namespace: Name | None = Field(default=None, description="the namespace it belongs to; default: the file's catalog")
    version: Text | None = Field(
        default=None, description="the version this entry declares, such as 3.2.0 (default 1); each version has its "
                                  "own feeds and is addressed as NAME@VERSION")
    risk_tier: RiskTier = Field(description="the AI Act risk tier, which sets the severity of the model's findings")
    deployed: bool = Field(
        default=False, description="whether this version is in use; headwater gate checks deployed versions by default")
    stage: ShortText | None = Field(
        default=None, description="where the version is in its life: staging, production, archived (free text, as "
                                  "the model registry names it)")
    purpose: ShortText | None = Field(default=None, description="what the model is for")
    owner: ShortText | None = Field(
        default=None, description="who answers for the model (defaults.owner does not apply)")
    description: LongText | None = Field(default=None, description="what the model is, in free text")
    licence: ShortText | None = Field(
        default=None, description="the licence the model's weights are released under, an SPDX id such as apache-2.0")
    tags: list[Text] = Field(default_factory=list, description="free labels")
    base_model: Name | None = Field(
        default=None, description="the model this one was fine-tuned from: NAME@VERSION, or NAME for its latest version")
    trained_on: list[FeedSpec] = Field(
        default_factory=list, description="the datasets the model consumed, with their roles; replaces what earlier "
                                          "catalog loads declared")

    @model_validator(mode="after")
    def _unique_feeds(self) -> "ModelSpec":
        seen: set[tuple[str, str]] = set()
        for feed in self.trained_on:
            key = (feed.dataset, feed.role)
            if key in seen:
                raise ValueError(f"dataset '{feed.dataset}' is listed twice with role '{feed.role}'")
            seen.add(key)
        return self


class IncidentSpec(Strict):
    dataset: Name = Field(description="the dataset affected: a name, or a full id such as dataset:NAMESPACE:NAME")
    kind: IncidentKind = Field(description="what happened; every kind but other raises a condition")
    opened: Timestamp = Field(description="when the organisation became aware")
    effective_from: Timestamp | None = Field(
        default=None, description="when the problem started (compromise window, withdrawal); default: opened")
    due: date | None = Field(default=None, description="deadline to act, for erasure requests and objections")
    resolved: Timestamp | None = Field(
        default=None, description="when the incident was closed (not before opened); until then it is open")
    note: LongText | None = Field(default=None, description="what happened, in free text; shown in the finding")

    @model_validator(mode="after")
    def _resolved_after_opened(self) -> "IncidentSpec":
        if self.resolved is not None and self.resolved < self.opened:
            raise ValueError("'resolved' is earlier than 'opened'")
        return self


class CatalogFileSpec(Strict):
    catalog: Name = Field(description="the namespace of every dataset and model that names none")
    policy: str | None = Field(default=None, description="a policy file merged over the default policy")
    defaults: DefaultsSpec = Field(
        default_factory=DefaultsSpec, description="what every dataset in this file falls back to when it sets none")
    datasets: list[DatasetSpec] = Field(default_factory=list, description="the datasets this file declares")
    models: list[ModelSpec] = Field(default_factory=list, description="the models this file declares")
    incidents: list[IncidentSpec] = Field(
        default_factory=list, description="incidents on datasets, identified by dataset, kind and opened; a load "
                                          "never deletes one")
