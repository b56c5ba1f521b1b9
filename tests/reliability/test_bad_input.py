"""Bad input, table-driven: every case gives a clear error and writes nothing.

The CLI cases run `headwater load` against a store already holding the example catalog and compare
every row before and after; the cases that could crash or hang a C parser run it as a real process
(a crash shows as a signal and a hang as a timeout, instead of taking pytest down with it). The API cases send the same kinds of damage as request bodies. The
corpus is built here, from readable recipes; `corpus/` holds the few cases clearer as files.
The loader's own tests (tests/catalog/test_loader.py) pin the wording of single errors; this
table is about breadth: nothing on the list may crash, hang or half-write.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.config import Settings
from tests.conftest import ROOT
from tests.reliability.conftest import AUTH, TOKEN, store_rows

CORPUS = Path(__file__).parent / "corpus"
HEAD = "catalog: bad\ndatasets:\n"


@dataclass(frozen=True)
class Case:
    name: str
    content: bytes
    expect: str  # must appear in stderr: the file, and where known the line and the field
    suffix: str = ".yaml"
    process: bool = False  # run as a real process: the input targets the parser itself


def _yaml(body: str) -> bytes:
    return (HEAD + body).encode()


def _bomb() -> bytes:
    lines = ["catalog: bad", "l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    return ("\n".join(lines) + "\ndatasets: [{name: a, tags: *l9}]\n").encode()


CASES = [
    Case("yaml-syntax", _yaml("  - name: a\n   owner: b\n"), "{file}:4: invalid YAML"),
    Case("json-syntax", b'{"catalog": "bad", "datasets": [}', "{file}:1: invalid JSON", ".json"),
    Case("tab-indent", _yaml("  - name: a\n\towner: b\n"), "{file}:4: invalid YAML"),
    Case("not-a-list", _yaml("  name: a\n"), "{file}:3: datasets: input should be a valid list"),
    Case("wrong-type-bool", _yaml("  - name: a\n    personal_data: maybe\n"), "{file}:4: datasets[0].personal_data"),
    Case("wrong-type-map", _yaml("  - name: a\n    licence: [1, 2]\n"), "{file}:4: datasets[0].licence"),
    Case("unknown-field", _yaml("  - name: a\n    ownr: me@x\n"), "{file}:4: datasets[0].ownr: unknown field; did you mean 'owner'?"),
    Case("unknown-top-level", b"catalog: bad\ndatasetz: []\n", "{file}:2: datasetz: unknown field"),
    Case("cycle", _yaml("  - name: a\n    derived_from: [b]\n  - name: b\n    derived_from: [a]\n"), "cycle"),
    Case("self-derived", _yaml("  - name: a\n    derived_from: [a]\n"), "{file}:4: datasets[0].derived_from"),
    Case("duplicate-names", _yaml("  - name: a\n  - name: a\n"), "{file}:4: datasets[1]"),
    Case("duplicate-keys", _yaml("  - name: a\n    owner: x\n    owner: y\n"), "{file}:5: datasets[0].owner: duplicate key"),
    Case("deep-json", b'{"catalog": "bad", "datasets": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
         "{file}: nested deeper than 500 levels", ".json", process=True),
    Case("deep-yaml-flow", _yaml("  - name: a\n    tags: " + "[" * 100_000 + "]" * 100_000 + "\n"), "{file}: nested deeper",
         process=True),
    Case("alias-bomb", _bomb(), "{file}: aliases (*name) expand to more values", process=True),
    Case("binary-garbage", bytes(range(256)) * 64, "{file}:2: not valid UTF-8"),
    Case("invalid-utf8", HEAD.encode() + b"  - name: caf\xe9\n",
         "{file}:3: not valid UTF-8"),
    Case("utf16", "catalog: bad\n".encode("utf-16"), "{file}:1: not valid UTF-8"),
    Case("nul-bytes", b"catalog: bad\x00\ndatasets: []\n", "{file}:1: invalid YAML: character #x0000 is not allowed"),
    Case("empty", b"", "{file}: the file is empty"),
    Case("top-level-list", b"- a\n- b\n", "{file}:1: expected a mapping at the top level"),
    Case("datetime-out-of-range", _yaml("  - name: a\n    last_updated: 9999-12-31T23:59:59-12:00\n"),
         "{file}:4: datasets[0].last_updated: date-time out of range"),
    Case("year-10000", _yaml("  - name: a\n    licence: {id: x, expires: 10000-01-01}\n"), "{file}:4: datasets[0].licence.expires"),
    Case("february-30", _yaml("  - name: a\n    collected: 2027-02-30\n"), "{file}:4: datasets[0].collected"),
    Case("duration-overflow", _yaml("  - name: a\n    freshness: 99999999d\n"), "{file}:4: datasets[0].freshness: duration out of range"),
    Case("duration-negative", _yaml("  - name: a\n    retention: -5\n"), "{file}:4: datasets[0].retention"),
    Case("duration-ambiguous", _yaml("  - name: a\n    freshness: 6m\n"), "{file}:4: datasets[0].freshness: 'm' is ambiguous"),
    Case("unknown-expectation", _yaml("  - name: a\n    expectations:\n      - expect_column_to_be_purple: {column: a}\n"),
         "{file}:5: datasets[0].expectations[0]: unknown expectation 'expect_column_to_be_purple'"),
    Case("expectation-bad-kwargs", _yaml("  - name: a\n    expectations:\n      - expect_column_values_to_not_be_null: {colum: a}\n"),
         "{file}:5: datasets[0].expectations[0]"),
    Case("unknown-reference", b"catalog: bad\nmodels:\n  - name: m\n    risk_tier: high\n    trained_on: [{dataset: ghost}]\n",
         "{file}:5: models[0].trained_on[0].dataset: unknown dataset 'ghost'"),
    Case("bad-risk-tier", b"catalog: bad\nmodels:\n  - name: m\n    risk_tier: spicy\n", "{file}:4: models[0].risk_tier"),
    Case("bad-fingerprint", _yaml("  - name: a\nmodels:\n  - name: m\n    risk_tier: high\n    trained_on: [{dataset: a, fingerprint: md5:x}]\n"),
         "{file}:7: models[0].trained_on[0].fingerprint"),
    Case("bad-location", _yaml("  - name: a\n    location: notes.txt\n"), "{file}:4: datasets[0].location: cannot tell the format"),
    Case("sql-location-no-table", _yaml("  - name: a\n    location: sqlite:///x.db\n"), "{file}:4: datasets[0].location"),
    Case("name-too-long", _yaml(f"  - name: {'n' * 2000}\n"), "{file}:3: datasets[0].name"),
    Case("model-card", b"---\nlicense: mit\ndatasets: [imdb]\n---\n# My model\n", "{file}:1: this is a Markdown file with "
         "YAML front matter (a Hugging Face model card?), not a catalog file", ".md"),
    Case("front-matter-as-yaml", b"---\nlicense: mit\n---\n# My model\n", "{file}:1: this is a Markdown file with YAML front matter"),
    Case("dbt-manifest", json.dumps({"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
                                                  "dbt_version": "1.11.0"}, "nodes": {}}).encode(),
         "{file}:1: this is a dbt manifest artifact", ".json"),
    Case("openlineage-events", json.dumps([{"eventType": "START", "eventTime": "2026-01-01T00:00:00Z",
                                            "run": {"runId": "x"}, "job": {"namespace": "n", "name": "j"}}]).encode(),
         "{file}:1: this holds OpenLineage events, not a catalog: ingest it with `headwater ingest FILE`", ".json"),
    Case("incident-unknown-kind", _yaml("  - name: a\nincidents:\n  - {dataset: a, kind: gremlins, opened: 2026-01-01}\n"),
         "{file}:5: incidents[0].kind"),
]


@pytest.fixture(scope="module")
def loaded_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A store holding the example catalog, so "nothing written" is checked against real rows."""
    from catalog.loader import load_catalog
    from catalog.store import Store

    folder = tmp_path_factory.mktemp("bad-input")
    shutil.copytree(ROOT / "examples", folder / "examples", copy_function=shutil.copy)
    url = f"sqlite:///{folder / 'store.db'}"
    with Store(url) as store:
        load_catalog(store, [folder / "examples" / "catalog.yaml"])
    return url


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_catalog_file_is_exit_2_naming_the_place_and_writes_nothing(case: Case, loaded_store: str, headwater,
                                                                         tmp_path: Path, figures: Counter[str]) -> None:
    path = tmp_path / f"{case.name}{case.suffix}"
    path.write_bytes(case.content)
    before = store_rows(loaded_store)
    result = headwater("load", str(path), db=loaded_store, process=case.process)
    assert result.returncode == 2, (result.returncode, result.stdout[-500:], result.stderr[-2000:])
    assert case.expect.format(file=path) in result.stderr, result.stderr[-2000:]
    assert "nothing was written" in result.stderr and "Traceback" not in result.stderr
    assert store_rows(loaded_store) == before
    figures["bad inputs tried (CLI)"] += 1


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.iterdir()))
def test_corpus_files_are_refused_the_same_way(name: str, loaded_store: str, headwater, figures: Counter[str]) -> None:
    before = store_rows(loaded_store)
    result = headwater("load", str(CORPUS / name), db=loaded_store)
    assert result.returncode == 2 and f"{CORPUS / name}:" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert store_rows(loaded_store) == before
    figures["bad inputs tried (CLI)"] += 1


def test_oversized_missing_and_unreadable_catalog_files(loaded_store: str, headwater, tmp_path: Path,
                                                        figures: Counter[str]) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:
        handle.write(b"catalog: bad\ndescription: ")
        handle.truncate(51 * 1024 * 1024)
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    tiny = tmp_path / "tiny-values.json"  # 4 MB that would parse into 2 million objects
    tiny.write_bytes(b'{"catalog": "bad", "tags": [' + b"1," * 2_000_000 + b'1]}')
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)  # a read would never return
    before = store_rows(loaded_store)
    for path, expect in ((huge, "file is larger than 50 MiB"), (tmp_path / "missing.yaml", "file not found"),
                         (folder / "none-here.yml", "file not found"), (tiny, "holds more than 2,000,000 values"),
                         (fifo, "is not a regular file"), (Path("/dev/zero"), "is not a regular file")):
        result = headwater("load", str(path), db=loaded_store)
        assert result.returncode == 2 and f"{path}: {expect}" in result.stderr, result.stderr
        figures["bad inputs tried (CLI)"] += 1
    assert store_rows(loaded_store) == before


def test_loading_gating_or_ingesting_nothing_is_exit_2_saying_what_was_looked_for(
        loaded_store: str, headwater, tmp_path: Path, sqlite_url: str, figures: Counter[str]) -> None:
    """A wrong path in a CI job must not pass green having checked nothing."""
    empty = tmp_path / "empty-folder"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a catalog")
    blank = tmp_path / "events.ndjson"
    blank.write_text("\n  \n")
    before = store_rows(loaded_store)
    for args, expect in (
        (("load", str(empty)), f"no catalog files (*.yaml, *.yml, *.json) in the folder {empty}"),
        (("gate", str(empty)), f"no catalog files (*.yaml, *.yml, *.json) in the folder {empty}"),
        (("ingest", str(blank)), f"{blank}: no OpenLineage events in it"),
        (("ingest", "-"), "<stdin>: no OpenLineage events in it"),
        (("ingest", "/dev/zero"), "/dev/zero is larger than 256 MiB"),  # read in chunks, to a cap
    ):
        result = headwater(*args, db=loaded_store, input="[]")
        assert result.returncode == 2 and expect in result.stderr, (args, result.stderr)
        assert "Loaded" not in result.stdout and "Traceback" not in result.stderr
        figures["bad inputs tried (CLI)"] += 1
    assert store_rows(loaded_store) == before
    nothing = headwater("gate", db=sqlite_url)  # a fresh store: no deployed model to vouch for
    assert nothing.returncode == 2 and "nothing to gate" in nothing.stderr and "--all" in nothing.stderr, nothing.stderr
    figures["bad inputs tried (CLI)"] += 1


@pytest.mark.parametrize("url, expect", [
    ("postgresql+psycopg://reader:Secret-1@127.0.0.1:1/x", "cannot open the store at postgresql+psycopg://reader:***@127.0.0.1:1/x"),
    ("sqlite:////no/such/folder/h.db", "folder /no/such/folder does not exist"),
    ("mysql://u:Secret-1@db/x", "unsupported database 'mysql'"),
    ("not a url", "invalid database URL"),
], ids=["unreachable-postgresql", "missing-sqlite-folder", "unsupported", "garbage"])
def test_unusable_database_url_is_exit_2_with_the_password_masked(url: str, expect: str, headwater,
                                                                  figures: Counter[str]) -> None:
    result = headwater("load", str(ROOT / "examples" / "catalog.yaml"), db=url)
    assert result.returncode == 2 and expect in result.stderr, result.stderr
    assert "Secret-1" not in result.stderr + result.stdout and "Traceback" not in result.stderr
    figures["bad inputs tried (CLI)"] += 1


def test_unreadable_data_files_are_named_and_snapshot_records_nothing(headwater, tmp_path: Path, sqlite_url: str,
                                                                      figures: Counter[str]) -> None:
    """Data that cannot be read is reported per dataset (exit 1: the check failed to judge it), and a
    training snapshot that cannot read every source records nothing (exit 2)."""
    (tmp_path / "folder.csv").mkdir()
    (tmp_path / "garbage.parquet").write_bytes(os.urandom(4096))
    (tmp_path / "latin1.jsonl").write_bytes(b'{"a": "caf\xe9"\n')
    catalog = tmp_path / "catalog.yaml"
    files = ["folder.csv", "garbage.parquet", "latin1.jsonl", "missing.csv"]
    catalog.write_text("catalog: bad\ndatasets:\n" + "".join(
        f"  - name: d{i}\n    location: {f}\n    expectations: [{{expect_table_row_count_to_be_between: {{min_value: 1}}}}]\n"
        for i, f in enumerate(files)) + "models:\n  - name: m\n    risk_tier: high\n    trained_on: [{dataset: d0}, {dataset: d1}]\n")
    assert headwater("load", str(catalog), db=sqlite_url).returncode == 0
    checked = headwater("check", "--format", "json", db=sqlite_url)
    assert checked.returncode == 1, checked.stderr
    runs = {run["dataset"]: run for run in json.loads(checked.stdout)["runs"]}
    for i, name in enumerate(files):
        run = runs[f"dataset:bad:d{i}"]
        assert run["outcome"] == "errored" and name in run["error"], run
        figures["bad inputs tried (CLI)"] += 1
    before = store_rows(sqlite_url)
    snapshot = headwater("snapshot", "m", db=sqlite_url)
    assert snapshot.returncode == 2 and "nothing was recorded" in snapshot.stderr and "folder.csv" in snapshot.stderr
    assert store_rows(sqlite_url) == before


API_CASES = [
    ("PUT", "/api/v1/datasets/bad:a", b'{"owner": 5}', 422, "owner"),
    ("PUT", "/api/v1/datasets/bad:a", b'{"ownr": "x"}', 422, "ownr"),
    ("PUT", "/api/v1/datasets/bad:a", b'{"last_updated": "9999-12-31T23:59:59-12:00"}', 422, "last_updated"),
    ("PUT", "/api/v1/datasets/bad:a", b'{"freshness": "99999999d"}', 422, "freshness"),
    ("PUT", "/api/v1/datasets/bad:a", b'{"expectations": [{"expect_column_to_be_purple": {}}]}', 422, "expectations[0]"),
    ("PUT", "/api/v1/datasets/bad:a", b'{"derived_from": ["a"]}', 422, "derived_from"),
    ("PUT", "/api/v1/datasets/bad:a", b'{"name": "b"}', 422, "name"),
    ("PUT", "/api/v1/datasets/bad:a", b'{"namespace": "other"}', 422, "namespace"),
    ("PUT", "/api/v1/datasets/bad:a", b'["not", "an", "object"]', 422, "body"),
    ("PUT", "/api/v1/datasets/bad:a", b"{not json", 422, None),
    ("PUT", "/api/v1/datasets/bad:a", b'{"owner": "caf\xe9"}', 400, None),
    ("PUT", "/api/v1/datasets/bad:a", bytes(range(256)), 422, None),
    ("PUT", "/api/v1/datasets/bad:a", b'{"owner": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, None),
    ("PUT", "/api/v1/datasets/bad:a", b'{"description": "' + b"x" * (11 * 1024 * 1024) + b'"}', 413, None),
    ("PUT", "/api/v1/datasets/no-namespace", b"{}", 404, None),
    ("PUT", "/api/v1/models/bad:m", b'{"risk_tier": "high", "trained_on": [{"dataset": "ghost"}]}', 422, "trained_on[0].dataset"),
    ("PUT", "/api/v1/models/bad:m", b'{"risk_tier": "spicy"}', 422, "risk_tier"),
    ("POST", "/api/v1/incidents", b'{"dataset": "ghost", "kind": "breach", "opened": "2026-01-01"}', 422, "dataset"),
    ("POST", "/api/v1/incidents", b'{"dataset": "raw.loan_applications", "kind": "breach", "opened": "10000-01-01"}', 422, "body.opened"),
    ("POST", "/api/v1/lineage", bytes(range(256)), 422, None),
    ("POST", "/api/v1/lineage", b'{"eventType": "START"}', 400, "events[0]"),
    ("POST", "/api/v1/lineage", b"[" + b'{"a":' * 2000 + b"1" + b"}" * 2000 + b"]", 400, None),
    ("POST", "/api/v1/checks", b'{"datasets": "all"}', 422, "body.datasets"),
    ("POST", "/api/v1/checks", b'{"datasets": ["ghost"]}', 404, None),
    ("DELETE", "/api/v1/incidents?dataset=raw.loan_applications&kind=breach&opened=yesterday", b"", 422, "query.opened"),
    ("GET", "/api/v1/risk?as_of=0001-01-01T00:00:00%2B14:00", b"", 422, "query.as_of"),
    ("GET", "/api/v1/datasets?offset=99999999999999999999", b"", 422, "query.offset"),
    ("GET", "/api/v1/lineage/credit-scorer?depth=1001", b"", 422, "query.depth"),
]


def test_bad_requests_are_4xx_problems_naming_the_field_and_write_nothing(loaded_store: str,
                                                                          figures: Counter[str]) -> None:
    settings = Settings(db=loaded_store, tokens=(TOKEN,))
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        before = store_rows(loaded_store)
        for method, path, body, status, field in API_CASES:
            response = client.request(method, path, content=body or None,
                                      headers={**AUTH, "Content-Type": "application/json"})
            assert response.status_code == status, (method, path, body[:80], response.text[:500])
            assert response.headers["content-type"] == "application/problem+json", (path, response.text[:200])
            problem = response.json()
            assert problem["status"] == status and problem["detail"]
            if field is not None:
                assert field in [e.get("field") for e in problem.get("errors", [])], (path, body[:80], problem)
            figures["bad inputs tried (API)"] += 1
        assert store_rows(loaded_store) == before


def test_huge_strings_and_bad_bytes_in_every_field_get_small_refusals(loaded_store: str,
                                                                       figures: Counter[str]) -> None:
    """A 9 MB value in any field of a write is refused, and the answer does not echo it back: a name
    once came back twice in an 18.9 MB problem, and an owner or description of 9 MB was stored."""
    huge = "x" * (9 * 1024 * 1024)
    writes = [("PUT", "/api/v1/datasets/bad:a"), ("PUT", "/api/v1/models/bad:m"), ("POST", "/api/v1/incidents"),
              ("POST", "/api/v1/lineage")]
    fields = ("name", "namespace", "owner", "description", "purpose", "documentation", "location", "note", "dataset",
              "kind", "eventType", "producer")
    with TestClient(create_app(Settings(db=loaded_store, tokens=(TOKEN,))), raise_server_exceptions=False) as client:
        before = store_rows(loaded_store)
        for method, path in writes:
            for body in [json.dumps({field: huge}).encode() for field in fields] + [b'{"owner": "\xff\xfe"}']:
                response = client.request(method, path, content=body, headers={**AUTH, "Content-Type": "application/json"})
                assert 400 <= response.status_code < 500, (path, body[:40], response.status_code)
                assert len(response.content) < 20_000, (path, body[:40], len(response.content))
                figures["bad inputs tried (API)"] += 1
        assert store_rows(loaded_store) == before
