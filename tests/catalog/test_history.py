"""The history: the past queried like the present, who changed what, and a trail that shows tampering.

Each store here has a clock the test moves, so "as of before the change" is a moment the store
really lived through, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from catalog.errors import BeforeHistory
from catalog.history import service as history
from catalog.history.actor import acting_as
from catalog.loader import load_catalog
from catalog.store import Store
from checks import risk
from lineage import service as lineage

START = datetime(2026, 3, 1, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves by hand: each store write is stamped with `now`."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, days: int = 1) -> datetime:
        self.now += timedelta(days=days)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def timed_store(store_url: str, clock: Clock):
    opened = Store(store_url, clock=clock)
    yield opened
    opened.close()


CATALOG = """\
    catalog: h
    datasets:
      - name: people
        owner: data@h.example
        origin: internal
        licence: proprietary
        personal_data: true
        purpose: scoring
        {basis}
        freshness: 30d
      - name: features
        derived_from: [people]
    models:
      - name: scorer
        risk_tier: high
        deployed: true
        purpose: scoring
        trained_on: [{{dataset: features, role: training}}{extra}]
    """


def write(path: Path, *, basis: str = "", extra: str = "") -> Path:
    path.write_text(textwrap.dedent(CATALOG.format(basis=basis, extra=extra)))
    return path


def conditions_at(store: Store, moment: datetime | None) -> set[str]:
    return {f.condition for f in risk.evaluate(store, as_of=moment).findings if f.node == "dataset:h:people"}


def test_a_legal_basis_changed_between_two_loads_is_judged_as_it_was(timed_store: Store, clock: Clock, tmp_path: Path):
    catalog = write(tmp_path / "c.yaml")
    load_catalog(timed_store, [catalog])
    first = clock.advance()  # the catalog as loaded: personal data, no legal basis
    clock.advance()
    load_catalog(timed_store, [write(catalog, basis="legal_basis: consent")])
    later = clock.advance()
    assert "lawful_basis_missing" in conditions_at(timed_store, first)
    assert "lawful_basis_missing" not in conditions_at(timed_store, later)
    assert "lawful_basis_missing" not in conditions_at(timed_store, None)
    changes = history.history(timed_store, "h:people", kind="dataset").changes
    assert changes[0].op == "updated" and changes[0].fields["legal_basis"].model_dump() == {"before": None,
                                                                                            "after": "consent"}


def test_a_removed_feed_is_still_upstream_as_of_before_its_removal(timed_store: Store, clock: Clock, tmp_path: Path):
    catalog = write(tmp_path / "c.yaml", extra=", {dataset: people, role: validation}")
    load_catalog(timed_store, [catalog])
    before = clock.advance()
    clock.advance()
    load_catalog(timed_store, [write(catalog)])  # the validation feed is gone

    def direct(moment: datetime | None) -> set[str]:
        result = lineage.lineage(timed_store, "h:scorer", depth=1, as_of=moment)
        return {n.node.id for n in result.nodes}

    assert "dataset:h:people" in direct(before)
    assert "dataset:h:people" not in direct(None)
    assert lineage.path(timed_store, "h:people", "h:scorer", as_of=before).path_count == 2
    assert lineage.path(timed_store, "h:people", "h:scorer").path_count == 1
    removed = [c for c in history.history(timed_store, "h:scorer", kind="model").changes if c.op == "deleted"]
    assert [c.row for c in removed] == ["feed (validation): dataset:h:people -> model:h:scorer@1"]


def test_a_deleted_dataset_stays_in_its_history_and_in_past_lineage(timed_store: Store, clock: Clock, tmp_path: Path):
    from api.edits import delete_entry

    load_catalog(timed_store, [write(tmp_path / "c.yaml")])
    before = clock.advance()
    clock.advance()
    delete_entry(timed_store, "dataset", "h:people")
    past = lineage.impact(timed_store, "h:people", as_of=before)
    assert [m.model.id for m in past.models] == ["model:h:scorer@1"]
    with pytest.raises(Exception, match="people"):
        lineage.impact(timed_store, "h:people")
    record = history.history(timed_store, "people")  # a bare name, found only in the history now
    assert record.exists is False and record.node == "dataset:h:people"
    newest = [c for c in record.changes if c.entry == record.changes[0].entry]  # the delete, with its cascade
    assert {(c.op, c.row) for c in newest} == {("deleted", "itself"),
                                               ("deleted", "derivation: dataset:h:people -> dataset:h:features")}


def test_as_of_before_the_store_existed_is_refused_and_now_is_the_present(timed_store: Store, clock: Clock,
                                                                           tmp_path: Path):
    load_catalog(timed_store, [write(tmp_path / "c.yaml")])
    with pytest.raises(BeforeHistory, match="history begins at 2026-03-01"):
        lineage.lineage(timed_store, "h:scorer", as_of=START - timedelta(seconds=1))
    from lineage.graph import CACHE

    present = lineage.graph_of(timed_store)
    assert lineage.graph_of(timed_store, clock.advance()) is present is CACHE.graph(timed_store)


def test_reloading_an_unchanged_file_writes_no_history(timed_store: Store, tmp_path: Path):
    catalog = write(tmp_path / "c.yaml")
    load_catalog(timed_store, [catalog])
    with timed_store.engine.connect() as connection:
        counted = connection.execute(text("SELECT count(*) FROM history_changes")).scalar_one()
        entries = connection.execute(text("SELECT count(*) FROM history_entries")).scalar_one()
    load_catalog(timed_store, [catalog])
    with timed_store.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM history_changes")).scalar_one() == counted
        assert connection.execute(text("SELECT count(*) FROM history_entries")).scalar_one() == entries
    tracked = ("datasets", "jobs", "models", "feeds", "derivations", "incidents", "settings")
    with timed_store.engine.connect() as connection:
        rows = sum(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in tracked)
    assert counted == rows == 5  # a fresh store: each row inserted once (2 datasets, a derivation, a model, a feed)


def _tamper(store: Store, statement: str) -> None:
    with store.engine.begin() as connection:
        connection.execute(text(statement))


@pytest.mark.parametrize("statement, broken, says", [
    ("UPDATE history_changes SET after = replace(after, 'data@h.example', 'x@h.example') WHERE id = 1", 2, "edited"),
    ("DELETE FROM history_changes WHERE id = 3", 2, "deleted (1 of"),
    ("UPDATE history_entries SET actor = 'someone-else' WHERE id = 2", 2, "own fields"),
    ("DELETE FROM history_entries WHERE id = 2", 3, "entry 2 is missing"),
])
def test_editing_the_history_with_plain_sql_breaks_the_chain_at_that_entry(timed_store: Store, clock: Clock,
                                                                           tmp_path: Path, statement: str, broken: int,
                                                                           says: str):
    catalog = write(tmp_path / "c.yaml")
    load_catalog(timed_store, [catalog])
    clock.advance()
    load_catalog(timed_store, [write(catalog, basis="legal_basis: consent")])
    verdict = history.verify(timed_store)
    assert verdict.ok and verdict.entries == 3
    _tamper(timed_store, statement)
    verdict = history.verify(timed_store)
    assert not verdict.ok and verdict.broken_entry == broken and says in verdict.problem


def test_a_direct_sql_change_is_sealed_as_such_at_the_next_write(timed_store: Store, clock: Clock, tmp_path: Path):
    load_catalog(timed_store, [write(tmp_path / "c.yaml")])
    _tamper(timed_store, "UPDATE datasets SET owner = 'mallory@h.example' WHERE name = 'people'")
    verdict = history.verify(timed_store)
    assert not verdict.ok and verdict.broken_entry is None and "in no entry" in verdict.problem
    with acting_as("alice"):
        load_catalog(timed_store, [write(tmp_path / "c.yaml", basis="legal_basis: consent")])
    assert history.verify(timed_store).ok
    changes = history.history(timed_store, "h:people", kind="dataset").changes
    by_source = {c.source: c for c in changes if c.op == "updated"}
    assert by_source["direct-sql"].actor == "unknown"
    assert by_source["direct-sql"].fields["owner"].model_dump() == {"before": "data@h.example", "after": "mallory@h.example"}
    assert by_source["catalog-file"].actor == "alice"


def test_audit_cli_verify_export_and_bad_input(headwater, tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'a.db'}"
    assert headwater("load", str(write(tmp_path / "c.yaml")), db=db, env={"HEADWATER_ACTOR": "ci-bot"}).returncode == 0
    ok = headwater("audit", "verify", "--format", "json", db=db)
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    exported = headwater("audit", "export", db=db).stdout.splitlines()
    records = [json.loads(line) for line in exported]
    assert [r["id"] for r in records] == [1, 2] and records[1]["actor"] == "ci-bot"
    assert records[1]["source"] == "catalog-file" and records[1]["previous"] == records[0]["hash"]
    assert {c["entity"] for c in records[1]["changes"]} >= {"datasets", "models", "feeds", "derivations"}
    assert headwater("audit", "export", "--since", "2999-01-01", db=db).stdout == ""
    _tamper(Store(db), "UPDATE history_changes SET op = 'update' WHERE id = 2")
    broken = headwater("audit", "verify", db=db)
    assert broken.returncode == 1 and "entry 2" in broken.stderr and "edited" in broken.stderr
    missing = headwater("audit", "verify", db=f"sqlite:///{tmp_path / 'nothing.db'}")
    assert missing.returncode == 2 and "no store" in missing.stderr
    assert not (tmp_path / "nothing.db").exists()
    bad = headwater("history", "people", "--since", "last week", db=db)
    assert bad.returncode == 2 and "--since" in bad.stderr
    gone = headwater("history", "no-such-thing", db=db)
    assert gone.returncode == 2 and "no dataset or model named" in gone.stderr


def test_every_write_path_records_its_actor_and_source(store_url: str, clock: Clock, tmp_path: Path, examples: Path):
    """A catalog file, the API's PUT, OpenLineage through the API, an importer, a check: each entry
    names who and through what."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.config import Settings
    from catalog.history import chain
    from catalog.imports import apply_import
    from catalog.importers.dbt import plan_import
    from tests.paths import FIXTURES

    store = Store(store_url, clock=clock)
    with acting_as("alice"):
        load_catalog(store, [write(tmp_path / "c.yaml")])
    settings = Settings(db=store_url, tokens=("pipeline:p-token:write", "bare-token"), allowed_hosts=("testserver",))
    with TestClient(create_app(settings, store=store)) as client:
        put = client.put("/api/v1/datasets/h:extra", json={"owner": "o@h.example"},
                         headers={"Authorization": "Bearer bare-token"})
        assert put.status_code == 201, put.text
        event = json.loads(next((FIXTURES / "openlineage" / "events" / "valid").rglob("*.json")).read_text())
        posted = client.post("/api/v1/lineage", json=event, headers={"Authorization": "Bearer p-token"})
        assert posted.status_code in (200, 201), posted.text
    with acting_as("bob"):
        apply_import(store, plan_import(FIXTURES / "dbt" / "run_a" / "target", namespace="dbt-ns"))
    with store.read() as session:
        trail = [(e["actor"], e["source"], e["detail"]) for e in chain.export(session)]
    store.close()
    sources = {source: (actor, detail) for actor, source, detail in trail}
    assert sources["migration"][0] == "headwater"
    assert sources["catalog-file"] == ("alice", {"files": [str((tmp_path / "c.yaml").resolve())]})
    bare = sources["api"]
    assert bare[0].startswith("token-") and len(bare[0]) == len("token-") + 8 and "bare-token" not in bare[0]
    assert bare[1] == {"request": "PUT datasets h:extra"}
    assert sources["openlineage"][0] == "pipeline" and sources["openlineage"][1]["producers"] == [event["producer"]]
    assert sources["import:dbt"][0] == "bob"
    with Store(store_url) as reopened, reopened.read() as session:
        dumped = json.dumps(list(chain.export(session)), default=str)
    assert "p-token" not in dumped and "bare-token" not in dumped  # token values are never stored


def test_an_upgraded_store_records_what_it_held_as_its_baseline(tmp_path: Path, clock: Clock):
    """A store from before the history (0007) keeps its rows; they are its history's first entry, and
    a moment before the upgrade is refused rather than answered with today's catalog."""
    from tests.old_stores import store_at

    db = f"sqlite:///{tmp_path / 'old.db'}"
    with store_at(db, "0007") as connection:
        stamp = "'2026-01-01', '2026-01-01'"
        connection.execute(text("INSERT INTO datasets (id, namespace, name, owner, special_categories, licence_revoked,"
                                f" tags, expectations, freshness, created_at, updated_at) VALUES (1, 'd', 'x', 'o@d',"
                                f" '[]', 0, '[]', '[]', '1970-01-08 00:00:00.000000', {stamp})"))
    store = Store(db, clock=clock)  # migrates to head at START
    try:
        clock.advance()
        with store.transaction() as writer:
            writer.upsert_dataset("d", "x", {"owner": "new@d"})
        upgraded = clock.advance()
        verdict = history.verify(store)
        assert verdict.ok and verdict.entries == 2 and verdict.changes == 2
        changes = history.history(store, "d:x", kind="dataset").changes
        assert [(c.op, c.source) for c in changes] == [("updated", "headwater"), ("recorded", "migration")]
        assert changes[1].fields["freshness"].after == "7d"  # the baseline image decodes as the live row
        with pytest.raises(BeforeHistory):
            lineage.lineage(store, "d:x", as_of=START - timedelta(days=1))
        assert lineage.graph_of(store, START).nodes["dataset:d:x"]["owner"] == "o@d"
        assert lineage.graph_of(store, upgraded).nodes["dataset:d:x"]["owner"] == "new@d"
    finally:
        store.close()


def test_past_rows_decode_to_the_values_the_live_tables_give(timed_store: Store, clock: Clock, tmp_path: Path):
    """Durations, dates, moments, booleans and lists read back from the row images exactly as from
    the tables, on both databases (PostgreSQL writes intervals in ISO 8601, SQLite as moments)."""
    from catalog.history.past import rows_at

    catalog = tmp_path / "c.yaml"
    catalog.write_text(textwrap.dedent("""\
        catalog: h
        datasets:
          - name: people
            personal_data: true
            special_categories: [health]
            freshness: 36h
            retention: 400d
            collected: 2026-02-01
            tags: [a, b]
        incidents:
          - {dataset: people, kind: breach, opened: 2026-02-10T08:30:00Z, note: seen}
        """))
    load_catalog(timed_store, [catalog])
    live = timed_store.lineage_rows()
    clock.advance()
    with timed_store.transaction() as writer:  # a later change, so the moment before it is the past
        writer.upsert_dataset("h", "other", {})
    with timed_store.read() as session:
        past = rows_at(session, START)
    assert past is not None
    assert past.decoded("datasets") == live.decoded("datasets") and past.incidents == live.incidents


def test_a_reused_row_id_does_not_mix_two_datasets_histories(timed_store: Store, clock: Clock):
    """SQLite gives a new row the id of a deleted last one: the new dataset's history is its own."""
    with timed_store.transaction() as writer:
        writer.upsert_dataset("h", "first", {"owner": "a@h.example"})
    clock.advance()
    with timed_store.transaction() as writer:
        writer.delete_dataset("h", "first")
    clock.advance()
    with timed_store.transaction() as writer:
        writer.upsert_dataset("h", "second", {"owner": "b@h.example"})
    first = history.history(timed_store, "h:first", kind="dataset").changes
    second = history.history(timed_store, "h:second", kind="dataset").changes
    assert [c.op for c in first] == ["deleted", "created"]
    assert [c.op for c in second] == ["created"] and second[0].fields["owner"].after == "b@h.example"


def test_a_datasets_history_shows_its_columns_and_column_flows(timed_store: Store, clock: Clock, tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent("""\
        catalog: h
        datasets:
          - {name: people, columns: [id, {name: email, classifications: [direct_identifier]}]}
          - {name: contacts, derived_from: [{dataset: people, columns: {email_domain: email}}]}
        """))
    load_catalog(timed_store, [path])
    clock.advance()
    path.write_text(textwrap.dedent("""\
        catalog: h
        datasets:
          - {name: people, columns: [id, {name: email, classifications: [direct_identifier, personal_data]}]}
          - {name: contacts, derived_from: [people]}
        """))
    load_catalog(timed_store, [path])
    rows = [(c.op, c.row) for c in history.history(timed_store, "h:people", kind="dataset").changes]
    assert ("created", "column email of dataset:h:people") in rows
    assert ("updated", "column email of dataset:h:people") in rows
    assert ("deleted", "column flow (direct): dataset:h:people.email -> dataset:h:contacts.email_domain") in rows
    updated = next(c for c in history.history(timed_store, "h:people", kind="dataset").changes
                   if c.row == "column email of dataset:h:people" and c.op == "updated")
    assert updated.fields["classifications"].model_dump() == {"before": ["direct_identifier"],
                                                              "after": ["direct_identifier", "personal_data"]}


@pytest.mark.parametrize("row", [
    (1, "datasets", "17", "insert", None, '{"name": "café \\"quoted\\"", "tab": "\t", "nl": "\n"}'),
    (2**40, "feeds", "3", "update", '{"a": 1}', '{"a": "\u2028 \x00 \ud7ff"}'),
    (3, "models", "x:y", "delete", '{}', None),
    (4, "datasets", "5", "baseline", None, None),
    (True, "odd", "1", "insert", None, None),  # not the table's shape: the encoder itself writes it
    (5, "datasets", 6, "insert", b"bytes?", None),
])
def test_a_change_is_hashed_as_the_json_encoder_writes_it(row):
    """The digest's spelt-out encoding must give the encoder's exact bytes, or every stored chain breaks."""
    from catalog.history.chain import encode_change

    try:
        expected = json.JSONEncoder(ensure_ascii=False).encode(list(row))
    except TypeError:
        with pytest.raises(TypeError):
            encode_change(row)
        return
    assert encode_change(row) == expected
