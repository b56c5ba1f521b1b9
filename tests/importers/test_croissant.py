"""`headwater import croissant` on Croissant files written to the spec's shapes (tests/fixtures/croissant/README.md).

`triage-notes` is a Croissant 1.0 file with the RAI vocabulary: derived from `triage-notes-raw`
(a 1.1 file, expanded `@type`, two FileObjects) and from an ICD-10 table named only by a URN.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from catalog import service
from catalog.ids import NodeId
from catalog.store import Store
from tests.paths import FIXTURES

CROISSANT = FIXTURES / "croissant"
NOTES = CROISSANT / "triage-notes" / "metadata.json"
RAW = CROISSANT / "triage-notes-raw.json"
RAW_URL = "https://data.acme-health.example/datasets/triage-notes-raw"


def _import(headwater, db: str, *paths, extra: tuple[str, ...] = ()):
    return headwater("import", "croissant", *map(str, paths), "--format", "json", *extra, db=db)


def _dataset(db: str, node: str):
    return service.get_dataset(Store(db), NodeId.parse(node))


def test_a_croissant_file_gives_the_datasets_governance_record(headwater, sqlite_url):
    result = _import(headwater, sqlite_url, NOTES)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["datasets"] == {"created": 3}  # itself and the two it was derived from

    notes = _dataset(sqlite_url, "dataset:croissant:triage-notes")
    assert notes.owner == "Acme Health Research"  # the creator (the publisher only when there is none)
    assert notes.licence.id == "https://creativecommons.org/licenses/by-nc/4.0/"  # a URL kept as written
    assert notes.licence.url == "https://creativecommons.org/licenses/by-nc/4.0/"
    assert notes.personal_data is True
    assert notes.special_categories == ["health"]  # "age band and sex" is personal, not an Art. 9 category
    assert notes.location == str((NOTES.parent / "data" / "triage_notes.csv").resolve())
    assert notes.last_updated == datetime(2025, 6, 2, 9, 30, tzinfo=timezone.utc)  # dateModified over datePublished
    assert notes.tags == ["clinical text", "triage", "text classification"]
    assert notes.description.startswith("De-duplicated emergency-department triage notes")
    documentation = notes.documentation.splitlines()
    assert [line.split(":")[0] for line in documentation] == [
        "Data collection", "Collection type", "Preprocessing", "Annotation", "Biases", "Limitations", "Use cases"]
    assert "Collection type: Secondary Data analysis; Document analysis" in documentation
    assert notes.bias_examination is None  # a description of biases is not an examination
    assert notes.field_sources["personal_data"]["source"] == "croissant"

    lineage = json.loads(headwater("lineage", "triage-notes", "--format", "json", db=sqlite_url).stdout)
    assert {n["node"]["id"] for n in lineage["nodes"]} == {
        "dataset:croissant:triage-notes-raw", "dataset:croissant:icd-10-codes"}
    raw = _dataset(sqlite_url, "dataset:croissant:triage-notes-raw")  # named by its URL's last segment
    assert raw.location == RAW_URL and raw.owner is None
    edges = [e for e in service.list_derivations(Store(sqlite_url)).items
             if e["output"] == "dataset:croissant:triage-notes"]
    assert {e["source"] for e in edges} == {"croissant"} and all(e["job"] is None for e in edges)


def test_the_upstream_file_describes_the_dataset_the_first_was_derived_from(headwater, sqlite_url):
    assert _import(headwater, sqlite_url, NOTES).returncode == 0
    again = _import(headwater, sqlite_url, RAW)  # found by its url, the one prov:wasDerivedFrom gave
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["datasets"] == {"updated": 1}
    raw = _dataset(sqlite_url, "dataset:croissant:triage-notes-raw")
    assert raw.owner == "Dana Whitfield, Ravi Menon"  # two Persons, in order
    assert (raw.licence.id, raw.licence.url) == ("Acme data-sharing agreement DSA-2021-07",
                                                 "https://acme-health.example/dsa/2021-07")
    assert raw.special_categories == ["ethnicity", "health"] and raw.personal_data is True
    assert raw.location == RAW_URL  # two FileObjects: the dataset's url
    assert raw.last_updated is None  # datePublished "2024" is a year, not a date
    assert Store(sqlite_url).counts()["datasets"] == 3


def test_a_reimport_changes_nothing(headwater, sqlite_url):
    assert _import(headwater, sqlite_url, NOTES, RAW).returncode == 0
    store = Store(sqlite_url)
    revision = store.revision()
    again = _import(headwater, sqlite_url, NOTES, RAW)
    assert again.returncode == 0, again.stderr
    counts = json.loads(again.stdout)
    assert counts["datasets"] == {"unchanged": 3} and counts["derivations_changed"] == 0
    assert store.revision() == revision


def test_the_namespace_option_and_the_compact_forms_of_a_property(headwater, sqlite_url, tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({
        "@context": {"@vocab": "https://schema.org/", "rai": "http://mlcommons.org/croissant/RAI/",
                     "prov": "http://www.w3.org/ns/prov#", "cr": "http://mlcommons.org/croissant/",
                     "dataLimitations": "cr:dataLimitations"},  # an RAI name mapped into the cr namespace
        "@type": "schema.org/Dataset",  # as the RAI specification's example writes it
        "https://schema.org/name": "voice-commands",
        "sc:creator": "Speech Lab",
        "license": ["CC-BY-4.0", "ODC-By-1.0"],
        "http://mlcommons.org/croissant/RAI/personalSensitiveInformation": {"@value": "Voiceprints of speakers"},
        "prov:wasDerivedFrom": {"@id": "https://example.org/corpora/raw-voice", "name": "raw voice"},
        "dataLimitations": "Read speech only.",
        "datePublished": "2024-11-05"}))
    assert _import(headwater, sqlite_url, path, extra=("--namespace", "speech")).returncode == 0
    voice = _dataset(sqlite_url, "dataset:speech:voice-commands")
    assert (voice.owner, voice.licence.id, voice.licence.url) == ("Speech Lab", "CC-BY-4.0 AND ODC-By-1.0", None)
    assert voice.special_categories == ["biometric"] and voice.personal_data is True
    assert voice.last_updated == datetime(2024, 11, 5, tzinfo=timezone.utc)
    assert voice.documentation == "Limitations: Read speech only."
    assert _dataset(sqlite_url, "dataset:speech:raw voice").location == "https://example.org/corpora/raw-voice"


def test_bad_input_is_exit_2_naming_the_file_and_writes_nothing(headwater, sqlite_url, tmp_path):
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"name": "x", "license": "mit"}))  # JSON, no @context
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    nameless = tmp_path / "nameless.json"
    nameless.write_text(json.dumps({"@context": {"@vocab": "https://schema.org/"}, "@type": "sc:Dataset"}))
    cases = [
        (CROISSANT / "codemeta.json", "not a Croissant JSON-LD file"),  # JSON-LD, but SoftwareSourceCode
        (plain, "not a Croissant JSON-LD file"),
        (broken, "not a readable JSON file"),
        (nameless, "has no name"),
        (tmp_path / "missing.json", "no such file"),
    ]
    for path, message in cases:
        result = _import(headwater, sqlite_url, NOTES, path)  # a good file first: it is not written either
        assert result.returncode == 2, (path, result.stdout, result.stderr)
        assert message in result.stderr and str(path) in result.stderr and "Traceback" not in result.stderr
    counts = Store(sqlite_url).counts()
    assert counts["datasets"] == 0 and counts["derivations"] == 0
