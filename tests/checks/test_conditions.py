"""Each governance condition, on both sides of its threshold, through `checks.risk.evaluate`."""

from __future__ import annotations

import hashlib
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from catalog.loader import load_catalog
from catalog.store import Store
from checks import risk, service
from tests.clock import recorded_clock


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=timezone.utc)


RECORDED = "        fingerprint: sha256:" + "a" * 64 + "\n"


@pytest.fixture
def world(tmp_path: Path):
    """Load a catalog (a dataset `d` fed to a model `m` of the given tier) and evaluate it."""
    store = Store(f"sqlite:///{tmp_path / 'w.db'}", clock=recorded_clock)

    def build(dataset: str, *, tier: str = "high", incidents: str = "", feed: str = RECORDED) -> Store:
        text = "catalog: t\ndatasets:\n  - name: d\n" + textwrap.indent(textwrap.dedent(dataset), "    ")
        text += f"models:\n  - name: m\n    risk_tier: {tier}\n    trained_on:\n      - dataset: d\n{feed}"
        if incidents:
            text += "incidents:\n" + textwrap.indent(textwrap.dedent(incidents), "  ")
        (tmp_path / "catalog.yaml").write_text(text)
        load_catalog(store, [tmp_path / "catalog.yaml"])
        return store

    yield build
    store.close()


def own(store: Store, as_of: datetime) -> dict[str, tuple[str, str]]:
    """condition -> (severity, detail) for the conditions found on dataset d itself."""
    report = risk.evaluate(store, as_of=as_of)
    return {f.condition: (f.severity, f.detail) for f in report.findings if f.node == "dataset:t:d"}


FINE = "owner: o@x\norigin: internal\npersonal_data: false\ndocumentation: https://d\nbias_examination: {status: passed}\n"


def test_a_well_described_dataset_has_no_condition(world):
    assert own(world(FINE), at("2026-11-25")) == {}


def test_source_stale_after_its_freshness_window(world):
    store = world(FINE + "freshness: 7d\nlast_updated: 2026-11-01\n")
    assert "source_stale" not in own(store, at("2026-11-07"))
    severity, detail = own(store, at("2026-11-09"))["source_stale"]
    assert severity == "medium" and "stale since 2026-11-08" in detail


def test_quality_check_failed_on_critical_failure_only(world, tmp_path):
    (tmp_path / "d.csv").write_text("id,age\n1,17\n2,40\n")
    warning = world(FINE + "location: d.csv\nexpectations:\n  - expect_column_values_to_be_between: {column: age, min_value: 18}\n")
    service.run_checks(warning, clock=lambda: at("2026-11-20"))
    assert "quality_check_failed" not in own(warning, at("2026-11-25"))
    critical = world(FINE + "location: d.csv\nexpectations:\n  - expect_column_values_to_be_between: {column: age, min_value: 18}\n"
                            "    severity: critical\n")
    service.run_checks(critical, clock=lambda: at("2026-11-21"))
    severity, detail = own(critical, at("2026-11-25"))["quality_check_failed"]
    assert severity == "high" and "1 unexpected" in detail
    assert "quality_check_failed" not in own(critical, at("2026-11-21", hour=0))  # not yet known then


def test_quality_check_failed_when_the_data_could_not_be_checked(world):
    store = world(FINE + "location: missing.csv\nexpectations:\n  - expect_column_to_exist: {column: id}\n")
    service.run_checks(store, clock=lambda: at("2026-11-20"))
    assert "could not be checked" in own(store, at("2026-11-25"))["quality_check_failed"][1]


def test_fingerprint_mismatch_when_content_changed_since_training(world, tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("id\n1\n")
    trained = "sha256:" + hashlib.sha256(data.read_bytes()).hexdigest()
    feed = f"        fingerprint: {trained}\n        at: 2026-10-01T00:00:00Z\n"
    store = world(FINE + "location: d.csv\n", feed=feed)
    service.run_checks(store, clock=lambda: at("2026-11-20"))
    assert "fingerprint_mismatch" not in own(store, at("2026-11-25"))
    data.write_text("id\n1\n2\n")
    service.run_checks(store, clock=lambda: at("2026-11-22"))
    severity, detail = own(store, at("2026-11-25"))["fingerprint_mismatch"]
    assert severity == "high" and trained[:19] in detail
    assert "fingerprint_mismatch" not in own(store, at("2026-11-21"))


def test_fingerprint_mismatch_is_critical_for_external_sources(world, tmp_path):
    (tmp_path / "d.csv").write_text("id\n1\n")
    feed = "        fingerprint: sha256:" + "0" * 64 + "\n"
    store = world(FINE.replace("origin: internal", "origin: vendor") + "licence: x\nlocation: d.csv\n", feed=feed)
    service.run_checks(store, clock=lambda: at("2026-11-20"))
    assert own(store, at("2026-11-25"))["fingerprint_mismatch"][0] == "critical"


def test_missing_training_fingerprint_is_a_mismatch(world):
    store = world(FINE, tier="minimal", feed="        at: 2026-10-01T00:00:00Z\n")
    assert own(store, at("2026-11-25"))["fingerprint_mismatch"] == (
        "medium", "m@1 recorded no fingerprint of what it consumed (training)")


def test_poisoning_flagged_while_open(world):
    incident = "- dataset: d\n  kind: poisoning\n  opened: 2026-11-10\n  resolved: 2026-11-20\n"
    store = world(FINE, incidents=incident)
    assert "poisoning_flagged" not in own(store, at("2026-11-09"))
    assert own(store, at("2026-11-15"))["poisoning_flagged"][0] == "critical"
    assert "poisoning_flagged" not in own(store, at("2026-11-21"))


def test_breach_is_critical_with_personal_data_and_high_without(world):
    incident = "- dataset: d\n  kind: breach\n  opened: 2026-11-01\n"
    assert own(world(FINE, incidents=incident), at("2026-11-25"))["breach_flagged"][0] == "high"
    personal = FINE.replace("personal_data: false", "personal_data: true\nlegal_basis: contract\npurpose: p")
    assert own(world(personal, incidents=incident), at("2026-11-25"))["breach_flagged"][0] == "critical"


def test_consent_withdrawn_until_resolved(world):
    personal = FINE.replace("personal_data: false", "personal_data: true\nlegal_basis: consent\npurpose: p")
    incident = "- dataset: d\n  kind: consent_withdrawn\n  opened: 2026-11-10\n  resolved: 2026-11-30\n"
    store = world(personal, incidents=incident)
    assert own(store, at("2026-11-15"))["consent_withdrawn"][0] == "high"
    assert "consent_withdrawn" not in own(store, at("2026-12-01"))


@pytest.mark.parametrize("day, severity", [
    ("2026-11-20", "medium"),   # inside the month
    ("2026-12-07", "high"),     # within 7 days of the deadline (2026-12-10)
    ("2026-12-11", "critical"),  # overdue
])
def test_erasure_severity_rises_as_the_deadline_nears(world, day, severity):
    incident = "- dataset: d\n  kind: erasure_request\n  opened: 2026-11-10\n"
    store = world(FINE, tier="minimal", incidents=incident)
    assert own(store, at(day))["erasure_or_objection_pending"][0] == severity


def test_an_extended_deadline_is_respected(world):
    incident = "- dataset: d\n  kind: objection\n  opened: 2026-11-10\n  due: 2027-02-10\n"
    store = world(FINE, incidents=incident)
    severity, detail = own(store, at("2026-12-20"))["erasure_or_objection_pending"]
    assert severity == "medium" and "due 2027-02-10" in detail


def test_lawful_basis_missing_for_personal_data_only(world):
    assert "lawful_basis_missing" not in own(world(FINE), at("2026-11-25"))
    store = world(FINE.replace("personal_data: false", "personal_data: true\npurpose: p"))
    assert own(store, at("2026-11-25"))["lawful_basis_missing"] == ("critical", "personal data with no legal_basis recorded")
    fixed = world(FINE.replace("personal_data: false", "personal_data: true\npurpose: p\nlegal_basis: contract"))
    assert "lawful_basis_missing" not in own(fixed, at("2026-11-25"))


def test_special_categories_need_an_article_9_condition(world):
    store = world(FINE + "special_categories: [health]\n")
    assert own(store, at("2026-11-25"))["special_category_unbased"][0] == "critical"
    based = world(FINE + "special_categories: [health]\nspecial_category_basis: Art. 9(2)(a) explicit consent\n")
    assert "special_category_unbased" not in own(based, at("2026-11-25"))


@pytest.mark.parametrize("deid, invalid", [
    ("{method: anonymised}", True),
    ("{method: anonymised, verified: 2026-06-01}", False),
    ("{method: anonymised, verified: 2025-06-01}", True),
    ("{method: pseudonymised}", True),  # declared not personal, but pseudonymised data is personal
])
def test_deidentification_must_be_verified_and_current(world, deid, invalid):
    store = world(FINE + f"deidentification: {deid}\n")
    assert ("deidentification_invalid" in own(store, at("2026-11-25"))) is invalid


def test_retention_exceeded_after_collected_plus_retention(world):
    personal = FINE.replace("personal_data: false", "personal_data: true\nlegal_basis: contract\npurpose: p")
    store = world(personal + "collected: 2024-01-01\nretention: 2y\n")
    assert "retention_exceeded" not in own(store, at("2025-12-30"))
    assert own(store, at("2026-01-02"))["retention_exceeded"] == ("medium", "may be kept until 2025-12-31")
    explicit = world(personal + "retention_until: 2026-03-01\nspecial_categories: [health]\n"
                                "special_category_basis: 9(2)(a)\n")
    assert own(explicit, at("2026-03-02"))["retention_exceeded"][0] == "high"


def test_licence_invalid_after_expiry_or_revocation(world):
    store = world(FINE + "licence: {id: L, expires: 2026-06-30}\n")
    assert "licence_invalid" not in own(store, at("2026-06-30"))
    assert own(store, at("2026-07-01"))["licence_invalid"] == ("high", "licence L expired 2026-06-30")
    revoked = world(FINE + "licence: {id: L, revoked: true}\n")
    assert "licence_invalid" in own(revoked, at("2026-01-01"))
    notice = world(FINE + "licence: L\n", incidents="- dataset: d\n  kind: licence_revoked\n  opened: 2026-05-01\n")
    assert "licence_invalid" in own(notice, at("2026-05-02")) and "licence_invalid" not in own(notice, at("2026-04-30"))


def test_tdm_reservation(world):
    assert own(world(FINE + "tdm_reservation: {status: not_reserved}\n"), at("2026-11-25")) == {}
    severity, detail = own(world(FINE + "tdm_reservation: {status: reserved, method: robots.txt}\n"), at("2026-11-25"))["tdm_reserved"]
    assert severity == "medium" and "robots.txt" in detail
    assert own(world(FINE + "tdm_reservation: {status: reserved}\n", tier="gpai"), at("2026-11-25"))["tdm_reserved"][0] == "high"


@pytest.mark.parametrize("change, gap", [
    (("origin: internal", "origin: unknown"), "no origin recorded"),
    (("owner: o@x\n", ""), "no owner recorded"),
    (("origin: internal", "origin: vendor"), "no licence recorded"),
])
def test_provenance_unknown_names_what_is_missing(world, change, gap):
    store = world(FINE.replace(*change))
    assert own(store, at("2026-11-25"))["provenance_unknown"] == ("high", gap)


@pytest.mark.parametrize("tier, expected", [("high", "high"), ("gpai", "medium"), ("minimal", None)])
def test_documentation_missing_for_high_risk_and_general_purpose_models(world, tier, expected):
    store = world(FINE.replace("documentation: https://d\n", ""), tier=tier)
    assert own(store, at("2026-11-25")).get("documentation_missing", (None,))[0] == expected


@pytest.mark.parametrize("bias, tier, missing", [
    ("", "high", True), ("bias_examination: {status: failed}\n", "high", True),
    ("bias_examination: {status: mitigated}\n", "high", False), ("", "gpai", False),
])
def test_bias_examination_required_for_high_risk_training_data(world, bias, tier, missing):
    store = world(FINE.replace("bias_examination: {status: passed}\n", bias), tier=tier)
    assert ("bias_check_missing_or_failed" in own(store, at("2026-11-25"))) is missing


def test_obligations_before_they_apply_are_best_practice(world):
    store = world(FINE.replace("documentation: https://d\n", ""))
    before = [f for f in risk.evaluate(store, as_of=at("2026-07-01")).findings if f.condition == "documentation_missing"]
    after = [f for f in risk.evaluate(store, as_of=at("2026-08-03")).findings if f.condition == "documentation_missing"]
    assert {f.applies for f in before} == {"best_practice"} and before[0].applies_from.isoformat() == "2026-08-02"
    assert {f.applies for f in after} == {"in_force"}


def test_a_derived_dataset_takes_its_provenance_from_its_lineage(tmp_path):
    """Only a source lacks provenance by lacking an origin or owner; below it, the lineage is the
    provenance, and the source's own condition still reaches the model through it."""
    store = Store(f"sqlite:///{tmp_path / 'd.db'}", clock=recorded_clock)
    try:
        (tmp_path / "c.yaml").write_text(textwrap.dedent("""\
            catalog: t
            datasets:
              - name: raw
              - name: features
                derived_from: [raw]
              - name: bought
                derived_from: [raw]
                origin: vendor
            models:
              - name: m
                risk_tier: high
                trained_on: [{dataset: features}, {dataset: bought}]
            """))
        load_catalog(store, [tmp_path / "c.yaml"])
        report = risk.evaluate(store, as_of=at("2026-11-25"))
        own = {(f.node, f.detail) for f in report.findings if f.condition == "provenance_unknown" and f.node == f.root}
        assert own == {("dataset:t:raw", "no origin, no owner recorded"),
                       ("dataset:t:bought", "no licence recorded")}
        reached = {f.root for f in report.findings if f.node == "model:t:m@1" and f.root_condition == "provenance_unknown"}
        assert reached == {"dataset:t:raw", "dataset:t:bought"}  # the source's gap still reaches the model
    finally:
        store.close()


@pytest.mark.parametrize("seed", range(6))
def test_tiers_below_each_dataset_are_the_same_on_arrays_as_on_dicts(seed, monkeypatch):
    import random

    from checks import conditions
    from tests.lineage.test_arrays import lineage_graph

    graph = lineage_graph(seed, edges=150)
    graph.add_node("dataset:t:alone", kind="dataset", namespace="t", name="alone")  # feeds nothing
    rng = random.Random(seed)
    for node, attrs in graph.nodes(data=True):
        if attrs["kind"] == "model":
            attrs["risk_tier"] = rng.choice(["high", "limited", "minimal", None, "gpai"])
    tier_of = {"high": "high", "gpai": "gpai"}.get
    on_dicts = {n: set(t) for n, t in conditions.model_tiers_downstream(graph, lambda t: tier_of(t, "other")).items()
                if graph.nodes[n]["kind"] == "dataset"}
    monkeypatch.setattr(conditions, "ARRAY_NODES", 0)
    on_arrays = {n: set(t) for n, t in conditions.model_tiers_downstream(graph, lambda t: tier_of(t, "other")).items()}
    assert on_arrays == on_dicts
    assert any(len(t) > 1 for t in on_dicts.values()) and any(not t for t in on_dicts.values())
