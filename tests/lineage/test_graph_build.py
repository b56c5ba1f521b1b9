"""`build_graph` writes networkx's dicts directly; it must give the graph `add_node`/`add_edge` give."""

from __future__ import annotations

from collections import defaultdict

import networkx as nx

from catalog.ids import node_id
from catalog.loader import load_catalog
from catalog.lineage_rows import LineageRows
from lineage.graph import DATASET, JOB, MODEL, build_graph

CATALOG = """\
catalog: t
datasets:
  - {name: raw.a}
  - {name: raw.b}
  - {name: raw.c}
  - {name: feat.x, derived_from: [raw.a, raw.b], job: jobs.build}
  - {name: feat.h, derived_from: raw.c, job: jobs.build}
  - {name: feat.y, derived_from: [raw.a, feat.x], job: jobs.y}
  - {name: feat.z, derived_from: [raw.a, feat.x]}
models:
  - {name: base, version: "1", risk_tier: high, trained_on: [{dataset: feat.x}, {dataset: feat.h, role: validation}]}
  - {name: tuned, version: "2", risk_tier: limited, base_model: base, trained_on: [{dataset: feat.y}, {dataset: feat.y, role: validation}, {dataset: raw.b, role: fine_tuning}]}
  - {name: other, version: "1", risk_tier: minimal, base_model: base, trained_on: [{dataset: feat.z}]}
incidents:
  - {dataset: raw.a, kind: breach, opened: 2026-11-01}
"""


def built_with_the_public_api(rows: LineageRows) -> nx.DiGraph:
    """The graph as add_node / add_edge make it, one row at a time (the former build)."""
    graph = nx.DiGraph(revision=rows.revision)
    datasets, jobs, models = {}, {}, {}
    for row in rows.records("datasets"):
        datasets[row["id"]] = node = node_id(DATASET, row["namespace"], row["name"])
        graph.add_node(node, kind=DATASET, incidents=[], store_id=row["id"], **{k: v for k, v in row.items() if k != "id"})
    for row in rows.records("jobs"):
        jobs[row["id"]] = node = node_id(JOB, row["namespace"], row["name"])
        graph.add_node(node, kind=JOB, namespace=row["namespace"], name=row["name"], description=row["description"])
    for row in rows.records("models"):
        models[row["id"]] = node = node_id(MODEL, row["namespace"], row["name"], row["version"])
        graph.add_node(node, kind=MODEL, store_id=row["id"],
                       **{k: v for k, v in row.items() if k not in ("id", "base_model_id", "field_sources")})
    for row in rows.records("derivations"):
        source, target = datasets[row["input_id"]], datasets[row["output_id"]]
        if not graph.has_edge(source, target):
            graph.add_edge(source, target, kind="derivation", jobs=[], sources=[])
        edge = graph.edges[source, target]
        job = jobs.get(row["job_id"])
        if job is not None and job not in edge["jobs"]:
            edge["jobs"].append(job)
            graph.add_edge(job, target, kind="produces")
        if row["source"] not in edge["sources"]:
            edge["sources"].append(row["source"])
    feeds = defaultdict(list)
    for row in rows.records("feeds"):
        feeds[(datasets[row["dataset_id"]], models[row["model_id"]])].append(
            {"role": row["role"], "fingerprint": row["fingerprint"], "consumed_at": row["consumed_at"]})
    for (source, target), uses in feeds.items():
        graph.add_edge(source, target, kind="feed", uses=uses, roles=sorted(u["role"] for u in uses))
    for row in rows.records("models"):
        if row["base_model_id"] is not None:
            graph.add_edge(models[row["base_model_id"]], models[row["id"]], kind="base_model")
    for row in rows.records("incidents"):
        graph.nodes[datasets[row["dataset_id"]]]["incidents"].append(
            {k: row[k] for k in ("kind", "opened", "resolved", "note", "effective_from", "due")})
    return graph


def test_the_direct_build_is_the_graph_add_edge_builds_in_the_same_order(store, tmp_path):
    path = tmp_path / "catalog.yaml"
    path.write_text(CATALOG)
    load_catalog(store, [path])
    rows = store.lineage_rows()
    fast, reference = build_graph(rows), built_with_the_public_api(rows)
    assert nx.utils.graphs_equal(fast, reference)
    assert list(fast.nodes(data=True)) == list(reference.nodes(data=True))
    assert list(fast.edges(data=True)) == list(reference.edges(data=True))  # adjacency order too
    assert [list(fast.pred[n]) for n in fast] == [list(reference.pred[n]) for n in reference]
    assert fast.graph == reference.graph
    x = node_id(DATASET, "t", "feat.x")
    assert fast.edges[node_id(DATASET, "t", "raw.a"), x]["jobs"] == [node_id(JOB, "t", "jobs.build")]
    assert fast.nodes[node_id(DATASET, "t", "raw.a")]["incidents"][0]["kind"] == "breach"
    # a networkx algorithm run on it agrees with the reference
    assert list(nx.topological_sort(fast)) == list(nx.topological_sort(reference))


def test_store_ids_become_node_numbers_the_same_way_dense_or_sparse():
    """`_numbers` reads dense ids through a table and sparse ones by a search: the same answer, -1
    for an id the rows do not hold (a derivation without a job is -1 already)."""
    import numpy as np

    from lineage.graph import _numbers

    ids = np.array([5, 1, -1, 3, 7, 2, 10**6, 0], dtype=np.int64)
    dense = {1: 10, 2: 11, 3: 12, 5: 13}
    sparse = {1: 10, 2: 11, 3: 12, 5: 13, 10**9: 14}  # one far id: too sparse for a table
    want = [13, 10, -1, 12, -1, 11, -1, -1]
    assert _numbers(dense, ids).tolist() == want
    assert _numbers(sparse, ids).tolist() == want
    assert _numbers(sparse, np.array([10**9], dtype=np.int64)).tolist() == [14]
    assert _numbers({}, ids).tolist() == [-1] * len(ids)
