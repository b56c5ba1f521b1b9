"""The store: one SQLAlchemy engine, migrations on first use, and the one way to write.

A write happens inside `Store.transaction()`, which hands out a `Writer` (and, for loads of many
rows, `catalog.bulk.Bulk` on the same session). Either the whole block commits and the store
revision moves on, or nothing is written at all. The revision is what lets a process (or several
API workers over one PostgreSQL) know that its cached lineage graph is stale.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from catalog import DEFAULT_URL
from catalog.bulk import Bulk
from catalog.changes import Change
from catalog.engine import engine_for, mask_url, sqlite_file
from catalog.errors import StoreUnavailable
from catalog.ids import Key, ModelKey
from catalog.names import key_skeleton
from catalog.revision_watch import RevisionWatch
from catalog.schema import (
    Dataset, Derivation, Feed, HistoryChange, Incident, Job, Model, Setting, StoreRevision, utcnow,
)
from catalog.write_lock import WriteLock

if TYPE_CHECKING:
    from catalog.lineage_rows import LineageRows


MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 0x4EAD_3A7E  # pg advisory lock id: one migrator at a time across workers
_WRITE_LOCK = 0x4EAD_3A7F  # pg advisory lock id: one write transaction at a time per database


class Store:
    """A catalog store at one database URL. Cheap to keep open; open one per process."""

    def __init__(self, url: str = DEFAULT_URL, *, migrate: bool = True,
                 clock: Callable[[], datetime] = utcnow) -> None:
        """`clock` stamps the history's entries (tests give a fixed one to tell the past from the present)."""
        self.url = url
        self.clock = clock
        self.engine = engine_for(url)
        self._writer_engine = self.engine.execution_options(headwater_write=True)
        database = sqlite_file(self.engine)
        self._write_lock = WriteLock(database) if database is not None else None
        self._revision_watch = RevisionWatch(self.engine, _READ_REVISION) if database is not None else None
        if migrate:
            self.migrate()

    @property
    def display_url(self) -> str:
        return mask_url(self.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> None:
        """Bring the schema to the newest migration; a no-op when it already is."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self._writer_engine.begin() as connection:
                if self.dialect == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK})
                config.attributes["connection"] = connection
                config.attributes["clock"] = self.clock
                command.upgrade(config, "head")
        except (OperationalError, DBAPIError) as exc:
            raise StoreUnavailable(f"cannot open the store at {self.display_url}: {_reason(exc)}") from None

    def close(self) -> None:
        if self._revision_watch is not None:
            self._revision_watch.close()
        self.engine.dispose()
        if self._write_lock:
            self._write_lock.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def transaction(self, source: str = "headwater", detail: dict[str, Any] | None = None,
                    actor: str | None = None) -> Iterator["Writer"]:
        """All or nothing, one writer at a time. The revision moves only when something was written,
        and what was written becomes one audit entry by `actor` (default: `current_actor()`) through
        `source` (`catalog/history/chain.py`), in the same commit.

        Writers decide from what they read: a load refuses a derivation cycle against the edges it
        finds. Under PostgreSQL's READ COMMITTED two loads could both read, both find no cycle and
        both commit one (x from y, y from x: write skew). So on PostgreSQL the first statement of
        every write transaction is `pg_advisory_xact_lock`: the next writer waits until this one
        commits or rolls back, then reads what it wrote — the same order SQLite's BEGIN IMMEDIATE
        gives; reads never wait. The lock is released with the transaction, even when the process
        dies. SERIALIZABLE isolation would also be
        correct, but it aborts a transaction after its work is done (a million-edge load would redo
        everything). The lock also makes a transaction's history changes consecutive, which is what
        lets an audit entry own a range of them.
        """
        from catalog.history import chain
        from catalog.history.actor import current_actor

        with self._write_lock.held() if self._write_lock else nullcontext(), \
                Session(self._writer_engine, expire_on_commit=False, autoflush=True) as session:
            writer = Writer(session)
            try:
                if self.dialect == "postgresql":
                    session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _WRITE_LOCK})
                # Where this transaction's changes begin and the revision it starts from, in one
                # statement: a group commit of a few events pays these bookkeeping statements once
                # per transaction, and each costs as much as writing an event.
                since, revision = session.connection().execute(_MARK).one()
                since, revision = int(since or 0), int(revision or 0)
                yield writer
                session.flush()
                connection = session.connection()
                if writer.changed:
                    revision = int(connection.execute(_BUMP, {"now": utcnow()}).scalar_one())
                newest = chain.last_change(session)
                if newest > since:
                    chain.seal(session, since=since, actor=actor or current_actor(), source=source,
                               detail=detail or {}, revision=revision, clock=self.clock, newest=newest)
                session.commit()
                writer.revision = revision
            except BaseException:
                session.rollback()
                raise

    def setting(self, key: str) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(select(Setting.value).where(Setting.key == key)).scalar_one_or_none()

    def revision(self) -> int:
        """The store revision, asked by every API read: on a SQLite file a `PRAGMA data_version` in the
        common case (`catalog.revision_watch`), elsewhere one prebuilt statement (no construct built per call)."""
        if self._revision_watch is not None:
            found = self._revision_watch.revision()
            if found is not None:
                return found
        with self.engine.connect() as connection:
            return int(connection.execute(_READ_REVISION).scalar_one())

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as connection:
            return {
                table.__tablename__: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
                for table in (Dataset, Job, Model, Feed, Derivation, Incident)
            }

    def lineage_rows(self) -> "LineageRows":
        """Everything the lineage graph needs, as plain rows of one snapshot of the store."""
        from catalog.lineage_rows import read_present_rows

        return read_present_rows(self.engine)


_REVISION = StoreRevision.__table__
_READ_REVISION = select(_REVISION.c.revision).where(_REVISION.c.id == 1)


# The newest history change's id (where a transaction's own changes begin) and the store revision.
_MARK = select(select(func.max(HistoryChange.__table__.c.id)).scalar_subquery(),
               _REVISION.c.revision).where(_REVISION.c.id == 1)
# The revision moves on (relative, so a writer outside Headwater's lock is never undone) and says where it is now.
_BUMP = (update(_REVISION).where(_REVISION.c.id == 1)
         .values(revision=_REVISION.c.revision + 1, changed_at=bindparam("now")).returning(_REVISION.c.revision))


def _reason(exc: DBAPIError) -> str:
    original = getattr(exc, "orig", None) or exc
    first_line = str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    return first_line


class Writer:
    """The write side of one transaction: upserts that report what they changed."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.changed = False
        self.revision: int | None = None  # the store revision this transaction committed (set on commit)

    # --- look-ups -------------------------------------------------------------------------------
    def dataset(self, namespace: str, name: str) -> Dataset | None:
        return self.session.scalar(select(Dataset).where(Dataset.namespace == namespace, Dataset.name == name))

    def model(self, namespace: str, name: str, version: str) -> Model | None:
        return self.session.scalar(select(Model).where(Model.namespace == namespace, Model.name == name,
                                                       Model.version == version))

    def dataset_keys(self) -> list[Key]:
        return [(ns, name) for ns, name in self.session.execute(select(Dataset.namespace, Dataset.name))]

    def model_keys(self) -> list[ModelKey]:
        """(namespace, name, version) of every model version."""
        return [tuple(row) for row in self.session.execute(select(Model.namespace, Model.name, Model.version))]

    def stored_expectations(self, keys: list[Key]) -> dict[Key, list[Any]]:
        """The stored suites of the datasets `keys`, to skip validating what has not changed."""
        wanted = set(keys)
        if not wanted:
            return {}
        rows = self.session.execute(select(Dataset.namespace, Dataset.name, Dataset.expectations))
        return {(ns, name): exp for ns, name, exp in rows if (ns, name) in wanted}

    def derivation_keys(self) -> list[tuple[Key, Key, str]]:
        """(input key, output key, source) for every derivation: what cycle checks need."""
        inp, out = Dataset.__table__.alias("i"), Dataset.__table__.alias("o")
        query = (
            select(inp.c.namespace, inp.c.name, out.c.namespace, out.c.name, Derivation.source)
            .join(inp, inp.c.id == Derivation.input_id)
            .join(out, out.c.id == Derivation.output_id)
        )
        return [((a, b), (c, d), src) for a, b, c, d, src in self.session.execute(query)]

    def lookalikes(self, kind: str, keys: Iterable[Any]) -> dict[Any, Key]:
        """For each of `keys`, a different stored key it could be taken for (the same UTS #39 skeleton).

        Works before the keys are written (a load's plan) and after (an ingestion, inside its
        transaction): a row's own key is never its lookalike, nor another version of the same model
        (a model version's key is (namespace, name, version); names are compared without it).
        """
        table = Dataset if kind == "dataset" else Model
        wanted: dict[str, list[Any]] = {}
        for key in keys:
            wanted.setdefault(key_skeleton(key[0], key[1]), []).append(key)
        found: dict[Any, Key] = {}
        skeletons = sorted(wanted)
        for start in range(0, len(skeletons), 500):
            rows = self.session.execute(select(table.namespace, table.name, table.skeleton)
                                        .where(table.skeleton.in_(skeletons[start:start + 500])))
            for namespace, name, skeleton in rows:
                for key in wanted[skeleton]:
                    if (namespace, name) != tuple(key[:2]):
                        found.setdefault(key, (namespace, name))
        return found

    # --- upserts --------------------------------------------------------------------------------
    def add(self, row: Any) -> None:
        """A new row, written at the next flush: many adds and one flush make one batched INSERT."""
        self.session.add(row)
        self.changed = True

    def upsert_dataset(self, namespace: str, name: str, fields: dict[str, Any]) -> tuple[Dataset, Change]:
        return self._upsert(Dataset, self.dataset(namespace, name), {"namespace": namespace, "name": name}, fields)

    def upsert_model(self, key: ModelKey, fields: dict[str, Any]) -> tuple[Model, Change]:
        namespace, name, version = key
        identity = {"namespace": namespace, "name": name, "version": version}
        return self._upsert(Model, self.model(*key), identity, fields)

    def _upsert(self, table: Any, row: Any, identity: dict[str, str], fields: dict[str, Any]) -> tuple[Any, Change]:
        if row is not None:
            return row, self.update(row, fields)
        row = table(**identity, **fields)
        self.session.add(row)
        self.session.flush()
        self.changed = True
        return row, "created"

    def upsert_job(self, namespace: str, name: str) -> Job:
        row = self.session.scalar(select(Job).where(Job.namespace == namespace, Job.name == name))
        if row is None:
            row = Job(namespace=namespace, name=name)
            self.session.add(row)
            self.session.flush()
            self.changed = True
        return row

    def replace_feeds(self, model: Model, feeds: list[dict[str, Any]], *, source: str) -> bool:
        """Make `model`'s feeds from `source` exactly `feeds` (dataset, role, fingerprint, consumed_at).

        There is one row per (model, dataset, role) whatever its source: a catalog file's feed takes
        over a row that OpenLineage reported, and any other source leaves a catalog row as it is.
        """
        wanted = {(feed["dataset"].id, feed["role"]): {"fingerprint": feed.get("fingerprint"),
                                                       "consumed_at": feed.get("consumed_at")} for feed in feeds}
        return bool(Bulk(self).replace_feeds({model.id: wanted}, source=source))

    def delete_dataset(self, namespace: str, name: str) -> bool:
        """Remove a dataset with its feeds, derivations, incidents and check history (cascades)."""
        return self.delete(self.dataset(namespace, name))

    def delete_model(self, key: ModelKey) -> bool:
        return self.delete(self.model(*key))

    def delete(self, row: Any) -> bool:
        if row is None:
            return False
        self.session.delete(row)
        self.session.flush()
        self.changed = True
        return True

    def set_setting(self, key: str, value: Any) -> None:
        row = self.session.get(Setting, key)
        if row is None:
            self.session.add(Setting(key=key, value=value))
            self.changed = True
        elif row.value != value:
            row.value = value
            self.changed = True

    def record_feed_fingerprint(self, feed_id: int, fingerprint: str, consumed_at: Any) -> None:
        """What a model is about to consume, as `headwater snapshot` measured it."""
        self.session.execute(
            update(Feed).where(Feed.id == feed_id).values(fingerprint=fingerprint, consumed_at=consumed_at, updated_at=utcnow())
        )
        self.changed = True

    def update(self, row: Any, fields: dict[str, Any]) -> Change:
        """Set `fields` on a row already loaded in this transaction; report whether that changed it."""
        dirty = False
        for key, value in fields.items():
            if getattr(row, key) != value:
                setattr(row, key, value)
                dirty = True
        if dirty:
            self.changed = True
            return "updated"
        return "unchanged"
