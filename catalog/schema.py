"""The store's tables (SQLAlchemy 2 typed ORM).

Enumerated fields (origin, risk tier, role, kind) are plain text columns validated at the edges
(catalog files, API), so adding a value is a code change, not a schema migration on every store.
Times are stored in UTC; SQLite forgets the zone, so `UTCDateTime` puts it back on the way out.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index, Integer, Interval, String, Text,
    TypeDecorator, UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from catalog.names import key_skeleton


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def _key_skeleton(context: Any) -> str:
    """Each new row's lookalike skeleton, from its own key: every insert path (ORM, bulk Core) sets it."""
    row = context.get_current_parameters()
    return key_skeleton(row["namespace"], row["name"])


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class StoreRevision(Base):
    """One row whose counter moves on every write, so caches know when to rebuild."""

    __tablename__ = "store_revision"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Dataset(Timestamped, Base):
    __tablename__ = "datasets"
    __table_args__ = (UniqueConstraint("namespace", "name", name="uq_datasets_namespace_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    skeleton: Mapped[str | None] = mapped_column(Text, default=_key_skeleton, index=True)  # catalog/names.py
    description: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(Text)
    origin: Mapped[str | None] = mapped_column(String(32))
    personal_data: Mapped[bool | None] = mapped_column(Boolean)
    special_categories: Mapped[list[Any]] = mapped_column(JSON, default=list)
    legal_basis: Mapped[str | None] = mapped_column(String(32))
    purpose: Mapped[str | None] = mapped_column(Text)
    licence_id: Mapped[str | None] = mapped_column(Text)
    licence_expires: Mapped[date | None] = mapped_column(Date)
    licence_url: Mapped[str | None] = mapped_column(Text)
    licence_revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    retention: Mapped[timedelta | None] = mapped_column(Interval)
    freshness: Mapped[timedelta | None] = mapped_column(Interval)
    last_updated: Mapped[datetime | None] = mapped_column(UTCDateTime)
    documentation: Mapped[str | None] = mapped_column(Text)
    special_category_basis: Mapped[str | None] = mapped_column(Text)
    collected: Mapped[date | None] = mapped_column(Date)
    retention_until: Mapped[date | None] = mapped_column(Date)
    tdm_status: Mapped[str | None] = mapped_column(String(16))
    tdm_method: Mapped[str | None] = mapped_column(Text)
    tdm_checked: Mapped[date | None] = mapped_column(Date)
    deid_method: Mapped[str | None] = mapped_column(String(32))
    deid_verified: Mapped[date | None] = mapped_column(Date)
    bias_status: Mapped[str | None] = mapped_column(String(16))
    bias_date: Mapped[date | None] = mapped_column(Date)
    bias_documentation: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    expectations: Mapped[list[Any]] = mapped_column(JSON, default=list)
    expectations_file: Mapped[str | None] = mapped_column(Text)
    catalog_file: Mapped[str | None] = mapped_column(Text)
    catalog_line: Mapped[int | None] = mapped_column(Integer)
    facets: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)  # OpenLineage facets, by name
    field_sources: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)  # catalog/field_sources.py

    incidents: Mapped[list[Incident]] = relationship(back_populates="dataset", cascade="all, delete-orphan", passive_deletes=True)


class Job(Timestamped, Base):
    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("namespace", "name", name="uq_jobs_namespace_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    facets: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)  # OpenLineage job facets, by name


class Model(Timestamped, Base):
    """One version of a model: the model is every row sharing (namespace, name).

    Each version has its own feeds, so what v1 learned from stays on record when v2 arrives.
    `source` says where the version came from (catalog, api, openlineage, mlflow); `registered_at`
    is when it was registered there, which can be long before Headwater heard of it.
    """

    __tablename__ = "models"
    __table_args__ = (UniqueConstraint("namespace", "name", "version", name="uq_models_namespace_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(Text)
    version: Mapped[str] = mapped_column(Text, default="1")
    skeleton: Mapped[str | None] = mapped_column(Text, default=_key_skeleton, index=True)  # catalog/names.py
    risk_tier: Mapped[str | None] = mapped_column(String(32))  # None: not set where the version came from
    deployed: Mapped[bool] = mapped_column(Boolean, default=False)
    stage: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(32), default="catalog")
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    purpose: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    licence: Mapped[str | None] = mapped_column(Text)  # an SPDX licence id, as a model card gives it
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    base_model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id", ondelete="SET NULL"))
    catalog_file: Mapped[str | None] = mapped_column(Text)
    catalog_line: Mapped[int | None] = mapped_column(Integer)
    field_sources: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)  # catalog/field_sources.py


class Feed(Timestamped, Base):
    """A dataset consumed by a model, with the fingerprint of exactly what was consumed."""

    __tablename__ = "feeds"
    __table_args__ = (
        UniqueConstraint("model_id", "dataset_id", "role", name="uq_feeds_model_dataset_role"),
        Index("ix_feeds_dataset", "dataset_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str | None] = mapped_column(String(80))
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(32), default="catalog")
    features: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))  # the columns the model read; None: all of them


class Derivation(Timestamped, Base):
    """`output` is derived from `input`, optionally by `job`.

    `source` says who declared the edge (a catalog file or OpenLineage), so reloading a catalog
    file replaces its own edges without erasing lineage that arrived from a pipeline.
    """

    __tablename__ = "derivations"
    __table_args__ = (
        Index("ix_derivations_input", "input_id"),
        Index("ix_derivations_output", "output_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    input_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    output_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(32), default="catalog")


class Incident(Timestamped, Base):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_dataset", "dataset_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    opened: Mapped[datetime] = mapped_column(UTCDateTime)
    effective_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due: Mapped[date | None] = mapped_column(Date)
    resolved: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)

    dataset: Mapped[Dataset] = relationship(back_populates="incidents")


class Setting(Timestamped, Base):
    """Store-wide settings a catalog file can carry, such as the policy file to evaluate with."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any | None] = mapped_column(JSON)


class CheckRun(Base):
    """One look at one dataset: its fingerprint at that moment and, if it has a suite, the verdict.

    `outcome` is passed | warning (only warning-severity failures) | failed (a critical failure) |
    errored (the data could not be judged) | unchecked (fingerprinted; no expectations).
    A run that reused an earlier verdict because neither the data nor the suite changed points at
    it through `reused_from_id`; its fingerprint was still observed afresh.
    """

    __tablename__ = "check_runs"
    __table_args__ = (Index("ix_check_runs_dataset_started", "dataset_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    location: Mapped[str | None] = mapped_column(Text)
    fingerprint: Mapped[str | None] = mapped_column(String(80))
    fingerprint_observed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suite_hash: Mapped[str | None] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    evaluated: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    errored: Mapped[int] = mapped_column(Integer, default=0)
    reused_from_id: Mapped[int | None] = mapped_column(ForeignKey("check_runs.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(32), default="headwater")  # headwater (GX) or dbt, ...
    digests: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)  # other tools' digests: {"mlflow": ...}

    results: Mapped[list[CheckResult]] = relationship(
        back_populates="run", cascade="all, delete-orphan", passive_deletes=True, order_by="CheckResult.position"
    )


class CheckResult(Base):
    __tablename__ = "check_results"
    __table_args__ = (Index("ix_check_results_run", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("check_runs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    expectation: Mapped[str] = mapped_column(Text)
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    severity: Mapped[str] = mapped_column(String(16))
    success: Mapped[bool | None] = mapped_column(Boolean)
    errored: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    observed_value: Mapped[Any | None] = mapped_column(JSON)
    unexpected_count: Mapped[int | None] = mapped_column(BigInteger)
    unexpected_percent: Mapped[float | None] = mapped_column(Float)
    sample: Mapped[list[Any] | None] = mapped_column(JSON)

    run: Mapped[CheckRun] = relationship(back_populates="results")


class LineageEvent(Base):
    """An OpenLineage event exactly as it was received, kept before it is mapped (as Marquez does).

    `payload_hash` (SHA-256 of the canonical JSON) makes a re-sent event a no-op instead of a copy.
    """

    __tablename__ = "lineage_events"
    __table_args__ = (
        UniqueConstraint("payload_hash", name="uq_lineage_events_payload_hash"),
        Index("ix_lineage_events_run", "run_id"),
        Index("ix_lineage_events_job", "job_namespace", "job_name"),
        Index("ix_lineage_events_time", "event_time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # RunEvent | DatasetEvent | JobEvent
    event_type: Mapped[str | None] = mapped_column(String(16))  # START, COMPLETE, ... (RunEvents)
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)
    run_id: Mapped[str | None] = mapped_column(String(64))
    job_namespace: Mapped[str | None] = mapped_column(Text)
    job_name: Mapped[str | None] = mapped_column(Text)
    producer: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    payload_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LineageRun(Timestamped, Base):
    """What one run of a job has read and written so far: the union over its events.

    A job's OpenLineage derivations are those of its newest run that declared an output, so a
    START that lists inputs and a COMPLETE that lists outputs add up, and a late event of an older
    run does not roll the job back. A JobEvent counts as a run of its own (`run_id` "jobevent:TIME").
    `inputs`: [{namespace, name, role, fingerprint, seen_at, feed_time}]; `outputs`: [[namespace, name]];
    `models`: [{namespace, name, version, riskTier, deployed, time}].
    """

    __tablename__ = "lineage_runs"
    __table_args__ = (
        UniqueConstraint("job_id", "run_id", name="uq_lineage_runs_job_run"),
        Index("ix_lineage_runs_job_time", "job_id", "lineage_time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(String(80))
    state: Mapped[str | None] = mapped_column(String(16))  # eventType of the run's newest event
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)  # its newest event
    lineage_time: Mapped[datetime | None] = mapped_column(UTCDateTime)  # its newest START/RUNNING/COMPLETE
    has_outputs: Mapped[bool] = mapped_column(Boolean, default=False)
    inputs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    outputs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    models: Mapped[list[Any]] = mapped_column(JSON, default=list)


class HistoryChange(Base):
    """One row's change, as the database's own triggers saw it (`catalog/history/triggers.py`).

    Written by triggers rather than by Python so that no write path can forget it: a bulk Core
    statement, an ORM flush and a foreign-key cascade are all recorded alike. `before`/`after` are
    the row's JSON images, kept as the text the database wrote, which is what the audit chain hashes.
    """

    __tablename__ = "history_changes"
    __table_args__ = (Index("ix_history_changes_row", "entity", "row_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    entity: Mapped[str] = mapped_column(String(32))  # the table: datasets, models, feeds, ...
    row_id: Mapped[str] = mapped_column(Text)
    op: Mapped[str] = mapped_column(String(8))  # insert | update | delete | baseline
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)


class HistoryEntry(Base):
    """One committed transaction in the audit trail: who, through what, when, and which changes.

    An entry owns the changes with ids in (`first_change` - 1, `last_change`]: writers take turns
    (`Store.transaction`), so a transaction's changes are consecutive. `hash` covers the entry's
    fields, the digest of its changes and the previous entry's hash (`catalog/history/chain.py`).
    """

    __tablename__ = "history_entries"
    __table_args__ = (Index("ix_history_entries_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)
    revision: Mapped[int] = mapped_column(BigInteger)
    first_change: Mapped[int] = mapped_column(BigInteger)
    last_change: Mapped[int] = mapped_column(BigInteger)
    digest: Mapped[str] = mapped_column(String(64))
    previous: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class CatalogFileLoad(Base):
    """What the last load of one catalog file read, and the store's mark when it committed.

    A reload compares before it parses: when every file's digest matches and the store's mark is
    still the one recorded, nothing can have changed what the load would write (migration 0009,
    `catalog/loader_fingerprints.py`). Not tracked by the history: bookkeeping, not catalog content.
    """

    __tablename__ = "catalog_file_loads"

    path: Mapped[str] = mapped_column(Text, primary_key=True)  # resolved
    digest: Mapped[str] = mapped_column(String(64))  # the file's bytes with the code that read them
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)  # suite files and policy: {path: digest or state}
    counts: Mapped[dict[str, int]] = mapped_column(JSON)  # entries declared, per kind
    revision: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    last_change: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)

