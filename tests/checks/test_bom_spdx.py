"""The SPDX 3.0.1 AI-BOM of each of the demo's deployed models, checked against the SPDX 3.0.1 vocabulary
and read back against the catalog.

No PyPI package ships SPDX's own `spdx-json-schema.json`, so the document is checked structurally against
`tests/fixtures/spdx/vocabulary-3.0.1.json`: every class, property, cardinality and enum value of
SPDX 3.0.1 as the official bindings (spdx-python-model, generated from the SPDX model) declare them
(see that folder's README). `problems` below applies it the way the JSON schema and SHACL shapes do:
known concrete types, no unknown properties, required ones present, lists where lists go, enum values
from the list, and every reference resolving to an element of the right class in the same document.
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import replace
from datetime import datetime, timezone
from typing import Any

import pytest

from catalog import service
from checks.bom.material import Material, finding_text, gather
from checks.bom.spdx import render
from lineage.service import resolve
from tests.paths import FIXTURES as FIXTURE_ROOT

FIXTURES = FIXTURE_ROOT / "spdx"
VOCABULARY: dict[str, Any] = json.loads((FIXTURES / "vocabulary-3.0.1.json").read_text())["classes"]
CONTEXT = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
AS_OF = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
MODELS = {"credit-scorer": "model:acme-ml:credit-scorer@3.2.0",  # a bare name is the deployed version
          "support-assistant": "model:acme-ml:support-assistant@1.4.0",
          "churn-predictor": "model:acme-ml:churn-predictor@0.9.1"}
NAMESPACE = re.compile(r"^https://headwater\.invalid/spdx/[0-9a-f]{64}/")
VALUE_TYPES = {"string": str, "anyuri": str, "boolean": bool, "float": (int, float), "nonnegativeinteger": int,
               "positiveinteger": int}
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


# --- the structural check ---------------------------------------------------------------------------

def problems(document: dict[str, Any]) -> list[str]:
    """Everything in `document` that SPDX 3.0.1 (JSON-LD, compact form) does not allow."""
    found: list[str] = []
    if document.get("@context") != CONTEXT:
        found.append(f"@context is {document.get('@context')!r}")
    if set(document) != {"@context", "@graph"} or not isinstance(document.get("@graph"), list):
        return found + [f"top level holds {sorted(document)}, not @context and a @graph list"]
    classes: dict[str, str] = {}
    for item in document["@graph"]:
        spec = VOCABULARY.get(item.get("type")) if isinstance(item, dict) else None
        if spec is not None and isinstance(item.get(spec["id_key"]), str):
            if item[spec["id_key"]] in classes:
                found.append(f"{item[spec['id_key']]} is defined twice")
            classes[item[spec["id_key"]]] = item["type"]
    references: list[tuple[str, str, str]] = []
    for index, item in enumerate(document["@graph"]):
        _check(item, f"@graph[{index}]", None, True, found, references)
    for where, target, expected in references:
        if target not in classes:
            found.append(f"{where}: {target} is not an element of this document")
        elif not _is_a(classes[target], expected):
            found.append(f"{where}: {target} is a {classes[target]}, not a {expected}")
    return found


def _is_a(cls: str, expected: str) -> bool:
    return cls == expected or expected in VOCABULARY[cls]["parents"]


def _check(obj: Any, where: str, expected: str | None, top: bool, found: list[str],
           references: list[tuple[str, str, str]]) -> None:
    if not isinstance(obj, dict):
        found.append(f"{where}: {obj!r} is not an object")
        return
    cls = obj.get("type")
    spec = VOCABULARY.get(cls)
    if spec is None or spec["abstract"]:
        found.append(f"{where}: type {cls!r} is not a concrete SPDX 3.0.1 class")
        return
    if expected is not None and not _is_a(cls, expected):
        found.append(f"{where}: a {cls} where a {expected} belongs")
    ident = obj.get(spec["id_key"])
    if (top or spec["id"] == "IRI") and not isinstance(ident, str):
        found.append(f"{where}: a {cls} needs its {spec['id_key']}")
    elif isinstance(ident, str) and (spec["id"] == "IRI" and (ident.startswith("_:") or ":" not in ident)
                                     or spec["id"] == "blank" and not ident.startswith("_:")):
        found.append(f"{where}: {ident!r} is not a valid {spec['id']} id for a {cls}")
    for key in sorted(set(obj) - {"type", spec["id_key"]} - set(spec["properties"])):
        found.append(f"{where}: {cls} has no property {key!r}")
    for key, prop in spec["properties"].items():
        if key not in obj:
            if prop.get("min"):
                found.append(f"{where}: {cls} needs {key}")
            continue
        value = obj[key]
        if bool(prop.get("list")) != isinstance(value, list):
            found.append(f"{where}.{key}: {'a list' if prop.get('list') else 'one value'} expected")
            continue
        values = value if prop.get("list") else [value]
        if len(values) < prop.get("min", 0) or len(values) > prop.get("max", len(values)):
            found.append(f"{where}.{key}: {len(values)} values")
        for n, item in enumerate(values):
            at = f"{where}.{key}[{n}]" if prop.get("list") else f"{where}.{key}"
            if "enum" in prop:
                if item not in prop["enum"]:
                    found.append(f"{at}: {item!r} is not one of {prop['enum']}")
            elif "class" in prop:
                if isinstance(item, str):
                    references.append((at, item, prop["class"]))
                else:
                    _check(item, at, prop["class"], False, found, references)
            elif prop["value"] == "datetimestamp":
                if not (isinstance(item, str) and DATETIME.match(item)):
                    found.append(f"{at}: {item!r} is not a UTC date-time")
            elif not isinstance(item, VALUE_TYPES[prop["value"]]) or isinstance(item, bool) != (prop["value"] == "boolean"):
                found.append(f"{at}: {item!r} is not a {prop['value']}")


# --- the demo ---------------------------------------------------------------------------------------



def elements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["spdxId"]: item for item in document["@graph"] if "spdxId" in item}


def by_catalog_id(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {ident["identifier"]: item for item in document["@graph"]
            for ident in item.get("externalIdentifier", []) if ident["externalIdentifierType"] == "other"}


def relationships(document: dict[str, Any], kind: str) -> set[tuple[str, str]]:
    return {(item["from"], to) for item in document["@graph"]
            if item["type"] == "Relationship" and item["relationshipType"] == kind for to in item["to"]}


@pytest.mark.parametrize("model", MODELS)
def test_each_deployed_model_has_a_valid_spdx_ai_bom_naming_its_training_data(example_store, model, monkeypatch):
    material = gather(example_store, model, as_of=AS_OF)
    assert material.node == MODELS[model]

    def no_network(*args, **kwargs):
        raise AssertionError("render opened a socket")

    monkeypatch.setattr(socket, "socket", no_network)
    text = render(material, tool_version="0.1.0")
    monkeypatch.undo()
    document = json.loads(text)
    assert problems(document) == []
    assert text.endswith("}\n") and text == json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    assert render(material, tool_version="0.1.0") == text  # same material, same bytes
    assert render(gather(example_store, model, as_of=AS_OF), tool_version="0.1.0") == text  # same store and day

    info = document["@graph"][0]
    assert info["type"] == "CreationInfo" and info["specVersion"] == "3.0.1"
    assert info["created"] == "2026-12-01T00:00:00Z"
    found = elements(document)
    assert all(NAMESPACE.match(ident) for ident in found)
    assert len({NAMESPACE.match(ident).group() for ident in found}) == 1  # one namespace for the document
    spdx_document = next(item for item in found.values() if item["type"] == "SpdxDocument")
    assert set(spdx_document["element"]) == set(found) - {spdx_document["spdxId"]}
    catalog = by_catalog_id(document)
    root = catalog[material.node]
    assert spdx_document["rootElement"] == [root["spdxId"]] and root["type"] == "ai_AIPackage"
    assert (root["name"], root["software_packageVersion"]) == (material.attrs["name"], material.attrs["version"])
    assert {found[i]["name"] for i in info["createdBy"] + info["createdUsing"]} == {"Headwater", "headwater 0.1.0"}

    version = service.get_model(example_store, resolve(example_store, model, "model"))
    training = {feed.dataset: feed for feed in version.trained_on if feed.role in ("training", "fine_tuning")}
    assert training  # every demo model trained on something
    trained_on = relationships(document, "trainedOn")
    assert {found[t]["externalIdentifier"][0]["identifier"] for f, t in trained_on if f == root["spdxId"]} == \
        set(training)
    for dataset, feed in training.items():  # read back: each training dataset, with the hash the model consumed
        package = catalog[dataset]
        assert package["type"] == "dataset_DatasetPackage"
        assert (root["spdxId"], package["spdxId"]) in trained_on
        hashes = {(h["algorithm"], h["hashValue"]) for h in package.get("verifiedUsing", [])}
        assert hashes == ({("sha256", feed.fingerprint.removeprefix("sha256:"))} if feed.fingerprint else set())
    tested = {feed.dataset for feed in version.trained_on if feed.role in ("validation", "test", "evaluation")}
    assert {t for f, t in relationships(document, "testedOn") if f == root["spdxId"]} == \
        {catalog[d]["spdxId"] for d in tested}

    for entry in material.datasets:
        package = catalog[entry.node]
        hashes = [h["hashValue"] for h in package.get("verifiedUsing", []) if h["algorithm"] == "sha256"]
        assert hashes == ([entry.sha256] if entry.sha256 else [])
        personal = entry.attrs.get("personal_data")
        assert package["dataset_hasSensitivePersonalInformation"] == {True: "yes", False: "no"}.get(personal, "noAssertion")
        assert {t for f, t in relationships(document, "descendantOf") if f == package["spdxId"]} == \
            {catalog[n]["spdxId"] for n in entry.inputs}
    reviews = {(item["subject"], item["statement"]) for item in document["@graph"]
               if item["type"] == "Annotation" and item["annotationType"] == "review"}
    expected = {(catalog[e.node]["spdxId"], finding_text(f)) for e in material.datasets for f in e.findings} | \
        {(root["spdxId"], finding_text(f)) for f in material.findings}
    assert reviews == expected


def test_personal_data_hashes_licences_and_bias_as_the_catalog_says(example_store):
    document = json.loads(render(gather(example_store, "credit-scorer", as_of=AS_OF), tool_version="0.1.0"))
    catalog, found = by_catalog_id(document), elements(document)
    features = catalog["dataset:acme-ml:features.credit_features"]
    assert features["dataset_hasSensitivePersonalInformation"] == "yes"
    assert features["verifiedUsing"] == [{"type": "Hash", "algorithm": "sha256",
                                          "hashValue": "886ced6f57919d3bbdacf8f3fbe1fb37792e782d155477fc64e3180822706960"}]
    assert features["dataset_datasetType"] == ["structured"]
    assert "passed on 2026-09-20" in features["dataset_knownBias"][0]
    income = catalog["dataset:acme-ml:public.regional_income"]
    assert income["dataset_hasSensitivePersonalInformation"] == "no" and income["dataset_confidentialityLevel"] == "clear"
    assert "verifiedUsing" not in income  # upstream, never checked: no hash to give
    declared = {(f, found[t]["simplelicensing_licenseExpression"]) for f, t in relationships(document, "hasDeclaredLicense")}
    assert (income["spdxId"], "CC-BY-4.0") in declared  # on the SPDX License List: kept as it is
    assert (features["spdxId"], "LicenseRef-proprietary") in declared
    bureau = catalog["dataset:acme-ml:vendor.bureau_scores"]
    licence = next(found[t] for f, t in relationships(document, "hasDeclaredLicense") if f == bureau["spdxId"])
    assert licence["simplelicensing_customIdToUri"] == [{"type": "DictionaryEntry", "key": "LicenseRef-CrediBureau-DPA-2025",
                                                         "value": "https://contracts.acme.example/credibureau"}]
    assert "origin: vendor" in bureau["dataset_dataCollectionProcess"]
    root = catalog["model:acme-ml:credit-scorer@3.2.0"]
    assert root["ai_useSensitivePersonalInformation"] == "yes"
    assert found[root["suppliedBy"]]["name"] == "credit-ml@acme.example"
    tickets = json.loads(render(gather(example_store, "support-assistant", as_of=AS_OF), tool_version="0.1.0"))
    clean = by_catalog_id(tickets)["dataset:acme-ml:staging.support_tickets_clean"]
    assert clean["dataset_anonymizationMethodUsed"] == ["pseudonymised"] and clean["dataset_datasetType"] == ["text"]
    assert clean["dataset_hasSensitivePersonalInformation"] == "yes"  # pseudonymised data is still personal


def test_only_a_uri_is_a_download_location_and_special_categories_are_red(example_store, tmp_path):
    material = gather(example_store, "credit-scorer", as_of=AS_OF)
    text = render(material, tool_version="0.1.0")
    assert str(tmp_path) not in text and "software_downloadLocation" not in text  # local files stay out
    entry = next(e for e in material.datasets if e.node == "dataset:acme-ml:features.credit_features")
    moved = replace(entry, location="s3://acme-ml/features/credit.parquet", attrs={
        **entry.attrs, "location": "s3://acme-ml/features/credit.parquet", "special_categories": ["health"]})
    document = json.loads(render(replace(material, datasets=[moved if e is entry else e for e in material.datasets]),
                                 tool_version="0.1.0"))
    assert problems(document) == []
    package = by_catalog_id(document)[entry.node]
    assert package["software_downloadLocation"] == "s3://acme-ml/features/credit.parquet"
    assert package["dataset_datasetType"] == ["structured"] and package["dataset_confidentialityLevel"] == "red"
    assert "special categories: health" in package["dataset_dataCollectionProcess"]


@pytest.mark.parametrize("tier, expected", [("prohibited", "serious"), ("high", "high"), ("limited", "medium"),
                                            ("minimal", "low"), ("gpai", None), (None, None)])
def test_the_risk_tier_sets_the_safety_risk_assessment(example_store, tier, expected):
    material = gather(example_store, "credit-scorer", as_of=AS_OF)
    document = json.loads(render(replace(material, attrs={**material.attrs, "risk_tier": tier}), tool_version="0.1.0"))
    assert problems(document) == []
    root = by_catalog_id(document)[material.node]
    assert root.get("ai_safetyRiskAssessment") == expected
    statements = [a["statement"] for a in document["@graph"] if a["type"] == "Annotation" and a["subject"] == root["spdxId"]]
    assert f"AI Act risk tier: {tier or 'not set'}; deployed: yes; stage: production" in statements


def test_a_fine_tuned_model_descends_from_its_base_and_any_change_moves_the_namespace(example_store):
    material = gather(example_store, "credit-scorer", as_of=AS_OF)
    plain = render(material, tool_version="0.1.0")
    tuned: Material = replace(material, base="model:acme-ml:credit-scorer@3.1.0")
    document = json.loads(render(tuned, tool_version="0.1.0"))
    assert problems(document) == []
    catalog = by_catalog_id(document)
    base = catalog["model:acme-ml:credit-scorer@3.1.0"]
    assert (base["type"], base["name"], base["software_packageVersion"]) == ("ai_AIPackage", "credit-scorer", "3.1.0")
    assert (catalog[material.node]["spdxId"], base["spdxId"]) in relationships(document, "descendantOf")
    namespaces = {NAMESPACE.match(json.loads(text)["@graph"][1]["spdxId"]).group() for text in (
        plain, render(tuned, tool_version="0.1.0"), render(material, tool_version="0.2.0"),
        render(replace(material, revision=material.revision + 1), tool_version="0.1.0"))}
    assert len(namespaces) == 4  # the namespace is the content's digest


def test_the_structural_check_catches_what_spdx_forbids(example_store):
    text = render(gather(example_store, "churn-predictor", as_of=AS_OF), tool_version="0.1.0")

    def broken(change) -> list[str]:
        document = json.loads(text)
        change(document, {item["type"]: item for item in document["@graph"]})
        return problems(document)

    assert broken(lambda d, t: None) == []
    assert broken(lambda d, t: d.update({"@context": "https://spdx.org/rdf/3.0.0/spdx-context.jsonld"}))
    assert broken(lambda d, t: t["dataset_DatasetPackage"].update(dataset_datasetType=["tabular"]))
    assert broken(lambda d, t: t["dataset_DatasetPackage"].update(dataset_datasetType="structured"))
    assert broken(lambda d, t: t["dataset_DatasetPackage"].update(dataset_datasetType=[]))
    assert broken(lambda d, t: t["dataset_DatasetPackage"].pop("dataset_datasetType"))
    assert broken(lambda d, t: t["dataset_DatasetPackage"].update(downloadLocation="https://x.example"))
    assert broken(lambda d, t: t["ai_AIPackage"].update(ai_safetyRiskAssessment="minimal"))
    assert broken(lambda d, t: t["ai_AIPackage"].update(type="ai_AIModel"))
    assert broken(lambda d, t: t["ai_AIPackage"].update(type="Artifact"))  # abstract
    assert broken(lambda d, t: t["ai_AIPackage"].update(suppliedBy=t["ai_AIPackage"]["spdxId"]))  # not an Agent
    assert broken(lambda d, t: t["Relationship"].update(to=["https://headwater.invalid/elsewhere"]))
    assert broken(lambda d, t: t["Relationship"].update(relationshipType="trainedFrom"))
    assert broken(lambda d, t: t["Annotation"].pop("subject"))
    assert broken(lambda d, t: t["CreationInfo"].update(created="2026-12-01"))
    assert broken(lambda d, t: t["Agent"].pop("spdxId"))
    assert broken(lambda d, t: t["Agent"]["externalIdentifier"][0].update(externalIdentifierType="mail"))
    assert broken(lambda d, t: d["@graph"].append(dict(t["Agent"])))  # the same spdxId twice


SCHEMA = json.loads((FIXTURES / "spdx-json-schema-3.0.1.json").read_text())  # the official one (fixtures README)


@pytest.mark.parametrize("model", [*MODELS, "credit-scorer@3.1.0"])
def test_each_bom_validates_against_the_official_spdx_3_0_1_json_schema(example_store, model):
    from jsonschema import Draft202012Validator

    from checks.bom.service import export_bom

    document = json.loads(export_bom(example_store, model, "spdx", as_of=AS_OF))
    errors = sorted(Draft202012Validator(SCHEMA).iter_errors(document), key=lambda e: list(e.absolute_path))
    assert errors == []
    broken = {**document, "@graph": [{**item, "type": "ai_AIPackage"} if item["type"] == "dataset_DatasetPackage"
                                     else item for item in document["@graph"]]}
    broken["@graph"].append({"type": "Relationship", "spdxId": "urn:x", "relationshipType": "trainedOn"})
    assert list(Draft202012Validator(SCHEMA).iter_errors(broken))  # the schema does refuse what is wrong
