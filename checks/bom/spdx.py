"""An SPDX 3.0.1 AI-BOM (JSON-LD): the model version as an `ai_AIPackage`, each dataset it rests on as a
`dataset_DatasetPackage`, and the lineage between them as SPDX Relationships.

What the document says, and where each catalog fact goes:

- The model version: `name`, `software_packageVersion`, `software_primaryPurpose` "model", its purpose
  as `ai_informationAboutApplication`, its owner as `suppliedBy` (an `Agent`, with the address as an
  `email` identifier), `ai_useSensitivePersonalInformation` from the datasets it consumed directly, and
  `ai_safetyRiskAssessment` from the AI Act risk tier: prohibited -> serious, high -> high,
  limited -> medium, minimal -> low. A `gpai` model or one with no tier gets none: GPAI is a kind of
  model under the Act, not a level of risk, and an unset tier is not "low" (it is a finding). The tier
  itself, whether the version is deployed and its stage are an `other` Annotation on the model.
- Each dataset: `dataset_datasetType` (required; "structured" for a CSV/Parquet file or a database
  table, "text" when tagged free-text, else "noAssertion"), `dataset_hasSensitivePersonalInformation`
  yes/no/noAssertion from `personal_data` (GDPR personal data counts as sensitive here),
  `dataset_confidentialityLevel` only where the catalog implies it (special categories -> red,
  personal data -> amber, public non-personal -> clear), `dataset_dataCollectionProcess` from origin,
  legal basis, special categories, collection date and TDM reservation, `dataset_intendedUse` from
  purpose, `dataset_anonymizationMethodUsed`, `dataset_knownBias` from the bias examination, the
  datasheet as a `documentation` externalRef, `verifiedUsing` sha256 when known, and
  `software_downloadLocation` only for a URI location (never a local path or a database URL).
- Relationships: model `trainedOn` a dataset it used for training or fine_tuning, `testedOn` one used
  for validation, test or evaluation, `dependsOn` one used otherwise (retrieval…); each names the
  roles in its `comment`. A derived dataset is `descendantOf` its inputs, and a fine-tuned model
  `descendantOf` its base (3.0.1 has no fine-tuned-from; `generates` is for builds). Licences are
  `hasDeclaredLicense` to a `simplelicensing_LicenseExpression`: an id on the SPDX License List in its
  canonical case, any other (`proprietary`, a vendor contract) as `LicenseRef-…`, its URL kept in
  `simplelicensing_customIdToUri`.
- Findings are `review` Annotations whose statement is the finding's one line, on the element it is
  rooted at.

Deterministic: `created` is the evaluation day at 00:00:00Z, and every spdxId is under
`https://headwater.invalid/spdx/<sha256>/`, the digest of the document written with bare local ids,
so the same Material gives the same bytes and any change gives a new namespace.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from catalog.ids import NodeId, short_name
from catalog.locations import FILE_FORMATS, parse_location
from checks.bom.material import DatasetEntry, Material, finding_text
from checks.results import Finding

SPEC_VERSION = "3.0.1"
CONTEXT = "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
NAMESPACE = "https://headwater.invalid/spdx/"
CREATION = "_:creationinfo"
PROFILES = ["ai", "core", "dataset", "simpleLicensing", "software"]
SAFETY_RISK = {"prohibited": "serious", "high": "high", "limited": "medium", "minimal": "low"}
TRAINED_ON = ("training", "fine_tuning")
TESTED_ON = ("validation", "test", "evaluation")
RELATIONSHIP_ORDER = ("trainedOn", "testedOn", "dependsOn")
PRESENCE = {True: "yes", False: "no", None: "noAssertion"}
# the properties whose values are spdxIds: rewritten from local ids once the namespace is known
REFERENCES = ("spdxId", "from", "to", "subject", "suppliedBy", "createdBy", "createdUsing", "element",
              "rootElement")


def render(material: Material, *, tool_version: str) -> str:
    graph = _Graph()
    model = graph.model(material)
    for entry in material.datasets:
        graph.dataset(entry)
    for entry in material.datasets:
        graph.consumed(model, entry)
        if entry.inputs:
            graph.relate(_local("dataset", entry.node), "descendantOf", [_local("dataset", n) for n in entry.inputs])
    if material.base:
        graph.relate(model, "descendantOf", [graph.base(material.base)])
    for finding in material.findings:
        graph.review(model, finding)
    for entry in material.datasets:
        for finding in entry.findings:
            graph.review(_local("dataset", entry.node), finding)
    creator = graph.add("SoftwareAgent", "creator/headwater", name="Headwater")
    tool = graph.add("Tool", "tool/headwater", name=f"headwater {tool_version}")
    info = {"type": "CreationInfo", "@id": CREATION, "specVersion": SPEC_VERSION,
            "created": f"{material.evaluated_on.isoformat()}T00:00:00Z", "createdBy": [creator],
            "createdUsing": [tool]}
    document = {
        "type": "SpdxDocument", "spdxId": "document", "creationInfo": CREATION,
        "name": f"AI-BOM of {short_name(material.node)}",
        "comment": f"What {short_name(material.node)} rests on as the Headwater catalog knew it on "
                   f"{material.evaluated_on.isoformat()} (store revision {material.revision}): the datasets it "
                   "consumed, those they were derived from, their governance, and the findings on each.",
        "profileConformance": PROFILES, "rootElement": [model],
        "element": [element["spdxId"] for element in graph.elements],
    }
    body: dict[str, Any] = {"@context": CONTEXT, "@graph": [info, document, *graph.elements]}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    base = f"{NAMESPACE}{digest}/"
    body["@graph"] = [_link(item, base) for item in body["@graph"]]
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"


class _Graph:
    """The document's elements, written with local ids (`model`, `dataset/<node>`…) until `_link`."""

    def __init__(self) -> None:
        self.elements: list[dict[str, Any]] = []
        self._ids: set[str] = set()
        self._count = {"relationship": 0, "annotation": 0}

    def add(self, kind: str, local: str, **properties: Any) -> str:
        if local not in self._ids:
            self._ids.add(local)
            self.elements.append({"type": kind, "spdxId": local, "creationInfo": CREATION,
                                  **{k: v for k, v in properties.items() if v not in (None, "", [])}})
        return local

    def numbered(self, kind: str) -> str:
        self._count[kind] += 1
        return f"{kind}/{self._count[kind]}"

    def model(self, material: Material) -> str:
        attrs = material.attrs
        consumed = [entry.attrs.get("personal_data") for entry in material.datasets if entry.roles]
        sensitive = None if not consumed else "yes" if True in consumed else "no" if all(
            flag is False for flag in consumed) else "noAssertion"
        model = self.add(
            "ai_AIPackage", "model", name=attrs["name"], description=attrs.get("description"),
            externalIdentifier=[_catalog_id(material.node)], suppliedBy=self.agent(attrs.get("owner")),
            software_packageVersion=attrs.get("version"), software_primaryPurpose="model",
            ai_informationAboutApplication=attrs.get("purpose"),
            ai_safetyRiskAssessment=SAFETY_RISK.get(attrs.get("risk_tier") or ""),
            ai_useSensitivePersonalInformation=sensitive,
        )
        facts = [f"AI Act risk tier: {attrs.get('risk_tier') or 'not set'}",
                 f"deployed: {'yes' if attrs.get('deployed') else 'no'}",
                 *([f"stage: {attrs['stage']}"] if attrs.get("stage") else [])]
        self.add("Annotation", self.numbered("annotation"), annotationType="other", subject=model,
                 statement="; ".join(facts))
        self.licence(model, attrs.get("licence"), None)
        return model

    def dataset(self, entry: DatasetEntry) -> str:
        attrs = entry.attrs
        personal = attrs.get("personal_data")
        special = list(attrs.get("special_categories") or [])
        confidentiality = "red" if special else "amber" if personal else \
            "clear" if personal is False and attrs.get("origin") == "public" else None
        documentation = attrs.get("documentation")
        local = self.add(
            "dataset_DatasetPackage", _local("dataset", entry.node), name=attrs["name"],
            description=attrs.get("description"), externalIdentifier=[_catalog_id(entry.node)],
            externalRef=[{"type": "ExternalRef", "externalRefType": "documentation", "locator": [documentation]}]
            if documentation else None,
            verifiedUsing=[{"type": "Hash", "algorithm": "sha256", "hashValue": entry.sha256}]
            if entry.sha256 else None,
            suppliedBy=self.agent(attrs.get("owner")),
            software_primaryPurpose="data", software_downloadLocation=_download_location(entry),
            dataset_datasetType=_dataset_types(entry),
            dataset_hasSensitivePersonalInformation=PRESENCE.get(personal, "noAssertion"),
            dataset_confidentialityLevel=confidentiality,
            dataset_dataCollectionProcess=_collection(attrs, special),
            dataset_intendedUse=attrs.get("purpose"),
            dataset_anonymizationMethodUsed=[attrs["deid_method"]] if attrs.get("deid_method") else None,
            dataset_knownBias=[_bias(attrs)] if attrs.get("bias_status") else None,
        )
        self.licence(local, attrs.get("licence_id"), attrs.get("licence_url"))
        return local

    def consumed(self, model: str, entry: DatasetEntry) -> None:
        by_type: dict[str, list[str]] = {}
        for role in entry.roles:
            kind = "trainedOn" if role in TRAINED_ON else "testedOn" if role in TESTED_ON else "dependsOn"
            by_type.setdefault(kind, []).append(role)
        for kind in sorted(by_type, key=RELATIONSHIP_ORDER.index):
            self.relate(model, kind, [_local("dataset", entry.node)], comment="role: " + ", ".join(by_type[kind]))

    def base(self, node: str) -> str:
        try:
            parsed = NodeId.parse(node)
            name, version = parsed.name, parsed.version
        except ValueError:
            name, version = short_name(node), None
        return self.add("ai_AIPackage", _local("model", node), name=name, software_packageVersion=version,
                        software_primaryPurpose="model", externalIdentifier=[_catalog_id(node)])

    def relate(self, source: str, kind: str, targets: list[str], comment: str | None = None) -> None:
        self.add("Relationship", self.numbered("relationship"), comment=comment, relationshipType=kind,
                 **{"from": source, "to": targets})

    def review(self, subject: str, finding: Finding) -> None:
        self.add("Annotation", self.numbered("annotation"), annotationType="review", subject=subject,
                 statement=finding_text(finding))

    def agent(self, owner: str | None) -> str | None:
        if not owner:
            return None
        email = re.fullmatch(r"[^@\s]+@[^@\s]+", owner)
        return self.add("Agent", _local("agent", owner), name=owner, externalIdentifier=[
            {"type": "ExternalIdentifier", "externalIdentifierType": "email", "identifier": owner}] if email else None)

    def licence(self, subject: str, licence: str | None, url: str | None) -> None:
        if not licence:
            return
        expression, custom = _expression(licence)
        local = _local("licence", expression)
        self.add("simplelicensing_LicenseExpression", local, simplelicensing_licenseExpression=expression)
        element = next(e for e in self.elements if e["spdxId"] == local)
        if custom and url and "simplelicensing_customIdToUri" not in element:
            element["simplelicensing_customIdToUri"] = [{"type": "DictionaryEntry", "key": expression, "value": url}]
        self.relate(subject, "hasDeclaredLicense", [local])


def _local(kind: str, name: str) -> str:
    return f"{kind}/{quote(name, safe='@:')}"


def _catalog_id(node: str) -> dict[str, str]:
    return {"type": "ExternalIdentifier", "externalIdentifierType": "other", "identifier": node,
            "issuingAuthority": "Headwater catalog"}


def _expression(licence: str) -> tuple[str, bool]:
    """(the SPDX licence expression, whether it is a LicenseRef): listed ids in their canonical case.

    The SPDX License List comes with `packaging` (PEP 639, 24.2 on), already installed beside
    Headwater's dependencies; without it every licence is written as a LicenseRef.
    """
    try:
        from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
    except ImportError:  # pragma: no cover - packaging older than 24.2
        pass
    else:
        try:
            canonical = str(canonicalize_license_expression(licence))
            return canonical, canonical.startswith("LicenseRef-")
        except InvalidLicenseExpression:
            pass
    return "LicenseRef-" + (re.sub(r"[^A-Za-z0-9.-]+", "-", licence).strip("-") or "unnamed"), True


def _dataset_types(entry: DatasetEntry) -> list[str]:
    types = []
    try:
        location = parse_location(entry.attrs["location"]) if entry.attrs.get("location") else None
    except ValueError:
        location = None
    if location is not None:  # a file's format, or the suffix of a URI's path (s3://bucket/part.parquet)
        fmt = location.format or FILE_FORMATS.get(PurePosixPath(location.value.split("?")[0]).suffix.lower())
        if location.kind == "sql" or fmt in ("csv", "parquet"):
            types.append("structured")
    if {"free-text", "text"} & set(entry.attrs.get("tags") or []):
        types.append("text")
    return types or ["noAssertion"]


def _download_location(entry: DatasetEntry) -> str | None:
    raw = entry.attrs.get("location")
    try:
        return entry.location if raw and parse_location(raw).kind == "uri" else None
    except ValueError:
        return None


def _collection(attrs: dict[str, Any], special: list[str]) -> str | None:
    parts = [f"origin: {attrs['origin']}" if attrs.get("origin") else None,
             f"GDPR Art. 6(1) legal basis: {attrs['legal_basis']}" if attrs.get("legal_basis") else None,
             f"special categories: {', '.join(special)}"
             + (f" (Art. 9(2) basis: {attrs['special_category_basis']})" if attrs.get("special_category_basis")
                else "") if special else None,
             f"collected {attrs['collected']}" if attrs.get("collected") else None,
             f"text-and-data-mining reservation: {attrs['tdm_status']}"
             + (f" ({attrs['tdm_method']})" if attrs.get("tdm_method") else "")
             + (f", checked {attrs['tdm_checked']}" if attrs.get("tdm_checked") else "") if attrs.get("tdm_status")
             else None,
             f"datasheet: {attrs['documentation']}" if attrs.get("documentation") else None]
    return "; ".join(p for p in parts if p) or None


def _bias(attrs: dict[str, Any]) -> str:
    text = f"AI Act Art. 10(2)(f) bias examination: {attrs['bias_status']}"
    text += f" on {attrs['bias_date']}" if attrs.get("bias_date") else ""
    return text + (f"; report: {attrs['bias_documentation']}" if attrs.get("bias_documentation") else "")


def _link(item: dict[str, Any], base: str) -> dict[str, Any]:
    """Turn local ids into spdxIds under `base`, in the properties that hold references."""
    linked = dict(item)
    for key in REFERENCES:
        value = linked.get(key)
        if isinstance(value, str):
            linked[key] = base + value
        elif isinstance(value, list):
            linked[key] = [base + v for v in value]
    return linked
