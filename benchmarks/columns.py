"""Benchmark: column-aware propagation (issue 21) on the reference graph, against table-level propagation.

    python -m benchmarks.columns [--quick] [--scale S] [--repeat R] [--repeat-slow R] [--out DIR]

One process run measures both, with the same roots, sampled round-robin (`benchmarks.propagation`'s
helpers), so the ratio is of one run:

- Graph: `benchmarks.reference.reference_graph` (scale 1: 100,000 datasets, 5,000 models, 1,000,000
  edges). Every dataset gets 20 columns `c00..c19`. The flagged sources are the ones
  `benchmarks.propagation` flags (1% of the sources, seeded); on each, 1-3 columns are classified
  `personal_data`, `direct_identifier` or `health`.
- Column lineage (seeded): 10% of the derived datasets come from a producer that sends no column
  lineage (every hop into them is "assumed"); each output column of the others gets 1-2 DIRECT
  flows from columns of its inputs, each input chosen at random among the dataset's inputs, so most
  hops have flows and some have none (also assumed); 5% of them also get one INDIRECT whole-dataset
  flow (output_column '': a filter or join key). 30% of the feeds name 3-8 feature columns. The rows
  go in `graph.graph["column_rows"]` as `lineage.graph._column_rows` gives them (node ids).
- Roots and conditions, as `checks.risk` builds them: one condition per flagged source,
  `special_category_unbased` where a column is `health` (carried by the special-category columns)
  and `lawful_basis_missing` otherwise (carried by the personal columns), both with the rule's
  propagation (hard into datasets and models) and the default policy (`checks.policy.load_policy`).
- Timed, round-robin: (a) table level, `propagate(graph, roots)`; (b) column-aware,
  `propagate(graph, roots)` then `checks.column_findings.refine(...)` on that answer (what
  `checks.risk` runs). The bar: (b) at most 5x (a). Breakdown rows: `refine` alone (on a fresh
  `propagate` answer made untimed before each sample) and `reach_columns` alone.
- Per-revision builds, timed on their own (report rows, not in the ratio): the propagation index
  (`lineage.bitsets.Index`), the table arrays (`lineage.arrays` topology) and the column graph
  (`lineage.columns`); every timed case runs with all three cached (asserted before and after).
- Correctness (asserted; a wrong answer fails the run): for every root, the nodes the column-aware
  answer keeps are a subset of the table-level ones, and exactly the table-level ones the root's
  seed columns reach in the column graph (plus the root's own dataset); and on a sample of roots,
  `reach_columns`' three planes (reached / on known lineage / by values) equal a plain Python BFS
  written here over the column rows and the networkx graph (not over the column graph's arrays).
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections import defaultdict, deque
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from benchmarks.common import memory, reset_peak
from benchmarks.propagation import Case, first_run, flagged_sources, load, machine, sample_round_robin, timing_row
from benchmarks.reference import describe, reference_graph
from catalog.lineage_rows import ColumnRows
from lineage.graph import DATASET, JOB, MODEL

ROOT = Path(__file__).resolve().parent.parent
SEED = 20240601
COLUMNS = 20
TARGET_RATIO = 5.0
PERSONAL = ("personal_data", "direct_identifier", "health")
TYPES = ("string", "bigint", "double", "timestamp", "boolean")
NO_LINEAGE_SHARE = 0.10  # derived datasets whose producer sends no column lineage at all
SECOND_INPUT = 0.5  # share of output columns with two input columns (else one)
INDIRECT_SHARE = 0.05  # derived datasets (with lineage) with one INDIRECT whole-dataset flow
FEATURE_SHARE = 0.30  # feeds that name their feature columns
DIRECT_SUBTYPES = ("IDENTITY", "TRANSFORMATION", "AGGREGATION")
INDIRECT_SUBTYPES = ("FILTER", "JOIN", "GROUP_BY")
BFS_SAMPLE = 4  # roots checked against the plain BFS (all of them when there are fewer)


# --- the column rows ------------------------------------------------------------------------------

def column_rows(graph: nx.DiGraph, flagged: list[str], seed: int = SEED, columns: int = COLUMNS) -> ColumnRows:
    """Columns, flows and feed features for the graph, as `lineage.graph._column_rows` gives them."""
    rng = np.random.default_rng(seed + 21)
    names = [f"c{j:02d}" for j in range(columns)]
    kind = dict(graph.nodes(data="kind"))
    datasets = [n for n in graph if kind[n] == DATASET]
    number = {d: i for i, d in enumerate(datasets)}
    classes: dict[str, dict[int, list[str]]] = {}
    for d in flagged:
        chosen = rng.choice(columns, size=int(rng.integers(1, 4)), replace=False)
        classes[d] = {int(j): [str(rng.choice(PERSONAL))] for j in chosen}
    dataset_columns = [(d, names[j], TYPES[j % len(TYPES)], None, classes[d].get(j, []) if d in classes else [], j,
                        "openlineage") for d in datasets for j in range(columns)]

    pairs = np.array([(number[u], number[v]) for u, v in graph.edges() if kind[u] == DATASET and kind[v] == DATASET],
                     dtype=np.int64).reshape(-1, 2)
    pairs = pairs[np.lexsort((pairs[:, 0], pairs[:, 1]))]  # by output, then input
    src, dst = pairs[:, 0], pairs[:, 1]
    derived, first, degree = np.unique(dst, return_index=True, return_counts=True)
    with_lineage = rng.random(len(derived)) >= NO_LINEAGE_SHARE
    derived, first, degree = derived[with_lineage], first[with_lineage], degree[with_lineage]
    # each output column of a derived dataset: 1 or 2 input columns, each from one of its inputs
    out_ds = np.repeat(derived, columns)
    out_col = np.tile(np.arange(columns), len(derived))
    out_first, out_degree = np.repeat(first, columns), np.repeat(degree, columns)
    picks = 1 + (rng.random(len(out_ds)) < SECOND_INPUT)
    out_ds, out_col = np.repeat(out_ds, picks), np.repeat(out_col, picks)
    edge = np.repeat(out_first, picks) + np.floor(rng.random(len(out_ds)) * np.repeat(out_degree, picks)).astype(np.int64)
    in_ds, in_col = src[edge], rng.integers(0, columns, len(out_ds))
    key = np.unique(((in_ds * columns + in_col) * len(datasets) + out_ds) * columns + out_col)
    out_col, rest = key % columns, key // columns
    out_ds, rest = rest % len(datasets), rest // len(datasets)
    in_col, in_ds = rest % columns, rest // columns
    subtype = rng.integers(0, len(DIRECT_SUBTYPES), len(key))
    masking = rng.random(len(key)) < 0.02
    flows = [(datasets[i], names[ic], datasets[o], names[oc], "DIRECT", DIRECT_SUBTYPES[s], bool(m), "openlineage")
             for i, ic, o, oc, s, m in zip(in_ds.tolist(), in_col.tolist(), out_ds.tolist(), out_col.tolist(),
                                           subtype.tolist(), masking.tolist(), strict=True)]
    indirect = rng.random(len(derived)) < INDIRECT_SHARE
    picked = first[indirect] + np.floor(rng.random(int(indirect.sum())) * degree[indirect]).astype(np.int64)
    flows += [(datasets[i], names[c], datasets[o], "", "INDIRECT", INDIRECT_SUBTYPES[s], False, "openlineage")
              for i, c, o, s in zip(src[picked].tolist(), rng.integers(0, columns, len(picked)).tolist(),
                                    dst[picked].tolist(), rng.integers(0, 3, len(picked)).tolist(), strict=True)]

    feeds = sorted((u, v) for u, v in graph.edges() if kind[u] == DATASET and kind[v] == MODEL)
    features = []
    for (d, m), share, count in zip(feeds, rng.random(len(feeds)).tolist(), rng.integers(3, 9, len(feeds)).tolist(),
                                    strict=True):
        if share < FEATURE_SHARE:
            features.append((d, m, [names[j] for j in sorted(rng.choice(columns, size=count, replace=False).tolist())]))
    return ColumnRows(dataset_columns=dataset_columns, column_flows=flows, features=features)


def conditions_and_roots(rows: ColumnRows, flagged: list[str], policy: Any) -> tuple[list[Any], list[Any]]:
    """One condition per flagged source and its root, as `checks.risk._assess` makes them."""
    from checks.conditions import Condition
    from lineage.roots import Root

    health = {d for d, _, _, _, classes, *_ in rows.dataset_columns if classes and "health" in classes}
    conditions, roots = [], []
    for i, d in enumerate(flagged):
        if d in health:
            condition = Condition(d, "special_category_unbased", detail="health data with no Art. 9 condition recorded")
        else:
            condition = Condition(d, "lawful_basis_missing", detail="personal data with no lawful basis recorded")
        rule = policy.conditions[condition.condition]
        conditions.append(condition)
        roots.append(Root(key=f"{d}|{condition.condition}|{i}", dataset=d, into_datasets=rule.propagate.datasets,
                          into_models=rule.propagate.models, anonymisation=rule.anonymisation))
    return conditions, roots


# --- the independent check: a plain BFS over the rows ---------------------------------------------

class PlainColumns:
    """The column graph's rules (`lineage.columns`' docstring) as Python dicts over the rows and the
    networkx graph, for a BFS per seed: nothing here reads `lineage.columns`' arrays."""

    def __init__(self, graph: nx.DiGraph, rows: ColumnRows):
        self.graph = graph
        self.kind = dict(graph.nodes(data="kind"))
        self.columns: dict[str, dict[str, None]] = defaultdict(dict)  # dataset -> its columns, in order
        for d, name, *_ in rows.dataset_columns:
            self.columns[d][name] = None
        self.flows: dict[tuple[str, str], list[tuple[tuple, str]]] = defaultdict(list)
        self.known: set[tuple[str, str]] = set()
        for i, ic, o, oc, kind, *_ in rows.column_flows:
            if i in graph and o in graph:
                target = ("whole", o) if oc == "" else ("col", o, oc)
                joined = graph.has_edge(i, o)  # a flow the table lineage does not join carries nothing
                self.flows[(i, ic)].append((target, ("INDIRECT" if kind == "INDIRECT" else "DIRECT") if joined
                                            else "UNJOINED"))
                if joined:
                    self.known.add((i, o))
                for d, c in ((i, ic), (o, oc)):
                    if c:
                        self.columns[d].setdefault(c, None)
        self.features: dict[tuple[str, str], list[str]] = {}
        self.read_by: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.named_feeds: dict[str, list[str]] = defaultdict(list)
        for d, m, names in rows.features:
            if names and d in graph and m in graph:
                self.features[(d, m)] = list(names)
                self.named_feeds[d].append(m)
                for c in names:
                    self.read_by[(d, str(c))].append(m)
                    self.columns[d].setdefault(str(c), None)

    def neighbours(self, x: tuple) -> list[tuple[tuple, str]]:
        if x[0] == "col":
            _, d, c = x
            return [*self.flows.get((d, c), ()), (("any", d), "INTERNAL"),
                    *((("model", m), "INTERNAL") for m in self.read_by.get((d, c), ()))]
        if x[0] == "whole":
            d = x[1]
            return [*((("col", d, c), "INTERNAL") for c in self.columns.get(d, ())), (("any", d), "INTERNAL"),
                    *((("model", m), "INTERNAL") for m in self.named_feeds.get(d, ()))]
        node = x[1]
        out = []
        for nxt in self.graph._succ[node]:
            a, b = self.kind[node], self.kind[nxt]
            if a == DATASET and b == DATASET:
                continue  # a hop without column flows is the table rule's (`planes`)
            if a == DATASET and b == MODEL and (node, nxt) not in self.features:
                out.append((("model", nxt), "INTERNAL"))
            elif a == MODEL and b == MODEL:
                out.append((("model", nxt), "INTERNAL"))
        return out

    def planes(self, dataset: str, columns: tuple[str, ...]) -> list[set[tuple[str, str | None]]]:
        """Reached (table nodes) / on known lineage / by values, as (node, column) labels as
        `ColumnGraph.label` gives: known lineage and values by a BFS over the column rules; reached
        is what known lineage reached plus everything the table lineage reaches from the outputs of
        the hops without column flows out of a dataset it reached (the table rule from there on)."""
        found = []
        for allowed in ({"INTERNAL", "DIRECT", "INDIRECT"}, {"INTERNAL", "DIRECT"}):
            start = [("col", dataset, c) for c in columns]
            seen = set(start)
            queue = deque(start)
            while queue:
                x = queue.popleft()
                for y, cls in self.neighbours(x):
                    if cls in allowed and y not in seen:
                        seen.add(y)
                        queue.append(y)
            found.append({_label(x) for x in seen})
        known_tables = {node for node, column in found[0] if column is None}
        carrying = self.graph.subgraph(n for n, k in self.kind.items() if k != JOB)
        reached = set(known_tables)
        for u in (n for n in known_tables if self.kind[n] == DATASET):
            for v in self.graph._succ[u]:
                if self.kind[v] == DATASET and (u, v) not in self.known:
                    reached.add(v)
                    reached |= nx.descendants(carrying, v)
        return [{(node, None) for node in reached}, *found]
def _label(x: tuple) -> tuple[str, str | None]:
    if x[0] == "col":
        return x[1], x[2]
    return x[1], ("" if x[0] == "whole" else None)


def reach_labels(found: Any, key: str) -> list[set[tuple[str, str | None]]]:
    """The three planes of one seed in `reach_columns`' answer, as labels."""
    j = found.place[key]
    bit = np.uint64(j & 63)
    table = np.flatnonzero((found.table[:, j >> 6] >> bit) & np.uint64(1))
    out = [{found.graph.label(int(x)) for x in table}]
    for p in range(2):
        column = found.bits[:, p * found.words + (j >> 6)]
        rows = np.flatnonzero((column >> bit) & np.uint64(1))
        out.append({found.graph.label(int(x)) for x in rows})
    return out


def check_against_bfs(plain: PlainColumns, found: Any, seeds: list[Any]) -> list[dict[str, Any]]:
    checked = []
    for seed in seeds:
        want = plain.planes(seed.dataset, seed.columns)
        got = reach_labels(found, seed.key)
        for p, name in enumerate(("reached", "known lineage", "by values")):
            if want[p] != got[p]:
                missing, extra = sorted(want[p] - got[p])[:3], sorted(got[p] - want[p])[:3]
                raise AssertionError(f"reach_columns and the plain BFS differ for {seed.key} ({name}): "
                                     f"{len(want[p] - got[p])} missing e.g. {missing}, {len(got[p] - want[p])} extra "
                                     f"e.g. {extra}")
        checked.append({"root": seed.key, "columns": list(seed.columns), "reached": len(want[0]),
                        "known_lineage": len(want[1]), "by_values": len(want[2])})
    return checked


# --- the run --------------------------------------------------------------------------------------

def run(scale: float, repeat: int, repeat_slow: int, bfs_sample: int = BFS_SAMPLE) -> dict[str, Any]:
    from checks.column_findings import CARRIERS, refine
    from checks.policy import load_policy
    from lineage import arrays
    from lineage import columns as column_module
    from lineage.bitsets import Index, cached_index, index_of
    from lineage.column_reach import Seed, reach_columns
    from lineage.columns import DIRECT, INDIRECT, UNJOINED_DIRECT, UNJOINED_INDIRECT, classified, column_graph
    from lineage.propagate import propagate

    wall = time.perf_counter()
    result: dict[str, Any] = {"machine": machine(), "scale": scale, "repeat": repeat, "repeat_slow": repeat_slow,
                              "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                              "load_average_start": load()}
    gc.collect()
    reset_peak()
    start = time.perf_counter()
    graph = reference_graph(scale=scale, seed=SEED)
    result["generate_s"] = time.perf_counter() - start
    result["graph"] = describe(graph)
    flagged = flagged_sources(graph)
    start = time.perf_counter()
    rows = column_rows(graph, flagged)
    graph.graph["column_rows"] = rows
    result["column_rows_s"] = time.perf_counter() - start
    result["memory_after_graph"] = memory()
    print(f"columns: graph {result['graph']['nodes']:,} nodes, {result['graph']['edges']:,} edges in "
          f"{result['generate_s']:.1f} s; column rows in {result['column_rows_s']:.1f} s", flush=True)
    policy = load_policy(None)
    conditions, roots = conditions_and_roots(rows, flagged, policy)

    # per-revision builds, timed on their own
    assert cached_index(graph) is None and "_column_graph" not in graph.graph
    builds = [Case("index_build", lambda _: Index(graph), repeat_slow),
              Case("topology_build", lambda _: arrays._build(graph), repeat_slow)]
    for case in builds:
        first_run(case, keep=False)
    sample_round_robin(builds)
    index = index_of(graph)
    topo = arrays.topology(graph)
    build_cg = Case("column_graph_build", lambda _: column_module._build(graph, rows), repeat_slow)
    first_run(build_cg, keep=False)
    sample_round_robin([build_cg])
    builds.append(build_cg)
    cg = column_graph(graph)
    assert column_graph(graph) is cg and arrays.topology(graph) is topo

    seeds = []
    for root, condition in zip(roots, conditions, strict=True):
        cols = classified(cg, root.dataset, CARRIERS[policy.conditions[condition.condition].columns])
        if cols:
            seeds.append(Seed(root.key, root.dataset, tuple(cols)))
    flows_by = {"DIRECT": 0, "INDIRECT": 0}
    for row in rows.column_flows:
        flows_by[row[4]] += 1
    derivations = sum(1 for u, v in graph.edges() if graph.nodes[u]["kind"] == DATASET
                      and graph.nodes[v]["kind"] == DATASET)
    assumed = len(cg.assumed_src)
    result["columns"] = {
        "per_dataset": COLUMNS, "columns": len(rows.dataset_columns), "flows": len(rows.column_flows),
        "direct_flows": flows_by["DIRECT"], "indirect_whole_flows": flows_by["INDIRECT"],
        "feeds_naming_features": len(rows.features), "derivation_hops": derivations,
        "known_hops": len(cg.known_hops), "assumed_hops": assumed,
        "classified_columns": sum(1 for r in rows.dataset_columns if r[4]),
        "column_graph_nodes": cg.size, "column_graph_edges": len(cg.out_dst),
        "column_graph_edges_by_class": {name: int((cg.out_class == c).sum()) for name, c in
                                        (("internal", 0), ("direct", DIRECT), ("indirect", INDIRECT),
                                         ("unjoined", UNJOINED_DIRECT), ("unjoined_indirect", UNJOINED_INDIRECT))},
        "column_graph_levels": None if cg.level is None else int(cg.level.max()) + 1,
        "column_graph_mib": sum(a.nbytes for a in (cg.out_ptr, cg.out_dst, cg.out_class, cg.in_ptr, cg.in_src,
                                                   cg.in_class) + ((cg.level,) if cg.level is not None else ())) / 1024**2,
        "flagged_sources": len(flagged), "roots": len(roots), "seeded_roots": len(seeds),
        "conditions": {c: sum(1 for x in conditions if x.condition == c) for c in sorted({x.condition for x in conditions})},
    }
    assert cg.level is not None, "the reference graph is a DAG: the column graph must be one too"
    assert assumed == derivations - len(cg.known_hops), "assumed hops are not the derivations without a flow"
    print(f"  {len(rows.dataset_columns):,} columns, {len(rows.column_flows):,} flows, {len(cg.known_hops):,} known "
          f"and {assumed:,} assumed hops; column graph {cg.size:,} nodes, {len(cg.out_dst):,} edges; "
          f"{len(seeds)} of {len(roots)} roots seeded", flush=True)

    def column_aware(_: Any) -> tuple[Any, Any]:
        reach = propagate(graph, roots)
        return reach, refine(graph, conditions, roots, reach, policy)

    cases = [
        Case("table_propagate", lambda _: propagate(graph, roots), repeat),
        Case("column_aware", column_aware, repeat),
        Case("refine_only", lambda reach: refine(graph, conditions, roots, reach, policy), repeat,
             setup=lambda: propagate(graph, roots)),
        Case("reach_columns_only", lambda _: reach_columns(cg, seeds), repeat),
    ]
    print("  first runs (warm-up, memory, answers) ...", flush=True)
    for case in cases:
        first_run(case, keep=case.name in ("table_propagate", "column_aware"))
    print(f"  sampling: {repeat} rounds ...", flush=True)
    sample_round_robin(cases)
    assert cached_index(graph) is index, "propagate rebuilt the index during the timings"
    assert column_graph(graph) is cg and arrays.topology(graph) is topo, "the column graph was rebuilt"

    timings: dict[str, Any] = {}
    for case in builds + cases:
        timings[case.name] = {"median_s": statistics.median(case.samples), "min_s": min(case.samples),
                              "max_s": max(case.samples), "samples_s": case.samples, "memory": case.memory}
        print(f"  {case.name:<22} {timings[case.name]['median_s']:9.4f} s  (n={len(case.samples)}, "
              f"peak +{case.memory['peak_above_start_kib'] / 1024:,.0f} MiB)", flush=True)

    # correctness
    by_name = {case.name: case for case in cases}
    table = by_name["table_propagate"].value
    narrowed, scope = by_name["column_aware"].value
    assert scope.reach is not None and set(scope.seeds) == {s.key for s in seeds}, "refine seeded other roots"
    kept = removed = 0
    for root in roots:
        wide, narrow = table.members(root.key), narrowed.members(root.key)
        assert narrow <= wide, f"{root.key}: the column-aware answer reaches nodes the table level does not"
        if root.key in scope.seeds:
            reached = scope.reach.table_rows(root.key)[0]
            by_columns = {str(cg.nodes[i]) for i in np.flatnonzero(reached).tolist()} | {root.dataset}
            assert narrow == wide & by_columns, f"{root.key}: refine kept other nodes than its columns reach"
        else:
            assert narrow == wide, f"{root.key}: a root without classified columns was narrowed"
        kept += len(narrow)
        removed += len(wide) - len(narrow)
    assert narrowed.reached() <= table.reached()
    plain = PlainColumns(graph, rows)
    sample = seeds if len(seeds) <= bfs_sample else [seeds[int(i)] for i in
                                                     np.linspace(0, len(seeds) - 1, bfs_sample).round()]
    start = time.perf_counter()
    checked = check_against_bfs(plain, scope.reach, sample)
    result["bfs_check"] = {"roots": checked, "seconds": time.perf_counter() - start}
    result["reached"] = {
        "table_nodes": len(table.reached()), "column_aware_nodes": len(narrowed.reached()),
        "table_entries": kept + removed, "column_aware_entries": kept, "entries_removed": removed,
    }
    print(f"  table level {kept + removed:,} (node, root) entries, column-aware {kept:,}; "
          f"BFS agrees on {len(checked)} roots", flush=True)
    for case in cases:
        case.value = None
    table = narrowed = scope = None
    gc.collect()

    a, b = timings["table_propagate"]["median_s"], timings["column_aware"]["median_s"]
    result["ratios_to_table"] = {name: timings[name]["median_s"] / a for name in timings if not name.endswith("_build")}
    result["target"] = {"row": "column_aware", "max_ratio": TARGET_RATIO, "ratio": b / a, "met": b / a <= TARGET_RATIO}
    result["timings"] = timings
    result["memory_end"] = memory()
    result["load_average_end"] = load()
    result["wall_s"] = time.perf_counter() - wall
    return result


def markdown(result: dict[str, Any]) -> str:
    m, g, t, c, r, x = (result["machine"], result["graph"], result["timings"], result["columns"], result["reached"],
                        result["ratios_to_table"])
    mib = lambda kib: f"{kib / 1024:,.0f} MiB"

    def row(name: str, label: str, note: str = "") -> str:
        return timing_row(t, x, name, label, note)

    target = result["target"]
    commit = m.get("commit") or "unknown"
    if m.get("lineage_uncommitted_changes"):
        commit += " (lineage/ with uncommitted changes)"
    by_class = c["column_graph_edges_by_class"]
    bfs = result["bfs_check"]
    lines = [
        "# Column-aware propagation benchmark",
        "",
        f"`{result.get('command', 'python -m benchmarks.columns')}` (scale {result['scale']}), "
        f"run {result['started']} at commit {commit}, {result['wall_s']:.0f} s wall in all. Load average "
        f"(1, 5, 15 min) {result['load_average_start']} at the start, {result['load_average_end']} at the end.",
        "",
        f"Machine: {m['nproc']} CPUs (`nproc`), {m['cpu']}, {m['ram_gib']} GiB RAM, {m['os']}. "
        f"Python {m['python']}, networkx {m['networkx']}, numpy {m['numpy']}, scipy {m['scipy']}.",
        "",
        "## Graph and columns",
        "",
        f"`benchmarks.reference.reference_graph` (seed {SEED}), generated in {result['generate_s']:.1f} s: "
        f"{g['nodes']:,} nodes ({', '.join(f'{v:,} {k}s' for k, v in g['nodes_by_kind'].items())}), "
        f"{g['edges']:,} edges ({', '.join(f'{v:,} {k}' for k, v in g['edges_by_kind'].items())}).",
        "",
        f"Column rows (seeded, {result['column_rows_s']:.1f} s to generate): {c['per_dataset']} columns per dataset, "
        f"{c['columns']:,} columns ({c['classified_columns']} classified personal, on the flagged sources); "
        f"{c['flows']:,} column flows ({c['direct_flows']:,} DIRECT column to column, {c['indirect_whole_flows']:,} "
        f"INDIRECT into a whole dataset); {c['feeds_naming_features']:,} feeds name their features. Of "
        f"{c['derivation_hops']:,} derivation hops, {c['known_hops']:,} have column flows and "
        f"{c['assumed_hops']:,} have none (assumed: the table rule). Column graph: {c['column_graph_nodes']:,} nodes, "
        f"{c['column_graph_edges']:,} edges ({by_class['internal']:,} internal, {by_class['direct']:,} direct, "
        f"{by_class['indirect']:,} indirect, {by_class['unjoined'] + by_class['unjoined_indirect']:,} between datasets the table lineage does not join), {c['column_graph_levels']} levels, "
        f"{c['column_graph_mib']:.0f} MiB of arrays.",
        "",
        f"Roots: one per flagged source ({c['flagged_sources']}, 1% of the sources, as `benchmarks.propagation`), "
        f"conditions {', '.join(f'{k} {v}' for k, v in c['conditions'].items())}, hard into datasets and models; "
        f"{c['seeded_roots']} of {c['roots']} have columns carrying their condition. Table level: "
        f"{r['table_nodes']:,} nodes reached, {r['table_entries']:,} (node, root) entries; column-aware: "
        f"{r['column_aware_nodes']:,} nodes, {r['column_aware_entries']:,} entries ({r['entries_removed']:,} "
        f"taken away by column lineage).",
        "",
        "## Results",
        "",
        f"Median of the samples, taken round-robin ({result['repeat']} rounds; {result['repeat_slow']} for the "
        f"builds) after one untimed first run; ratio = median / median of the table-level `propagate` of this "
        f"run. Memory: the phase's peak resident set above the process's resident set when the phase started "
        f"(first run). Every timed row runs with the index, the arrays and the column graph cached (asserted).",
        "",
        "| what | median s | min - max s | runs | vs table level | peak memory | note |",
        "|---|---:|---:|---:|---:|---:|---|",
        row("index_build", "Index build: `lineage.bitsets.Index(graph)`", "once per graph revision; not in the ratio"),
        row("topology_build", "Table arrays: `lineage.arrays` topology", "once per revision; the column graph's base"),
        row("column_graph_build", "Column graph build: `lineage.columns` (`column_graph`)",
            "once per revision, kept with the graph; not in the ratio"),
        row("table_propagate", "(a) table level: `propagate(graph, roots)`", "baseline"),
        row("column_aware", "(b) column-aware: `propagate` + `checks.column_findings.refine`",
            f"target <= {TARGET_RATIO:.0f}x table level: **{'met' if target['met'] else 'missed'}**"),
        row("refine_only", "breakdown: `refine` alone (on a fresh `propagate` answer)", ""),
        row("reach_columns_only", "breakdown: `lineage.column_reach.reach_columns` alone", f"{c['seeded_roots']} seeds"),
        "",
        f"Peak memory of the process: {mib(result['memory_end']['peak_kib'])} "
        f"(resident after generating the graph and the column rows: {mib(result['memory_after_graph']['rss_kib'])}).",
        "",
        "## Agreement (asserted in the run)",
        "",
        "- For every root, the column-aware answer's nodes are a subset of the table-level answer's, and are exactly "
        "the table-level nodes its seed columns reach in the column graph (plus its own dataset); a root without "
        "classified columns keeps the table answer.",
        f"- `reach_columns`' three planes equal a plain Python BFS over the column rows and the networkx graph on "
        f"{len(bfs['roots'])} roots ({bfs['seconds']:.1f} s): "
        + "; ".join(f"{b['reached']:,} / {b['known_lineage']:,} / {b['by_values']:,} nodes reached / on known "
                    f"lineage / by values" for b in bfs["roots"]) + ".",
        "",
    ]
    return "\n".join(lines)


def save(result: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "columns.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (out / "columns.md").write_text(markdown(result))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a twentieth of the reference size")
    parser.add_argument("--scale", type=float, default=None, help="size relative to the reference (default 1)")
    parser.add_argument("--repeat", type=int, default=21, help="rounds of the timed cases (median)")
    parser.add_argument("--repeat-slow", type=int, default=3, help="runs of the builds (median)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    scale = args.scale if args.scale is not None else (0.05 if args.quick else 1.0)
    result = run(scale, max(1, args.repeat), max(1, args.repeat_slow))
    result["command"] = " ".join(["python -m benchmarks.columns", *(sys.argv[1:] if argv is None else argv)])
    save(result, args.out)
    print(f"wrote {args.out / 'columns.md'} and {args.out / 'columns.json'} ({result['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
