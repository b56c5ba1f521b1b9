"""A CycloneDX 1.6 ML-BOM: the model version as a `machine-learning-model` component whose model card
names its datasets, each a `data` component with its governance, sensitivity, licence and hash.

cyclonedx-python-lib does not build `modelCard` or `data` yet, so the document is written here as
plain JSON, and the tests validate the whole of it against the 1.6 schema with that library.
The lineage is the `dependencies`: the model depends on what it consumed, each dataset on what it
was derived from. Findings are properties (`headwater:finding`), so scanners keep them.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from catalog.ids import short_name
from checks.bom.material import DatasetEntry, Material, finding_text

SPEC_VERSION = "1.6"


def render(material: Material, *, tool_version: str) -> str:
    attrs = material.attrs
    model: dict[str, Any] = {
        "type": "machine-learning-model", "bom-ref": material.node, "group": attrs["namespace"], "name": attrs["name"],
        "version": attrs["version"],
        **({"description": attrs["description"]} if attrs.get("description") else {}),
        **({"licenses": [{"license": {"name": attrs["licence"]}}]} if attrs.get("licence") else {}),
        "modelCard": {
            "modelParameters": {
                **({"task": attrs["purpose"]} if attrs.get("purpose") else {}),
                "datasets": [{"ref": d.node} for d in material.datasets if d.roles],
            },
            "properties": _properties([
                ("headwater:risk_tier", attrs.get("risk_tier") or "unknown"),
                ("headwater:deployed", str(bool(attrs.get("deployed"))).lower()),
                ("headwater:stage", attrs.get("stage")), ("headwater:source", attrs.get("source")),
                *((f"headwater:trained_on:{role}", short_name(d.node)) for d in material.datasets for role in d.roles),
            ]),
        },
        "properties": _properties([("headwater:owner", attrs.get("owner")),
                                   *(("headwater:finding", finding_text(f)) for f in material.findings)]),
    }
    if material.base:
        model["pedigree"] = {"notes": f"fine-tuned from {material.base}"}
    document: dict[str, Any] = {
        "bomFormat": "CycloneDX", "specVersion": SPEC_VERSION, "version": 1,
        "metadata": {
            "tools": {"components": [{"type": "application", "name": "headwater", "version": tool_version}]},
            "component": model,
            "properties": _properties([("headwater:evaluated_on", material.evaluated_on.isoformat()),
                                       ("headwater:store_revision", str(material.revision))]),
        },
        "components": [_data(entry) for entry in material.datasets],
        "dependencies": [
            {"ref": material.node, "dependsOn": sorted([d.node for d in material.datasets if d.roles]
                                                       + ([material.base] if material.base else []))},
            *({"ref": d.node, "dependsOn": d.inputs} for d in material.datasets),
        ],
    }
    if material.base:
        document["components"].append({"type": "machine-learning-model", "bom-ref": material.base,
                                       "name": short_name(material.base)})
    body = json.dumps(document, sort_keys=True, ensure_ascii=False)
    serial = uuid.uuid5(uuid.NAMESPACE_URL, "headwater:bom:" + hashlib.sha256(body.encode()).hexdigest())
    document = {"serialNumber": f"urn:uuid:{serial}", **document}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _data(entry: DatasetEntry) -> dict[str, Any]:
    attrs = entry.attrs
    sensitive = (["personal data"] if attrs.get("personal_data") else []) + \
        [f"special category: {c}" for c in attrs.get("special_categories") or []] + \
        [f"column {name}: {', '.join(classes)}" for name, classes in entry.columns if classes]
    data: dict[str, Any] = {
        "type": "dataset", "name": attrs["name"],
        **({"contents": {"url": entry.location}} if entry.location and "://" in entry.location else {}),
        **({"description": attrs["description"]} if attrs.get("description") else {}),
        **({"sensitiveData": sensitive} if sensitive else {}),
        **({"classification": "personal" if attrs.get("personal_data") else "non-personal"}
           if attrs.get("personal_data") is not None else {}),
        **({"governance": {"owners": [{"organization": {"name": attrs["owner"]}}]}} if attrs.get("owner") else {}),
    }
    licence = attrs.get("licence_id")
    component: dict[str, Any] = {
        "type": "data", "bom-ref": entry.node, "group": attrs["namespace"], "name": attrs["name"], "data": [data],
        **({"licenses": [{"license": {"name": licence, **({"url": attrs["licence_url"]} if attrs.get("licence_url")
                                                          else {})}}]} if licence else {}),
        **({"hashes": [{"alg": "SHA-256", "content": entry.sha256}]} if entry.sha256 else {}),
        "properties": _properties([
            ("headwater:origin", attrs.get("origin")), ("headwater:legal_basis", attrs.get("legal_basis")),
            ("headwater:location", entry.location), ("headwater:hash_basis", entry.hash_basis),
            *(("headwater:role", role) for role in entry.roles),
            *(("headwater:column", name) for name, _ in entry.columns),
            *(("headwater:feature", name) for name in entry.read or ()),
            *(("headwater:finding", finding_text(f)) for f in entry.findings),
        ]),
    }
    return component


def _properties(pairs: list[tuple[str, Any]]) -> list[dict[str, str]]:
    return [{"name": name, "value": str(value)} for name, value in pairs if value not in (None, "")]
