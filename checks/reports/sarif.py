"""SARIF 2.1.0 for code scanning: each finding located at the root dataset's line in its catalog file."""

from __future__ import annotations

import json
import os
from pathlib import Path

from catalog.secrets import mask_secrets
from checks.gate import GateResult
from checks.policy import Policy

LEVEL = {"failing": "error", "below_threshold": "warning", "waived": "note"}
SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def relative(path: str | None) -> str | None:
    """Paths relative to the workspace (GITHUB_WORKSPACE or the working directory), as scanners expect."""
    if not path:
        return None
    base = Path(os.environ.get("GITHUB_WORKSPACE") or os.getcwd()).resolve()
    try:
        return Path(path).resolve().relative_to(base).as_posix()
    except ValueError:
        return Path(path).as_posix()


def _location(file: str | None, line: int | None, node: str) -> dict:
    location: dict = {"logicalLocations": [{"fullyQualifiedName": node, "kind": "resource"}]}
    uri = relative(file)
    if uri:
        physical: dict = {"artifactLocation": {"uri": uri}}
        if line:
            physical["region"] = {"startLine": line}
        location["physicalLocation"] = physical
    return location


def render(result: GateResult, policy: Policy, version: str) -> str:
    rules = []
    for condition, rule in policy.conditions.items():
        rules.append({
            "id": condition, "name": condition, "shortDescription": {"text": rule.title},
            "fullDescription": {"text": rule.note}, "help": {"text": "\n".join(rule.actions)},
            "properties": {"citations": rule.citations, "tags": ["governance"]},
        })
    rules.append({"id": "check_errored", "name": "check_errored",
                  "shortDescription": {"text": "Data could not be checked"},
                  "fullDescription": {"text": "The dataset's expectations could not be evaluated, so it cannot be vouched for."}})
    index = {rule["id"]: i for i, rule in enumerate(rules)}
    results = []
    for item in result.items:
        f = item.finding
        entry = {
            "ruleId": f.root_condition, "ruleIndex": index[f.root_condition], "level": LEVEL[item.status],
            "message": {"text": f"{item.model}: {f.severity} {f.title} from {f.root} ({f.mode}). {mask_secrets(f.detail)}. {f.note}"},
            "locations": [_location(item.file, item.line, f.root)],
            "partialFingerprints": {"headwaterFinding/v1": f"{item.model}|{f.root}|{f.root_condition}"},
            "properties": {"severity": f.severity, "model": item.model, "condition": f.condition,
                           "citations": f.citations, "paths": f.paths, "status": item.status},
        }
        if item.status == "waived":
            entry["suppressions"] = [{"kind": "external", "justification": item.waiver or "waived"}]
        results.append(entry)
    for check in result.errored:
        entry = {
            "ruleId": "check_errored", "ruleIndex": index["check_errored"],
            "level": "error" if check.status == "failing" else "note",
            "message": {"text": f"{check.dataset} could not be checked: {mask_secrets(check.error)}"},
            "locations": [_location(check.file, check.line, check.dataset)],
            "properties": {"models": check.models},
        }
        if check.status == "waived":
            entry["suppressions"] = [{"kind": "external", "justification": check.waiver or "waived"}]
        results.append(entry)
    log = {
        "$schema": SCHEMA, "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "Headwater", "version": version, "informationUri": "https://github.com/headwater",
                                "rules": rules}},
            "results": results,
            "properties": {"passed": result.passed, "failOn": result.fail_on, "asOf": result.as_of.isoformat()},
        }],
    }
    return json.dumps(log, indent=2, default=str) + "\n"
