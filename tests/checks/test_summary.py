"""The per-model risk summary agrees with the full report it condenses, on the example platform."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import datetime, timezone

from catalog.loader import load_catalog
from checks import risk, service
from checks.summary import summarise

AS_OF = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)
ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def loaded(store, examples, tmp_path):
    copy = tmp_path / "examples"
    shutil.copytree(examples, copy, copy_function=shutil.copy)
    load_catalog(store, [copy / "catalog.yaml"])
    service.run_checks(store, clock=lambda: datetime(2026, 11, 25, 8, tzinfo=timezone.utc))
    return store


def test_summary_counts_each_models_findings_as_the_full_report_does(store, examples, tmp_path):
    loaded(store, examples, tmp_path)
    full = [f for f in risk.evaluate(store, as_of=AS_OF).findings if f.node_kind == "model"]
    summary = summarise(store, as_of=AS_OF, limit=1000)
    by_model = {row.model: row for row in summary.models}
    assert set(by_model) == {f.node for f in full}
    assert summary.models_total == len(by_model) and summary.findings_on_models == len(full)
    for model, row in by_model.items():
        mine = [f for f in full if f.node == model]
        assert row.findings == len(mine)
        assert row.by_severity == {s: n for s, n in sorted(Counter(f.severity for f in mine).items(), key=lambda x: ORDER[x[0]])}
        assert row.by_condition == dict(sorted(Counter(f.root_condition for f in mine).items()))
        assert row.worst == min((f.severity for f in mine), key=ORDER.get)


def test_top_findings_are_the_full_reports_findings_with_the_same_paths(store, examples, tmp_path):
    loaded(store, examples, tmp_path)
    full = risk.evaluate(store, as_of=AS_OF, path_limit=1).findings
    for row in summarise(store, as_of=AS_OF, limit=1000, top=2, path_limit=1).models:
        for finding in row.top:
            same = [f for f in full if f.node == finding.node and f.root == finding.root
                    and f.root_condition == finding.root_condition]
            assert same == [finding]


def test_models_are_worst_first_and_paged(store, examples, tmp_path):
    loaded(store, examples, tmp_path)
    everything = summarise(store, as_of=AS_OF, limit=1000).models
    keys = [(ORDER[m.worst], -m.findings, m.model) for m in everything]
    assert keys == sorted(keys) and len(everything) > 2
    page = summarise(store, as_of=AS_OF, limit=2, offset=1)
    assert [m.model for m in page.models] == [m.model for m in everything[1:3]]
    assert page.models_total == len(everything)
    one = summarise(store, as_of=AS_OF, model="credit-scorer")
    assert [m.model for m in one.models] == ["model:acme-ml:credit-scorer@3.2.0"]


def test_the_summary_is_the_same_when_its_paths_are_walked_on_arrays(store, examples, tmp_path, monkeypatch):
    """Large graphs find a summary's paths and counts on the graph's arrays (`lineage.arrays`)."""
    from lineage import queries

    loaded(store, examples, tmp_path)
    monkeypatch.setattr(queries, "ARRAY_PATHS_NODES", 10**9)
    on_dicts = summarise(store, as_of=AS_OF, limit=1000, top=5, path_limit=1).model_dump()
    risk.ASSESSMENTS.clear()
    monkeypatch.setattr(queries, "ARRAY_WALK_NODES", 0)
    monkeypatch.setattr(queries, "ARRAY_PATHS_NODES", 0)
    on_arrays = summarise(store, as_of=AS_OF, limit=1000, top=5, path_limit=1).model_dump()
    assert on_arrays == on_dicts
    assert any(f["paths"] and f["path_count"] for row in on_arrays["models"] for f in row["top"])
