"""Risk evaluation end to end: tiers, inheritance, the policy and its overrides, the example's story."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone

import pytest
import yaml

from catalog.errors import InvalidCatalogFile
from catalog.loader import load_catalog
from checks import risk, service
from checks.policy import CONDITIONS, DEFAULT, load_policy

AS_OF = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)

CHAIN = """\
catalog: t
datasets:
  - {name: src, owner: o, origin: internal, personal_data: true, legal_basis: consent, purpose: p}
  - {name: mid, owner: o, origin: internal, personal_data: true, legal_basis: consent, purpose: p,
     derived_from: [src], documentation: "https://d", bias_examination: {status: passed}}
  - {name: anon, owner: o, origin: internal, personal_data: false, derived_from: [src],
     deidentification: {method: anonymised, verified: 2026-10-01}, documentation: "https://d", bias_examination: {status: passed}}
models:
  - {name: hi, risk_tier: high, trained_on: [{dataset: mid, fingerprint: "sha256:%s"}]}
  - {name: gp, risk_tier: gpai, trained_on: [{dataset: mid, fingerprint: "sha256:%s"}]}
  - {name: lo, risk_tier: minimal, trained_on: [{dataset: mid, fingerprint: "sha256:%s"}, {dataset: anon, fingerprint: "sha256:%s"}]}
  - {name: tuned, risk_tier: minimal, base_model: hi}
incidents:
  - {dataset: src, kind: consent_withdrawn, opened: 2026-11-10}
""" % (("a" * 64,) * 4)


@pytest.fixture
def chain(store, tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(CHAIN)
    load_catalog(store, [path])
    return store


def by_node(report, condition="consent_withdrawn"):
    return {f.node.rsplit(":", 1)[-1]: f for f in report.findings if f.root_condition == condition}


def test_severity_follows_each_models_tier_and_review_lowers_it(chain):
    found = by_node(risk.evaluate(chain, as_of=AS_OF))
    # consent_withdrawn: high / medium / medium, hard into datasets, review into models
    assert (found["src"].condition, found["src"].severity, found["src"].mode) == ("consent_withdrawn", "high", "direct")
    assert (found["mid"].condition, found["mid"].severity, found["mid"].mode) == ("upstream_tainted", "high", "hard")
    assert (found["hi@1"].severity, found["hi@1"].mode) == ("medium", "review")
    assert (found["gp@1"].severity, found["gp@1"].mode) == ("low", "review")
    assert (found["lo@1"].severity, found["lo@1"].mode) == ("low", "review")
    assert (found["tuned@1"].severity, found["tuned@1"].mode) == ("low", "review")


def test_verified_anonymisation_stops_the_privacy_taint(chain):
    found = by_node(risk.evaluate(chain, as_of=AS_OF))
    assert "anon" not in found
    assert found["lo@1"].paths == [["dataset:t:src", "dataset:t:mid", "model:t:lo@1"]] and found["lo@1"].path_count == 1


def test_inherited_findings_combine_the_root_rule_with_upstream_tainted(chain):
    policy = load_policy()
    finding = by_node(risk.evaluate(chain, as_of=AS_OF))["hi@1"]
    root_rule, inherited = policy.conditions["consent_withdrawn"], policy.conditions["upstream_tainted"]
    assert finding.title == root_rule.title
    assert set(root_rule.citations) | set(inherited.citations) == set(finding.citations)
    assert finding.note.startswith(inherited.note) and finding.note.endswith(root_rule.note)
    assert finding.root == "dataset:t:src" and finding.since.date().isoformat() == "2026-11-10"


def test_model_filter_returns_only_that_models_findings(chain):
    report = risk.evaluate(chain, as_of=AS_OF, model="hi")
    assert {f.node for f in report.findings} == {"model:t:hi@1"}


def test_policy_file_overrides_one_rule_key_by_key(chain, tmp_path):
    override = tmp_path / "policy.yaml"
    override.write_text("conditions:\n  consent_withdrawn:\n    severity: {high: critical}\n"
                        "    propagate: {models: none}\n")
    policy = load_policy(override)
    assert policy.conditions["consent_withdrawn"].severity.gpai == "medium"  # untouched keys kept
    found = by_node(risk.evaluate(chain, as_of=AS_OF, policy=policy))
    assert found["src"].severity == "critical"
    assert "hi@1" not in found and "tuned@1" not in found  # stops at the models now
    assert found["mid"].mode == "hard"


def test_policy_named_in_the_catalog_file_is_used(store, tmp_path):
    (tmp_path / "strict.yaml").write_text("conditions:\n  consent_withdrawn:\n    severity: {high: critical, gpai: critical, other: critical}\n")
    path = tmp_path / "catalog.yaml"
    path.write_text(CHAIN.replace("catalog: t\n", "catalog: t\npolicy: strict.yaml\n"))
    load_catalog(store, [path])
    assert by_node(risk.evaluate(store, as_of=AS_OF))["src"].severity == "critical"


@pytest.mark.parametrize("text, path, line", [
    ("conditions:\n  consent_withdrawn:\n    severity: {high: severe}\n", "conditions.consent_withdrawn.severity.high", 3),
    ("conditions:\n  made_up_condition:\n    title: x\n", "conditions.made_up_condition", 3),
    ("conditions:\n  tdm_reserved:\n    propagate: {datasets: sideways}\n", "conditions.tdm_reserved.propagate.datasets", 3),
])
def test_bad_policy_is_an_error_naming_the_place(tmp_path, text, path, line):
    override = tmp_path / "policy.yaml"
    override.write_text(text)
    with pytest.raises(InvalidCatalogFile) as raised:
        load_policy(override)
    problem = raised.value.problems[0]
    assert problem.file == str(override)
    assert (problem.path, problem.line) == (path, line)


def test_every_shipped_rule_has_severities_citations_a_note_and_actions():
    data = yaml.safe_load(DEFAULT.read_text())
    assert sorted(data["conditions"]) == sorted(CONDITIONS)
    for name, rule in data["conditions"].items():
        assert set(rule["severity"]) == {"high", "gpai", "other"}, name
        assert rule["citations"] and all(isinstance(c, str) and c for c in rule["citations"]), name
        assert rule["note"].strip() and rule["actions"], name
        assert rule["propagate"]["datasets"] in ("hard", "review", "none"), name


# --- the example's story ----------------------------------------------------------------------------

EXPECTED_MODEL_FINDINGS = {
    ("credit-scorer@3.2.0", "upstream_tainted", "breach_flagged", "vendor.bureau_scores", "high"),
    ("credit-scorer@3.2.0", "fingerprint_mismatch", "fingerprint_mismatch", "features.credit_features", "high"),
    ("credit-scorer@3.2.0", "upstream_tainted", "licence_invalid", "vendor.open_banking_transactions", "medium"),
    ("credit-scorer@3.2.0", "upstream_tainted", "quality_check_failed", "raw.loan_applications", "medium"),
    # the retired version learned from the same sources, and from features as they were in August
    ("credit-scorer@3.1.0", "upstream_tainted", "breach_flagged", "vendor.bureau_scores", "high"),
    ("credit-scorer@3.1.0", "fingerprint_mismatch", "fingerprint_mismatch", "features.credit_features", "high"),
    ("credit-scorer@3.1.0", "upstream_tainted", "licence_invalid", "vendor.open_banking_transactions", "medium"),
    ("credit-scorer@3.1.0", "upstream_tainted", "quality_check_failed", "raw.loan_applications", "medium"),
    ("support-assistant@1.4.0", "upstream_tainted", "tdm_reserved", "scraped.web_forum_corpus", "medium"),
    ("support-assistant@1.4.0", "upstream_tainted", "erasure_or_objection_pending", "raw.support_tickets", "low"),
    ("churn-predictor@0.9.1", "upstream_tainted", "lawful_basis_missing", "misc.legacy_demographics", "high"),
    ("churn-predictor@0.9.1", "upstream_tainted", "provenance_unknown", "misc.legacy_demographics", "medium"),
    ("churn-predictor@0.9.1", "fingerprint_mismatch", "fingerprint_mismatch", "features.churn_features", "medium"),
    ("churn-predictor@0.9.1", "upstream_tainted", "consent_withdrawn", "raw.crm_customers", "low"),
    ("churn-predictor@0.9.1", "upstream_tainted", "quality_check_failed", "raw.crm_customers", "low"),
}


def test_the_example_yields_its_planted_findings(store, examples, tmp_path):
    copy = tmp_path / "examples"
    shutil.copytree(examples, copy, copy_function=shutil.copy)  # fresh modification times, like a clone
    load_catalog(store, [copy / "catalog.yaml"])
    service.run_checks(store, clock=lambda: datetime(2026, 11, 25, 8, tzinfo=timezone.utc))
    report = risk.evaluate(store, as_of=AS_OF)
    models = {(f.node.rsplit(":", 1)[-1], f.condition, f.root_condition, f.root.rsplit(":", 1)[-1], f.severity)
              for f in report.findings if f.node_kind == "model"}
    assert models == EXPECTED_MODEL_FINDINGS
    own = {(f.node.rsplit(":", 1)[-1], f.condition) for f in report.findings if f.node == f.root}
    assert {("vendor.bureau_scores", "breach_flagged"), ("raw.churn_events", "source_stale"),
            ("raw.crm_customers", "consent_withdrawn"), ("raw.support_tickets", "erasure_or_objection_pending"),
            ("scraped.web_forum_corpus", "tdm_reserved"), ("misc.legacy_demographics", "provenance_unknown"),
            ("raw.loan_applications", "quality_check_failed"), ("vendor.open_banking_transactions", "licence_invalid"),
            } <= own
    breach = next(f for f in report.findings if f.node == "model:acme-ml:credit-scorer@3.2.0" and f.root_condition == "breach_flagged")
    assert breach.path_count == 2 and len(breach.paths) == 2
    assert "GDPR Art. 33(1)" in breach.citations


def test_the_example_as_known_before_the_breach(store, examples, tmp_path):
    copy = tmp_path / "examples"
    shutil.copytree(examples, copy, copy_function=shutil.copy)
    load_catalog(store, [copy / "catalog.yaml"])
    report = risk.evaluate(store, as_of=datetime(2026, 10, 15, tzinfo=timezone.utc))
    roots = {f.root_condition for f in report.findings if f.node == "model:acme-ml:credit-scorer@3.2.0"}
    assert "breach_flagged" not in roots and "licence_invalid" in roots
