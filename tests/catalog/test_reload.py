"""A reload that can change nothing is answered from the last load's records; anything else loads in full.

The records (catalog/loader_fingerprints.py) may only stand in for a load when the files, what they
made the load read, the code reading them and the store are all as they were: these tests change
each of those in turn and check that the reload then does the work, and reconciles what it must.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from catalog import document, loader_fingerprints
from catalog.errors import InvalidCatalogFile
from catalog.loader import load_catalog, load_document
from catalog.schema import CatalogFileLoad, Dataset
from catalog.store import Store

A = """\
catalog: t
datasets:
  - name: raw.a
    owner: a@x.example
    origin: internal
  - name: feat.c
    derived_from: [raw.a]
    owner: c@x.example
models:
  - name: m
    risk_tier: high
    trained_on:
      - dataset: feat.c
        role: training
incidents:
  - dataset: raw.a
    kind: breach
    opened: 2026-11-01
"""

B = """\
catalog: t
datasets:
  - name: raw.b
    derived_from: [raw.a]
"""


def write(path: Path, content: str) -> Path:
    path.write_text(textwrap.dedent(content), encoding="utf-8")
    return path


def no_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any parse fail: a skipped reload must not read a file as YAML or JSON at all."""
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the file was parsed")

    monkeypatch.setattr("catalog.loader.read_document", refuse)


def owner(store: Store, name: str) -> str | None:
    with store.read() as session:
        return session.scalar(select(Dataset.owner).where(Dataset.name == name))


def history_size(store: Store) -> tuple[int, int]:
    with store.engine.connect() as connection:
        return (connection.execute(text("SELECT count(*) FROM history_changes")).scalar_one(),
                connection.execute(text("SELECT count(*) FROM history_entries")).scalar_one())


def test_an_unchanged_reload_parses_nothing_and_reports_what_a_full_load_reports(store, tmp_path, monkeypatch):
    files = [write(tmp_path / "a.yaml", A), write(tmp_path / "b.yaml", B)]
    first = load_catalog(store, files)
    assert not first.skipped and first.changed
    revision, history = store.revision(), history_size(store)
    full = load_catalog(store, files, force=True)  # the work a skip stands in for: it finds nothing to do
    assert not full.skipped and not full.changed
    assert (store.revision(), history_size(store)) == (revision, history)

    no_parsing(monkeypatch)
    again = load_catalog(store, files)
    assert again.skipped
    assert again.counts == full.counts == {"datasets": {"created": 0, "updated": 0, "unchanged": 3},
                                           "models": {"created": 0, "updated": 0, "unchanged": 1},
                                           "incidents": {"created": 0, "updated": 0, "unchanged": 1}}
    assert again.revision == revision and again.files == [str(f) for f in files]
    assert (store.revision(), history_size(store)) == (revision, history)


def test_a_row_edited_through_the_api_since_the_load_is_reconciled(store, tmp_path):
    catalog = write(tmp_path / "a.yaml", A)
    load_catalog(store, [catalog])
    load_document(store, {"catalog": "t", "datasets": [{"name": "raw.a", "owner": "someone@else.example",
                                                         "origin": "internal"}]},
                  source="put.yaml", base=tmp_path)
    assert owner(store, "raw.a") == "someone@else.example"

    result = load_catalog(store, [catalog])
    assert not result.skipped
    assert result.counts["datasets"]["updated"] == 1
    assert owner(store, "raw.a") == "a@x.example"  # the file is the source of truth for what it declares
    assert load_catalog(store, [catalog]).skipped  # and now the records stand for the store again


def test_a_row_edited_with_direct_sql_is_reconciled_though_the_revision_did_not_move(store, tmp_path):
    catalog = write(tmp_path / "a.yaml", A)
    load_catalog(store, [catalog])
    revision = store.revision()
    with store.engine.begin() as connection:  # outside Headwater: only the history triggers see it
        connection.execute(update(Dataset).where(Dataset.name == "feat.c").values(owner="sql@x.example"))
    assert store.revision() == revision

    result = load_catalog(store, [catalog])
    assert not result.skipped and result.counts["datasets"]["updated"] == 1
    assert owner(store, "feat.c") == "c@x.example"


def test_an_edited_file_loads_in_full_and_the_next_reload_skips_again(store, tmp_path):
    catalog = write(tmp_path / "a.yaml", A)
    load_catalog(store, [catalog])
    write(catalog, A.replace("c@x.example", "new@x.example"))
    edited = load_catalog(store, [catalog])
    assert not edited.skipped and edited.counts["datasets"]["updated"] == 1
    assert owner(store, "feat.c") == "new@x.example"
    assert load_catalog(store, [catalog]).skipped


def test_a_file_added_to_the_load_makes_it_a_full_one(store, tmp_path):
    a = write(tmp_path / "a.yaml", A)
    load_catalog(store, [a])
    b = write(tmp_path / "b.yaml", B)
    result = load_catalog(store, [a, b])
    assert not result.skipped and result.counts["datasets"] == {"created": 1, "updated": 0, "unchanged": 2}
    assert load_catalog(store, [a, b]).skipped
    assert load_catalog(store, [a]).skipped  # a file of the last load, alone: also nothing to do


def test_a_file_loaded_before_another_load_wrote_is_not_skipped(store, tmp_path):
    a, b = write(tmp_path / "a.yaml", A), write(tmp_path / "b.yaml", B)
    load_catalog(store, [a])
    load_catalog(store, [b])  # writes: a's record now carries an older mark than the store's
    result = load_catalog(store, [a, b])
    assert not result.skipped and not result.changed


def test_a_changed_suite_file_is_loaded(store, tmp_path):
    suite = tmp_path / "suite.json"
    suite.write_text(json.dumps({"expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "a"}}]}))
    catalog = write(tmp_path / "a.yaml", A.replace("origin: internal", "origin: internal\n    expectations_file: suite.json"))
    load_catalog(store, [catalog])
    assert load_catalog(store, [catalog]).skipped
    suite.write_text(json.dumps({"expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "b"}}]}))
    result = load_catalog(store, [catalog])
    assert not result.skipped and result.counts["datasets"]["updated"] == 1
    with store.read() as session:
        stored = session.scalar(select(Dataset.expectations).where(Dataset.name == "raw.a"))
    assert stored[0]["kwargs"] == {"column": "b"}


def test_a_policy_file_that_disappeared_is_still_reported(store, tmp_path, examples):
    policy = tmp_path / "policy.yaml"
    policy.write_text((examples / "policy.yaml").read_text() if (examples / "policy.yaml").is_file() else "{}\n")
    catalog = write(tmp_path / "a.yaml", "policy: policy.yaml\n" + A)
    try:
        load_catalog(store, [catalog])
    except InvalidCatalogFile:
        pytest.skip("the example policy does not load here")
    policy.unlink()
    with pytest.raises(InvalidCatalogFile, match="policy file .* not found"):
        load_catalog(store, [catalog])


def test_a_file_named_twice_is_still_a_duplicate_of_itself(store, tmp_path):
    catalog = write(tmp_path / "a.yaml", A)
    load_catalog(store, [catalog])
    with pytest.raises(InvalidCatalogFile, match="duplicate dataset"):
        load_catalog(store, [catalog, catalog])


def test_new_code_reads_every_file_again(store, tmp_path, monkeypatch):
    catalog = write(tmp_path / "a.yaml", A)
    load_catalog(store, [catalog])
    monkeypatch.setattr(loader_fingerprints, "interpretation", lambda: b"another version of the loader")
    result = load_catalog(store, [catalog])
    assert not result.skipped and not result.changed
    assert load_catalog(store, [catalog]).skipped  # recorded under the new code


def test_a_failed_load_leaves_the_records_as_they_were(store, tmp_path):
    catalog = write(tmp_path / "a.yaml", A)
    load_catalog(store, [catalog])
    with store.read() as session:
        before = session.scalars(select(CatalogFileLoad.digest)).all()
    write(catalog, A.replace("risk_tier: high", "risk_tier: enormous"))
    with pytest.raises(InvalidCatalogFile):
        load_catalog(store, [catalog])
    with store.read() as session:
        assert session.scalars(select(CatalogFileLoad.digest)).all() == before
    write(catalog, A)
    assert load_catalog(store, [catalog]).skipped  # the store was left as the first load made it


def test_counts_of_a_skip_match_a_full_load_when_two_files_declare_one_incident(store, tmp_path):
    a = write(tmp_path / "a.yaml", A)
    b = write(tmp_path / "b.yaml", B + "incidents:\n  - dataset: raw.a\n    kind: breach\n    opened: 2026-11-01\n")
    load_catalog(store, [a, b])
    full = load_catalog(store, [a, b], force=True)
    assert load_catalog(store, [a, b]).counts == full.counts
    assert full.counts["incidents"] == {"created": 0, "updated": 0, "unchanged": 1}


def test_json_files_skip_too_and_their_lines_are_stored(store, tmp_path, monkeypatch):
    data = {"catalog": "t", "datasets": [{"name": "raw.a"}, {"name": "raw.b", "derived_from": ["raw.a"]}]}
    catalog = tmp_path / "c.json"
    catalog.write_text(json.dumps(data, indent=1) + "\n")
    load_catalog(store, [catalog])
    with store.read() as session:
        lines = {name: line for name, line in session.execute(select(Dataset.name, Dataset.catalog_line))}
    parsed, _ = document._read_yaml(catalog, catalog.read_text())
    assert lines == {"raw.a": parsed.line_of(("datasets", 0)), "raw.b": parsed.line_of(("datasets", 1))} == {
        "raw.a": 4, "raw.b": 7}
    no_parsing(monkeypatch)
    assert load_catalog(store, [catalog]).skipped
