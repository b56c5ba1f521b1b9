"""kill -9 of `headwater load` and `headwater check`, and CLI writers contending for one SQLite file.

The CLI promises all-or-nothing writes: a load commits every file in one transaction or nothing, a
check commits each run together with its results. A crash (SIGKILL: no handler runs, nothing is
flushed, as an OOM kill does) must leave the store exactly as it was or exactly as the finished
command would have, never in between, and must not break the next command. Every command here is a
real `python -m api.cli` process on a real SQLite file or PostgreSQL database (`store_url`: each test
on both); the store is then read directly, not through the CLI.

1. `headwater load` of a generated catalog (`benchmarks.reference_catalog`: 600 datasets with 3,337
   derivations and datasheet-sized descriptions, 30 models with 753 feeds, an incident) over an
   earlier version of it (other owners, one input per derived dataset, no models), killed just after
   its commit and while it is writing: once it holds the store's write lock and has written rows it
   has not committed (seen from outside: PostgreSQL has given its transaction an id; SQLite's WAL was
   written to, as pages spilled from the writer's cache), after 10%, 50% and 90% of the time an
   uncrashed load of the same files spent writing. Afterwards the store holds every row of the
   earlier state unchanged, or the complete new catalog (compared by natural keys with what the
   uncrashed load wrote: ids and timestamps differ), with that state's revision; SQLite's
   `integrity_check` and `foreign_key_check` and an orphan check of every foreign key are clean; the
   next load on the killed store reports the counts of the uncrashed one and leaves the same catalog.
   The comparison is shown to tell the two states apart in every table the load writes, and to call a
   half-written store (half the datasets updated; one edge missing) neither.
2. `headwater check --force` on the example catalog, killed after its 1st and 2nd committed run (it is
   fingerprinting, then importing Great Expectations) and while it checks its last dataset: every run
   in the history is whole (as many results as its suite has expectations, counts and positions
   matching them), runs recorded before are untouched, integrity is clean, and the next
   `headwater check` works, reusing those verdicts, with the example's planted failure.
3. Two loaders (one with a generated catalog's dataset files, one with all its files, so they contest
   the same rows) and `headwater check --force` on one SQLite file, three rounds (all started together;
   loaders started once the checker has committed its 3rd run, then its 7th, so the checker commits
   while they load): every process exits 0, the check 1 for the example's planted failures, nothing
   says "database is locked" or prints a traceback, the catalog tables equal a clean load of the same
   files, each example dataset has one whole run, and the revision moved once per committed write.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import pytest
from sqlalchemy import Engine, create_engine, inspect, select, text
from sqlalchemy.engine import make_url

from tests.conftest import ROOT
from tests.reliability.conftest import count_rows, integrity_problems, store_rows

Rows = dict[str, list[tuple]]
Headwater = Callable[..., "subprocess.CompletedProcess[str]"]  # tests/conftest.py's in-process CLI runner
State = Literal["old", "new", "mixed"]

SIZE = {"datasets": 600, "models": 30, "edges": 4_500}  # the catalog loads are killed in (A is an earlier version)
# Datasheet-sized descriptions: the load's updates outgrow SQLite's page cache (2 MB), so its pages
# spill into the WAL before the commit, and a kill then leaves uncommitted frames for recovery to drop.
DESCRIPTION = 6_000
LOADERS_SIZE = {"datasets": 250, "models": 12, "edges": 1_800}  # the catalog the concurrent loaders load
# When a load is killed: just after its commit (None), and after this share of the time the uncrashed
# load spent writing (rows written, not committed).
KILL_AT = (None, 0.1, 0.9)
# The killed `headwater check`s: runs committed before the kill (-1: all but the last) and seconds after
# that commit, so the kill lands while it fingerprints, while it imports GX, and on its last dataset
# (every suite validated: the next check reuses the runs the killed ones left, so it needs no GX).
CHECK_KILLS = ((1, 0.0), (2, 0.05), (-1, 0.0))
ROUNDS = (None, 3)  # concurrency rounds: loaders start with the checker, or once it has committed N runs
TIMESTAMPS = {"created_at", "updated_at", "changed_at", "received_at"}  # differ between equal loads
# The history holds each load's own times, ids and hashes, so two equal loads' histories differ; after
# a kill it is judged by its own rule instead: its chain verifies (`_trail_intact`).
HISTORY_TABLES = {"history_changes", "history_entries"}
# What a load recorded for the next reload to skip it (migration 0009): the store's marks, physical
# like the history's ids (PostgreSQL does not give back those of a killed load), so no catalog content.
LOAD_RECORDS = {"catalog_file_loads"}
STAMPED_JSON = {"field_sources"}  # JSON {field: {"source": ..., "at": when it was set}}: the "at"s differ too
CATALOG_TABLES = ("datasets", "derivations", "feeds", "incidents", "jobs", "models", "settings")
LOCKED = "database is locked"


# --- processes ---------------------------------------------------------------------------------

def _environment() -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k != "HEADWATER_DB"}
    environment.update({"COLUMNS": "200", "NO_COLOR": "1"})
    if environment.pop("PYTHONDONTWRITEBYTECODE", None):
        # Where bytecode may not be written next to the sources, every interpreter compiles every
        # module again (seconds per process, GX alone ~7 s): cache it in the temp folder instead,
        # which leaves the tree as it is.
        environment["PYTHONPYCACHEPREFIX"] = str(Path(tempfile.gettempdir()) / f"headwater-pycache-{os.getuid()}")
    return environment


_started: list[Cli] = []


@pytest.fixture(autouse=True)
def _no_process_outlives_its_test() -> Iterator[None]:
    yield
    while _started:
        cli = _started.pop()
        if cli.alive():
            cli.kill()


@dataclass
class Cli:
    """One `python -m api.cli --db URL ARGS…` process; output goes to files (a pipe nobody reads could stall it)."""

    args: Sequence[str]
    db: str
    cwd: Path
    process: subprocess.Popen[bytes] = field(init=False)
    started: float = field(init=False)  # time.monotonic()
    wall_started: datetime = field(init=False)

    def __post_init__(self) -> None:
        self.out = self.cwd / f"cli-{time.monotonic_ns()}.out"
        self.err = self.out.with_suffix(".err")
        with self.out.open("wb") as out, self.err.open("wb") as err:
            self.started, self.wall_started = time.monotonic(), datetime.now(timezone.utc)
            self.process = subprocess.Popen([sys.executable, "-m", "api.cli", "--db", self.db, *self.args],
                                            cwd=self.cwd, env=_environment(), stdout=out, stderr=err)
        _started.append(self)

    def alive(self) -> bool:
        return self.process.poll() is None

    def wait(self, timeout: float = 300) -> int:
        return self.process.wait(timeout=timeout)

    def kill(self) -> bool:
        """SIGKILL; False when the process had already ended by itself."""
        self.process.send_signal(signal.SIGKILL)
        return self.process.wait(timeout=30) == -signal.SIGKILL

    @property
    def stdout(self) -> str:
        return self.out.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        return self.err.read_text(encoding="utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.stdout)


def _run(args: Sequence[str], db: str, cwd: Path) -> Cli:
    cli = Cli(args, db, cwd)
    cli.wait()
    return cli


# --- stores ------------------------------------------------------------------------------------

def _engine(url: str, **options: Any) -> Engine:
    return create_engine(url, **options)


def _clone(url: str, suffix: str) -> str:
    """A copy of the store at `url` (which nothing may be writing): the same rows, the same ids."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        source = Path(parsed.database)
        target = source.with_name(f"{source.stem}-{suffix}.db")
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        src.close()
        dst.close()
        return f"sqlite:///{target}"
    name = f"{parsed.database}_{suffix}"
    admin = _engine(parsed.set(database="postgres").render_as_string(hide_password=False), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            for attempt in range(100):  # a closed connection's backend may take a moment to leave
                try:
                    connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"'))
                    break
                except Exception as exc:  # noqa: BLE001 - "being accessed by other users"
                    if "other users" not in str(exc) or attempt == 99:
                        raise
                    time.sleep(0.05)
    finally:
        admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def _load_in_process(url: str, files: Sequence[Path]) -> None:
    """Set-up loads (not under test) run in this process: no interpreter start-up to pay."""
    from catalog.loader import load_catalog
    from catalog.store import Store

    with Store(url) as store:
        load_catalog(store, list(files))


def _revision(url: str) -> int:
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT revision FROM store_revision WHERE id = 1")).scalar_one())
    finally:
        engine.dispose()


def _logical(url: str, tables: Sequence[str] | None = None) -> Rows:
    """Every row of every table as content: surrogate ids replaced by the natural key of the row they
    name ((namespace, name) of a dataset or job, (namespace, name, version) of a model version), load
    timestamps left out (columns and the times inside `field_sources`). Two stores that hold the same
    catalog are equal here even when their ids and times differ (PostgreSQL does not give back the ids
    a rolled-back transaction used, and every load stamps its own time)."""
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            names = sorted(tables or set(inspector.get_table_names()) - HISTORY_TABLES - LOAD_RECORDS)
            keyed = {t for t in inspector.get_table_names()
                     if {"id", "namespace", "name"} <= {c["name"] for c in inspector.get_columns(t)}}
            versioned = {t for t in keyed if "version" in {c["name"] for c in inspector.get_columns(t)}}
            keys = {t: {row[0]: tuple(row[1:]) for row in connection.execute(text(
                        f'SELECT id, namespace, name{", version" if t in versioned else ""} FROM "{t}"'))}
                    for t in keyed}
            logical: Rows = {}
            for table in names:
                columns = [c["name"] for c in inspector.get_columns(table)]
                primary = inspector.get_pk_constraint(table)["constrained_columns"]
                refers = {fk["constrained_columns"][0]: fk["referred_table"] for fk in inspector.get_foreign_keys(table)
                          if len(fk["constrained_columns"]) == 1}
                kept = [c for c in columns if c not in TIMESTAMPS and not (primary == ["id"] and c == "id")]
                named = [(i, keys[refers[c]]) for i, c in enumerate(kept) if refers.get(c) in keys]
                stamped = [i for i, c in enumerate(kept) if c in STAMPED_JSON]
                query = "SELECT " + ", ".join(f'"{c}"' for c in kept) + f' FROM "{table}"'
                rows = []
                for row in connection.execute(text(query)):
                    values = list(row)
                    for i, key in named:
                        if values[i] is not None:
                            values[i] = key.get(values[i], ("no such row", values[i]))
                    for i in stamped:
                        values[i] = _without_times(values[i])
                    rows.append(tuple(values))
                logical[table] = sorted(rows, key=repr)
            return logical
    finally:
        engine.dispose()


def _trail_intact(url: str) -> bool:
    """The store's audit chain verifies: a killed load left its entry whole or not at all."""
    from catalog.history import service
    from catalog.store import Store

    with Store(url) as store:
        return service.verify(store).ok


def _without_times(value: Any) -> Any:
    """A `field_sources` value (JSON text on SQLite, decoded on PostgreSQL) with each entry's "at" left out."""
    if value is None:
        return None
    sources = json.loads(value) if isinstance(value, str) else value
    return json.dumps({name: {k: v for k, v in entry.items() if k != "at"} if isinstance(entry, dict) else entry
                       for name, entry in sources.items()}, sort_keys=True)


def _state(url: str, old: Rows, new: Rows) -> State:
    """`old`: exactly these rows (store_rows); `new`: this content (_logical); else a mix."""
    if store_rows(url) == old:
        return "old"
    return "new" if _logical(url) == new else "mixed"


def _differences(url: str, old: Rows, new: Rows) -> str:
    rows, logical = store_rows(url), _logical(url)
    return (f"tables unlike the earlier state: {sorted(t for t in rows if rows[t] != old.get(t))}; "
            f"unlike the new catalog: {sorted(t for t in logical if logical[t] != new.get(t))}")


class WriteLock:
    """Whether a connection other than ours holds the store's write lock, asked from outside.

    SQLite: our `BEGIN IMMEDIATE`, with no busy timeout, is refused while another connection writes
    (and rolled back at once when it is not). PostgreSQL: an advisory lock granted on this database
    to another backend (`Store.transaction` takes one first thing).
    """

    def __init__(self, url: str) -> None:
        self.sqlite = url.startswith("sqlite")
        self.wal: tuple[int, int] | None = None
        if self.sqlite:
            self.path = make_url(url).database
            self.connection = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        else:
            self.engine = _engine(url, isolation_level="AUTOCOMMIT")
            self.pg = self.engine.connect()

    def held(self) -> bool:
        if self.sqlite:
            try:
                self.connection.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    return True
                raise
            self.connection.execute("ROLLBACK")
            return False
        return bool(self.pg.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid() "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).scalar_one())

    def baseline(self) -> None:
        """Before the command starts: the WAL as it is, so `written` sees it written to."""
        self.wal = self._wal() if self.sqlite else None

    def written(self) -> bool:
        """Whether the holder has written rows (while it holds the lock: rows not committed yet).
        PostgreSQL: its transaction has an id, given at the first write. SQLite: the WAL was written
        to (pages spill there from the writer's cache before the commit when they outgrow it)."""
        if self.sqlite:
            wal = self._wal()  # created empty when the store is opened; frames come with the first write
            return wal is not None and wal[0] > 0 and wal != self.wal
        return bool(self.pg.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_xid IS NOT NULL")).scalar_one())

    def _wal(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(f"{self.path}-wal")
        except FileNotFoundError:
            return None
        return stat.st_size, stat.st_mtime_ns

    def released(self, timeout: float = 30) -> None:
        """Wait until nobody holds it (a killed PostgreSQL client's backend lets go once it notices)."""
        deadline = time.monotonic() + timeout
        while self.held():
            assert time.monotonic() < deadline, "the write lock stayed held after its holder died"
            time.sleep(0.01)

    def close(self) -> None:
        if self.sqlite:
            self.connection.close()
        else:
            self.pg.close()
            self.engine.dispose()


@dataclass(frozen=True)
class Window:
    """How an uncrashed command held the write lock, in seconds."""

    hold: float  # its longest hold (the load's transaction)
    other: float  # the longest of its other holds (opening the store migrates it, in a transaction of its own)
    writing: float  # how long, within `hold`, rows it had written but not committed were seen from outside


def _watch(cli: Cli, lock: WriteLock) -> Window:
    holds: list[tuple[float, float]] = []  # (length, of which writing)
    since = wrote = None
    while cli.alive():
        now = time.monotonic()
        if lock.held():
            since = now if since is None else since
            if wrote is None and lock.written():
                wrote = now
        elif since is not None:
            holds.append((now - since, now - wrote if wrote else 0.0))
            since = wrote = None
        time.sleep(0.005)
    if since is not None:
        holds.append((time.monotonic() - since, time.monotonic() - wrote if wrote else 0.0))
    holds.sort()
    longest = holds[-1] if holds else (0.0, 0.0)
    return Window(longest[0], holds[-2][0] if len(holds) > 1 else 0.0, longest[1])


def _kill_inside_write(cli: Cli, lock: WriteLock, after: float, *, writing: bool,
                       timeout: float = 300) -> tuple[bool, bool]:
    """SIGKILL `cli` once it has held the write lock (`writing`: and shown uncommitted rows) for `after`
    seconds. Returns (killed, it had written rows by then); not killed if it finished first. A hold
    that ends sooner (the migration's) starts the count again."""
    since, deadline = None, time.monotonic() + timeout
    while cli.alive():
        now = time.monotonic()
        assert now < deadline, "the command never took the write lock for long enough"
        if lock.held() and (not writing or lock.written()):
            since = now if since is None else since
            if now - since >= after:
                wrote = lock.written()
                return cli.kill(), wrote
        else:
            since = None
        time.sleep(0.005)
    return False, False


def _kill_after_commit(cli: Cli, lock: WriteLock, *, writing: bool, longer_than: float,
                       timeout: float = 300) -> bool:
    """SIGKILL `cli` as soon as it lets go of the write lock after its load (a hold in which it showed
    uncommitted rows, `writing`, or else one longer than `longer_than` seconds: the migration's is
    short): it has committed and has yet to report. False if it had ended by then."""
    since = wrote = None
    deadline = time.monotonic() + timeout
    while cli.alive():
        now = time.monotonic()
        assert now < deadline, "the command never committed"
        if lock.held():
            since = now if since is None else since
            wrote = wrote or (writing and lock.written())
        elif since is not None:
            if wrote or (not writing and now - since > longer_than):
                return cli.kill()
            since = wrote = None
        time.sleep(0.002)
    return False


# --- the generated catalog ---------------------------------------------------------------------

@dataclass(frozen=True)
class Catalogs:
    old: list[Path]  # an earlier version: other owners, one input per derived dataset, no models
    new: list[Path]  # every file of the generated catalog
    datasets: list[Path]  # its dataset files only (the models and incidents files need them)


def _generate(folder: Path, size: dict[str, int], description: int = 0) -> Catalogs:
    """`benchmarks.reference_catalog`'s files for a graph of `size`, each dataset described in about
    `description` characters, and an earlier version of the dataset files."""
    from benchmarks.reference import reference_graph
    from benchmarks.reference_catalog import catalog_documents, reference_incidents

    graph = reference_graph(**size)
    documents = catalog_documents(graph, reference_incidents(graph))
    old, new, datasets = [], [], []
    for name, document in sorted(documents.items()):
        for entry in document.get("datasets", []) if description else []:
            words = (f"{entry['name']} row {i} of the datasheet;" for i in range(description))
            entry["description"] = " ".join(words)[:description]
        path = folder / "new" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
        new.append(path)
        if not document.get("datasets"):
            continue
        datasets.append(path)
        earlier = json.loads(json.dumps(document))
        earlier["defaults"]["owner"] += "-before"
        for entry in earlier["datasets"]:
            entry.pop("description", None)
            if entry.get("derived_from"):
                entry["derived_from"] = entry["derived_from"][:1]
        path = folder / "old" / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(earlier, indent=1) + "\n", encoding="utf-8")
        old.append(path)
    return Catalogs(old, new, datasets)


@pytest.fixture(scope="module")
def catalogs(tmp_path_factory: pytest.TempPathFactory) -> Catalogs:
    return _generate(tmp_path_factory.mktemp("catalog"), SIZE, DESCRIPTION)


@pytest.fixture(scope="module")
def small_catalogs(tmp_path_factory: pytest.TempPathFactory) -> Catalogs:
    return _generate(tmp_path_factory.mktemp("loaders-catalog"), LOADERS_SIZE)


def _example(tmp_path: Path) -> Path:
    """The bundled example catalog and its data, copied: locations resolve against the copy."""
    folder = tmp_path / "example"
    folder.mkdir()
    shutil.copy(ROOT / "examples" / "catalog.yaml", folder / "catalog.yaml")
    shutil.copytree(ROOT / "examples" / "data", folder / "data")
    return folder / "catalog.yaml"


def _totals(counts: dict[str, dict[str, int]]) -> dict[str, int]:
    return {kind: sum(bucket.values()) for kind, bucket in counts.items()}


# --- 1. kill -9 during `headwater load` --------------------------------------------------------

def test_kill_9_during_load_leaves_the_old_store_or_the_new_one(store_url: str, catalogs: Catalogs, tmp_path: Path,
                                                               figures: Counter[str]) -> None:
    _load_in_process(store_url, catalogs.old)
    template = store_url  # the earlier state; every store below starts as a copy of it
    old, old_logical, revision = store_rows(template), _logical(template), _revision(template)
    load = ["load", "--format", "json", *map(str, catalogs.new)]

    # The uncrashed load, on a copy: what "new" is, the counts it reports, how long it holds the lock.
    reference = _clone(template, "reference")
    lock = WriteLock(reference)
    try:
        lock.baseline()
        cli = Cli(load, reference, tmp_path)
        window = _watch(cli, lock)
    finally:
        lock.close()
    assert cli.wait() == 0, cli.stderr
    loaded = cli.json()
    assert loaded["revision"] == revision + 1 == _revision(reference)
    new = _logical(reference)
    assert window.hold > 5 * window.other + 0.1, f"the load's write is not told from its migration's: {window}"
    # Where uncommitted rows show from outside (PostgreSQL gives the transaction an id at its first
    # write), the kills land in that phase, after rows were written; where they cannot (SQLite keeps
    # them in the writer's page cache until the commit: the WAL grows only then), in the lock's.
    writing = window.writing > 0.1 * window.hold
    phase = window.writing if writing else window.hold

    # The comparison tells the two states apart, in every table the load writes…
    differ = {t for t in new if new[t] != old_logical.get(t)}
    assert {"datasets", "derivations", "feeds", "incidents", "models", "store_revision"} <= differ
    assert _state(template, old, new) == "old" and _state(reference, old, new) == "new"
    # …and calls a half-written store neither (rows written straight into copies of the new one).
    for n, damage in enumerate(("UPDATE datasets SET owner = owner || '-before' WHERE id % 2 = 0",
                                "DELETE FROM derivations WHERE id = (SELECT max(id) FROM derivations)")):
        half = _clone(reference, f"half{n}")
        engine = _engine(half)
        with engine.begin() as connection:
            assert connection.execute(text(damage)).rowcount > 0
        engine.dispose()
        assert _state(half, old, new) == "mixed", damage

    store, current = _clone(template, "crash"), "old"
    for n, share in enumerate(KILL_AT):
        when = ("just after its commit" if share is None
                else f"after {share:.0%} of its {'writing' if writing else 'write lock'}")
        if current == "new":  # the last kill came after the commit: a load on it would write nothing
            store, current = _clone(template, f"crash{n}"), "old"
        lock = WriteLock(store)
        try:
            lock.released()
            for attempt in range(3):  # a machine less busy than during the measurement finishes sooner
                lock.baseline()
                cli = Cli(load, store, tmp_path)
                if share is None:
                    # each attempt waits for a shorter hold (a less busy machine commits sooner), still far
                    # longer than the migration's, which must not be mistaken for the load's
                    longer_than = max(window.hold / 2 ** (attempt + 1), 3 * window.other + 0.05)
                    killed, wrote = _kill_after_commit(cli, lock, writing=writing, longer_than=longer_than), False
                else:
                    hold = share * phase / 2 ** attempt
                    killed, wrote = _kill_inside_write(cli, lock, hold if writing else max(hold, 2 * window.other),
                                                       writing=writing)
                if killed:
                    break
                assert cli.wait() == 0, cli.stderr
                lock.close()
                store = _clone(template, f"crash{n}-{attempt}")
                lock = WriteLock(store)
            else:
                pytest.fail(f"the load finished each time before it could be killed {when} ({window})")
            lock.released()  # on PostgreSQL: the killed client's transaction is over, committed or not
        finally:
            lock.close()

        problems = integrity_problems(store)
        assert problems == [], problems
        assert _trail_intact(store), f"kill -9 {when}: the audit trail no longer verifies"
        current = _state(store, old, new)
        assert current != "mixed", f"kill -9 {when}: {_differences(store, old, new)}"
        assert _revision(store) == (revision if current == "old" else revision + 1)
        if share is None:
            assert current == "new", "killed after its commit, the load left the earlier state"
            figures["kill -9 during load: just after the commit, before it reported"] += 1
        else:
            figures["kill -9 during load: inside the write transaction"] += 1
            figures["kill -9 during load: inside the write transaction, rows written and uncommitted"] += wrote
        figures["kill -9 during load survived"] += 1
        figures[f"kill -9 during load: store found {'as before' if current == 'old' else 'complete'}"] += 1

    # The next load on the store it was killed under works, and reports what the uncrashed one did.
    cli = _run(load, store, tmp_path)
    assert cli.process.returncode == 0, cli.stderr
    reloaded = cli.json()
    expected = (loaded["counts"] if current == "old" else
                {kind: {"created": 0, "updated": 0, "unchanged": n} for kind, n in _totals(loaded["counts"]).items()})
    assert reloaded["counts"] == expected
    assert reloaded["revision"] == _revision(store) == revision + 1
    assert _logical(store) == new
    assert integrity_problems(store) == []


# --- 2. kill -9 during `headwater check` -------------------------------------------------------

def _check_rows(url: str) -> set[str]:
    rows = store_rows(url)
    return {repr((table, row)) for table in ("check_runs", "check_results") for row in rows[table]}


def _incomplete_runs(url: str) -> list[str]:
    """Runs that are not whole: results missing or extra for the suite, or counts that disagree with them."""
    from catalog.schema import CheckResult, CheckRun, Dataset

    runs, results, datasets = CheckRun.__table__, CheckResult.__table__, Dataset.__table__
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            suites = {row.id: (row.name, row.expectations or []) for row in connection.execute(
                select(datasets.c.id, datasets.c.name, datasets.c.expectations))}
            of: dict[int, list[Any]] = {}
            for row in connection.execute(select(results).order_by(results.c.run_id, results.c.position)):
                of.setdefault(row.run_id, []).append(row)
            problems = []
            for run in connection.execute(select(runs)):
                name, suite = suites[run.dataset_id]
                mine = of.get(run.id, [])
                whole = (len(mine) == run.evaluated + run.errored
                         and sum(1 for r in mine if r.success is False) == run.failed
                         and [r.position for r in mine] == list(range(len(mine)))
                         and run.finished_at is not None and run.finished_at >= run.started_at
                         and (len(mine) == len(suite) > 0 if run.outcome in ("passed", "warning", "failed") else True)
                         and (not mine if run.outcome == "unchecked" else True))
                if not whole:
                    problems.append(f"run {run.id} of {name}: {run.outcome}, {len(mine)} results for a suite of "
                                    f"{len(suite)}, evaluated {run.evaluated} errored {run.errored} "
                                    f"failed {run.failed}")
            return problems
    finally:
        engine.dispose()


def _runs_counter(url: str) -> tuple[Callable[[], int], Engine]:
    """A cheap repeated count of check runs (one pooled connection), for watching a check from outside."""
    engine = _engine(url)

    def count() -> int:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM check_runs")).scalar_one())

    return count, engine


def test_kill_9_during_check_leaves_only_complete_runs(store_url: str, tmp_path: Path, headwater: Headwater,
                                                       figures: Counter[str]) -> None:
    catalog = _example(tmp_path)
    loaded = headwater("load", str(catalog), db=store_url)
    assert loaded.returncode == 0, loaded.stderr
    datasets = count_rows(store_url, "datasets")  # every one has a location: one run each
    runs_now, engine = _runs_counter(store_url)
    lock = WriteLock(store_url)
    try:
        for after, delay in CHECK_KILLS:
            after = after if after > 0 else datasets + after
            for attempt in range(2):  # a kill that came too late (the check had ended) is tried again
                before, runs = _check_rows(store_url), runs_now()
                cli = Cli(["check", "--force"], store_url, catalog.parent)
                deadline = time.monotonic() + 300
                while runs_now() < runs + after:
                    assert cli.alive(), f"the check ended before its run {after}: {cli.stderr[-2000:]}"
                    assert time.monotonic() < deadline, "the check did not get going"
                    time.sleep(0.005)
                time.sleep(delay)
                killed = cli.kill()
                lock.released()  # on PostgreSQL: the killed client's last transaction is over
                if killed:
                    break
                assert cli.process.returncode in (0, 1), cli.stderr
            else:
                pytest.fail(f"the check ended each time before it could be killed after its run {after}")
            problems = integrity_problems(store_url) + _incomplete_runs(store_url)
            assert problems == [], problems
            assert before <= _check_rows(store_url), "a run recorded before the kill changed"
            assert runs + after <= runs_now() <= runs + datasets
            figures["kill -9 during check survived"] += 1
        runs = runs_now()
    finally:
        lock.close()
        engine.dispose()

    # The next check works: verdicts reused from the runs the killed checks left are whole verdicts.
    cli = _run(["check", "--format", "json"], store_url, catalog.parent)
    report = cli.json()
    outcomes = {run["dataset"]: run["outcome"] for run in report["runs"]}
    assert cli.process.returncode == (1 if {"failed", "errored"} & set(outcomes.values()) else 0), cli.stderr
    assert len(outcomes) == datasets and "errored" not in outcomes.values(), outcomes
    assert outcomes["dataset:acme-ml:raw.loan_applications"] == "failed"  # the planted 17-year-olds
    assert report["reused"] >= 1
    assert count_rows(store_url, "check_runs") == runs + datasets
    problems = integrity_problems(store_url) + _incomplete_runs(store_url)
    assert problems == [], problems

    # The wholeness check does see a half-written run: a copy with one result fewer.
    damaged = _clone(store_url, "damaged")
    engine = _engine(damaged)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM check_results WHERE id = (SELECT max(id) FROM check_results)"))
    engine.dispose()
    assert len(_incomplete_runs(damaged)) == 1


# --- 3. two loaders and a checker on one SQLite file -------------------------------------------

def _commit_times(url: str) -> list[datetime]:
    """When each check run was committed (its finished_at, stamped just before its commit)."""
    from catalog.schema import CheckRun

    engine = _engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(select(CheckRun.__table__.c.finished_at)).scalars())
    finally:
        engine.dispose()


def test_two_loaders_and_a_checker_on_one_sqlite_file(sqlite_url: str, small_catalogs: Catalogs, tmp_path: Path,
                                                      headwater: Headwater, figures: Counter[str]) -> None:
    catalog = _example(tmp_path)
    loaded = headwater("load", str(catalog), db=sqlite_url)
    assert loaded.returncode == 0, loaded.stderr
    template = sqlite_url  # the example loaded, nothing checked yet
    clean = _clone(template, "clean")
    _load_in_process(clean, small_catalogs.new)
    expected = _logical(clean, CATALOG_TABLES)
    assert _logical(template, CATALOG_TABLES) != expected  # the comparison below is not vacuous
    engine = _engine(template)
    with engine.connect() as connection:
        example = {f"dataset:{ns}:{name}"
                   for ns, name in connection.execute(text("SELECT namespace, name FROM datasets"))}
    engine.dispose()

    for n, stagger in enumerate(ROUNDS):
        store = _clone(template, f"round{n}")
        revision = _revision(store)

        def start_loaders() -> list[Cli]:
            return [Cli(["load", "--format", "json", *map(str, small_catalogs.datasets)], store, tmp_path),
                    Cli(["load", "--format", "json", *map(str, small_catalogs.new)], store, tmp_path)]

        loaders = start_loaders() if stagger is None else []
        checker = Cli(["check", "--force", "--format", "json"], store, catalog.parent)
        if stagger is not None:
            runs_now, engine = _runs_counter(store)
            try:
                deadline = time.monotonic() + 300
                while runs_now() < stagger:
                    assert checker.alive() and time.monotonic() < deadline, f"the check never wrote run {stagger}"
                    time.sleep(0.005)
            finally:
                engine.dispose()
            loaders = start_loaders()
        lifetimes = _lifetimes([*loaders, checker])
        codes = [cli.process.returncode for cli in (*loaders, checker)]

        for cli in (*loaders, checker):
            output = cli.stdout + cli.stderr
            assert LOCKED not in output.lower(), f"round {n}: {cli.args[0]} saw {LOCKED!r}: {output[-2000:]}"
            assert "Traceback" not in output, f"round {n}: {cli.args[0]}: {output[-3000:]}"
        assert codes[:2] == [0, 0], [cli.stderr[-2000:] for cli in loaders]
        report = checker.json()
        verdict = 1 if any(run["outcome"] in ("failed", "errored") for run in report["runs"]) else 0
        assert codes[2] == verdict == 1, checker.stderr[-2000:]  # 1: the example's planted failures

        assert _logical(store, CATALOG_TABLES) == expected, f"round {n}: the store is not a clean load of the files"
        # Every example dataset checked once, whatever the loaders had committed when the check looked
        # (their datasets have no location: skipped, nothing written for them).
        assert sorted(run["dataset"] for run in report["runs"]) == sorted(example)
        assert {skip["reason"] for skip in report["skipped"]} <= {"no location"}
        assert count_rows(store, "check_runs") == len(report["runs"])
        changed = sum(1 for cli in loaders if any(b["created"] or b["updated"] for b in cli.json()["counts"].values()))
        assert changed >= 1
        assert _revision(store) == revision + changed + len(report["runs"])  # once per committed write
        problems = integrity_problems(store) + _incomplete_runs(store)
        assert problems == [], problems

        # They did contend: the checker committed runs while a loader was running (started together,
        # the loaders may be done before the checker has fingerprinted its first dataset).
        meeting = sum(1 for moment in _commit_times(store)
                      if any(begun <= moment <= ended for begun, ended in lifetimes[:2]))
        assert meeting > 0 or stagger is None, f"round {n}: no check run was committed while a loader ran"
        figures["concurrent CLI rounds (2 loaders + 1 checker, SQLite)"] += 1
        figures["check runs committed while a loader ran (concurrent CLI rounds)"] += meeting


def _lifetimes(clis: Sequence[Cli], timeout: float = 300) -> list[tuple[datetime, datetime]]:
    """Wait for every process; (start, end) of each in wall-clock UTC, as the store stamps its times."""
    ends: dict[int, datetime] = {}
    deadline = time.monotonic() + timeout
    while len(ends) < len(clis):
        assert time.monotonic() < deadline, "a process did not finish"
        for i, cli in enumerate(clis):
            if i not in ends and not cli.alive():
                ends[i] = datetime.now(timezone.utc)
        time.sleep(0.01)
    return [(cli.wall_started, ends[i]) for i, cli in enumerate(clis)]
