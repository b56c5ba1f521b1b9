"""`load_catalog`: idempotence, declarative edges, and errors that name file, path and line."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from catalog.errors import InvalidCatalogFile
from catalog.loader import load_catalog
from catalog.schema import Dataset, Derivation, Feed, Incident, Model
from catalog.store import Store

BASE = """\
catalog: t
datasets:
  - name: raw.a
    location: data/a.csv
    owner: a@x.example
    origin: internal
  - name: raw.b
    origin: vendor
  - name: feat.c
    derived_from: [raw.a, raw.b]
    job: jobs.build_c
models:
  - name: m
    risk_tier: high
    trained_on:
      - dataset: feat.c
        role: training
        fingerprint: sha256:0000000000000000000000000000000000000000000000000000000000000000
        at: 2026-10-01T12:00:00Z
incidents:
  - dataset: raw.b
    kind: breach
    opened: 2026-11-01
"""


def write(folder: Path, text: str, name: str = "catalog.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def snapshot(store: Store) -> dict:
    """Everything a load could write, for before/after comparisons."""
    with store.read() as session:
        return {
            "revision": store.revision(),
            "datasets": sorted((d.namespace, d.name, d.owner, d.location) for d in session.query(Dataset)),
            "models": sorted((m.name, m.risk_tier, m.version) for m in session.query(Model)),
            "derivations": sorted((d.input_id, d.output_id, d.job_id, d.source) for d in session.query(Derivation)),
            "feeds": sorted((f.dataset_id, f.model_id, f.role, f.fingerprint) for f in session.query(Feed)),
            "incidents": sorted((i.dataset_id, i.kind, i.note) for i in session.query(Incident)),
        }


def problems_of(store: Store, *paths: Path) -> list:
    with pytest.raises(InvalidCatalogFile) as raised:
        load_catalog(store, list(paths))
    return raised.value.problems


# --- idempotence and updates ---------------------------------------------------------------------

def test_load_example_creates_every_dataset_model_and_incident(store, examples):
    result = load_catalog(store, [examples / "catalog.yaml"])
    assert result.counts["datasets"] == {"created": 15, "updated": 0, "unchanged": 0}
    # model versions: credit-scorer 3.1.0 and 3.2.0, support-assistant, churn-predictor
    assert result.counts["models"] == {"created": 4, "updated": 0, "unchanged": 0}
    assert result.counts["incidents"] == {"created": 3, "updated": 0, "unchanged": 0}
    assert store.counts() == {"datasets": 15, "jobs": 4, "models": 4, "feeds": 6, "derivations": 14, "incidents": 3}
    assert result.revision == 1


@pytest.mark.parametrize("force", [False, True], ids=["from-fingerprints", "in-full"])
def test_load_twice_reports_unchanged_and_keeps_the_revision(store, examples, force):
    """Both ways a reload can go: answered from the first load's records, or parsed and diffed in full."""
    load_catalog(store, [examples / "catalog.yaml"])
    before = snapshot(store)
    again = load_catalog(store, [examples / "catalog.yaml"], force=force)
    assert again.skipped is not force
    assert again.counts["datasets"] == {"created": 0, "updated": 0, "unchanged": 15}
    assert again.counts["models"] == {"created": 0, "updated": 0, "unchanged": 4}
    assert again.counts["incidents"] == {"created": 0, "updated": 0, "unchanged": 3}
    assert not again.changed
    assert snapshot(store) == before


def test_edited_field_updates_only_that_dataset(store, tmp_path):
    path = write(tmp_path, BASE)
    load_catalog(store, [path])
    write(tmp_path, BASE.replace("owner: a@x.example", "owner: new-owner@x.example"))
    result = load_catalog(store, [path])
    assert result.counts["datasets"] == {"created": 0, "updated": 1, "unchanged": 2}
    assert result.counts["models"] == {"created": 0, "updated": 0, "unchanged": 1}
    assert result.revision == 2
    assert ("t", "raw.a", "new-owner@x.example", str((tmp_path / "data/a.csv").resolve())) in snapshot(store)["datasets"]


def test_removed_input_drops_its_derivation_and_counts_the_output_updated(store, tmp_path):
    path = write(tmp_path, BASE)
    load_catalog(store, [path])
    assert store.counts()["derivations"] == 2
    write(tmp_path, BASE.replace("derived_from: [raw.a, raw.b]", "derived_from: [raw.a]"))
    result = load_catalog(store, [path])
    assert result.counts["datasets"] == {"created": 0, "updated": 1, "unchanged": 2}
    assert store.counts()["derivations"] == 1


def test_changed_feed_fingerprint_updates_the_model(store, tmp_path):
    path = write(tmp_path, BASE)
    load_catalog(store, [path])
    write(tmp_path, BASE.replace("0" * 64, "f" * 64))
    result = load_catalog(store, [path])
    assert result.counts["models"] == {"created": 0, "updated": 1, "unchanged": 0}
    assert snapshot(store)["feeds"][0][3] == "sha256:" + "f" * 64


def test_reload_keeps_derivations_that_came_from_openlineage(store, tmp_path):
    from catalog.bulk import Bulk

    path = write(tmp_path, BASE)
    load_catalog(store, [path])
    with store.transaction() as writer:  # as OpenLineage ingestion writes its edges
        a, c = writer.dataset("t", "raw.b"), writer.dataset("t", "feat.c")
        extra, _ = writer.upsert_dataset("t", "raw.from_pipeline", {})
        Bulk(writer).replace_derivations({c.id: {(extra.id, None)}}, source="openlineage")
    write(tmp_path, BASE.replace("derived_from: [raw.a, raw.b]", "derived_from: [raw.a]"))
    load_catalog(store, [path])
    sources = sorted(d[3] for d in snapshot(store)["derivations"])
    assert sources == ["catalog", "openlineage"]
    assert a is not None


def test_files_in_one_load_may_refer_to_each_other(store, tmp_path):
    sources = write(tmp_path, "catalog: t\ndatasets:\n  - name: raw.a\n", "sources.yaml")
    derived = write(tmp_path, "catalog: t\ndatasets:\n  - name: feat.b\n    derived_from: [raw.a]\n", "derived.yaml")
    result = load_catalog(store, [derived, sources])
    assert result.counts["datasets"]["created"] == 2
    assert store.counts()["derivations"] == 1


def test_reference_by_full_id_reaches_another_namespace(store, tmp_path):
    write(tmp_path, "catalog: vendor:eu\ndatasets:\n  - name: scores\n", "vendor.yaml")
    load_catalog(store, [tmp_path / "vendor.yaml"])
    path = write(tmp_path, "catalog: t\ndatasets:\n  - name: feat\n    derived_from: ['dataset:vendor:eu:scores']\n")
    load_catalog(store, [path])
    assert store.counts()["derivations"] == 1


def test_json_catalog_files_load_like_yaml(store, tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text('{\n  "catalog": "t",\n  "datasets": [\n    {"name": "a", "freshness": "7d"},\n'
                    '    {"name": "b", "origin": "nowhere"}\n  ]\n}\n')
    problems = problems_of(store, path)
    assert [(p.path, p.line) for p in problems] == [("datasets[1].origin", 5)]
    path.write_text(path.read_text().replace("nowhere", "public"))
    assert load_catalog(store, [path]).counts["datasets"]["created"] == 2


def _yaml_reading(path: Path):
    """The file as the YAML reader reads it (what every catalog file went through before)."""
    from catalog.document import _read_yaml

    return _read_yaml(path, path.read_bytes().decode("utf-8"))


def test_a_json_file_reads_as_its_yaml_reading_with_the_same_lines(tmp_path):
    """The json module reads JSON files (ten times faster than YAML); data and lines must not change."""
    from catalog.document import read_document

    path = tmp_path / "c.json"
    path.write_text('{"catalog": "t", "defaults": {"freshness": "7d"},\n "datasets": [\n  {"name": "a",\n'
                    '   "tags": ["x", "\\u00e9"], "licence": {"id": "MIT", "expires": "2027-06-30"}},\n\n'
                    '  {"name": "b", "n": [1, -0, 2.5, true, null]}\n ],\n "models": []\n}\n')
    fast, problems = read_document(path)
    assert not problems and fast.more_lines is not None  # read by the json module
    slow, _ = _yaml_reading(path)
    assert fast.data == slow.data
    for loc in [(), ("datasets",), ("datasets", 0), ("datasets", 1), ("models",), ("datasets", 0, "licence", "expires"),
                ("datasets", 1, "n", 3), ("defaults", "freshness"), ("datasets", 0, "nope")]:
        assert fast.line_of(loc) == slow.line_of(loc), loc


@pytest.mark.parametrize("content", [
    '{"catalog": "t", "datasets": [{"name": "a", "version": 1e3}]}',  # YAML 1.1 reads 1e3 as text
    '{"catalog": "t", "catalog": "u"}',  # a duplicate key: YAML's reading reports it
    "{catalog: t, datasets: []}",  # YAML's flow style, not JSON
    '{"catalog": "t",\r\n "datasets": []}',  # a line break JSON and YAML count differently
    '{"catalog": "t\u0085"}',  # a character YAML refuses
])
def test_json_that_yaml_reads_differently_is_read_as_yaml(tmp_path, content):
    from catalog.document import read_document

    path = tmp_path / "c.json"
    path.write_bytes(content.encode("utf-8"))
    document, problems = read_document(path)
    slow, slow_problems = _yaml_reading(path)
    if document is None:
        assert problems == slow_problems
    else:
        assert document.more_lines is None and document.data == slow.data


def test_relative_locations_resolve_against_the_catalog_file(store, tmp_path):
    folder = tmp_path / "cat"
    folder.mkdir()
    path = write(folder, "catalog: t\ndatasets:\n  - name: a\n    location: data/a.parquet\n"
                         "  - name: b\n    location: sqlite:///data/crm.db#customers\n"
                         "  - name: c\n    location: s3://bucket/key.csv\n")
    load_catalog(store, [path])
    locations = dict((name, location) for _, name, _, location in snapshot(store)["datasets"])
    assert locations["a"] == str((folder / "data" / "a.parquet").resolve())
    assert locations["b"] == f"sqlite:///{(folder / 'data' / 'crm.db').resolve()}#customers"
    assert locations["c"] == "s3://bucket/key.csv"


# --- errors: each names the file, the path inside it and the line --------------------------------

CASES = [
    ("unknown enum", "  - name: a\n    origin: interal\n", "datasets[0].origin", 4, "'internal'"),
    ("impossible date", "  - name: a\n    licence: {id: x, expires: 2027-13-01}\n", "datasets[0].licence.expires", 4, "month"),
    ("ambiguous duration", "  - name: a\n    freshness: 6m\n", "datasets[0].freshness", 4, "'mo' for months"),
    ("unknown unit", "  - name: a\n    retention: 3 fortnights\n", "datasets[0].retention", 4, "duration"),
    ("misspelt field", "  - name: a\n    licnse: MIT\n", "datasets[0].licnse", 4, "did you mean 'licence'"),
    ("missing name", "  - origin: public\n", "datasets[0].name", 3, "required"),
    ("wrong type", "  - name: a\n    personal_data: [yes]\n", "datasets[0].personal_data", 4, "boolean"),
    ("bad location", "  - name: a\n    location: data/a.xlsx\n", "datasets[0].location", 4, ".csv, .parquet or .jsonl"),
    ("table missing", "  - name: a\n    location: sqlite:///x.db\n", "datasets[0].location", 4, "#"),
    ("job without inputs", "  - name: a\n    job: j\n", "datasets[0]", 3, "derived_from"),
    ("unknown input", "  - name: a\n    derived_from: [raw.nope]\n", "datasets[0].derived_from[0]", 4, "unknown dataset 'raw.nope'"),
    ("self derivation", "  - name: a\n    derived_from: [a]\n", "datasets[0].derived_from", 4, "itself"),
    ("duplicate name", "  - name: a\n  - name: a\n", "datasets[1].name", 4, "duplicate dataset 'a'"),
    ("cycle", "  - name: a\n    derived_from: [b]\n  - name: b\n    derived_from: [a]\n", "datasets[", None, "derivation cycle"),
    ("duplicate key", "  - name: a\n    owner: x\n    owner: y\n", "datasets[0].owner", 5, "duplicate key"),
]


@pytest.mark.parametrize("label, body, path, line, message", CASES, ids=[c[0] for c in CASES])
def test_bad_dataset_names_file_path_line_and_expectation(store, tmp_path, label, body, path, line, message):
    catalog = write(tmp_path, "catalog: t\ndatasets:\n" + body)
    problems = problems_of(store, catalog)
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.file == str(catalog)
    assert problem.path.startswith(path)
    if line is not None:
        assert problem.line == line
    else:
        assert problem.line in (4, 6)
    assert message in problem.message
    assert store.counts()["datasets"] == 0


def test_feed_to_unknown_dataset_is_located_on_the_feed(store, tmp_path):
    catalog = write(tmp_path, "catalog: t\nmodels:\n  - name: m\n    risk_tier: high\n    trained_on:\n"
                              "      - dataset: features.credit\n")
    (problem,) = problems_of(store, catalog)
    assert (problem.path, problem.line) == ("models[0].trained_on[0].dataset", 6)
    assert "unknown dataset 'features.credit'" in problem.message


def test_bad_fingerprint_and_tier_are_both_reported(store, tmp_path):
    catalog = write(tmp_path, "catalog: t\ndatasets:\n  - name: a\nmodels:\n  - name: m\n    risk_tier: huge\n"
                              "    trained_on:\n      - dataset: a\n        fingerprint: sha256:abc\n")
    problems = problems_of(store, catalog)
    assert sorted((p.path, p.line) for p in problems) == [
        ("models[0].risk_tier", 6), ("models[0].trained_on[0].fingerprint", 9)]


def test_incident_on_unknown_dataset_and_bad_kind(store, tmp_path):
    catalog = write(tmp_path, "catalog: t\ndatasets:\n  - name: a\nincidents:\n  - dataset: b\n    kind: breach\n"
                              "    opened: 2026-01-01\n")
    (problem,) = problems_of(store, catalog)
    assert (problem.path, problem.line) == ("incidents[0].dataset", 5)
    catalog = write(tmp_path, "catalog: t\ndatasets:\n  - name: a\nincidents:\n  - dataset: a\n    kind: hack\n"
                              "    opened: 2026-01-01\n")
    (problem,) = problems_of(store, catalog)
    assert (problem.path, problem.line) == ("incidents[0].kind", 6)


def test_duplicate_across_files_points_at_the_first_declaration(store, tmp_path):
    first = write(tmp_path, "catalog: t\ndatasets:\n  - name: a\n", "one.yaml")
    second = write(tmp_path, "catalog: t\ndatasets:\n  - name: b\n  - name: a\n", "two.yaml")
    (problem,) = problems_of(store, first, second)
    assert (problem.file, problem.path, problem.line) == (str(second), "datasets[1].name", 4)
    assert f"{first}:3" in problem.message


def test_cycle_through_edges_already_in_the_store_is_refused(store, tmp_path):
    load_catalog(store, [write(tmp_path, "catalog: t\ndatasets:\n  - name: a\n  - name: b\n    derived_from: [a]\n", "one.yaml")])
    other = write(tmp_path, "catalog: t\ndatasets:\n  - name: c\n    derived_from: [b]\n  - name: a2\n", "two.yaml")
    load_catalog(store, [other])
    closing = write(tmp_path, "catalog: t\ndatasets:\n  - name: a\n    derived_from: [c]\n", "three.yaml")
    (problem,) = problems_of(store, closing)
    assert "derivation cycle" in problem.message and problem.line == 4


def test_a_cycle_the_store_already_holds_does_not_hide_the_files_own(store, tmp_path):
    """Stores written before cycles were refused everywhere may hold one (p <-> q, from a pipeline):
    it must neither block an unrelated load nor stand in for the cycle a file itself declares."""
    from sqlalchemy import select

    load_catalog(store, [write(tmp_path, "catalog: t\ndatasets:\n  - name: p\n  - name: q\n", "old.yaml")])
    with store.transaction() as writer:
        session = writer.session
        ids = dict(session.execute(select(Dataset.name, Dataset.id)).all())
        session.add_all([Derivation(input_id=ids["p"], output_id=ids["q"], source="openlineage"),
                         Derivation(input_id=ids["q"], output_id=ids["p"], source="openlineage")])
    unrelated = write(tmp_path, "catalog: t\ndatasets:\n  - name: x\n  - name: y\n    derived_from: [x]\n", "fine.yaml")
    assert load_catalog(store, [unrelated]).counts["datasets"]["created"] == 2
    looping = write(tmp_path, "catalog: t\ndatasets:\n  - name: m\n    derived_from: [n]\n  - name: n\n    derived_from: [m]\n",
                    "loop.yaml")
    (problem,) = problems_of(store, looping)
    assert "derivation cycle" in problem.message and " m " in f" {problem.message} ".replace("->", " ")
    assert "p" not in problem.message.split(":", 1)[1].replace("->", " ").split()


def test_ambiguous_bare_reference_lists_the_full_ids(store, tmp_path):
    load_catalog(store, [write(tmp_path, "catalog: one\ndatasets:\n  - name: shared\n", "one.yaml")])
    load_catalog(store, [write(tmp_path, "catalog: two\ndatasets:\n  - name: shared\n", "two.yaml")])
    catalog = write(tmp_path, "catalog: three\ndatasets:\n  - name: x\n    derived_from: [shared]\n")
    (problem,) = problems_of(store, catalog)
    assert "dataset:one:shared" in problem.message and "dataset:two:shared" in problem.message


@pytest.mark.parametrize("content, message, line", [
    (b"catalog: t\ndatasets: [\n", "invalid YAML", 3),
    (b"", "empty", None),
    (b"- just\n- a list\n", "expected a mapping", 1),
    (b"catalog: t\nnote: \xff\xfe\n", "not valid UTF-8", 2),
    (b"catalog: t\ndatasets:\n  - name: a\n    last_updated: 2026-02-30\n", "day", 4),
], ids=["syntax", "empty", "list", "utf8", "date"])
def test_unreadable_documents_are_reported_with_their_line(store, tmp_path, content, message, line):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content)
    (problem,) = problems_of(store, path)
    assert message in problem.message
    assert problem.line == line


def test_missing_file_is_a_problem_not_a_crash(store, tmp_path):
    (problem,) = problems_of(store, tmp_path / "nope.yaml")
    assert problem.message == "file not found"


# --- all or nothing -------------------------------------------------------------------------------

def test_a_bad_file_among_good_ones_writes_nothing(store, tmp_path, examples):
    load_catalog(store, [examples / "catalog.yaml"])
    before = snapshot(store)
    edited = tmp_path / "catalog.yaml"
    shutil.copytree(examples / "data", tmp_path / "data")
    edited.write_text((examples / "catalog.yaml").read_text().replace(
        "owner: risk-data@acme.example", "owner: someone-else@acme.example"))
    broken = write(tmp_path, "catalog: acme-ml\ndatasets:\n  - name: extra\n    derived_from: [missing]\n", "broken.yaml")
    problems_of(store, edited, broken)
    assert snapshot(store) == before


def test_failure_in_the_middle_of_writing_rolls_everything_back(store, tmp_path, monkeypatch):
    from catalog.bulk import Bulk

    path = write(tmp_path, BASE)

    def explode(*_args, **_kwargs):
        raise RuntimeError("disk full while writing incidents")

    monkeypatch.setattr(Bulk, "upsert_incidents", explode)
    with pytest.raises(RuntimeError):
        load_catalog(store, [path])
    assert store.counts() == {"datasets": 0, "jobs": 0, "models": 0, "feeds": 0, "derivations": 0, "incidents": 0}
    assert store.revision() == 0


def test_great_expectations_judges_changed_suites_while_other_writers_still_commit(store, store_url, tmp_path, monkeypatch):
    """GX's import and suite building take seconds: a load must not hold the write lock through them."""
    import threading

    import catalog.expectations

    path = write(tmp_path, BASE.replace("    origin: internal\n", "    origin: internal\n    expectations:\n"
                                        "      - expect_column_values_to_not_be_null: {column: id}\n", 1))
    real_validate = catalog.expectations.validate
    committed: list[int] = []

    def validate_while_another_writer_commits(expectations):
        other = Store(store_url)

        def write_a_setting() -> None:
            with other.transaction() as writer:
                writer.set_setting("written-during-validation", True)
            committed.append(other.revision())

        thread = threading.Thread(target=write_a_setting)
        thread.start()
        thread.join(timeout=20)
        other.close()
        return real_validate(expectations)

    monkeypatch.setattr(catalog.expectations, "validate", validate_while_another_writer_commits)
    load_catalog(store, [path])
    assert committed == [1], "the other writer waited for the load's lock while GX ran"
    assert store.revision() == 2 and store.setting("written-during-validation") is True
    assert store.counts()["datasets"] == 3
