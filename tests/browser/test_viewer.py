"""The lineage viewer in a real headless Chromium: what it draws, hover, highlight, search, safety."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import networkx as nx
import pytest

from catalog.ids import short_name

from api.viewer import viewer_page
from catalog.loader import load_catalog
from catalog.store import Store
from checks import node_states as health, risk
from lineage.service import graph_of
from lineage.view import select
from lineage.viewer import DIMMED, STATES
from tests import server
from tests.browser.conftest import ARTIFACTS

PAYLOADS = [
    "<img src=x onerror=alert(1)>",
    "\"><script>alert(2)</script>",
    "</script><script>alert(3)</script>",
    "<svg/onload=alert(4)>",
    "javascript:alert(5)",
    "'; DROP TABLE datasets; --",
    "{{7*7}} ${alert(6)} `alert(7)`",
    "<!-- &amp; &lt;b&gt;",
]
# JavaScript's own line terminators, in free text only: a name may not hold them (catalog/names.py)
LINE_SEPARATORS = " \u2028\u2029 "


@pytest.fixture(scope="module")
def demo_page(demo_store: Store, tmp_path_factory: pytest.TempPathFactory) -> Path:
    page, _ = viewer_page(demo_store)
    path = tmp_path_factory.mktemp("view") / "lineage.html"
    path.write_text(page, encoding="utf-8")
    return path


def test_demo_view_draws_exactly_the_lineage_graph_offline(demo_store, demo_page, open_page):
    graph = graph_of(demo_store)
    opened = open_page(demo_page.as_uri())
    data = opened.data()
    keys = [d["key"] for d in data["details"]]
    drawn_nodes = opened.page.evaluate("network.body.data.nodes.get().map(n => [n.id, n.label])")
    drawn_edges = opened.page.evaluate("network.body.data.edges.get().map(e => [e.from, e.to])")
    assert sorted(keys) == sorted(graph.nodes)
    assert {keys[i]: label for i, label in drawn_nodes} == {n: short_name(n) for n in graph}  # models: NAME@VERSION
    assert sorted((keys[a], keys[b]) for a, b in drawn_edges) == sorted(graph.edges)
    # every node lands inside the canvas after the initial fit
    box = opened.page.evaluate("(() => { const r = document.getElementById('mynetwork').getBoundingClientRect();"
                               " return [r.left, r.top, r.right, r.bottom]; })()")
    for i in range(len(keys)):
        x, y = opened.screen_position(i)
        assert box[0] <= x <= box[2] and box[1] <= y <= box[3], keys[i]
    assert opened.requests == [demo_page.as_uri()]  # the page itself, nothing else, ever
    opened.assert_clean()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "viewer-demo.png"
    opened.page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_colours_follow_each_nodes_state(demo_store, demo_page, open_page):
    graph = graph_of(demo_store)
    info = health.node_info(demo_store, risk.assess(demo_store), graph.nodes)
    opened = open_page(demo_page.as_uri())
    keys = [d["key"] for d in opened.data()["details"]]
    colours = dict(opened.page.evaluate("network.body.data.nodes.get().map(n => [n.id, n.color.background])"))
    assert {keys[i]: c for i, c in colours.items()} == {n: STATES[info[n].state][0] for n in graph}
    states = {info[n].state for n in graph}
    assert {"compromised", "stale", "tainted", "warning", "healthy", "neutral"} <= states
    assert info["dataset:acme-ml:vendor.bureau_scores"].state == "compromised"
    legend = opened.page.inner_text("#hw-legend")
    for _, label in STATES.values():
        assert label in legend


def test_hover_shows_the_nodes_details_findings_notes_and_citations(demo_store, demo_page, open_page):
    node = "dataset:acme-ml:vendor.bureau_scores"
    info = health.node_info(demo_store, risk.assess(demo_store), [node])[node]
    opened = open_page(demo_page.as_uri())
    text = opened.hover_node(node)
    for label, value in info.fields:
        assert label in text and value in text, (label, value)
    assert "owner" in text and "last check" in text and "fingerprint" in text
    assert info.findings, "the breached source has findings"
    for finding in info.findings:
        assert finding["title"] in text and finding["note"] in text
        assert all(citation in text for citation in finding["citations"])
    opened.page.mouse.move(3, 3)
    opened.page.wait_for_selector("#hw-tooltip", state="hidden")
    opened.assert_clean()


def test_selecting_a_compromised_source_highlights_every_path_to_the_models_it_reaches(demo_store, demo_page, open_page):
    graph = graph_of(demo_store)
    source = "dataset:acme-ml:vendor.bureau_scores"
    below = nx.descendants(graph, source)
    models = {n for n in below if graph.nodes[n]["kind"] == "model"}
    on_paths = {source} | {n for n in below if n in models or nx.descendants(graph, n) & models}
    assert len(models) >= 1 and len(on_paths) < len(graph)
    opened = open_page(demo_page.as_uri())
    opened.click_node(source)
    opened.wait_for("() => window.headwater.selected !== null")
    assert opened.page.evaluate("window.headwater.mode") == "paths"
    assert set(opened.page.evaluate("window.headwater.highlighted")) == on_paths
    keys = [d["key"] for d in opened.data()["details"]]
    colours = dict(opened.page.evaluate("network.body.data.nodes.get().map(n => [n.id, n.color.background])"))
    assert {keys[i] for i, c in colours.items() if c == DIMMED} == set(graph) - on_paths
    assert "every path" in opened.page.inner_text("#hw-selection")
    opened.assert_clean()


def test_selecting_a_node_highlights_upstream_and_downstream_then_clears(demo_store, demo_page, open_page):
    graph = graph_of(demo_store)
    node = "dataset:acme-ml:eval.credit_holdout"
    assert health.node_info(demo_store, risk.assess(demo_store), [node])[node].state != "compromised"
    expected = {node} | nx.ancestors(graph, node) | nx.descendants(graph, node)
    opened = open_page(demo_page.as_uri())
    opened.click_node(node)
    opened.wait_for("() => window.headwater.selected !== null")
    assert opened.page.evaluate("window.headwater.mode") == "lineage"
    assert set(opened.page.evaluate("window.headwater.highlighted")) == expected
    opened.page.click("#hw-clear")
    assert opened.page.evaluate("window.headwater.highlighted") == []
    keys = [d["key"] for d in opened.data()["details"]]
    colours = dict(opened.page.evaluate("network.body.data.nodes.get().map(n => [n.id, n.color.background])"))
    assert not [keys[i] for i, c in colours.items() if c == DIMMED]
    edge_colours = opened.page.evaluate("network.body.data.edges.get().map(e => e.color && e.color.color)")
    assert DIMMED not in edge_colours  # edges are restored too
    opened.assert_clean()


def test_search_box_finds_a_node_by_name(demo_page, open_page):
    opened = open_page(demo_page.as_uri())
    opened.page.fill("#hw-search", "credit-scorer")
    opened.page.press("#hw-search", "Enter")
    opened.wait_for("() => window.headwater.selected !== null")
    # a bare model name means its deployed version (examples/catalog.yaml: 3.1.0 is archived), as `resolve` has it
    assert opened.page.evaluate("window.headwater.selected") == "model:acme-ml:credit-scorer@3.2.0"
    index = opened.node_index("model:acme-ml:credit-scorer@3.2.0")
    assert opened.page.evaluate("network.getSelectedNodes()") == [index]
    assert "found model:acme-ml:credit-scorer@3.2.0" in opened.page.inner_text("#hw-search-status")
    opened.page.fill("#hw-search", "no such thing")
    opened.page.press("#hw-search", "Enter")
    assert "no node matches" in opened.page.inner_text("#hw-search-status")
    opened.assert_clean()


@pytest.fixture
def hostile_store(tmp_path: Path) -> Store:
    """Payloads in every user-controlled text: names, namespace, owner, description, notes, model name."""
    import json

    def q(text: str) -> str:
        return json.dumps(text)  # JSON strings are valid YAML scalars

    sources = "\n".join(
        f"""  - name: {q(p)}
    namespace: {q(PAYLOADS[0])}
    owner: {q(PAYLOADS[(i + 1) % len(PAYLOADS)])}
    description: {q(PAYLOADS[(i + 2) % len(PAYLOADS)] + LINE_SEPARATORS)}
    origin: vendor
    location: {q("data/" + str(i) + ".csv")}"""
        for i, p in enumerate(PAYLOADS)
    )
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(textwrap.dedent("""\
        catalog: demo
        datasets:
        """) + sources + textwrap.dedent(f"""
          - name: {q(PAYLOADS[1] + " derived")}
            derived_from: [{", ".join(q("dataset:" + PAYLOADS[0] + ":" + p) for p in PAYLOADS)}]
        models:
          - name: {q(PAYLOADS[2])}
            risk_tier: high
            purpose: {q(PAYLOADS[3])}
            trained_on: [{{dataset: {q(PAYLOADS[1] + " derived")}, role: training}}]
        incidents:
          - dataset: {q("dataset:" + PAYLOADS[0] + ":" + PAYLOADS[0])}
            kind: breach
            opened: 2026-01-05
            note: {q(PAYLOADS[1] + LINE_SEPARATORS)}
        """), encoding="utf-8")
    store = Store(f"sqlite:///{tmp_path / 'h.db'}")
    load_catalog(store, [catalog])
    return store


def test_hostile_names_and_notes_stay_text_and_run_nothing(hostile_store, tmp_path, open_page):
    graph = graph_of(hostile_store)
    target = f"dataset:{PAYLOADS[0]}:{PAYLOADS[0]}"
    assert target in graph and len(graph) == len(PAYLOADS) + 2
    derived = f"dataset:demo:{PAYLOADS[1]} derived"
    page, _ = viewer_page(hostile_store, focus=derived)  # upstream: every source; downstream: the model
    path = tmp_path / "hostile.html"
    path.write_text(page, encoding="utf-8")
    opened = open_page(path.as_uri())
    assert opened.page.inner_text("#hw-title") == f"Lineage around {derived}"
    keys = [d["key"] for d in opened.data()["details"]]
    assert sorted(keys) == sorted(graph.nodes)  # ids survive the round trip unchanged
    for key in keys:
        text = opened.hover_node(key)
        assert key in text
        opened.click_node(key)
        opened.wait_for("(k) => window.headwater.selected === k", key)
    tip = opened.hover_node(target)
    assert PAYLOADS[1] in tip  # the owner and the incident note, shown literally
    for payload in PAYLOADS[:3]:
        opened.page.fill("#hw-search", payload)
        opened.page.press("#hw-search", "Enter")
    handlers = opened.page.evaluate(
        "Array.from(document.querySelectorAll('*')).flatMap(e => Array.from(e.attributes)"
        ".filter(a => a.name.startsWith('on')).map(a => e.tagName + ' ' + a.name))")
    assert handlers == []
    assert opened.page.evaluate("document.querySelectorAll('img, svg, iframe, object, embed').length") == 0
    assert opened.page.evaluate("document.scripts.length") == 4  # vis, data, options, ours: none injected
    opened.assert_clean()


def test_served_viewer_focus_and_depth_over_http(demo_store, open_page):
    graph = graph_of(demo_store)
    chosen, _ = select(graph, focus="vendor.bureau_scores", depth=1)
    with server.running(demo_store.url) as base:
        url = f"{base}/viewer?focus=vendor.bureau_scores&depth=1"
        response = httpx.get(url, timeout=30)
        assert response.status_code == 200 and "connect-src 'none'" in response.headers["content-security-policy"]
        opened = open_page(url)
        keys = [d["key"] for d in opened.data()["details"]]
        assert sorted(keys) == sorted(chosen) and "dataset:acme-ml:vendor.bureau_scores" in keys
        assert len(keys) < len(graph)
        assert opened.requests == [url]
        opened.assert_clean()
        missing = httpx.get(f"{base}/viewer?focus=no.such.dataset", timeout=30)
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
        assert httpx.get(f"{base}/viewer?depth=2", timeout=30).status_code == 400


def test_a_view_past_the_limit_is_grouped_and_says_so(tmp_path, open_page):
    lines = ["catalog: big", "datasets:"]
    for ns in ("sales", "ops", "web"):
        for i in range(60):
            lines.append(f"  - {{name: {ns}.raw_{i}, namespace: {ns}, origin: internal}}")
            lines.append(f"  - {{name: {ns}.clean_{i}, namespace: {ns}, derived_from: [{ns}.raw_{i}]}}")
    lines += ["models:", "  - {name: m, risk_tier: minimal, trained_on: [{dataset: sales.clean_0, role: training},"
              " {dataset: web.clean_1, role: training}]}"]
    catalog = tmp_path / "big.yaml"
    catalog.write_text("\n".join(lines) + "\n")
    db = f"sqlite:///{tmp_path / 'big.db'}"
    out = tmp_path / "big.html"
    run = subprocess.run([sys.executable, "-m", "api.cli", "--db", db, "load", str(catalog)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    run = subprocess.run([sys.executable, "-m", "api.cli", "--db", db, "view", "--max-nodes", "50", "-o", str(out)],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "grouped from 361" in run.stderr
    opened = open_page(out.as_uri())
    notice = opened.page.inner_text("#hw-notice")
    assert "361 nodes" in notice and "--focus" in notice
    details = opened.data()["details"]
    assert len(details) <= 50 and all(d["group"] for d in details)
    members = sum(int(dict(d["fields"])["members"].replace(",", "")) for d in details)
    assert members == 361
    opened.assert_clean()


def test_side_panel_lists_a_selected_nodes_recent_changes_as_text(tmp_path, open_page):
    from catalog.history.actor import acting_as

    def version(owner: str, basis: str) -> Path:
        catalog = tmp_path / "catalog.yaml"
        catalog.write_text(textwrap.dedent(f"""\
            catalog: t
            datasets:
              - name: raw.a
                origin: internal
              - name: feat.b
                derived_from: [raw.a]
                job: jobs.build_b
                owner: {owner}
                legal_basis: {basis}
            """), encoding="utf-8")
        return catalog

    store = Store(f"sqlite:///{tmp_path / 'h.db'}")
    load_catalog(store, [version("a@x.example", "contract")])
    with acting_as("alice"):
        load_catalog(store, [version("a@x.example", "consent")])
    with acting_as(PAYLOADS[0]):
        load_catalog(store, [version("b@x.example", "consent")])
    page, _ = viewer_page(store)
    store.close()
    path = tmp_path / "changes.html"
    path.write_text(page, encoding="utf-8")
    opened = open_page(path.as_uri())
    assert opened.page.is_hidden("#hw-changes")
    opened.click_node("dataset:t:feat.b")
    opened.wait_for("() => window.headwater.selected === 'dataset:t:feat.b'")
    lines = opened.page.eval_on_selector_all("#hw-changes li", "items => items.map(i => i.textContent)")
    assert opened.page.inner_text("#hw-changes h3") == "Recent changes"
    assert len(lines) == 3  # newest first: the payload's, alice's, the creation
    assert lines[0].endswith(f" · {PAYLOADS[0]} via catalog-file · updated: owner")  # shown, not run
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d · alice via catalog-file · updated: legal_basis", lines[1])
    assert lines[2].endswith(" via catalog-file · created")
    assert opened.page.evaluate("document.querySelectorAll('#hw-changes *').length") == 1 + 1 + 3  # h3, ul, li
    assert opened.page.evaluate("document.querySelectorAll('img, svg, iframe, object, embed').length") == 0
    opened.click_node("job:t:jobs.build_b")  # a job: no changes of its own asked for, so no panel
    opened.wait_for("() => window.headwater.selected === 'job:t:jobs.build_b'")
    assert opened.page.is_hidden("#hw-changes")
    opened.assert_clean()
