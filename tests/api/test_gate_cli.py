"""`headwater gate` as CI runs it: exit codes, and the files CI systems read."""

from __future__ import annotations

import json
import re
from xml.etree import ElementTree as ET

import jsonschema
import pytest
import xmlschema

from catalog.ids import short_name
from tests.api.test_check_cli import example_copy
from tests.schemas import junit_xsd, sarif_schema


def test_gate_exit_codes_fail_pass_and_error(headwater, examples, tmp_path):
    folder = example_copy(tmp_path, examples)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    failed = headwater("gate", str(folder / "catalog.yaml"), "--model", "credit-scorer", db=db)
    assert failed.returncode == 1, failed.stderr
    assert "gate failed" in failed.stdout and "breach_flagged" in failed.stdout
    passed = headwater("gate", "--model", "credit-scorer", "--waivers", str(folder / "waivers.yaml"), db=db)
    assert passed.returncode == 0, passed.stdout
    assert "gate passed" in passed.stdout and "checks: 0 validated, 4 reused" in passed.stdout
    bad_catalog = tmp_path / "bad.yaml"
    bad_catalog.write_text("catalog: x\ndatasets:\n  - name: a\n    origin: nowhere\n")
    error = headwater("gate", str(bad_catalog), db=db)
    assert error.returncode == 2 and f"{bad_catalog}:4: datasets[0].origin" in error.stderr
    assert headwater("gate", "--fail-on", "severe", db=db).returncode == 2
    waivers = tmp_path / "w.yaml"
    waivers.write_text("waivers:\n  - {condition: breach_flagged}\n")
    malformed = headwater("gate", "--waivers", str(waivers), db=db)
    assert malformed.returncode == 2 and "problem" in malformed.stderr and "in the waivers file" in malformed.stderr


def test_gate_writes_junit_sarif_markdown_and_json(headwater, examples, tmp_path):
    folder = example_copy(tmp_path, examples)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    out = {name: tmp_path / name for name in ("gate.xml", "gate.sarif", "gate.md", "gate.json")}
    result = headwater("gate", str(folder / "catalog.yaml"), "--model", "credit-scorer",
                       "--junit", str(out["gate.xml"]), "--sarif", str(out["gate.sarif"]),
                       "--markdown", str(out["gate.md"]), "--json", str(out["gate.json"]), db=db, cwd=tmp_path)
    assert result.returncode == 1
    suites = ET.parse(out["gate.xml"]).getroot()
    governance, quality = suites.findall("testsuite")
    failures = [case for case in governance.findall("testcase") if case.find("failure") is not None]
    assert sorted(case.get("name") for case in failures) == [
        "breach_flagged from vendor.bureau_scores", "fingerprint_mismatch from features.credit_features"]
    assert "GDPR Art. 33(1)" in failures[0].find("failure").text + failures[1].find("failure").text
    assert governance.get("failures") == "2" and governance.get("tests") == str(len(governance.findall("testcase")))
    failed_expectations = [c.get("classname") + " " + c.get("name") for c in quality.findall("testcase")
                           if c.find("failure") is not None]
    assert failed_expectations == [
        "raw.loan_applications #2 expect_column_values_to_be_between(column='age', min_value=18, max_value=120)"]
    xmlschema.XMLSchema(str(junit_xsd())).validate(str(out["gate.xml"]))  # raises on any deviation
    assert "waived" not in governance.find("system-out").text and "below the gate's threshold" in governance.find("system-out").text
    sarif = json.loads(out["gate.sarif"].read_text())
    jsonschema.validators.validator_for(sarif_schema())(sarif_schema()).validate(sarif)
    assert sarif["version"] == "2.1.0"
    errors = [r for r in sarif["runs"][0]["results"] if r["level"] == "error"]
    assert sorted(r["ruleId"] for r in errors) == ["breach_flagged", "fingerprint_mismatch"]
    catalog_lines = (folder / "catalog.yaml").read_text().splitlines()
    for result_ in errors:
        location = result_["locations"][0]["physicalLocation"]
        assert location["artifactLocation"]["uri"] == "examples/catalog.yaml"
        root = short_name(result_["locations"][0]["logicalLocations"][0]["fullyQualifiedName"])
        assert catalog_lines[location["region"]["startLine"] - 1].strip() == f"- name: {root}"
    markdown = out["gate.md"].read_text()
    assert markdown.startswith("## Headwater gate: ❌ failed") and "```mermaid" in markdown
    data = json.loads(out["gate.json"].read_text())
    assert data["passed"] is False and data["fail_on"] == "high"


def test_github_annotations_and_step_summary(headwater, examples, tmp_path):
    folder = example_copy(tmp_path, examples)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    result = headwater("gate", str(folder / "catalog.yaml"), "--model", "credit-scorer", "--github", db=db,
                       cwd=tmp_path, env={"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_WORKSPACE": str(tmp_path)})
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if line.startswith("::error ")]
    assert len(errors) == 2
    pattern = re.compile(r"^::error file=examples/catalog\.yaml,line=(\d+),title=([^:,]+)::(.+)$")
    for line in errors:
        match = pattern.match(line)
        assert match, line
        assert "%0A" not in match.group(2) and "\n" not in match.group(3)
    assert any("breach_flagged (high)" in line for line in errors)
    text = summary.read_text()
    assert text.startswith("earlier step\n## Headwater gate: ❌ failed")
    chart = re.search(r"```mermaid\n(.*?)```", text, re.S).group(1)
    assert "vendor.bureau_scores" in chart and "credit-scorer 3.2.0" in chart and "==>" in chart


def test_waived_findings_are_suppressed_in_sarif_and_noted_in_junit(headwater, examples, tmp_path):
    folder = example_copy(tmp_path, examples)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    junit, sarif = tmp_path / "g.xml", tmp_path / "g.sarif"
    result = headwater("gate", str(folder / "catalog.yaml"), "--model", "credit-scorer", "--waivers",
                       str(folder / "waivers.yaml"), "--junit", str(junit), "--sarif", str(sarif), db=db, cwd=tmp_path)
    assert result.returncode == 0
    xmlschema.XMLSchema(str(junit_xsd())).validate(str(junit))
    governance = ET.parse(junit).getroot().find("testsuite")
    assert governance.get("failures") == "0" and "waived: CrediBureau" in governance.find("system-out").text
    log = json.loads(sarif.read_text())
    jsonschema.validators.validator_for(sarif_schema())(sarif_schema()).validate(log)
    suppressed = [r for r in log["runs"][0]["results"] if r.get("suppressions")]
    assert sorted(r["ruleId"] for r in suppressed) == ["breach_flagged", "fingerprint_mismatch"]
    assert all(r["level"] == "note" for r in suppressed)


@pytest.mark.parametrize("broken", ["version", "location"])
def test_the_schemas_do_reject_broken_reports(broken):
    """The validators used above are not vacuous: a damaged SARIF log fails them."""
    log = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Headwater"}}, "results": [
        {"ruleId": "x", "message": {"text": "m"},
         "locations": [{"physicalLocation": {"artifactLocation": {"uri": "a.yaml"}, "region": {"startLine": 3}}}]}]}]}
    validator = jsonschema.validators.validator_for(sarif_schema())(sarif_schema())
    validator.validate(log)
    if broken == "version":
        log["version"] = "2.0.0"
    else:
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(log)
