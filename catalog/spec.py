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
    expires: date | None = None
    url: str | None = None
    revoked: bool = False

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """`licence: CC-BY-4.0` is short for `licence: {id: CC-BY-4.0}`."""
        return {"id": value} if isinstance(value, str) else value


class TdmReservationSpec(Strict):
    """Whether rightholders reserved text-and-data mining (DSM Art. 4(3)), and how we know."""

    status: Literal["reserved", "not_reserved", "unknown"]
    method: str | None = Field(default=None, description="robots.txt, TDMRep, ai.txt, HTTP header, terms of service")
    checked: date | None = None


class DeidentificationSpec(Strict):
    """How the data was de-identified and when that was last verified (GDPR Recital 26)."""

    method: Literal["anonymised", "aggregated", "pseudonymised", "safe_harbor", "expert_determination"]
    verified: date | None = None


class BiasExaminationSpec(Strict):
    """The AI Act Art. 10(2)(f) examination of this data for bias."""

    status: Literal["passed", "failed", "mitigated"]
    date: Day | None = None
    documentation: Link | None = None


class DefaultsSpec(Strict):
    owner: ShortText | None = None
    origin: Origin | None = None
    freshness: Duration | None = None
    retention: Duration | None = None


class DatasetSpec(Strict):
    name: Name
    namespace: Name | None = None
    description: LongText | None = None
    location: str | None = Field(default=None, max_length=4096)  # a URL or path; bounded so masking stays cheap
    owner: ShortText | None = None
    origin: Origin | None = None
    personal_data: bool | None = None
    special_categories: list[SpecialCategory] = Field(default_factory=list)
    legal_basis: LegalBasis | None = None
    purpose: ShortText | None = None
    licence: LicenceSpec | None = None
    retention: Duration | None = None
    freshness: Duration | None = None
    last_updated: Timestamp | None = None
    documentation: Link | None = Field(default=None, description="link to the datasheet")
    special_category_basis: str | None = Field(default=None, description="the GDPR Art. 9(2) condition relied on")
    collected: date | None = Field(default=None, description="when the data was collected or acquired")
    retention_until: date | None = None
    tdm_reservation: TdmReservationSpec | None = None
    deidentification: DeidentificationSpec | None = None
    bias_examination: BiasExaminationSpec | None = None
    tags: list[Text] = Field(default_factory=list)
    derived_from: list[Name] = Field(default_factory=list)
    job: Name | None = None
    expectations: list[Any] = Field(default_factory=list, description="Great Expectations, by their GX names")
    expectations_file: str | None = Field(default=None, description="a suite JSON exported from GX")

    @field_validator("derived_from", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _job_needs_inputs(self) -> "DatasetSpec":
        if self.job and not self.derived_from:
            raise ValueError("'job' names the job that derives this dataset, so 'derived_from' is required")
        return self


class FeedSpec(Strict):
    dataset: Name
    role: FeedRole = "training"
    fingerprint: Fingerprint | None = None
    at: Timestamp | None = None


class ModelSpec(Strict):
    name: Name
    namespace: Name | None = None
    version: Text | None = None
    risk_tier: RiskTier
    deployed: bool = False
    purpose: ShortText | None = None
    owner: ShortText | None = None
    description: LongText | None = None
    tags: list[Text] = Field(default_factory=list)
    base_model: Name | None = Field(default=None, description="the model this one was fine-tuned from")
    trained_on: list[FeedSpec] = Field(default_factory=list)

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
    dataset: Name
    kind: IncidentKind
    opened: Timestamp = Field(description="when the organisation became aware")
    effective_from: Timestamp | None = Field(
        default=None, description="when the problem started (compromise window, withdrawal); default: opened")
    due: date | None = Field(default=None, description="deadline to act, for erasure requests and objections")
    resolved: Timestamp | None = None
    note: LongText | None = None

    @model_validator(mode="after")
    def _resolved_after_opened(self) -> "IncidentSpec":
        if self.resolved is not None and self.resolved < self.opened:
            raise ValueError("'resolved' is earlier than 'opened'")
        return self


class CatalogFileSpec(Strict):
    catalog: Name = Field(description="the namespace of every dataset and model that names none")
    policy: str | None = Field(default=None, description="a policy file merged over the default policy")
    defaults: DefaultsSpec = Field(default_factory=DefaultsSpec)
    datasets: list[DatasetSpec] = Field(default_factory=list)
    models: list[ModelSpec] = Field(default_factory=list)
    incidents: list[IncidentSpec] = Field(default_factory=list)
