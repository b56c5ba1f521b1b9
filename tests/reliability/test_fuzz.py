"""Schemathesis over the whole OpenAPI schema, with and without a token.

Every operation the app declares is fuzzed (new routes are picked up without touching this file):
no response may be a 5xx, and every response must match the schema (status code declared,
content type declared, body valid against its response schema). The run is derandomised with a
fixed example budget, so CI sees the same cases every time and the suite stays bounded.
"""

from __future__ import annotations

import shutil
from collections import Counter
import pytest
import schemathesis
from schemathesis import checks
from hypothesis import HealthCheck, settings

from api.app import create_app
from api.config import Settings
from catalog.loader import load_catalog
from catalog.store import Store
from tests.conftest import ROOT
from tests.reliability.conftest import AUTH, TOKEN

EXAMPLES_PER_OPERATION = 40
# Checks about how strict input validation is, not about what the server answers:
# - pydantic's lax mode, FastAPI's convention, takes `force: 0` as false and `as_of=0.5` as a Unix time;
# - bodies the catalog loader validates (PUT entries, OpenLineage events) are declared as open
#   objects, so "schema-valid" `{}` may rightly be a 422 naming the missing field;
# - path parameters take `/` (namespaces are URIs), so `PUT /models/x/report` is a PUT of the model
#   `x/report`, answered 401 without a token rather than 405, and its `Allow` rightly lists PUT
#   (test_405_names_every_method_served_at_the_path checks `Allow` where paths are unambiguous).
LENIENCIES = [checks.negative_data_rejection, checks.positive_data_acceptance, checks.unsupported_method,
              checks.allow_header_conformance]


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory):
    """The app over a store holding the bundled example, so reads reach real nodes as well as misses."""
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(ROOT / "examples", folder / "examples", copy_function=shutil.copy)
    url = f"sqlite:///{folder / 'store.db'}"
    store = Store(url)
    load_catalog(store, [folder / "examples" / "catalog.yaml"])
    app = create_app(Settings(db=url, tokens=(TOKEN,)), store=store)
    yield app
    store.close()


@pytest.fixture(scope="module")
def fuzzed_schema(fuzzed_app):
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed_app)


schema = schemathesis.pytest.from_fixture("fuzzed_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_5xx_or_breaks_the_schema(case, figures: Counter[str]) -> None:
    """Each generated case is sent twice: anonymously (writes must be refused), then with a token."""
    for headers in (None, AUTH):
        figures["requests fuzzed"] += 1
        case.call_and_validate(headers=headers, excluded_checks=LENIENCIES)


def test_405_names_every_method_served_at_the_path(fuzzed_app) -> None:
    """`/api/v1/incidents` is served by two routers; Starlette alone would name only the first's method."""
    from fastapi.testclient import TestClient

    with TestClient(fuzzed_app) as client:
        response = client.patch("/api/v1/incidents", json={})
        assert response.status_code == 405 and response.headers["content-type"] == "application/problem+json"
        assert response.headers["allow"] == "DELETE, GET, POST"
        assert client.options("/api/v1/datasets").headers["allow"] == "GET"
