"""Column-level lineage in the viewer, in a real headless Chromium over a real HTTP server: a dataset
expands into its columns (sensitive ones marked), and a finding's column paths are listed and drawn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from catalog.loader import load_catalog
from catalog.store import Store
from lineage.viewer import DIMMED
from tests import server

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "columns" / "catalog.yaml"
PATIENTS = "dataset:clinic:patients"
DIAGNOSIS_FEATURES = "dataset:clinic:diagnosis_features"
WARD_FEATURES = "dataset:clinic:ward_features"
EXPOSED = "model:clinic:readmission@1"
UNEXPOSED = "model:clinic:ward_occupancy@1"
SPECIAL = "Sensitive data without an Art. 9 condition"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("columns")
    store = Store(f"sqlite:///{folder / 'headwater.db'}")
    load_catalog(store, [FIXTURE])
    store.close()
    with server.running(f"sqlite:///{folder / 'headwater.db'}") as base:
        yield f"{base}/viewer"


def _columns(opened) -> list[dict]:
    return opened.page.eval_on_selector_all(
        "#hw-columns-list li",
        "items => items.map(i => ({text: i.textContent, sensitive: i.classList.contains('hw-sensitive'),"
        " name: i.querySelector('.hw-column-name').textContent}))")


def test_a_dataset_expands_into_its_columns_with_the_health_column_marked_sensitive(served, open_page):
    opened = open_page(served)
    assert opened.page.is_hidden("#hw-node")
    opened.click_node(PATIENTS)
    opened.wait_for("(k) => window.headwater.selected === k", PATIENTS)
    assert opened.page.is_visible("#hw-columns-toggle")
    assert opened.page.is_hidden("#hw-columns-list")
    assert opened.page.inner_text("#hw-columns-toggle") == "Show 5 columns"
    opened.page.click("#hw-columns-toggle")
    assert opened.page.is_visible("#hw-columns-list")
    assert opened.page.get_attribute("#hw-columns-toggle", "aria-expanded") == "true"
    columns = _columns(opened)
    assert [c["name"] for c in columns] == ["patient_id", "nhs_number", "ward", "admitted_at", "diagnosis"]
    by_name = {c["name"]: c for c in columns}
    assert by_name["diagnosis"]["sensitive"] and "health" in by_name["diagnosis"]["text"]
    assert "string" in by_name["diagnosis"]["text"] and "sensitive" in by_name["diagnosis"]["text"]
    assert by_name["nhs_number"]["sensitive"] and "direct_identifier" in by_name["nhs_number"]["text"]
    assert not by_name["ward"]["sensitive"] and "sensitive" not in by_name["ward"]["text"]
    background = opened.page.eval_on_selector(
        "#hw-columns-list li.hw-sensitive", "li => getComputedStyle(li).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")  # marked visibly, not just by a class
    opened.page.click("#hw-columns-toggle")
    assert opened.page.is_hidden("#hw-columns-list")
    # a derived table lists the columns its flows name, with where each comes from
    opened.click_node(DIAGNOSIS_FEATURES)
    opened.wait_for("(k) => window.headwater.selected === k", DIAGNOSIS_FEATURES)
    opened.page.click("#hw-columns-toggle")
    derived = {c["name"]: c for c in _columns(opened)}
    assert set(derived) == {"dx_code", "patient_id"}
    assert "from patients.diagnosis" in derived["dx_code"]["text"]
    opened.page.click("#hw-clear")
    assert opened.page.is_hidden("#hw-node")
    assert opened.requests == [served]
    opened.assert_clean()


def test_selecting_the_special_category_finding_shows_and_draws_its_column_path(served, open_page):
    opened = open_page(served)
    opened.click_node(EXPOSED)
    opened.wait_for("(k) => window.headwater.selected === k", EXPOSED)
    assert opened.page.is_hidden("#hw-columns")  # a model has no columns of its own
    buttons = opened.page.eval_on_selector_all("#hw-findings-list button", "bs => bs.map(b => b.textContent)")
    special = [i for i, text in enumerate(buttons) if SPECIAL in text]
    assert len(special) == 1 and "column lineage: column" in buttons[special[0]]
    opened.page.click(f"#hw-findings-list li:nth-child({special[0] + 1}) button")
    opened.wait_for("() => window.headwater.mode === 'columns'")
    assert opened.page.evaluate("window.headwater.columnPath") == [
        [[PATIENTS, "diagnosis"], [DIAGNOSIS_FEATURES, "dx_code"], [EXPOSED, None]]]
    steps = opened.page.eval_on_selector_all("#hw-column-path ol li", "items => items.map(i => i.textContent)")
    assert steps == ["patients \u203a diagnosis", "diagnosis_features \u203a dx_code", "readmission@1"]
    assert opened.page.get_attribute(f"#hw-findings-list li:nth-child({special[0] + 1}) button", "aria-pressed") == "true"
    # the path's nodes and edges are highlighted, everything else dimmed
    on_path = {PATIENTS, DIAGNOSIS_FEATURES, EXPOSED}
    assert set(opened.page.evaluate("window.headwater.highlighted")) == on_path
    keys = [d["key"] for d in opened.data()["details"]]
    colours = dict(opened.page.evaluate("network.body.data.nodes.get().map(n => [n.id, n.color.background])"))
    assert {keys[i] for i, c in colours.items() if c == DIMMED} == set(keys) - on_path
    assert WARD_FEATURES in set(keys) - on_path
    lit = opened.page.evaluate(
        "network.body.data.edges.get().filter(e => e.color && e.color.color !== '%s').map(e => [e.from, e.to])" % DIMMED)
    assert sorted((keys[a], keys[b]) for a, b in lit) == sorted(
        [(PATIENTS, DIAGNOSIS_FEATURES), (DIAGNOSIS_FEATURES, EXPOSED)])
    assert "Column paths of" in opened.page.inner_text("#hw-selection")
    # the model fed only ward columns: no privacy finding, no column path
    opened.click_node(UNEXPOSED)
    opened.wait_for("(k) => window.headwater.selected === k", UNEXPOSED)
    assert opened.page.is_hidden("#hw-column-path")
    others = opened.page.eval_on_selector_all("#hw-findings-list button", "bs => bs.map(b => b.textContent)")
    assert others and not [text for text in others if SPECIAL in text or "column lineage" in text]
    opened.page.click("#hw-findings-list li:nth-child(1) button")
    assert "No column path" in opened.page.inner_text("#hw-column-path")
    assert opened.page.evaluate("window.headwater.columnPath") == []
    assert opened.requests == [served]
    opened.assert_clean()
