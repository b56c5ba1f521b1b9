"""Credentials never leave: every form a location can carry one in, through every output.

One catalog holds a dataset per form (a database password in the URL or its query string, an ODBC
connection string nested in a URL, `s3://KEY:SECRET@`, `https://user:pass@`, an Azure SAS `sig`, AWS
and GCS pre-signed URLs, `token=`, `key=`, `secret=`, `access_key=`, `api_key=`, `apikey=`,
`client_secret=`, an Azure connection string's `AccountKey=`; names in mixed case), all feeding one
deployed high-risk model, so every report has something to say about them. They go in through
`headwater load`, API PUTs and an OpenLineage event; they come out through the API (datasets,
checks, risk, reports, the viewer), the CLI (check, history, report, risk, gate with JUnit, SARIF,
Markdown, JSON and GitHub annotations, snapshot, view) and the server log. The database forms point
at a closed port, so checking them fails and the failure's message, which quotes the location, is
searched too. The store itself keeps every secret whole: the control that proves the search would
find one, and that a check still gets the real value to connect with.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from catalog.secrets import mask_secrets
from tests.reliability.conftest import AUTH, store_rows

ALPHABET = "ghjkmnpqrstvwxyz"  # no hex digit, so no fingerprint or id can look like a piece of a secret
WINDOW = 8  # a secret folded across lines by a terminal table still shows a piece this long


def _secret(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(16))


def _forms(s: list[str]) -> dict[str, tuple[str, str]]:
    """form name -> (location holding secrets, the location as every output must show it)."""
    api = "https://api.example.com/v1/export.csv?format=csv"
    return {
        "pg_userinfo": (f"postgresql+psycopg://alice:{s[0]}@127.0.0.1:1/hw#public.t",
                        "postgresql+psycopg://alice:***@127.0.0.1:1/hw#public.t"),
        "pg_query": (f"postgresql+psycopg://alice@127.0.0.1:1/hw?sslmode=disable&password={s[1]}#public.t",
                     "postgresql+psycopg://alice@127.0.0.1:1/hw?sslmode=disable&password=***#public.t"),
        "odbc_connect": ("mssql+pyodbc://127.0.0.1:1/hw?odbc_connect=DRIVER%3D%7BODBC+Driver+18%7D%3BUID%3Dalice"
                         f"%3BPWD%3D{s[2]}%3BEncrypt%3Dno#dbo.t",
                         "mssql+pyodbc://127.0.0.1:1/hw?odbc_connect=DRIVER%3D%7BODBC+Driver+18%7D%3BUID%3Dalice"
                         "%3BPWD%3D***%3BEncrypt%3Dno#dbo.t"),
        "s3_userinfo": (f"s3://AKIAHEADWATER:{s[3]}@training-bucket/raw/applicants.csv",
                        "s3://***@training-bucket/raw/applicants.csv"),
        "https_userinfo": (f"https://alice:{s[4]}@files.example.com/export/applicants.csv",
                           "https://***@files.example.com/export/applicants.csv"),
        "azure_sas": ("https://acct.blob.core.windows.net/c/applicants.csv?sv=2022-11-02&ss=b&srt=o&sp=r"
                      f"&se=2027-01-01T00%3A00%3A00Z&SIG={s[5]}",
                      "https://acct.blob.core.windows.net/c/applicants.csv?sv=2022-11-02&ss=b&srt=o&sp=r"
                      "&se=2027-01-01T00%3A00%3A00Z&SIG=***"),
        "aws_presigned": ("https://bucket.s3.amazonaws.com/applicants.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                          f"&X-Amz-Credential={s[6]}%2F20261201%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Expires=3600"
                          f"&X-Amz-Security-Token={s[7]}&X-Amz-Signature={s[8]}",
                          "https://bucket.s3.amazonaws.com/applicants.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                          "&X-Amz-Credential=***&X-Amz-Expires=3600&X-Amz-Security-Token=***&X-Amz-Signature=***"),
        "gcs_signed": ("https://storage.googleapis.com/b/applicants.csv?X-Goog-Algorithm=GOOG4-RSA-SHA256"
                       f"&x-goog-credential={s[9]}&X-Goog-Signature={s[10]}",
                       "https://storage.googleapis.com/b/applicants.csv?X-Goog-Algorithm=GOOG4-RSA-SHA256"
                       "&x-goog-credential=***&X-Goog-Signature=***"),
        "token": (f"{api}&token={s[11]}", f"{api}&token=***"),
        "key": (f"{api}&key={s[12]}", f"{api}&key=***"),
        "secret": (f"{api}&Secret={s[13]}", f"{api}&Secret=***"),
        "access_key": (f"{api}&access_key={s[14]}", f"{api}&access_key=***"),
        "api_key": (f"{api}&api_key={s[15]}", f"{api}&api_key=***"),
        "apikey": (f"{api}&APIKEY={s[16]}", f"{api}&APIKEY=***"),
        "client_secret": (f"{api}&client_id=headwater&client_secret={s[17]}", f"{api}&client_id=headwater&client_secret=***"),
        "azure_connection": ("azure://acct/c/applicants.csv;DefaultEndpointsProtocol=https;AccountName=acct;"
                             f"AccountKey={s[18]}+/q==;EndpointSuffix=core.windows.net",
                             "azure://acct/c/applicants.csv;DefaultEndpointsProtocol=https;AccountName=acct;"
                             "AccountKey=***;EndpointSuffix=core.windows.net"),
    }


DATABASE_FORMS = ("pg_userinfo", "pg_query", "odbc_connect")
SECRETS = 20  # s[0..18] in the forms, s[19] in the OpenLineage event


def _leaked(text: str, secrets: list[str]) -> list[str]:
    """Secrets of which any piece of WINDOW characters appears in `text`."""
    return [s for s in secrets if any(s[i:i + WINDOW] in text for i in range(len(s) - WINDOW + 1))]


def test_every_form_is_masked_in_free_text_too() -> None:
    """Error messages quote locations bare, in quotes or in brackets, next to punctuation: the
    secret goes, what identifies the data stays, and masking twice changes nothing."""
    rng = random.Random(15)
    secrets = [_secret(rng) for _ in range(SECRETS)]
    for name, (location, shown) in _forms(secrets).items():
        assert mask_secrets(location) == shown, name
        for text in (f"cannot read {location}: connection refused", f"cannot read '{location}'",
                     f'url="{location}" failed', f"(see {location})", f"{location}\nnext line"):
            masked = mask_secrets(text)
            assert not _leaked(masked, secrets), (name, masked)
            assert all(part in masked for part in shown.split("***")), (name, masked)  # all but the secrets
            assert mask_secrets(masked) == masked, (name, masked)
    for harmless in ("s3://bucket/raw@v2/applicants.csv", "abfss://container@acct.dfs.core.windows.net/x.csv",
                     "https://h/x.csv?partition=2026-11&sv=2022-11-02&format=csv", "ssh://git@github.com/o/r",
                     "sqlite:////data/crm.db#customers", "keyspace 'sales' has no table 'x'",
                     "Key (id)=(5) already exists", "token == 'x' or key in ('a', 'b')"):
        assert mask_secrets(harmless) == harmless  # the control: masking does not eat what holds no secret


def test_secrets_in_locations_never_leave(headwater, serve, tmp_path: Path, sqlite_url: str,
                                          monkeypatch: pytest.MonkeyPatch, figures: Counter[str]) -> None:
    rng = random.Random()
    secrets = [_secret(rng) for _ in range(SECRETS)]
    forms = _forms(secrets)
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({
        "catalog": "sec",
        "datasets": [{"name": name, "location": location, "owner": "o@x", "origin": "vendor", "personal_data": False,
                      "expectations": [{"expect_column_to_exist": {"column": "id"}}]}
                     for name, (location, _) in forms.items()],
        "models": [{"name": "m", "risk_tier": "high", "deployed": True,
                    "trained_on": [{"dataset": name} for name in forms]}],
    }), encoding="utf-8")
    seen: list[str] = []
    loaded = headwater("load", str(catalog), db=sqlite_url)
    assert loaded.returncode == 0, loaded.stderr
    seen += [loaded.stdout, loaded.stderr]

    monkeypatch.setenv("HEADWATER_ALLOWED_DATABASES", "127.0.0.1")  # the server may try the closed port
    server = serve(sqlite_url)
    ol_location = f"postgresql+psycopg://alice:{secrets[19]}@127.0.0.1:1/hw"
    event = {
        "eventType": "COMPLETE", "eventTime": "2026-11-25T10:00:00Z",
        "run": {"runId": "0b9e6f0e-4b8f-4c59-9a4e-15c0ffee0015"}, "job": {"namespace": "sec", "name": "export"},
        "inputs": [], "producer": "https://github.com/headwater/tests/reliability",
        "outputs": [{"namespace": "warehouse", "name": "public.ol_t", "facets": {"dataSource": {
            "_producer": "https://example.com/p", "name": "warehouse", "uri": ol_location,
            "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/DatasourceDatasetFacet.json#/$defs/DatasourceDatasetFacet"}}}],
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    with httpx.Client(base_url=server.base, timeout=120) as http:
        for name, (location, _) in forms.items():
            if name not in DATABASE_FORMS:
                put = http.put(f"/api/v1/datasets/api:{name}", json={"location": location}, headers=AUTH)
                assert put.status_code == 201, put.text
                seen.append(put.text)
        ingested = http.post("/api/v1/lineage", json=event, headers=AUTH)
        assert ingested.status_code == 201, ingested.text
        seen.append(ingested.text)
        for name, (_, shown) in forms.items():
            for namespace in ("sec", "api") if name not in DATABASE_FORMS else ("sec",):
                answer = http.get(f"/api/v1/datasets/{namespace}:{name}")
                assert answer.json()["location"] == shown, (namespace, name, answer.text)
                seen.append(answer.text)
        discovered = http.get("/api/v1/datasets/warehouse:public.ol_t").json()
        assert discovered["location"] == "postgresql+psycopg://alice:***@127.0.0.1:1/hw#public.ol_t"
        checked = http.post("/api/v1/checks", json={}, headers=AUTH)
        assert checked.status_code == 200, checked.text
        runs = {run["dataset"]: run for run in checked.json()["runs"]}
        assert "alice:***@127.0.0.1:1" in runs["dataset:sec:pg_userinfo"]["error"]  # the message quotes it, masked
        assert {run["dataset"] for run in checked.json()["runs"]} >= {f"dataset:sec:{n}" for n in DATABASE_FORMS}
        assert len(checked.json()["skipped"]) == 2 * (len(forms) - len(DATABASE_FORMS))  # URIs are not read
        seen.append(checked.text)
        node = quote("dataset:sec:pg_userinfo", safe="")
        for path in ("/api/v1/datasets?limit=1000", "/api/v1/risk", "/api/v1/risk/models", "/api/v1/models/sec:m/risk",
                     "/api/v1/models/sec:m/report", "/api/v1/reports/sec:m", "/api/v1/lineage/sec:m", f"/api/v1/impact/{node}",
                     "/api/v1/feeds?limit=1000", "/viewer", "/viewer?model=sec:m", "/api/v1/checks/warehouse:public.ol_t",
                     *(f"/api/v1/checks/sec:{name}" for name in forms)):
            answer = http.get(path)
            assert answer.status_code == 200, (path, answer.text)
            seen.append(answer.text)
    server.stop()
    assert "POST /api/v1/checks" in server.log()  # the access log is there, and it is the whole log searched
    seen.append(server.log())

    out = tmp_path / "out"
    out.mkdir()
    for args, codes in ((("check", "--format", "json"), (1,)), (("check",), (1,)),
                        (("check", "--history", "sec:pg_query", "--format", "json"), (0,)),
                        (("check", "--history", "sec:odbc_connect"), (0,)), (("report", "sec:m"), (0,)),
                        (("risk", "--format", "json"), (0,)), (("risk", "--format", "markdown"), (0,)), (("risk",), (0,)),
                        (("risk", "--model", "sec:m"), (0,)), (("snapshot", "sec:m"), (2,)),
                        (("view", "--output", str(out / "lineage.html")), (0,)),
                        (("gate", "--all", "--json", str(out / "gate.json"), "--markdown", str(out / "gate.md"),
                          "--sarif", str(out / "gate.sarif"), "--junit", str(out / "gate.xml"), "--github"), (1,))):
        result = headwater(*args, db=sqlite_url, env={"GITHUB_STEP_SUMMARY": str(out / "summary.md")})
        assert result.returncode in codes and "Traceback" not in result.stderr, (args, result.stdout, result.stderr)
        seen += [result.stdout, result.stderr]
    files = sorted(out.iterdir())
    assert [f.name for f in files] == ["gate.json", "gate.md", "gate.sarif", "gate.xml", "lineage.html", "summary.md"]
    seen += [f.read_text(encoding="utf-8") for f in files]
    assert "could not be checked" in (out / "gate.sarif").read_text()  # the errored checks are in the reports

    for index, text in enumerate(seen):
        assert not _leaked(text, secrets), (index, _leaked(text, secrets), text[:2000])
    stored = repr(store_rows(sqlite_url))
    assert all(secret in stored for secret in secrets)  # the control: the store keeps every one whole
    figures["credential forms masked"] += len(forms) + 1  # and the OpenLineage dataSource
    figures["outputs searched for credentials"] += len(seen)
