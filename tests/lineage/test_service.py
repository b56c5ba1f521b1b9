"""`lineage.service` over a real store (SQLite and PostgreSQL) loaded from a small catalog file.

The catalog, namespace `t`:

    raw.a (internal) ─┬─> feat.x ─┬─> feat.y ──────────> tuned-m
    raw.b (vendor) ───┘     │     │                         ^
    raw.a ──────────────────┼─────┘                         │ base_model
                            └──────────────> base-m ────────┘
    raw.c (no origin) ──> feat.holdout ────> base-m (validation)

`jobs.build` makes both feat.x (from raw.a, raw.b) and feat.holdout (from raw.c); `jobs.y`
makes feat.y.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from catalog.errors import AmbiguousName, NotFound
from catalog.loader import load_catalog
from lineage import graph as lineage_graph
from lineage import queries
from lineage import service

CATALOG = """\
catalog: t
datasets:
  - name: raw.a
    origin: internal
  - name: raw.b
    origin: vendor
  - name: raw.c
  - name: feat.x
    origin: internal
    derived_from: [raw.a, raw.b]
    job: jobs.build
  - name: feat.holdout
    origin: internal
    derived_from: raw.c
    job: jobs.build
  - name: feat.y
    origin: internal
    derived_from: [raw.a, feat.x]
    job: jobs.y
models:
  - name: base-m
    version: 2.1.0
    risk_tier: high
    deployed: true
    trained_on:
      - dataset: feat.x
        role: training
      - dataset: feat.holdout
        role: validation
  - name: tuned-m
    version: 0.3.0
    risk_tier: limited
    base_model: base-m
    trained_on:
      - dataset: feat.y
        role: fine_tuning
"""

RAW_A, RAW_B, RAW_C = "dataset:t:raw.a", "dataset:t:raw.b", "dataset:t:raw.c"
FEAT_X, HOLDOUT, FEAT_Y = "dataset:t:feat.x", "dataset:t:feat.holdout", "dataset:t:feat.y"
BUILD, JOB_Y = "job:t:jobs.build", "job:t:jobs.y"
BASE, TUNED = "model:t:base-m@2.1.0", "model:t:tuned-m@0.3.0"


@pytest.fixture(autouse=True, params=["dicts", "arrays"])
def walks(request, monkeypatch):
    """Every answer twice: walked on the graph's dicts, and on its arrays (`lineage.arrays`), which
    large graphs use; both must say the same."""
    if request.param == "arrays":
        monkeypatch.setattr(queries, "ARRAY_WALK_NODES", 0)
        monkeypatch.setattr(queries, "ARRAY_PATHS_NODES", 0)
    else:
        monkeypatch.setattr(queries, "ARRAY_WALK_NODES", 10**9)
        monkeypatch.setattr(queries, "ARRAY_PATHS_NODES", 10**9)
    return request.param


@pytest.fixture
def catalog_file(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG)
    return path


@pytest.fixture
def loaded(store, catalog_file):
    load_catalog(store, [catalog_file])
    return store


def reached(nodes) -> list[tuple[str, int]]:
    return [(r.node.id, r.distance) for r in nodes]


def tree_ids(node) -> tuple:
    """A TreeNode as (id, repeated, [children]) for exact comparison."""
    return (node.node.id, node.repeated, [tree_ids(child) for child in node.children])


# --- lineage ---------------------------------------------------------------------------------------

def test_lineage_upstream_of_fine_tuned_model_reaches_base_model_jobs_and_sources(loaded):
    result = service.lineage(loaded, "tuned-m")
    assert result.root.model_dump() == {
        "id": TUNED, "kind": "model", "namespace": "t", "name": "tuned-m", "version": "0.3.0",
    }
    assert result.direction == "upstream"
    assert result.depth is None
    assert reached(result.nodes) == [
        (FEAT_Y, 1), (BASE, 1),
        (HOLDOUT, 2), (FEAT_X, 2), (RAW_A, 2), (JOB_Y, 2),
        (RAW_B, 3), (RAW_C, 3), (BUILD, 3),
    ]


def test_lineage_upstream_tree_expands_each_node_once(loaded):
    result = service.lineage(loaded, "tuned-m")
    assert tree_ids(result.tree) == (TUNED, False, [
        (FEAT_Y, False, [
            (FEAT_X, False, [(RAW_A, False, []), (RAW_B, False, []), (BUILD, False, [])]),
            (RAW_A, True, []),
            (JOB_Y, False, []),
        ]),
        (BASE, False, [
            (HOLDOUT, False, [(RAW_C, False, []), (BUILD, True, [])]),
            (FEAT_X, True, []),
        ]),
    ])


def test_lineage_downstream_with_depth_one_stops_at_neighbours(loaded):
    result = service.lineage(loaded, "t:raw.a", direction="downstream", depth=1)
    assert result.direction == "downstream"
    assert result.depth == 1
    assert reached(result.nodes) == [(FEAT_X, 1), (FEAT_Y, 1)]
    assert tree_ids(result.tree) == (RAW_A, False, [(FEAT_X, False, []), (FEAT_Y, False, [])])


def test_lineage_depth_zero_is_the_root_alone(loaded):
    result = service.lineage(loaded, RAW_A, direction="downstream", depth=0)
    assert result.nodes == []
    assert tree_ids(result.tree) == (RAW_A, False, [])


def test_lineage_node_refs_carry_kind_namespace_and_name(loaded):
    result = service.lineage(loaded, "feat.x", depth=1)
    refs = {r.node.id: r.node.model_dump() for r in result.nodes}
    assert refs == {
        RAW_A: {"id": RAW_A, "kind": "dataset", "namespace": "t", "name": "raw.a", "version": None},
        RAW_B: {"id": RAW_B, "kind": "dataset", "namespace": "t", "name": "raw.b", "version": None},
        BUILD: {"id": BUILD, "kind": "job", "namespace": "t", "name": "jobs.build", "version": None},
    }


def test_lineage_of_unknown_name_raises_not_found_with_hint(loaded):
    with pytest.raises(NotFound, match=r"no node named 'feat.z' in the catalog; did you mean .*'feat.x'"):
        service.lineage(loaded, "feat.z")


# --- jobs: producers beside the data path ----------------------------------------------------------

def test_job_is_upstream_of_each_dataset_it_produces(loaded):
    assert reached(service.lineage(loaded, "feat.x").nodes) == [(RAW_A, 1), (RAW_B, 1), (BUILD, 1)]
    assert reached(service.lineage(loaded, "feat.holdout").nodes) == [(RAW_C, 1), (BUILD, 1)]


def test_shared_job_does_not_make_one_output_derived_from_the_other_outputs_inputs(loaded):
    upstream_x = {r.node.id for r in service.lineage(loaded, "feat.x").nodes}
    upstream_holdout = {r.node.id for r in service.lineage(loaded, "feat.holdout").nodes}
    assert RAW_C not in upstream_x
    assert RAW_A not in upstream_holdout and RAW_B not in upstream_holdout

    downstream_c = service.impact(loaded, "raw.c")
    assert reached(downstream_c.datasets) == [(HOLDOUT, 1)]
    downstream_b = service.impact(loaded, "raw.b")
    assert HOLDOUT not in {r.node.id for r in downstream_b.datasets}


def test_downstream_of_shared_job_is_everything_its_outputs_reach(loaded):
    result = service.lineage(loaded, "jobs.build", direction="downstream")
    assert reached(result.nodes) == [(HOLDOUT, 1), (FEAT_X, 1), (FEAT_Y, 2), (BASE, 2), (TUNED, 3)]


def test_path_never_runs_from_an_input_through_the_job(loaded):
    result = service.path(loaded, "raw.c", "feat.x")
    assert result.path_count == 0
    assert result.paths == []


# --- impact ----------------------------------------------------------------------------------------

def test_impact_of_raw_a_reaches_both_models_with_every_path(loaded):
    result = service.impact(loaded, "raw.a")
    assert result.root.id == RAW_A
    assert result.revision == loaded.revision()
    assert reached(result.datasets) == [(FEAT_X, 1), (FEAT_Y, 1)]
    assert [(m.model.id, m.distance, m.path_count) for m in result.models] == [(BASE, 2, 1), (TUNED, 2, 3)]
    base, tuned = result.models
    assert base.paths == [[RAW_A, FEAT_X, BASE]]
    assert tuned.paths == [
        [RAW_A, FEAT_Y, TUNED],
        [RAW_A, FEAT_X, FEAT_Y, TUNED],
        [RAW_A, FEAT_X, BASE, TUNED],
    ]


def test_impact_reports_model_metadata(loaded):
    result = service.impact(loaded, "raw.a")
    assert [(m.model.name, m.version, m.risk_tier, m.deployed) for m in result.models] == [
        ("base-m", "2.1.0", "high", True),
        ("tuned-m", "0.3.0", "limited", False),
    ]


def test_impact_path_limit_keeps_the_shortest_path_and_the_full_count(loaded):
    result = service.impact(loaded, "raw.a", path_limit=1)
    tuned = next(m for m in result.models if m.model.id == TUNED)
    assert tuned.path_count == 3
    assert tuned.paths == [[RAW_A, FEAT_Y, TUNED]]


def test_impact_of_vendor_source_reaches_fine_tuned_model_through_two_paths(loaded):
    result = service.impact(loaded, "raw.b")
    assert reached(result.datasets) == [(FEAT_X, 1), (FEAT_Y, 2)]
    assert [(m.model.id, m.distance, m.path_count) for m in result.models] == [(BASE, 2, 1), (TUNED, 3, 2)]
    assert result.models[1].paths == [
        [RAW_B, FEAT_X, FEAT_Y, TUNED],
        [RAW_B, FEAT_X, BASE, TUNED],
    ]


def test_impact_of_holdout_source_reaches_models_through_validation_feed(loaded):
    result = service.impact(loaded, "t:raw.c")
    assert reached(result.datasets) == [(HOLDOUT, 1)]
    assert [(m.model.id, m.distance, m.path_count, m.paths) for m in result.models] == [
        (BASE, 2, 1, [[RAW_C, HOLDOUT, BASE]]),
        (TUNED, 3, 1, [[RAW_C, HOLDOUT, BASE, TUNED]]),
    ]


def test_impact_of_dataset_feeding_only_the_fine_tuned_model(loaded):
    result = service.impact(loaded, FEAT_Y)
    assert result.datasets == []
    assert [(m.model.id, m.distance, m.path_count, m.paths) for m in result.models] == [
        (TUNED, 1, 1, [[FEAT_Y, TUNED]]),
    ]


def test_impact_only_accepts_datasets(loaded):
    with pytest.raises(NotFound, match=r"^no dataset named 'base-m' in the catalog"):
        service.impact(loaded, "base-m")
    with pytest.raises(NotFound, match=r"^no dataset named 'jobs.build' in the catalog"):
        service.impact(loaded, "jobs.build")


def test_impact_of_name_in_two_namespaces_is_ambiguous(loaded, tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text("catalog: u\ndatasets:\n  - name: raw.a\n")
    load_catalog(loaded, [other])
    with pytest.raises(AmbiguousName) as caught:
        service.impact(loaded, "raw.a")
    assert caught.value.candidates == ["dataset:t:raw.a", "dataset:u:raw.a"]
    assert service.impact(loaded, "u:raw.a").models == []
    assert service.impact(loaded, "t:raw.a").root.id == RAW_A


# --- path ------------------------------------------------------------------------------------------

def test_path_from_source_to_fine_tuned_model_lists_both_routes(loaded):
    result = service.path(loaded, "raw.b", "tuned-m")
    assert result.source.id == RAW_B
    assert result.target.id == TUNED
    assert result.path_count == 2
    assert result.paths == [[RAW_B, FEAT_X, FEAT_Y, TUNED], [RAW_B, FEAT_X, BASE, TUNED]]


def test_path_limit_caps_paths_but_not_the_count(loaded):
    result = service.path(loaded, RAW_A, TUNED, limit=2)
    assert result.path_count == 3
    assert result.paths == [[RAW_A, FEAT_Y, TUNED], [RAW_A, FEAT_X, FEAT_Y, TUNED]]


def test_path_between_models_follows_base_model_edge(loaded):
    result = service.path(loaded, "base-m", "tuned-m")
    assert result.path_count == 1
    assert result.paths == [[BASE, TUNED]]


def test_path_from_job_to_model(loaded):
    result = service.path(loaded, "jobs.y", "tuned-m")
    assert result.path_count == 1
    assert result.paths == [[JOB_Y, FEAT_Y, TUNED]]


def test_path_against_the_flow_is_empty(loaded):
    result = service.path(loaded, "tuned-m", "raw.a")
    assert result.path_count == 0
    assert result.paths == []


# --- summary ---------------------------------------------------------------------------------------

def test_summary_counts_nodes_edges_and_sources_by_origin(loaded):
    result = service.summary(loaded)
    assert result.revision == loaded.revision()
    assert (result.datasets, result.jobs, result.models) == (6, 2, 2)
    # 5 derivations + 3 produces + 3 feeds + 1 base_model
    assert result.edges == 12
    assert result.sources == 3
    assert result.by_origin == {"internal": 1, "vendor": 1, "undeclared": 1}


def test_summary_of_each_model_includes_data_under_its_base_model(loaded):
    summaries = {s.model.id: s for s in service.summary(loaded).model_summaries}
    assert list(summaries) == [BASE, TUNED]
    base, tuned = summaries[BASE], summaries[TUNED]
    assert (base.version, base.risk_tier, base.deployed) == ("2.1.0", "high", True)
    assert base.direct == [HOLDOUT, FEAT_X]
    assert base.sources == [RAW_A, RAW_B, RAW_C]
    assert base.upstream_datasets == 5
    assert (tuned.version, tuned.risk_tier, tuned.deployed) == ("0.3.0", "limited", False)
    assert tuned.direct == [FEAT_Y]
    assert tuned.sources == [RAW_A, RAW_B, RAW_C]
    assert tuned.upstream_datasets == 6


def test_summary_of_empty_store(store):
    result = service.summary(store)
    assert (result.datasets, result.jobs, result.models, result.edges, result.sources) == (0, 0, 0, 0, 0)
    assert result.by_origin == {}
    assert result.model_summaries == []


# --- the graph cache -------------------------------------------------------------------------------

def test_graph_is_built_once_while_the_revision_is_unchanged(loaded):
    cache = lineage_graph.CACHE
    before = cache.builds
    first = service.graph_of(loaded)
    assert cache.builds == before + 1
    service.lineage(loaded, "tuned-m")
    service.impact(loaded, "raw.a")
    service.summary(loaded)
    assert service.graph_of(loaded) is first
    assert cache.builds == before + 1


def test_reloading_the_same_file_keeps_the_revision_and_the_cached_graph(loaded, catalog_file):
    cache = lineage_graph.CACHE
    first = service.graph_of(loaded)
    revision, builds = loaded.revision(), cache.builds
    result = load_catalog(loaded, [catalog_file])
    assert result.revision == revision
    assert loaded.revision() == revision
    assert service.graph_of(loaded) is first
    assert cache.builds == builds


def test_a_load_that_changes_lineage_rebuilds_the_graph(loaded, catalog_file):
    cache = lineage_graph.CACHE
    first = service.graph_of(loaded)
    revision, builds = loaded.revision(), cache.builds
    catalog_file.write_text(CATALOG.replace("derived_from: raw.c", "derived_from: [raw.c, raw.b]"))
    result = load_catalog(loaded, [catalog_file])
    assert result.revision > revision
    graph = service.graph_of(loaded)
    assert graph is not first
    assert cache.builds == builds + 1
    assert graph.graph["revision"] == result.revision
    assert reached(service.impact(loaded, "raw.b").datasets) == [(HOLDOUT, 1), (FEAT_X, 1), (FEAT_Y, 2)]
    assert cache.builds == builds + 1


def test_a_load_that_changes_only_a_description_also_rebuilds(loaded, catalog_file):
    cache = lineage_graph.CACHE
    first = service.graph_of(loaded)
    builds = cache.builds
    catalog_file.write_text(CATALOG.replace("  - name: raw.c\n", "  - name: raw.c\n    description: third source\n"))
    load_catalog(loaded, [catalog_file])
    graph = service.graph_of(loaded)
    assert graph is not first
    assert cache.builds == builds + 1
    assert graph.nodes[RAW_C]["description"] == "third source"


def test_impact_reports_the_revision_of_the_graph_it_used(loaded, tmp_path):
    before = service.impact(loaded, "raw.a").revision
    extra = tmp_path / "extra.yaml"
    extra.write_text(textwrap.dedent("""\
        catalog: t
        datasets:
          - name: feat.z
            derived_from: raw.a
    """))
    load_catalog(loaded, [extra])
    after = service.impact(loaded, "raw.a")
    assert after.revision == before + 1 == loaded.revision()
    assert reached(after.datasets) == [(FEAT_X, 1), (FEAT_Y, 1), ("dataset:t:feat.z", 1)]


def test_a_pinned_read_sees_one_revision_throughout_and_other_reads_see_the_new_one(loaded, catalog_file):
    import threading

    seen: dict[str, int] = {}

    def read() -> None:
        pinned = service.pin_graph(loaded)
        catalog_file.write_text(catalog_file.read_text().replace("origin: vendor", "origin: public"))
        load_catalog(loaded, [catalog_file])  # a write lands while the read is under way
        seen["pinned"] = pinned.graph["revision"]
        seen["again"] = service.graph_of(loaded).graph["revision"]

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    assert seen["again"] == seen["pinned"]
    assert service.graph_of(loaded).graph["revision"] == seen["pinned"] + 1  # outside the read: the new revision
