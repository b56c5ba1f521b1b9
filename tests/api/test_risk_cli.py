"""`headwater risk` and `headwater report` as a user runs them."""

from __future__ import annotations

import json
import re

from tests.api.test_check_cli import example_copy


def loaded(headwater, examples, tmp_path) -> str:
    folder = example_copy(tmp_path, examples)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    assert headwater("load", str(folder / "catalog.yaml"), db=db).returncode == 0
    assert headwater("check", db=db).returncode == 1
    return db


def test_risk_json_has_the_documented_shape(headwater, examples, tmp_path):
    db = loaded(headwater, examples, tmp_path)
    result = headwater("risk", "--format", "json", db=db)
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout)["findings"]
    assert findings
    for finding in findings:
        assert {"node", "root", "condition", "severity", "paths", "citations", "note", "actions", "since"} <= set(finding)
    scorer = [f for f in findings if f["node"] == "model:acme-ml:credit-scorer@3.2.0"]
    assert {f["root_condition"] for f in scorer} >= {"breach_flagged", "fingerprint_mismatch"}


def test_risk_text_for_one_model_includes_notes_citations_and_actions(headwater, examples, tmp_path):
    db = loaded(headwater, examples, tmp_path)
    result = headwater("risk", "--model", "credit-scorer", db=db)
    assert result.returncode == 0
    assert "upstream_tainted ← breach_flagged from vendor.bureau_scores" in result.stdout
    assert "GDPR Art. 33(1)" in result.stdout
    assert "support-assistant" not in result.stdout


def test_risk_as_of_before_the_store_existed_and_bad_dates(headwater, examples, tmp_path):
    """A store loaded today cannot say what it held in October: exit 2 naming when its history begins."""
    db = loaded(headwater, examples, tmp_path)
    past = headwater("risk", "--as-of", "2026-10-15", "-f", "json", db=db)
    assert past.returncode == 2 and "history begins" in past.stderr and "2026-10-15 23:59:59" in past.stderr
    assert "Traceback" not in past.stderr
    bad = headwater("risk", "--as-of", "last tuesday", db=db)
    assert bad.returncode == 2 and "expected a date" in bad.stderr


def test_risk_markdown_and_bad_policy(headwater, examples, tmp_path):
    db = loaded(headwater, examples, tmp_path)
    markdown = headwater("risk", "--format", "markdown", db=db)
    assert markdown.stdout.startswith("# Headwater risk findings")
    assert "| credit-scorer@3.2.0 | high | upstream_tainted ← breach_flagged | vendor.bureau_scores |" in markdown.stdout
    policy = tmp_path / "policy.yaml"
    policy.write_text("conditions:\n  breach_flagged:\n    severity: {high: dire}\n")
    bad = headwater("risk", "--policy", str(policy), db=db)
    assert bad.returncode == 2 and f"{policy}:3: conditions.breach_flagged.severity.high" in bad.stderr


def test_report_writes_markdown_with_a_mermaid_chart_marking_tainted_paths(headwater, examples, tmp_path):
    db = loaded(headwater, examples, tmp_path)
    output = tmp_path / "credit-scorer.md"
    result = headwater("report", "credit-scorer", "-o", str(output), db=db)
    assert result.returncode == 0, result.stderr
    text = output.read_text()
    assert text.startswith("# Training-data governance report: credit-scorer 3.2.0")
    chart = re.search(r"```mermaid\n(.*?)```", text, re.S).group(1)
    assert chart.startswith("flowchart LR")
    ids = dict(re.findall(r'  (n\d+)\[\(?\[?"([^"]+)"', chart))
    bureau = next(k for k, v in ids.items() if v == "vendor.bureau_scores")
    assert re.search(rf"{bureau} ==> n\d+", chart)  # a tainted path drawn thick
    assert "linkStyle" in chart and f"class {bureau} critical" in chart
    assert "| features.credit_features | training | `sha256:886ced6f5791…` |" in text and "**no** |" in text
    assert "### HIGH: Security breach reported — `vendor.bureau_scores`" in text


def test_report_on_a_dataset_name_is_refused(headwater, examples, tmp_path):
    db = loaded(headwater, examples, tmp_path)
    result = headwater("report", "raw.loan_applications", db=db)
    assert result.returncode == 2 and "no model named" in result.stderr


def test_demo_prints_the_risk_summary_and_writes_reports(headwater, tmp_path):
    result = headwater("demo", "--workdir", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    assert "Governance findings and regulatory risk" in result.stdout
    assert "upstream_tainted ← breach_flagged from vendor.bureau_scores" in result.stdout
    reports = tmp_path / "demo" / "reports"
    assert sorted(p.name for p in reports.iterdir()) == [
        "churn-predictor@0.9.1.md", "credit-scorer@3.1.0.md", "credit-scorer@3.2.0.md", "risk.md",
        "support-assistant@1.4.0.md"]  # one report per model version
    assert "```mermaid" in (reports / "support-assistant@1.4.0.md").read_text()
    boms = tmp_path / "demo" / "bom"
    versions = ["churn-predictor@0.9.1", "credit-scorer@3.1.0", "credit-scorer@3.2.0", "support-assistant@1.4.0"]
    assert sorted(p.name for p in boms.iterdir()) == sorted(f"{v}{s}" for v in versions for s in (".cdx.json", ".spdx.json"))
    assert json.loads((boms / "credit-scorer@3.2.0.cdx.json").read_text())["metadata"]["component"]["version"] == "3.2.0"
    assert "../bom/credit-scorer%403.2.0.cdx.json" in (reports / "credit-scorer@3.2.0.md").read_text()  # linked


def test_risk_by_model_condenses_the_full_report(headwater, examples, tmp_path):
    db = loaded(headwater, examples, tmp_path)
    full = json.loads(headwater("risk", "--format", "json", db=db).stdout)["findings"]
    result = headwater("risk", "--by-model", "--format", "json", "--limit", "2", "--top", "1", db=db)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["findings_on_models"] == sum(1 for f in full if f["node_kind"] == "model")
    assert len(summary["models"]) == 2 and summary["models_total"] >= 2
    for row in summary["models"]:
        assert row["findings"] == sum(1 for f in full if f["node"] == row["model"]) and len(row["top"]) == 1
    text = headwater("risk", "--by-model", db=db).stdout
    assert "model:acme-ml:credit-scorer@3.2.0" in text and "worst:" in text
