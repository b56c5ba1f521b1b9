"""The viewer's per-node judgement agrees with the full risk evaluation, condition by condition."""

from __future__ import annotations

import pytest

from catalog.loader import load_catalog
from checks import node_states, risk

RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_findings_per_node_summarise_the_full_evaluation(store, examples):
    load_catalog(store, [examples / "catalog.yaml"])
    report = risk.evaluate(store, path_limit=0)
    assessment = risk.assess(store, as_of=report.as_of)
    graph = assessment.graph
    info = node_states.node_info(store, assessment, graph.nodes)
    assert set(info) == set(graph.nodes)
    checked = 0
    for node in graph:
        full = report.for_node(node)
        summary = info[node].findings
        assert {f["condition"] for f in summary} == {f.root_condition for f in full}, node
        for entry in summary:
            same = [f for f in full if f.root_condition == entry["condition"]]
            assert RANK[entry["severity"]] == min(RANK[f.severity] for f in same), (node, entry["condition"])
            roots = {f.root for f in same}
            assert entry["root"] in roots or entry["root"].endswith(f"and {len(roots) - 1:,} more"), entry["root"]
            checked += 1
    assert checked >= 20  # the example has findings on most nodes
    states = {node: i.state for node, i in info.items()}
    assert states["dataset:acme-ml:vendor.bureau_scores"] == "compromised"
    assert states["model:acme-ml:credit-scorer@3.2.0"] == "tainted"
    assert all(state == "neutral" for node, state in states.items() if node.startswith("job:"))


def test_an_unrecorded_fingerprint_is_unverified_and_a_changed_one_compromised(tmp_path):
    """No fingerprint means a change cannot be told, which is not evidence of one: the viewer must
    not paint it in the colour that says "stop using this"."""
    from catalog.store import Store

    store = Store(f"sqlite:///{tmp_path / 'u.db'}")
    try:
        (tmp_path / "c.yaml").write_text(
            "catalog: t\n"
            "datasets:\n"
            "  - {name: unrecorded, owner: o@x, origin: internal, personal_data: false}\n"
            "  - {name: breached, owner: o@x, origin: internal, personal_data: false}\n"
            "models:\n"
            "  - name: m\n"
            "    risk_tier: minimal\n"
            "    trained_on: [{dataset: unrecorded}, {dataset: breached}]\n"
            "incidents:\n"
            "  - {dataset: breached, kind: breach, opened: 2026-11-01}\n")
        load_catalog(store, [tmp_path / "c.yaml"])
        assessment = risk.assess(store, as_of=risk.evaluate(store, path_limit=0).as_of)
        info = node_states.node_info(store, assessment, assessment.graph.nodes)
        assert info["dataset:t:unrecorded"].state == "unverified"
        assert [f["condition"] for f in info["dataset:t:unrecorded"].findings] == ["fingerprint_mismatch"]
        assert info["dataset:t:breached"].state == "compromised"  # a breach still is, fingerprint or not
    finally:
        store.close()
