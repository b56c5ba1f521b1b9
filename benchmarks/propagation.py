"""Benchmark: the product's `lineage.propagate.propagate` on the reference graph against plain reachability.

    python -m benchmarks.propagation [--quick] [--scale S] [--repeat R] [--repeat-slow R] [--out DIR] [--profile]

It measures the product as shipped (`lineage.bitsets`, `lineage.propagate`); nothing here
re-implements propagation. One process run measures everything, each figure beside the csgraph
baseline measured in the same run:

- Graph: `benchmarks.reference.reference_graph` (100,000 datasets, 5,000 models, 1,000,000 edges;
  --quick: a tenth). Flagged: 1% of the source datasets (seeded choice).
- Index build: `lineage.bitsets.Index(graph)` (carrying edges, topological levels, rows numbered
  by level, in-edges sorted by target). The product builds it once per graph revision and keeps it
  for the graph object (`index_of`; `cached_index` tells), so it is timed on its own and not in the
  ratios; every Headwater timing below runs with the index already cached (asserted). Finding the
  cached index is inside the timings, as the product pays it on every call: it was a key with
  `graph.number_of_edges()`, a walk over every node that cost more than the propagation itself
  (0.017 s -> 0.058 s at full scale, 3.0x -> 10.2x); it is now an identity lookup.
- Baseline A, scipy.sparse.csgraph: one `breadth_first_order` from a virtual super-source (an extra
  node with an edge to every flagged source; building the augmented CSR is inside the timing). The
  baseline's own CSR of the graph is built once (timed on its own, not in the ratios).
- Baseline B, networkx: `nx.bfs_layers(graph, flagged)`, a multi-source BFS, unioned.
- Headwater, all hard: `propagate(graph, roots)`, one Root per flagged source (into_datasets="hard",
  into_models="hard"). It returns a lazy `Reach` (bit planes); this is the figure the target
  applies to (ratio to A at most 3x).
- Headwater, mixed rules: hard/review/none, anonymisation stops/review with 2% of staging and mart
  tables verified-anonymised, some time-scoped and some model-scoped roots.
- Decoding: `reach.modes` in full on a fresh all-hard answer (every (node, root) pair as dicts),
  the presentation cost, in its own row; the `propagate` call that gives the answer is untimed.
- Reference: `lineage.propagate.propagate_worklist` (the work list the product used before, still
  the path for cyclic graphs), run once per root set (it takes ~15-18 s at full size): before/after.
- Agreement (asserted): A, B and `propagate(...).reached()` reach the same nodes and models;
  `propagate(...).modes == propagate_worklist(...).modes` for the all-hard and the mixed root sets.
- Memory: VmHWM of this process (peak resident set); the peak is reset (/proc/self/clear_refs)
  before each measured phase so each phase's own peak is known too.
- Profile (--profile, off by default): one `propagate` call (all hard) under cProfile.

Timings: every case first runs once untimed (warm-up, memory and the answer the assertions use),
then the repeated cases are sampled round-robin (one sample of each case per round) so that load
from other processes on the machine falls on baseline and product alike; the figure is the median
of the samples (all are in the JSON). Garbage collection is left enabled, as in production, and
`gc.collect()` runs before each round (a full collection of this heap takes ~0.8 s at full size, so
not before each sample; the timed cases leave no cyclic garbage and are far too short to meet a
full collection of their own). Between two samples of a case the others run, so each sample starts
with caches holding other work's data, as a call inside a risk evaluation does; the ratio row of the
target is taken this way. Back to back, with warm caches, both get faster and not equally (csgraph
the more): the two "warm" rows give that end of the range, each case many times in a row.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from benchmarks.common import memory, reset_peak
from benchmarks.machine import describe_machine
from benchmarks.reference import describe, reference_graph
from lineage.bitsets import Index, cached_index, index_of
from lineage.graph import DATASET, MODEL
from lineage.propagate import Reach, Root, propagate, propagate_worklist

ROOT = Path(__file__).resolve().parent.parent
SEED = 20240601
FLAG_SHARE = 0.01
TARGET_RATIO = 3.0


# --- measurement helpers --------------------------------------------------------------------------

def load() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


@dataclass
class Case:
    """One timed row: `fn(setup())` is timed; `setup` (optional) runs untimed before every sample."""

    name: str
    fn: Callable[[Any], Any]
    repeat: int
    setup: Callable[[], Any] | None = None
    samples: list[float] = field(default_factory=list)
    memory: dict[str, int] = field(default_factory=dict)
    value: Any = None

    def once(self) -> float:
        arg = self.setup() if self.setup else None
        start = time.perf_counter()
        self.fn(arg)
        return time.perf_counter() - start


def first_run(case: Case, keep: bool = True) -> Any:
    """The untimed first run: warm-up, the phase's peak memory, and (if `keep`) its answer."""
    arg = case.setup() if case.setup else None
    gc.collect()
    reset_peak()
    before = memory()
    start = time.perf_counter()
    value = case.fn(arg)
    elapsed = time.perf_counter() - start
    after = memory()
    case.memory = {"rss_before_kib": before["rss_kib"], "peak_kib": after["peak_kib"],
                   "peak_above_start_kib": after["peak_kib"] - before["rss_kib"]}
    case.value = value if keep else None
    return elapsed


def sample_round_robin(cases: list[Case]) -> None:
    rounds = max(c.repeat for c in cases)
    for r in range(rounds):
        gc.collect()
        for case in cases:
            if r < case.repeat:
                case.samples.append(case.once())


def sample_back_to_back(cases: list[Case], blocks: int, per_block: int) -> None:
    """Warm caches: `per_block` samples of one case in a row, then of the next; `blocks` times over."""
    for _ in range(blocks):
        gc.collect()
        for case in cases:
            case.once()  # the first of a block comes after the other case: not warm, not counted
            case.samples.extend(case.once() for _ in range(per_block))


def machine() -> dict[str, Any]:
    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "lineage"],
                                    capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    return {**describe_machine("networkx", "numpy", "scipy"), "commit": commit, "lineage_uncommitted_changes": dirty}


# --- the workload ---------------------------------------------------------------------------------

def flagged_sources(graph: nx.DiGraph, share: float = FLAG_SHARE, seed: int = SEED) -> list[str]:
    """`share` of the source datasets (no derivation into them), chosen with a seeded generator."""
    sources = sorted(n for n, a in graph.nodes(data=True) if a["kind"] == DATASET and a["name"].startswith("raw."))
    rng = np.random.default_rng(seed)
    count = max(1, round(share * len(sources)))
    return sorted(rng.choice(sources, size=count, replace=False).tolist())


def hard_roots(flagged: list[str]) -> list[Root]:
    return [Root(key=f"{d}|flagged", dataset=d, into_datasets="hard", into_models="hard") for d in flagged]


MIXED_RULES = (  # (into_datasets, into_models, anonymisation), cycled over the flagged sources
    ("hard", "hard", "none"),
    ("review", "review", "review"),
    ("none", "hard", "none"),
    ("hard", "review", "stops"),
    ("review", "none", "none"),
    ("hard", "hard", "review"),
    ("none", "none", "none"),
    ("hard", "hard", "stops"),
)


def mixed_roots(graph: nx.DiGraph, flagged: list[str], seed: int = SEED) -> tuple[list[Root], set[str]]:
    """Every rule shape the product knows, plus the anonymised set they meet on the way."""
    rng = np.random.default_rng(seed + 1)
    middle = sorted(n for n, a in graph.nodes(data=True)
                    if a["kind"] == DATASET and a["name"].startswith(("stg.", "mart.")))
    anonymised = set(rng.choice(middle, size=max(1, len(middle) // 50), replace=False).tolist())
    roots = []
    for i, dataset in enumerate(flagged):
        into_datasets, into_models, anonymisation = MIXED_RULES[i % len(MIXED_RULES)]
        effective_from = None
        if i % 5 == 1:  # time-scoped: models trained only before this date are spared
            effective_from = datetime(2023, 7, 1, tzinfo=timezone.utc) + (i % 30) * (datetime(2025, 6, 1, tzinfo=timezone.utc)
                                                                                  - datetime(2023, 7, 1, tzinfo=timezone.utc)) / 30
        models = None
        if i % 11 == 3:  # model-scoped: a fingerprint one model recorded
            consumers = sorted(n for n in graph.successors(dataset) if graph.nodes[n]["kind"] == MODEL)
            models = frozenset(consumers[:1]) if consumers else frozenset({"model:none:none"})
        roots.append(Root(key=f"{dataset}|c{i}", dataset=dataset, into_datasets=into_datasets, into_models=into_models,
                          anonymisation=anonymisation, effective_from=effective_from, models=models))
    return roots, anonymised


# --- baselines ------------------------------------------------------------------------------------

class CSR:
    """The baseline's adjacency: the whole graph as a scipy CSR array (float64 data, so csgraph does not convert)."""

    def __init__(self, graph: nx.DiGraph):
        self.nodes = list(graph)
        self.index = {node: i for i, node in enumerate(self.nodes)}
        n = len(self.nodes)
        degrees = np.fromiter((len(nbrs) for _, nbrs in graph.adjacency()), dtype=np.int64, count=n)
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(degrees, out=indptr[1:])
        index = self.index
        self.indices = np.fromiter((index[v] for _, nbrs in graph.adjacency() for v in nbrs), dtype=np.int32,
                                   count=int(indptr[-1]))
        self.indptr = indptr.astype(np.int32)


def csgraph_reach(csr: CSR, flagged: list[str]) -> np.ndarray:
    """Node numbers reachable from the flagged sources (them included): BFS from a virtual super-source."""
    n = len(csr.nodes)
    starts = np.array([csr.index[d] for d in flagged], dtype=np.int32)
    indptr = np.concatenate([csr.indptr, np.array([csr.indptr[-1] + len(starts)], dtype=np.int32)])
    indices = np.concatenate([csr.indices, starts])
    augmented = sparse.csr_array((np.ones(len(indices)), indices, indptr), shape=(n + 1, n + 1))
    order = csgraph.breadth_first_order(augmented, n, directed=True, return_predecessors=False)
    return order[1:]


def networkx_reach(graph: nx.DiGraph, flagged: list[str]) -> set[str]:
    seen: set[str] = set()
    for layer in nx.bfs_layers(graph, flagged):
        seen.update(layer)
    return seen


# --- agreement ------------------------------------------------------------------------------------

def compare_modes(want: dict[str, dict[str, str]], got: dict[str, dict[str, str]]) -> tuple[bool, str]:
    """(equal, detail) for two `Reach.modes`: the reference's (`want`) and the product's."""
    if got == want:
        return True, f"identical ({len(want):,} nodes, {sum(len(m) for m in want.values()):,} entries)"
    missing, extra = set(want) - set(got), set(got) - set(want)
    differ = sorted(n for n in set(want) & set(got) if want[n] != got[n])
    detail = f"missing {len(missing)}, extra {len(extra)}, different {len(differ)}"
    if differ:
        n = differ[0]
        keys = sorted(set(want[n]) ^ set(got[n]) or {k for k in want[n] if want[n][k] != got[n].get(k)})
        detail += f"; e.g. {n} {keys[0]}: reference {want[n].get(keys[0])} propagate {got[n].get(keys[0])}"
    return False, detail


def profile(graph: nx.DiGraph, roots: list[Root], top: int = 14) -> dict[str, Any]:
    profiler = cProfile.Profile()
    gc.collect()
    start = time.perf_counter()
    profiler.enable()
    propagate(graph, roots)
    profiler.disable()
    wall = time.perf_counter() - start
    stats = pstats.Stats(profiler)
    rows = [{"function": f"{Path(file).name}:{line}({name})", "calls": nc, "own_s": tt, "cumulative_s": ct}
            for (file, line, name), (_cc, nc, tt, ct, _callers) in stats.stats.items()]  # type: ignore[attr-defined]
    return {"wall_s_under_profiler": wall, "by_own_time": sorted(rows, key=lambda r: -r["own_s"])[:top]}


# --- the run --------------------------------------------------------------------------------------

def run(scale: float, repeat: int, repeat_slow: int, do_profile: bool) -> dict[str, Any]:
    wall = time.perf_counter()
    result: dict[str, Any] = {"machine": machine(), "scale": scale, "repeat": repeat, "repeat_slow": repeat_slow,
                              "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                              "load_average_start": load()}
    gc.collect()
    reset_peak()
    start = time.perf_counter()
    graph = reference_graph(scale=scale, seed=SEED)
    result["generate_s"] = time.perf_counter() - start
    result["memory_after_graph"] = memory()
    result["graph"] = describe(graph)
    result["graph"]["is_dag"] = nx.is_directed_acyclic_graph(graph)
    result["graph"]["longest_path_edges"] = nx.dag_longest_path_length(graph) if result["graph"]["is_dag"] else None
    print(f"graph: {result['graph']['nodes']:,} nodes, {result['graph']['edges']:,} edges "
          f"in {result['generate_s']:.1f} s", flush=True)

    flagged = flagged_sources(graph)
    roots = hard_roots(flagged)
    roots_mixed, anonymised = mixed_roots(graph, flagged)
    result["flagged_sources"] = len(flagged)
    result["mixed"] = {"rules": [list(r) for r in MIXED_RULES], "anonymised_datasets": len(anonymised),
                       "time_scoped_roots": sum(r.effective_from is not None for r in roots_mixed),
                       "model_scoped_roots": sum(r.models is not None for r in roots_mixed)}

    # per-revision builds, timed on their own (not in the ratios)
    assert cached_index(graph) is None, "the graph already carries an index"
    builds = [Case("index_build", lambda _: Index(graph), repeat_slow),
              Case("csr_build", lambda _: CSR(graph), repeat_slow)]
    for case in builds:
        first_run(case, keep=False)
    sample_round_robin(builds)
    index = index_of(graph)  # builds the product's index and caches it on the graph, as the product does
    assert index_of(graph) is index and cached_index(graph) is index
    assert index.acyclic, "the reference graph is a DAG: propagate must take the bit-plane path"
    csr = CSR(graph)
    assert sorted(csr.nodes) == sorted(index.nodes), "the baseline and the index hold different nodes"
    result["index"] = {
        "acyclic": index.acyclic, "levels": int(index.level.max()) + 1, "blocks": len(index.blocks),
        "carrying_edges": len(index.src), "feeds": len(index.feeds),
        "array_mib": sum(a.nbytes for a in (index.kind, index.level, index.order, index.src, index.dst,
                                            index.into_models, index.group, index.latest, index.feeds)) / 1024**2,
    }

    # the timed cases: baselines and the product, sampled round-robin
    cases = [
        Case("csgraph_super_source", lambda _: csgraph_reach(csr, flagged), repeat),
        Case("networkx_bfs_layers", lambda _: networkx_reach(graph, flagged), repeat),
        Case("headwater_propagate_hard", lambda _: propagate(graph, roots), repeat),
        Case("headwater_propagate_mixed", lambda _: propagate(graph, roots_mixed, anonymised=anonymised), repeat),
        Case("headwater_decode_modes_hard", lambda reach: reach.modes, repeat_slow,
             setup=lambda: propagate(graph, roots)),
    ]
    print("  first runs (warm-up, memory, answers) ...", flush=True)
    for case in cases:
        first_run(case, keep=case.name != "headwater_decode_modes_hard")
    print(f"  sampling: {repeat} rounds ({repeat_slow} for decoding) ...", flush=True)
    sample_round_robin(cases)
    # the same two figures with warm caches: each case many times in a row (the rounds above put other
    # work between two samples of a case, as a real call has; this is the other end of the range)
    warm = [Case("csgraph_super_source_warm", cases[0].fn, repeat),
            Case("headwater_propagate_hard_warm", cases[2].fn, repeat)]
    for case in warm:
        case.memory = cases[0 if case is warm[0] else 2].memory
    sample_back_to_back(warm, blocks=5, per_block=max(1, repeat // 2))
    assert cached_index(graph) is index, "propagate rebuilt the index during the timings"

    # the reference work list, once per root set (the before / after)
    print("  reference propagate_worklist, all hard and mixed (once each) ...", flush=True)
    reference = [Case("reference_worklist_hard", lambda _: propagate_worklist(graph, roots), 1),
                 Case("reference_worklist_mixed",
                      lambda _: propagate_worklist(graph, roots_mixed, anonymised=anonymised), 1)]
    for case in reference:
        case.samples.append(first_run(case))

    timings: dict[str, Any] = {}
    for case in builds + cases + warm + reference:
        timings[case.name] = {"median_s": statistics.median(case.samples), "min_s": min(case.samples),
                              "max_s": max(case.samples), "samples_s": case.samples, "memory": case.memory}
        print(f"  {case.name:<30} {timings[case.name]['median_s']:9.4f} s  "
              f"(n={len(case.samples)}, peak +{case.memory['peak_above_start_kib'] / 1024:,.0f} MiB)", flush=True)

    # agreement
    by_name = {case.name: case for case in cases + reference}
    reached_a = {csr.nodes[i] for i in by_name["csgraph_super_source"].value.tolist()}
    reached_b = by_name["networkx_bfs_layers"].value
    reach_hard: Reach = by_name["headwater_propagate_hard"].value
    reach_mixed: Reach = by_name["headwater_propagate_mixed"].value
    reached_h = reach_hard.reached()
    is_model = lambda n: graph.nodes[n]["kind"] == MODEL
    models = {n for n in reached_a if is_model(n)}
    assert reached_a == reached_b, "csgraph and networkx disagree on the reached nodes"
    assert {n for n in reached_b if is_model(n)} == models, "networkx reaches other models"
    assert {n for n in reached_h if is_model(n)} == models, "Headwater reaches other models"
    assert reached_h == reached_a, "Headwater reaches other nodes"
    agree: dict[str, str] = {}
    want_hard = by_name["reference_worklist_hard"].value.modes
    got_hard = reach_hard.modes
    ok, agree["hard"] = compare_modes(want_hard, got_hard)
    assert ok, f"propagate and propagate_worklist differ (all hard): {agree['hard']}"
    assert set(want_hard) == reached_h, "reached() is not the set of nodes in the reference answer (all hard)"
    entries_hard = sum(len(m) for m in got_hard.values())
    want_hard = got_hard = None
    want_mixed = by_name["reference_worklist_mixed"].value.modes
    reached_mixed = reach_mixed.reached()
    got_mixed = reach_mixed.modes
    ok, agree["mixed"] = compare_modes(want_mixed, got_mixed)
    assert ok, f"propagate and propagate_worklist differ (mixed rules): {agree['mixed']}"
    assert set(want_mixed) == reached_mixed, "reached() is not the set of nodes in the reference answer (mixed)"
    modes_mixed = {m for found in got_mixed.values() for m in found.values()}
    entries_mixed = sum(len(m) for m in got_mixed.values())
    want_mixed = got_mixed = None
    for case in cases + reference:
        case.value = None
    reach_hard = reach_mixed = None
    gc.collect()
    result["reached"] = {
        "nodes": len(reached_a), "datasets": sum(1 for n in reached_a if graph.nodes[n]["kind"] == DATASET),
        "models": len(models), "models_total": result["graph"]["nodes_by_kind"].get(MODEL, 0),
        "root_entries_hard": entries_hard, "mean_roots_per_reached_node_hard": entries_hard / max(1, len(reached_h)),
        "nodes_mixed": len(reached_mixed), "models_mixed": sum(1 for n in reached_mixed if is_model(n)),
        "root_entries_mixed": entries_mixed, "modes_seen_mixed": sorted(modes_mixed),
    }
    result["agreement"] = {
        "reached": "csgraph, networkx and propagate(...).reached() (all hard) reach the same nodes and models",
        "modes_hard": agree["hard"], "modes_mixed": agree["mixed"],
    }
    print(f"  reached {len(reached_a):,} nodes, {len(models):,} models; {entries_hard:,} (node, root) entries; "
          f"modes agree with the reference: hard {agree['hard']}, mixed {agree['mixed']}", flush=True)

    if do_profile:
        print("  profiling one propagate call (hard) ...", flush=True)
        result["profile_hard"] = profile(graph, roots)

    base = timings["csgraph_super_source"]["median_s"]
    result["ratios_to_csgraph"] = {name: timings[name]["median_s"] / base for name in timings
                                   if not name.endswith(("_build", "_warm"))}
    result["ratios_to_csgraph"]["csgraph_super_source_warm"] = 1.0
    result["ratios_to_csgraph"]["headwater_propagate_hard_warm"] = (
        timings["headwater_propagate_hard_warm"]["median_s"] / timings["csgraph_super_source_warm"]["median_s"])
    result["target"] = {"row": "headwater_propagate_hard", "max_ratio": TARGET_RATIO,
                        "ratio": result["ratios_to_csgraph"]["headwater_propagate_hard"],
                        "met": result["ratios_to_csgraph"]["headwater_propagate_hard"] <= TARGET_RATIO}
    result["speedup_over_reference"] = {
        "hard": timings["reference_worklist_hard"]["median_s"] / timings["headwater_propagate_hard"]["median_s"],
        "mixed": timings["reference_worklist_mixed"]["median_s"] / timings["headwater_propagate_mixed"]["median_s"],
    }
    result["timings"] = timings
    result["memory_end"] = memory()
    result["load_average_end"] = load()
    result["wall_s"] = time.perf_counter() - wall
    return result


def timing_row(timings: dict[str, Any], ratios: dict[str, float], name: str, label: str, note: str = "") -> str:
    """One case's markdown row: median, spread, runs, ratio to the baseline, peak memory, note."""
    s = timings[name]
    ratio = ratios.get(name)
    n = len(s["samples_s"])
    spread = f"{s['min_s']:.4f} - {s['max_s']:.4f}" if n > 1 else "(one run)"
    return (f"| {label} | {s['median_s']:.4f} | {spread} | {n} | {'' if ratio is None else f'{ratio:,.1f}x'} | "
            f"{s['memory']['peak_above_start_kib'] / 1024:,.0f} MiB | {note} |")


def markdown(result: dict[str, Any]) -> str:
    m, g, t, r, x = result["machine"], result["graph"], result["timings"], result["reached"], result["ratios_to_csgraph"]
    mib = lambda kib: f"{kib / 1024:,.0f} MiB"

    def row(name: str, label: str, note: str = "") -> str:
        return timing_row(t, x, name, label, note)

    target = result["target"]
    ix = result["index"]
    speed = result["speedup_over_reference"]
    commit = m.get("commit") or "unknown"
    if m.get("lineage_uncommitted_changes"):
        commit += " (lineage/ with uncommitted changes)"
    lines = [
        "# Lineage propagation benchmark",
        "",
        f"`{result.get('command', 'python -m benchmarks.propagation')}` (scale {result['scale']}), "
        f"run {result['started']} at commit {commit}, {result['wall_s']:.0f} s wall in all. Load average "
        f"(1, 5, 15 min) {result['load_average_start']} at the start, {result['load_average_end']} at the end.",
        "",
        f"Machine: {m['nproc']} CPUs (`nproc`), {m['cpu']}, {m['ram_gib']} GiB RAM, {m['os']}. "
        f"Python {m['python']}, networkx {m['networkx']}, numpy {m['numpy']}, scipy {m['scipy']}.",
        "",
        "## Graph",
        "",
        f"`benchmarks.reference.reference_graph` (seed {SEED}), generated in {result['generate_s']:.1f} s: "
        f"{g['nodes']:,} nodes ({', '.join(f'{v:,} {k}s' for k, v in g['nodes_by_kind'].items())}), "
        f"{g['edges']:,} edges ({', '.join(f'{v:,} {k}' for k, v in g['edges_by_kind'].items())}); "
        f"{g['namespaces']} namespaces; a DAG ({g['is_dag']}), longest path {g['longest_path_edges']} edges; "
        f"dataset fan-out median {g['median_dataset_fan_out']}, max {g['max_dataset_fan_out']:,}, "
        f"{g['datasets_with_fan_out_over_1000']} datasets above 1,000.",
        "",
        f"Product index (`lineage.bitsets.Index`): {ix['levels']} levels, {ix['blocks']} blocks, "
        f"{ix['carrying_edges']:,} edges that carry conditions ({ix['feeds']:,} feeds), "
        f"{ix['array_mib']:.0f} MiB of arrays (plus the node list and numbering dict).",
        "",
        f"Flagged: {result['flagged_sources']} source datasets (1% of the sources, seeded). They reach "
        f"{r['nodes']:,} nodes ({r['datasets']:,} datasets, {r['models']:,} of {r['models_total']:,} models); "
        f"the all-hard answer holds {r['root_entries_hard']:,} (node, root) entries, "
        f"{r['mean_roots_per_reached_node_hard']:.0f} roots per reached node on average. Mixed rules "
        f"({result['mixed']['anonymised_datasets']:,} verified-anonymised datasets, "
        f"{result['mixed']['time_scoped_roots']} time-scoped and {result['mixed']['model_scoped_roots']} model-scoped "
        f"roots): {r['nodes_mixed']:,} nodes, {r['models_mixed']:,} models, {r['root_entries_mixed']:,} entries "
        f"(modes {', '.join(r['modes_seen_mixed'])}).",
        "",
        "## Results",
        "",
        f"Median of the samples, taken round-robin ({result['repeat']} rounds; {result['repeat_slow']} for the "
        f"builds and the decoding) after one untimed first run; ratio = median / median of the csgraph "
        f"super-source BFS of this run. Memory: the phase's peak resident set above the process's resident set "
        f"when the phase started (first run). The two 'warm' rows run each case "
        f"{max(1, result['repeat'] // 2)} times in a row (5 blocks) instead, so its data stays in the CPU caches; "
        f"their ratio is to each other.",
        "",
        "| what | median s | min - max s | runs | vs csgraph | peak memory | note |",
        "|---|---:|---:|---:|---:|---:|---|",
        row("index_build", "Index build: `lineage.bitsets.Index(graph)`", "once per graph revision, kept for the "
            "graph object; not in the ratios"),
        row("csr_build", "the baseline's CSR of the graph (scipy)", "once per revision; not in the ratios"),
        row("csgraph_super_source", "A: csgraph `breadth_first_order` from a virtual super-source", "baseline"),
        row("networkx_bfs_layers", "B: networkx `bfs_layers`, multi-source", ""),
        row("headwater_propagate_hard", "Headwater `propagate(graph, roots)`, all hard, index cached",
            f"target <= {TARGET_RATIO:.0f}x csgraph: **{'met' if target['met'] else 'missed'}**"),
        row("headwater_propagate_mixed", "Headwater `propagate`, mixed rules, index cached", ""),
        row("csgraph_super_source_warm", "A, warm caches (back to back)", "baseline of the next row"),
        row("headwater_propagate_hard_warm", "Headwater `propagate`, all hard, warm caches (back to back)",
            "ratio to the warm A"),
        row("headwater_decode_modes_hard", "decoding `reach.modes` in full (all hard)",
            f"presentation cost: {r['root_entries_hard']:,} entries as dicts"),
        row("reference_worklist_hard", "before: `propagate_worklist`, all hard",
            f"{speed['hard']:,.0f}x slower than `propagate`"),
        row("reference_worklist_mixed", "before: `propagate_worklist`, mixed rules",
            f"{speed['mixed']:,.0f}x slower than `propagate`"),
        "",
        f"Peak memory of the process: {mib(result['memory_end']['peak_kib'])} "
        f"(resident after generating the graph: {mib(result['memory_after_graph']['rss_kib'])}).",
        "",
        "## Agreement (asserted in the run)",
        "",
        f"- {result['agreement']['reached']}.",
        f"- `propagate(graph, roots).modes == propagate_worklist(graph, roots).modes`, all hard: "
        f"{result['agreement']['modes_hard']}.",
        f"- The same for the mixed rules: {result['agreement']['modes_mixed']}.",
        "- `reached()` is the node set of the reference answer for both root sets.",
        "",
    ]
    prof = result.get("profile_hard")
    if prof:
        lines += [
            f"## Profile (`--profile`)\n\ncProfile, one `propagate` call (all hard): "
            f"{prof['wall_s_under_profiler']:.3f} s under the profiler. Top by own time:",
            "",
            "| function | calls | own s | cumulative s |",
            "|---|---:|---:|---:|",
        ]
        lines += [f"| `{p['function']}` | {p['calls']:,} | {p['own_s']:.4f} | {p['cumulative_s']:.4f} |"
                  for p in prof["by_own_time"][:12]]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the reference size")
    parser.add_argument("--scale", type=float, default=None, help="size relative to the reference (default 1)")
    parser.add_argument("--repeat", type=int, default=61, help="rounds of the baselines and propagate (median)")
    parser.add_argument("--repeat-slow", type=int, default=9, help="runs of the index builds and the decoding (median)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--profile", action="store_true", help="also profile one propagate call (cProfile)")
    parser.add_argument("--no-profile", action="store_true", help=argparse.SUPPRESS)  # the old flag; now the default
    args = parser.parse_args(argv)
    scale = args.scale if args.scale is not None else (0.1 if args.quick else 1.0)
    result = run(scale, max(1, args.repeat), max(1, args.repeat_slow), args.profile)
    result["command"] = " ".join(["python -m benchmarks.propagation", *(sys.argv[1:] if argv is None else argv)])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "propagation.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (args.out / "propagation.md").write_text(markdown(result))
    print(f"wrote {args.out / 'propagation.md'} and {args.out / 'propagation.json'} ({result['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
