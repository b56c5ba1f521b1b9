"""No value of a personal-data dataset is stored or returned: not in check history, API answers,
CLI output, reports or gate outputs.

Two files share one shape and one suite of expectations chosen to fail in ways that make Great
Expectations report values (`partial_unexpected_list`, a column's max, its distinct values, its
most common value). One is declared `personal_data: true`; its distinctive values must appear
nowhere, not even in the database. The other is not personal, and its values do appear in the
samples: the control that proves the search would have found a leak.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from api.config import Settings
from tests.reliability.conftest import AUTH, TOKEN, store_rows

PERSONAL = ["zebulon.quixote@private.example", "Xq93-not-an-email", "Ottoline Vexby", "Peregrine Sallow"]
PUBLIC = ["public.marker@open.example", "Pm77-not-an-email", "Openfield Marker", "Publica Sample"]
SUITE = [
    {"expect_column_values_to_match_regex": {"column": "email", "regex": "^[^@]+@[^@]+$"}},
    {"expect_column_values_to_be_between": {"column": "age", "min_value": 18, "max_value": 120}},
    {"expect_column_max_to_be_between": {"column": "age", "max_value": 100}},
    {"expect_column_distinct_values_to_be_in_set": {"column": "name", "value_set": ["nobody"]}},
    {"expect_column_most_common_value_to_be_in_set": {"column": "name", "value_set": ["nobody"]}},
    {"expect_column_values_to_be_in_set": {"column": "name", "value_set": ["nobody"]}},
    {"expect_column_values_to_be_unique": {"column": "name"}},
    {"expect_table_row_count_to_be_between": {"min_value": 10}},
]


def _csv(path: Path, values: list[str]) -> None:
    email, bad_email, name, other = values
    path.write_text(f"id,email,age,name\n1,{email},17,{name}\n2,{bad_email},131,{name}\n3,{email},44,{other}\n")


def test_personal_values_never_leave_a_check(tmp_path: Path, sqlite_url: str, headwater, figures: Counter[str]) -> None:
    _csv(tmp_path / "people.csv", PERSONAL)
    _csv(tmp_path / "open.csv", PUBLIC)
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(json.dumps({
        "catalog": "priv",
        "datasets": [
            {"name": "people", "location": "people.csv", "personal_data": True, "legal_basis": "contract",
             "purpose": "p", "expectations": [{**e, "severity": "critical"} for e in SUITE]},
            {"name": "open", "location": "open.csv", "personal_data": False, "expectations": SUITE},
        ],
        "models": [{"name": "m", "risk_tier": "high", "deployed": True,
                    "trained_on": [{"dataset": "people"}, {"dataset": "open"}]}],
    }))
    assert headwater("load", str(catalog), db=sqlite_url).returncode == 0
    seen: list[str] = []
    with TestClient(create_app(Settings(db=sqlite_url, tokens=(TOKEN,), data_roots=(tmp_path,)))) as client:
        checked = client.post("/api/v1/checks", json={"force": True}, headers=AUTH)
        assert checked.status_code == 200, checked.text
        runs = {run["dataset"]: run for run in checked.json()["runs"]}
        people, public = runs["dataset:priv:people"], runs["dataset:priv:open"]
        assert people["failed"] == public["failed"] == len(SUITE)  # every expectation failed on both
        for result in people["results"]:
            assert result["sample"] in (None, []), result
            if result["expectation"] != "expect_table_row_count_to_be_between":
                assert result["observed_value"] is None, result
        assert [r["observed_value"] for r in people["results"] if r["expectation"] == "expect_table_row_count_to_be_between"] == [3]
        assert any(r["sample"] for r in public["results"])  # the control: values are reported where allowed
        seen += [checked.text] + [client.get(path).text for path in (
            "/api/v1/checks/priv:people", "/api/v1/reports/m", "/api/v1/risk", "/api/v1/datasets/priv:people",
            "/api/v1/risk?model=m")]
    for args in (("check", "--format", "json"), ("check",), ("check", "--history", "people"),
                 ("check", "--history", "people", "--format", "json"), ("report", "m"), ("risk", "--format", "json"),
                 ("gate", "--all", "--junit", str(tmp_path / "g.xml"), "--sarif", str(tmp_path / "g.sarif"),
                  "--markdown", str(tmp_path / "g.md"), "--json", str(tmp_path / "g.json"), "--github")):
        result = headwater(*args, db=sqlite_url)
        assert result.returncode in (0, 1), result.stderr
        seen += [result.stdout, result.stderr]
    seen += [(tmp_path / f"g.{ext}").read_text() for ext in ("xml", "sarif", "md", "json")]
    seen.append(repr(store_rows(sqlite_url)))  # the database itself
    everything = "\n".join(seen)
    assert any(value in everything for value in PUBLIC)  # the control again, across every output
    for value in PERSONAL:
        assert value not in everything, value
    figures["outputs searched for personal values"] += len(seen)


SHARED = ["shared.person@private.example", "Sh41-not-an-email", "Wendeline Quorra", "Barnaby Thistlewood"]
DISCOVERED = ["found.person@private.example", "Fd52-not-an-email", "Isolde Marrowby", "Casimir Penhallow"]
DATASOURCE = {"_producer": "https://example.com/p",
              "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet"}


def test_samples_are_withheld_when_any_entry_at_the_data_is_personal_or_undeclared(
        tmp_path: Path, sqlite_url: str, headwater, figures: Counter[str]) -> None:
    """The data decides, not the entry. One file carries three entries: personal, undeclared, and
    declared not personal (that one through a symlink, so the spelling of the path does not split
    them). Another file is declared not personal by the catalog, but OpenLineage discovered it
    under a second name, undeclared. No value of either file may be stored or returned; a file
    whose only entry is declared not personal keeps its samples (the control), and so does the
    discovered file once someone declares the discovered entry."""
    from tests.reliability.conftest import run_event

    _csv(tmp_path / "shared.csv", SHARED)
    (tmp_path / "alias.csv").symlink_to(tmp_path / "shared.csv")
    _csv(tmp_path / "discovered.csv", DISCOVERED)
    _csv(tmp_path / "open.csv", PUBLIC)
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(json.dumps({
        "catalog": "same",
        "datasets": [
            {"name": "personal", "location": "shared.csv", "personal_data": True, "legal_basis": "contract",
             "purpose": "p", "expectations": SUITE},
            {"name": "unset", "location": "shared.csv", "expectations": SUITE},
            {"name": "declared_open", "location": "alias.csv", "personal_data": False, "expectations": SUITE},
            {"name": "ledger", "location": "discovered.csv", "personal_data": False, "expectations": SUITE},
            {"name": "open", "location": "open.csv", "personal_data": False, "expectations": SUITE},
        ],
    }))
    assert headwater("load", str(catalog), db=sqlite_url).returncode == 0
    discovered = tmp_path / "discovered.csv"
    event = run_event(0, 1, inputs=[], output="unused")
    event["outputs"] = [{"namespace": "file", "name": str(discovered),
                         "facets": {"dataSource": {**DATASOURCE, "uri": "file://"}}}]
    withheld = ["same:personal", "same:unset", "same:declared_open", "same:ledger"]
    seen: list[str] = []
    with TestClient(create_app(Settings(db=sqlite_url, tokens=(TOKEN,), data_roots=(tmp_path,)))) as client:
        assert client.post("/api/v1/lineage", json=event, headers=AUTH).status_code == 201
        found = client.get(f"/api/v1/datasets/file:{discovered}").json()
        assert (found["location"], found["personal_data"], found["catalog_file"]) == (str(discovered), None, None)
        checked = client.post("/api/v1/checks", json={"force": True}, headers=AUTH)
        assert checked.status_code == 200, checked.text
        runs = {run["dataset"].removeprefix("dataset:"): run for run in checked.json()["runs"]}
        for name in withheld + ["same:open"]:
            assert runs[name]["failed"] == len(SUITE), runs[name]  # every expectation failed, so GX had values to give
        for name in withheld:
            for result in runs[name]["results"]:
                assert result["sample"] in (None, []), (name, result)
                if result["expectation"] != "expect_table_row_count_to_be_between":
                    assert result["observed_value"] is None, (name, result)
        assert any(r["sample"] for r in runs["same:open"]["results"])  # the control: values where allowed
        seen += [checked.text] + [client.get(f"/api/v1/checks/{name}").text for name in withheld]
        for args in (("check", "--format", "json"), ("check",), *(("check", "--history", n, "--format", "json") for n in withheld)):
            result = headwater(*args, db=sqlite_url)  # the CLI's check reuses the verdicts just recorded
            assert result.returncode == 0 and result.stdout, result.stderr  # warnings only: the suite is not critical
            seen += [result.stdout, result.stderr]
        seen.append(repr(store_rows(sqlite_url)))
        everything = "\n".join(seen)
        assert any(value in everything for value in PUBLIC)  # the control again, in every kind of output
        for value in SHARED + DISCOVERED:
            assert value not in everything, value

        declared = client.put(f"/api/v1/datasets/file:{discovered}",
                              json={"location": str(discovered), "personal_data": False}, headers=AUTH)
        assert declared.status_code == 200, declared.text
        again = client.post("/api/v1/checks", json={"datasets": ["same:ledger"], "force": True}, headers=AUTH).json()
        assert any(value in json.dumps(again) for value in DISCOVERED)  # declared now: its values are allowed
    figures["outputs searched for personal values"] += len(seen)
