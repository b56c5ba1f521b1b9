"""How long the lineage viewer takes to draw in headless Chromium, beside default pyvis, in one run.

    python -m benchmarks.viewer            # 1,000 / 5,000 / 20,000 nodes; default pyvis capped at 120 s each
    python -m benchmarks.viewer --quick    # 1,000 and 5,000 nodes; default pyvis at 1,000 nodes, capped at 10 s

Graphs are the reference platform's shape (`benchmarks.reference`) at the given node count, with
about three edges per node (what a lineage view holds; the full reference graph has ten). Each page
is opened cold (a new browser context) in Debian's Chromium through Playwright.

- Headwater: `lineage.view.build_view` + `lineage.viewer.render_page`, the page `headwater view`
  writes, with a state and hover details for every node. "Drawn" is the page's own clock
  (`performance.now()`, from navigation start) at vis-network's first `afterDrawing`: the layout is
  final when it is first drawn, as positions come from Python.
- Baseline: default pyvis (`Network(directed=True, cdn_resources="in_line")`, physics on, its own
  template); "settled" is `performance.now()` at vis-network's `stabilizationIterationsDone`, when
  the picture stops moving. Its CDN links are refused (this machine reaches no CDN), which only
  makes it faster. A run that has not settled by the cap is reported as "more than the cap".
- 20,000 nodes are past the default limit (5,000): the default view groups them; the ungrouped
  20,000-node page is measured too (`--max-nodes 20000`).

Medians of `--repeat` runs. Page build time in Python (layout, states, rendering) is reported apart.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from benchmarks.machine import describe_machine
from benchmarks.reference import reference_graph
from lineage.view import DEFAULT_MAX_NODES, build_view
from lineage.viewer import STATES, NodeInfo, render_page

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-default-apps"]
TARGET_S = 2.0
TARGET_NODES = 5_000


def view_graph(nodes: int, seed: int = 7) -> nx.DiGraph:
    """A graph of the reference platform's shape with exactly `nodes` nodes (jobs included)."""
    models = max(1, nodes // 20)
    datasets = nodes - models
    graph = reference_graph(datasets=datasets, models=models, edges=3 * nodes, seed=seed)
    extra = graph.number_of_nodes() - nodes  # the generator adds jobs on top: trim datasets' jobs to fit
    if extra > 0:
        rng = np.random.default_rng(seed)
        drop = rng.choice([n for n in graph if graph.nodes[n]["kind"] == "dataset" and graph.in_degree(n) == 0],
                          size=extra, replace=False)
        graph.remove_nodes_from(drop.tolist())
    return graph


def node_info(graph: nx.DiGraph, seed: int = 7) -> dict[str, NodeInfo]:
    """Realistic hover details: every field a dataset shows, a state, and findings on a fifth of the nodes."""
    rng = np.random.default_rng(seed)
    states = [s for s in STATES if s != "neutral"]
    share = {"compromised": 0.01, "check_errored": 0.01, "stale": 0.03, "unverified": 0.02, "tainted": 0.2,
             "warning": 0.25, "healthy": 0.5}
    weights = np.array([share[s] for s in states])  # a KeyError names a new state that needs a share here
    picks = rng.choice(len(states), size=len(graph), p=weights / weights.sum())
    note = ("Records were exposed to an unauthorised party; anything trained on them inherits the exposure "
            "and must be reassessed before the next release.")
    info = {}
    for i, node in enumerate(graph):
        attrs = graph.nodes[node]
        if attrs["kind"] == "job":
            info[node] = NodeInfo("neutral", [("description", "—")])
            continue
        fields = [("owner", f"team-{i % 40}@example.com"), ("origin", str(attrs.get("origin") or "internal")),
                  ("location", f"s3://lake/{attrs['namespace']}/{attrs['name']}.parquet"),
                  ("classifications", "personal data" if attrs.get("personal_data") else "none declared"),
                  ("legal basis", "contract"), ("licence", "proprietary"),
                  ("last check", "passed at 2026-11-20 06:00 UTC"), ("fingerprint", f"sha256:{i:064x}"),
                  ("open incidents", "none")]
        findings = [{"severity": "high", "title": "Security breach reported", "condition": "breach_flagged",
                     "root": node, "mode": "review", "note": note, "citations": ["GDPR Art. 33(1)", "GDPR Art. 34"]}
                    ] if i % 5 == 0 else []
        info[node] = NodeInfo(states[picks[i]], fields, findings)
    return info


def headwater_page(graph: nx.DiGraph, folder: Path, max_nodes: int) -> tuple[Path, float, int, int]:
    started = time.perf_counter()
    view = build_view(graph, max_nodes=max_nodes)
    page = render_page(view, node_info(graph), title="Benchmark", subtitle=f"{len(graph):,} nodes")
    built = time.perf_counter() - started
    path = folder / f"headwater-{len(graph)}-{max_nodes}.html"
    path.write_text(page, encoding="utf-8")
    return path, built, len(view.nodes), len(view.edges)


def pyvis_page(graph: nx.DiGraph, folder: Path) -> Path:
    """Default pyvis. Nodes and edges go in through its Node and Edge classes: `add_node`/`add_edge` scan
    lists (quadratic) and would take longer to build 20,000 nodes than the browser takes to draw them."""
    from pyvis.edge import Edge
    from pyvis.network import Network
    from pyvis.node import Node

    net = Network(directed=True, cdn_resources="in_line")
    for node in graph:
        net.nodes.append(Node(node, "dot", graph.nodes[node]["name"], title=node).options)
        net.node_ids.append(node)
        net.node_map[node] = net.nodes[-1]
    net.edges.extend(Edge(u, v, directed=True).options for u, v in graph.edges)
    path = folder / f"pyvis-{len(graph)}.html"
    net.write_html(str(path))
    return path


HOOK = """() => new Promise(resolve => {
  if (typeof network === 'undefined') return resolve(null);
  network.once('stabilizationIterationsDone', () => resolve(performance.now()));
})"""


def open_and_time(browser: Any, path: Path, *, baseline: bool) -> float:
    """Seconds from navigation start to drawn (Headwater) or settled (pyvis). Waits as long as it takes:
    a page busy computing its layout blocks every call into it, so callers cap the time from outside."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort())
        page = context.new_page()
        page.set_default_timeout(0)
        page.goto(path.as_uri(), wait_until="commit")
        probe = "typeof network !== 'undefined'" if baseline else "window.headwater ? window.headwater.drawnAt : null"
        while not (found := page.evaluate(probe)):
            time.sleep(0.02)
        return (page.evaluate(f"({HOOK})()") if baseline else found) / 1000
    finally:
        context.close()


def settle_in_child(path: Path, cap_s: float) -> float | None:
    """Default pyvis's settling time, or None past the cap. It runs in a child process group, killed at the
    cap: while vis-network lays out thousands of nodes the page answers nothing, not even a timeout."""
    import os
    import signal
    import subprocess

    child = subprocess.Popen([sys.executable, "-m", "benchmarks.viewer", "--settle", str(path)],
                             stdout=subprocess.PIPE, text=True, start_new_session=True, cwd=ROOT)
    try:
        out, _ = child.communicate(timeout=cap_s + 20)  # browser start-up is not the page's time
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        return None
    settled = float(out.strip().splitlines()[-1])
    return settled if settled <= cap_s else None


def _settle_main(path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        print(open_and_time(browser, path, baseline=True), flush=True)
        browser.close()


def run(quick: bool = False, repeat: int | None = None, *, sizes: tuple[int, ...] | None = None,
        cap_s: float | None = None) -> dict[str, Any]:
    """Every figure, in the shape the harness (`python -m benchmarks`) tabulates."""
    from playwright.sync_api import sync_playwright

    sizes = sizes or ((1_000, 5_000) if quick else (1_000, 5_000, 20_000))
    baseline_sizes = sizes[:1] if quick else sizes
    cap_s = cap_s or (10.0 if quick else 120.0)
    repeat = repeat or (3 if quick else 5)
    started = time.perf_counter()
    figures: list[dict[str, Any]] = []
    detail: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as playwright:
        folder = Path(tmp)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            for size in sizes:
                graph = view_graph(size)
                runs = {}
                for label, max_nodes in (("", max(size, DEFAULT_MAX_NODES)),) + (
                        (("grouped", DEFAULT_MAX_NODES),) if size > DEFAULT_MAX_NODES else ()):
                    path, built, shown, drawn_edges = headwater_page(graph, folder, max_nodes)
                    _say(f"viewer: {size:,} nodes{' (' + label + ')' if label else ''}: page built in {built:.2f} s, "
                         f"{repeat} cold loads")
                    times = [open_and_time(browser, path, baseline=False) for _ in range(repeat)]
                    runs[label] = {"drawn_s": statistics.median(times), "samples_s": times,
                                   "build_s": built, "shown_nodes": shown, "page_bytes": path.stat().st_size,
                                   "edges": drawn_edges}
                base = None
                if size in baseline_sizes:
                    path = pyvis_page(graph, folder)
                    _say(f"viewer: {size:,} nodes: default pyvis settling (cap {cap_s:g} s)")
                    settled = settle_in_child(path, cap_s)
                    base = {"settled_s": settled, "cap_s": cap_s, "page_bytes": path.stat().st_size}
                detail[str(size)] = {"headwater": runs, "pyvis_default": base}
                figures += _figures(size, runs, base)
        finally:
            browser.close()
    return {"benchmark": "viewer", "quick": quick, "repeat": repeat, "figures": figures, "detail": detail,
            "machine": describe_machine("pyvis", "playwright", "networkx"), "chromium": _chromium_version(),
            "wall_s": round(time.perf_counter() - started, 1)}


def _figures(size: int, runs: dict[str, Any], base: dict[str, Any] | None) -> list[dict[str, Any]]:
    full = runs[""]
    settled = base["settled_s"] if base else None
    censored = bool(base) and settled is None
    baseline = (base["cap_s"] if censored else settled) if base else None
    ratio = full["drawn_s"] / baseline if full["drawn_s"] and baseline else None
    met = (full["drawn_s"] is not None and full["drawn_s"] < TARGET_S) if size == TARGET_NODES else None
    figures = [{
        "figure": f"viewer: {size:,}-node view drawn in headless Chromium (baseline: default pyvis settled)",
        "headwater": _r(full["drawn_s"]), "baseline": _r(baseline), "baseline_censored": censored,
        "ratio": _r(ratio, 4), "ratio_bound": "<" if censored else None,
        "target": f"< {TARGET_S:g} s" if size == TARGET_NODES else "—", "met": met, "unit": "s",
    }]
    if "grouped" in runs:
        grouped = runs["grouped"]
        figures.append({
            "figure": f"viewer: {size:,} nodes, default view (grouped into {grouped['shown_nodes']} groups) drawn",
            "headwater": _r(grouped["drawn_s"]), "baseline": None, "ratio": None,
            "target": f"past {DEFAULT_MAX_NODES:,} nodes: grouped, drawn < {TARGET_S:g} s",
            "met": grouped["drawn_s"] is not None and grouped["drawn_s"] < TARGET_S, "unit": "s",
        })
    return figures


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _chromium_version() -> str | None:
    import subprocess

    try:
        return subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Viewer benchmark", "",
        f"`python -m benchmarks.viewer{' --quick' if result['quick'] else ''}` · {result['chromium']} · "
        f"medians of {result['repeat']} cold page loads · wall {result['wall_s']} s", "",
        "| figure | headwater s | baseline s | ratio | target | met |", "|---|---:|---:|---:|---|---|",
    ]
    for f in result["figures"]:
        base = "—" if f["baseline"] is None else ("> " if f.get("baseline_censored") else "") + f"{f['baseline']:g}"
        ratio = "—" if f["ratio"] is None else (f.get("ratio_bound") or "") + f"{f['ratio']:g}"
        met = {True: "yes", False: "no", None: "—"}[f["met"]]
        lines.append(f"| {f['figure']} | {f['headwater']} | {base} | {ratio} | {f['target']} | {met} |")
    lines += ["", "| nodes | page | shown | edges | page MB | Python build s | drawn s (samples) |",
              "|---:|---|---:|---:|---:|---:|---|"]
    for size, entry in result["detail"].items():
        for label, run_ in entry["headwater"].items():
            samples = ", ".join(f"{s:.2f}" for s in run_["samples_s"])
            lines.append(f"| {int(size):,} | headwater{' ' + label if label else ''} | {run_['shown_nodes']:,} | "
                         f"{run_['edges']:,} | {run_['page_bytes'] / 1e6:.1f} | {run_['build_s']:.2f} | {samples} |")
        if entry["pyvis_default"]:
            b = entry["pyvis_default"]
            settled = f"> {b['cap_s']:g} (cap)" if b["settled_s"] is None else f"{b['settled_s']:.2f}"
            lines.append(f"| {int(size):,} | default pyvis | {int(size):,} | — | {b['page_bytes'] / 1e6:.1f} | — | {settled} |")
    machine = result["machine"]
    lines += ["", f"Machine: {machine['cpu']}, {machine['nproc']} cores, {machine['ram_gib']} GiB, {machine['os']}, "
              f"Python {machine['python']}, pyvis {machine['pyvis']}, Playwright {machine['playwright']}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,000 and 5,000 nodes; pyvis at 1,000, capped at 10 s")
    parser.add_argument("--repeat", type=int, default=None, help="cold page loads per page (median)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--settle", type=Path, help=argparse.SUPPRESS)  # the child that times one pyvis page
    args = parser.parse_args(argv)
    if args.settle:
        _settle_main(args.settle)
        return
    result = run(args.quick, args.repeat)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "viewer.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    (args.out / "viewer.md").write_text(markdown(result))
    sys.stdout.write(markdown(result))
    print(f"wrote {args.out / 'viewer.md'} and {args.out / 'viewer.json'} ({result['wall_s']:.0f} s)")


if __name__ == "__main__":
    main()
