"""The gate's decision: thresholds, scope, waivers, errored checks, reuse."""

from __future__ import annotations

import shutil
import textwrap
from datetime import datetime, timezone

import pytest

from catalog.errors import InvalidCatalogFile, NotFound
from catalog.loader import load_catalog
from checks.gate import run_gate

NOW = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)


def clock():
    return datetime(2026, 11, 25, 8, tzinfo=timezone.utc)


@pytest.fixture
def example(store, examples, tmp_path):
    copy = tmp_path / "examples"
    shutil.copytree(examples, copy, copy_function=shutil.copy)
    load_catalog(store, [copy / "catalog.yaml"])
    return copy


def gate(store, **kwargs):
    kwargs.setdefault("as_of", NOW)
    return run_gate(store, clock=clock, **kwargs)


def failing(result):
    return sorted((i.model.rsplit(":", 1)[-1], i.finding.root_condition, i.finding.root.rsplit(":", 1)[-1])
                  for i in result.items if i.status == "failing")


def test_example_fails_for_the_credit_scorer_with_the_expected_reasons(store, example):
    result = gate(store, models=["credit-scorer"])
    assert not result.passed
    assert failing(result) == [("credit-scorer@3.2.0", "breach_flagged", "vendor.bureau_scores"),
                               ("credit-scorer@3.2.0", "fingerprint_mismatch", "features.credit_features")]
    assert result.scope == ["model:acme-ml:credit-scorer@3.2.0"]
    assert result.checks_validated == 4  # the datasets with expectations upstream of the scorer


def test_example_passes_once_the_findings_are_waived(store, example):
    result = gate(store, models=["credit-scorer"], waivers_file=example / "waivers.yaml")
    assert result.passed
    waived = sorted(i.finding.root_condition for i in result.items if i.status == "waived")
    assert waived == ["breach_flagged", "fingerprint_mismatch"]
    assert all("approved by" in i.waiver for i in result.items if i.status == "waived")
    assert result.waivers == []


@pytest.mark.parametrize("fail_on, passed, count", [
    ("critical", True, 0), ("high", False, 2), ("medium", False, 4), ("low", False, 4)])
def test_fail_on_sets_the_threshold(store, example, fail_on, passed, count):
    result = gate(store, models=["credit-scorer"], fail_on=fail_on)
    assert result.passed is passed and len(failing(result)) == count


def test_default_scope_is_every_deployed_model_and_all_adds_the_rest(store, example, tmp_path):
    deployed = gate(store)
    assert len(deployed.scope) == 3
    text = (example / "catalog.yaml").read_text().replace("    risk_tier: minimal\n    deployed: true",
                                                           "    risk_tier: minimal\n    deployed: false")
    (example / "catalog.yaml").write_text(text)
    load_catalog(store, [example / "catalog.yaml"])
    assert gate(store).scope == ["model:acme-ml:credit-scorer@3.2.0", "model:acme-ml:support-assistant@1.4.0"]
    assert len(gate(store, everything=True).scope) == 4  # with the archived credit-scorer@3.1.0
    with pytest.raises(NotFound):
        gate(store, models=["no-such-model"])


def write_waivers(folder, body: str):
    path = folder / "waivers.yaml"
    path.write_text("waivers:\n" + textwrap.indent(textwrap.dedent(body), "  "))
    return path


def test_expired_waiver_stops_applying_and_says_so(store, example, tmp_path):
    path = write_waivers(tmp_path, """\
        - {condition: breach_flagged, dataset: vendor.bureau_scores, reason: old decision, approved_by: dpo, expires: 2026-11-01}
        """)
    result = gate(store, models=["credit-scorer"], waivers_file=path)
    breach = next(i for i in result.items if i.finding.root_condition == "breach_flagged")
    assert breach.status == "failing" and "old decision" in breach.expired_waiver
    assert [(w.state, w.condition) for w in result.waivers] == [("expired", "breach_flagged")]


def test_waiver_that_matches_nothing_is_stale(store, example, tmp_path):
    path = write_waivers(tmp_path, """\
        - {condition: poisoning_flagged, dataset: vendor.bureau_scores, reason: nothing to see, approved_by: ciso, expires: 2027-01-01}
        """)
    result = gate(store, models=["credit-scorer"], waivers_file=path)
    assert [(w.state, w.condition, w.line) for w in result.waivers] == [("stale", "poisoning_flagged", 2)]
    assert not result.passed


def test_waiver_for_another_model_does_not_apply(store, example, tmp_path):
    path = write_waivers(tmp_path, """\
        - {condition: breach_flagged, dataset: vendor.bureau_scores, model: churn-predictor, reason: not ours, approved_by: a, expires: 2027-01-01}
        """)
    result = gate(store, models=["credit-scorer"], waivers_file=path)
    assert ("credit-scorer@3.2.0", "breach_flagged", "vendor.bureau_scores") in failing(result)
    assert [w.state for w in result.waivers] == ["stale"]


@pytest.mark.parametrize("body, path, fragment", [
    ("- {condition: breach_flagged, dataset: vendor.bureau_scores, approved_by: a, expires: 2027-01-01}\n",
     "waivers[0].reason", "Field required"),
    ("- {condition: breach_flagged, dataset: vendor.bureau_scores, reason: r r, approved_by: a, expires: soon}\n",
     "waivers[0].expires", "date"),
    ("- {condition: breached, dataset: vendor.bureau_scores, reason: r r, approved_by: a, expires: 2027-01-01}\n",
     "waivers[0].condition", "unknown condition"),
    ("- {condition: breach_flagged, dataset: vendor.nope, reason: r r, approved_by: a, expires: 2027-01-01}\n",
     "waivers[0].dataset", "no dataset named"),
    ("- {condition: breach_flagged, dataset: vendor.bureau_scores, reason: r r, approved_by: a, expires: 2027-01-01, extra: 1}\n",
     "waivers[0].extra", "Extra inputs"),
], ids=["no reason", "bad date", "unknown condition", "unknown dataset", "unknown field"])
def test_malformed_waivers_are_errors_naming_the_place(store, example, tmp_path, body, path, fragment):
    file = write_waivers(tmp_path, body)
    with pytest.raises(InvalidCatalogFile) as raised:
        gate(store, models=["credit-scorer"], waivers_file=file)
    (problem,) = raised.value.problems
    assert problem.path == path and problem.line == 2 and problem.file == str(file)
    assert fragment in problem.message


def test_errored_check_fails_the_gate_even_below_threshold(store, example):
    (example / "data" / "bureau_scores.csv").unlink()
    result = gate(store, models=["credit-scorer"], fail_on="critical")
    assert not result.passed
    (check,) = result.errored
    assert check.dataset == "dataset:acme-ml:vendor.bureau_scores" and check.status == "failing"
    assert "file not found" in check.error and check.models == ["model:acme-ml:credit-scorer@3.2.0"]
    assert check.line is not None and check.file.endswith("catalog.yaml")


def test_a_second_gate_on_unchanged_data_reuses_every_check(store, example):
    first = gate(store, models=["credit-scorer"])
    second = gate(store, models=["credit-scorer"])
    assert (first.checks_validated, first.checks_reused) == (4, 0)
    assert (second.checks_validated, second.checks_reused) == (0, 4)
    assert failing(first) == failing(second)
