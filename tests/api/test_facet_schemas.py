"""Headwater's own OpenLineage facets have published JSON schemas that agree with what ingestion
accepts, and `headwater serve` answers at the path their `_schemaURL` names."""

from __future__ import annotations

import json
import uuid
from typing import get_args

import pytest
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

from api.app import create_app
from api.config import Settings
from catalog.errors import InvalidEvent
from catalog.openlineage import FACET_SCHEMAS, parse_event
from catalog.openlineage.facet_schemas import SPEC_DIR
from catalog.spec import FeedRole, RiskTier
from tests.openlineage_facets import FEED_SCHEMA_URL, MODEL_SCHEMA_URL, facet_classes

MODEL_SCHEMA, FEED_SCHEMA = "HeadwaterModelOutputDatasetFacet", "HeadwaterFeedInputDatasetFacet"  # as the URLs name them
FINGERPRINT = "sha256:" + "ab" * 32


def _validator(name: str) -> Draft202012Validator:
    core = json.loads((SPEC_DIR / "OpenLineage.json").read_text(encoding="utf-8"))
    schema = json.loads(FACET_SCHEMAS[name].read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    registry = Registry().with_resources([(core["$id"], Resource.from_contents(core))])
    return Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())


def _client_event(model: dict, feed: dict) -> dict:
    """A training run's COMPLETE event as openlineage-python builds it, with both facets."""
    from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
    from openlineage.client.serde import Serde

    HeadwaterModel, HeadwaterFeed = facet_classes()
    event = RunEvent(
        eventType=RunState.COMPLETE, eventTime="2026-11-30T10:00:00Z", run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="acme-ml", name="train"), producer="https://github.com/acme/training/tree/v3",
        inputs=[InputDataset(namespace="acme", name="features", inputFacets={"headwater_feed": HeadwaterFeed(**feed)})],
        outputs=[OutputDataset(namespace="s3://models", name="scorer", outputFacets={
            "headwater_model": HeadwaterModel(**model)})])
    return Serde.to_dict(event)


def test_the_schemas_are_valid_and_list_the_values_ingestion_accepts():
    model = json.loads(FACET_SCHEMAS[MODEL_SCHEMA].read_text())["$defs"][MODEL_SCHEMA]["allOf"][1]
    feed = json.loads(FACET_SCHEMAS[FEED_SCHEMA].read_text())["$defs"][FEED_SCHEMA]["allOf"][1]
    assert model["properties"]["riskTier"]["enum"] == list(get_args(RiskTier))
    assert feed["properties"]["role"]["enum"] == list(get_args(FeedRole))
    assert set(model["properties"]) == {"name", "namespace", "version", "riskTier", "deployed"}
    assert set(feed["properties"]) == {"role", "fingerprint"}
    for name in FACET_SCHEMAS:
        _validator(name)  # check_schema raises on an invalid schema
    ids = {name: json.loads(path.read_text())["$id"] for name, path in FACET_SCHEMAS.items()}
    assert ids == {MODEL_SCHEMA: MODEL_SCHEMA_URL, FEED_SCHEMA: FEED_SCHEMA_URL}  # what producers put in _schemaURL


GOOD = [({"riskTier": "high", "name": "scorer", "version": "3"}, {"role": "evaluation", "fingerprint": FINGERPRINT}),
        ({"riskTier": "minimal"}, {})]
BAD = [({"riskTier": "extreme"}, {}, "riskTier"),
       ({"riskTier": "high", "name": ""}, {}, "name"),
       ({"riskTier": "high"}, {"role": "eval"}, "role"),
       ({"riskTier": "high"}, {"fingerprint": "md5:abc"}, "fingerprint")]


@pytest.mark.parametrize("model,feed", GOOD)
def test_facets_the_official_client_emits_pass_the_schema_and_ingestion(model, feed):
    event = _client_event(model, feed)
    _validator(MODEL_SCHEMA).validate({"headwater_model": event["outputs"][0]["outputFacets"]["headwater_model"]})
    _validator(FEED_SCHEMA).validate({"headwater_feed": event["inputs"][0]["inputFacets"]["headwater_feed"]})
    parsed = parse_event(event)
    assert parsed.outputs[0].model is not None and parsed.outputs[0].model.riskTier == model["riskTier"]


@pytest.mark.parametrize("model,feed,field", BAD, ids=[b[2] for b in BAD])
def test_what_the_schema_refuses_ingestion_refuses(model, feed, field):
    event = _client_event(model, feed)
    facets = {MODEL_SCHEMA: {"headwater_model": event["outputs"][0]["outputFacets"]["headwater_model"]},
              FEED_SCHEMA: {"headwater_feed": event["inputs"][0]["inputFacets"]["headwater_feed"]}}
    errors = [e for name, facet in facets.items() for e in _validator(name).iter_errors(facet)]
    assert errors and any(field in "/".join(map(str, e.absolute_path)) for e in errors)
    with pytest.raises(InvalidEvent) as refused:
        parse_event(event)
    assert field in refused.value.path


def test_the_server_answers_at_the_schema_url_path(tmp_path):
    with TestClient(create_app(Settings(db=f"sqlite:///{tmp_path / 'h.db'}"))) as client:
        for name, path in FACET_SCHEMAS.items():
            schema = json.loads(path.read_text(encoding="utf-8"))
            url_path = schema["$id"].removeprefix("https://headwater.dev")
            served = client.get(url_path)
            assert served.status_code == 200 and served.headers["content-type"] == "application/schema+json"
            assert served.json() == schema
        missing = client.get("/spec/facets/1-0-0/OpenLineage.json")
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
        assert MODEL_SCHEMA in missing.json()["detail"]
        assert client.get("/spec/facets/1-0-0/..%2F..%2Fcatalog%2Fschema.py").status_code == 404
