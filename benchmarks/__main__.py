"""Every benchmark of the project in one run, each figure beside its baseline from the same run.

    python -m benchmarks            # the reference scale (docs/scale.md); writes benchmarks/RESULTS.md
    python -m benchmarks --quick    # reduced sizes (about 2.5 minutes); writes benchmarks/results/quick/
    python -m benchmarks --smoke    # the smallest sizes that run every path, for CI (about 40 s); results/smoke/
    python -m benchmarks --only load,ingestion,history

Benchmarks: load (catalog files and OpenLineage into SQLite and PostgreSQL), queries (graph build,
upstream / downstream / impact against scipy csgraph, API latency under 16 clients), propagation,
columns (column-aware propagation against table-level), risk, ingestion (HTTP, 16 clients), checks
and the gate on unchanged data (against pandas / raw SQL), viewer (`benchmarks.viewer`, headless
Chromium against default pyvis), CLI start-up, history (load and ingestion with the change history on
vs off, `--as-of` on the present vs none, the past rebuilt).

A bar missed is reported (RESULTS.md says met: no), not raised: figures on a loaded CI machine are
not the product's. A benchmark that crashes, or whose answers disagree with its baseline's (each
benchmark asserts that), makes the run exit 1.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from benchmarks.common import ROOT, figure, log, postgres

BENCHMARKS = ("load", "queries", "propagation", "columns", "risk", "ingestion", "checks", "viewer", "startup", "history")


# --smoke: the smallest sizes at which every benchmark still runs each code path and checks its
# answers against its baseline; CI runs it so the benchmarks cannot rot, in well under a minute.
SMOKE = {"load": {"scale": 0.004}, "queries": {"scale": 0.004, "requests": 32}, "ingestion": {"events": 200},
         "risk": {"scale": 0.01}, "viewer": {"sizes": (300,), "cap_s": 3.0, "repeat": 1},
         "history": {"scale": 0.004, "events": 200}}


def _smaller(name: str, size: str) -> dict[str, Any]:
    return SMOKE.get(name, {}) if size == "smoke" else {}


def _load(size: str, pg: str | None) -> dict[str, Any]:
    from benchmarks import load

    return load.run(size != "full", pg_server=pg, **_smaller("load", size))


def _queries(size: str, pg: str | None) -> dict[str, Any]:
    from benchmarks import queries

    return queries.run(size != "full", **_smaller("queries", size))


def _ingestion(size: str, pg: str | None) -> dict[str, Any]:
    from benchmarks import ingestion

    return ingestion.run(size != "full", **_smaller("ingestion", size))


def _history(size: str, pg: str | None) -> dict[str, Any]:
    """`benchmarks.history.run`: load (SQLite, and PostgreSQL when the run has a server; not at smoke size,
    which must stay fast) and ingestion with the history on vs off, `--as-of` on the present vs none."""
    from benchmarks import history

    return history.run(size != "full", pg_server=pg if size != "smoke" else None, **_smaller("history", size))


def _risk(size: str, pg: str | None) -> dict[str, Any]:
    from benchmarks import risk

    return risk.run(size != "full", **_smaller("risk", size))


def _propagation(size: str, pg: str | None) -> dict[str, Any]:
    """`benchmarks.propagation.run` (it asserts agreement with csgraph, networkx and the work list)."""
    from benchmarks import propagation

    scale, repeat, rounds = {"full": (1.0, 61, 9), "quick": (0.05, 5, 2), "smoke": (0.01, 3, 1)}[size]
    result = propagation.run(scale, repeat, rounds, False)
    t = result["timings"]
    base = t["csgraph_super_source"]["median_s"]
    hard = t["headwater_propagate_hard"]["median_s"]
    return {"figures": [
        figure(f"propagation: {result['flagged_sources']} flagged sources to every node, all hard "
               f"({result['graph']['nodes']:,} nodes, {result['graph']['edges']:,} edges), vs csgraph super-source BFS",
               hard, base, target=f"<= {propagation.TARGET_RATIO:g}x csgraph", met=hard / base <= propagation.TARGET_RATIO),
        figure("propagation: mixed rules (hard / review / none, anonymisation, time- and model-scoped roots)",
               t["headwater_propagate_mixed"]["median_s"], base, target="report"),
        figure("propagation: index build (once per graph revision)", t["index_build"]["median_s"],
               t["csr_build"]["median_s"], target="report; baseline: csgraph's CSR build"),
    ], "notes": [f"propagation agreement: {result['agreement']['reached']}; modes agree with the work list: "
                 f"{result['agreement']['modes_hard']} (hard), {result['agreement']['modes_mixed']} (mixed)"]}


def _columns(size: str, pg: str | None) -> dict[str, Any]:
    """`benchmarks.columns.run`: column-aware propagation (20 columns per dataset) against table-level
    propagation of the same roots (it asserts the column-aware answer is inside the table-level one,
    and `reach_columns` against a plain BFS); its own report goes to benchmarks/results[/SIZE]/columns.md."""
    from benchmarks import columns

    # the column-aware case takes seconds at full scale: fewer rounds than propagation's 61
    scale, repeat, rounds = {"full": (1.0, 5, 1), "quick": (0.05, 5, 2), "smoke": (0.01, 3, 1)}[size]
    result = columns.run(scale, repeat, rounds)
    result["command"] = f"python -m benchmarks --only columns ({size})"
    columns.save(result, ROOT / "benchmarks" / "results" / ("" if size == "full" else size))
    t, c = result["timings"], result["columns"]
    table, aware = t["table_propagate"]["median_s"], t["column_aware"]["median_s"]
    return {"figures": [
        figure(f"columns: column-aware propagation, {c['seeded_roots']} roots by their classified columns "
               f"({c['columns']:,} columns, {c['flows']:,} flows, {c['assumed_hops']:,} assumed hops), "
               f"vs table-level propagate of the same roots", aware, table,
               target=f"<= {columns.TARGET_RATIO:g}x table-level", met=aware / table <= columns.TARGET_RATIO),
        figure("columns: reach_columns alone", t["reach_columns_only"]["median_s"], table, target="report"),
        figure("columns: column graph build (once per graph revision)", t["column_graph_build"]["median_s"],
               t["index_build"]["median_s"], target="report; baseline: the propagation index build"),
    ], "notes": [f"columns: column-aware answer inside the table-level one for every root; reach_columns equals "
                 f"a plain BFS on {len(result['bfs_check']['roots'])} roots"]}


def _checks(size: str, pg: str | None) -> dict[str, Any]:
    """`benchmarks.checks.benchmark`; its cached-vs-cold rows are the gate-on-unchanged-data figures."""
    import shutil

    from benchmarks import checks

    if pg is None:
        raise RuntimeError("the checks benchmark needs PostgreSQL")
    folder = Path(tempfile.mkdtemp(prefix="headwater-checks-"))
    try:
        rows = {"full": 1_000_000, "quick": 50_000, "smoke": 5_000}[size]
        result = checks.benchmark(rows, 3 if size == "full" else 1, folder, pg, False, log)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    disagreements = {fmt: v["disagreements"] for fmt, v in result["verdicts"].items() if v["disagreements"]}
    if disagreements:
        raise AssertionError(f"checks: Headwater and the baseline disagree: {disagreements}")
    figures = []
    for row in result["figures"]:
        if row["baseline_s"] is None and not row["target"]:
            continue  # breakdown rows stay in the checks benchmark's own report
        name = row["figure"]
        if "cached run_checks" in name:
            name = "gate on unchanged data: " + name
        figures.append(figure(f"checks ({rows:,} rows): {name}", row["headwater_s"], row["baseline_s"],
                              ratio=row["ratio"], target=row["target"] or "report", met=row["met"]))
    return {"figures": figures, "notes": [f"checks: {n}" for n in result["notes"]]}


def _viewer(size: str, pg: str | None) -> dict[str, Any]:
    if importlib.util.find_spec("benchmarks.viewer") is None:
        return {"figures": [figure("viewer: 5,000-node focus view drawn in headless Chromium", None,
                                   target="< 2 s", note="not run: benchmarks/viewer.py is not there")]}
    from benchmarks import viewer

    return viewer.run(size != "full", **_smaller("viewer", size))


def _startup(size: str, pg: str | None) -> dict[str, Any]:
    """`headwater --help` in a fresh interpreter, against a bare `python -c pass`."""
    def timed(args: list[str]) -> float:
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            subprocess.run(args, check=True, capture_output=True, cwd=ROOT)
            samples.append(time.perf_counter() - start)
        return sorted(samples)[len(samples) // 2]

    cli = timed([sys.executable, "-m", "api.cli", "--help"])
    bare = timed([sys.executable, "-c", "pass"])
    return {"figures": [figure("CLI start-up: `headwater --help`, fresh interpreter", cli, bare,
                               target="< 0.5 s (no GX import)", met=cli < 0.5)]}


RUNNERS: dict[str, Callable[[bool, str | None], dict[str, Any]]] = {
    "load": _load, "queries": _queries, "propagation": _propagation, "columns": _columns, "risk": _risk, "ingestion": _ingestion,
    "checks": _checks, "viewer": _viewer, "startup": _startup, "history": _history,
}


def machine() -> dict[str, Any]:
    from benchmarks.machine import describe_machine

    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    return {**describe_machine("networkx", "numpy", "scipy", "sqlalchemy", "fastapi", "uvicorn", "great-expectations",
                               "pandas", "psycopg"), "commit": commit, "load_average": list(os.getloadavg())}


def _cell(value: Any, unit: str = "") -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"
        return f"{text} {unit}".strip()
    return str(value)


def markdown(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"# Benchmark results{' (' + result['size'] + ')' if result['size'] != 'full' else ''}", "",
        f"`{result['command']}`, {result['started_at']}, {result['wall_s']:.0f} s, commit {m.get('commit')}."
        + ("" if result.get("finished", True) else " **Run in progress or cut short: benchmarks after the last row did not run.**"), "",
        f"Machine: {m['cpu']}, {m['nproc']} cores (nproc), {m['ram_gib']} GiB RAM, {m['os']}, Python {m['python']}; "
        f"load average at the start {result['load_average_start']}.", "",
        "| figure | headwater | baseline | ratio | target | met |", "|---|---|---|---|---|---|",
    ]
    for row in result["figures"]:
        unit = row.get("unit", "s")
        bound = row.get("ratio_bound") or ""  # a baseline stopped at its cap: the ratio is a bound
        ratio = f"{bound}{row['ratio']:.2f}x" if row.get("ratio") is not None else "–"
        baseline = ("> " if row.get("baseline_censored") else "") + _cell(row.get("baseline"), unit)
        met = _cell(row.get("met")) if row.get("headwater") is not None else row.get("note", "not run")
        lines.append(f"| {row['figure']} | {_cell(row.get('headwater'), unit)} | {baseline} "
                     f"| {ratio} | {row.get('target', '')} | {met} |")
    if result["crashed"]:
        lines += ["", "## Crashed", ""] + [f"- **{name}**: {error.splitlines()[-1]}" for name, error in result["crashed"].items()]
    lines += ["", "## Notes", ""] + [f"- {note}" for note in result["notes"]]
    lines += ["", "Ratios are headwater / baseline, except speed-ups (gate on unchanged data: cold / cached) and "
              "rates (events/s: headwater / baseline). `met` is empty where there is no bar, only a figure.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="reduced sizes (about 2.5 minutes)")
    sizes.add_argument("--smoke", action="store_true", help="the smallest sizes that run every path (CI)")
    parser.add_argument("--only", help="comma-separated: " + ",".join(BENCHMARKS))
    parser.add_argument("--out", type=Path, help="folder for RESULTS.md and results.json")
    args = parser.parse_args(argv)
    chosen = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = set(chosen) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    size = "smoke" if args.smoke else ("quick" if args.quick else "full")
    out = args.out or (ROOT / "benchmarks" / "results" / size if size != "full" else ROOT / "benchmarks")
    started = time.perf_counter()
    result: dict[str, Any] = {
        "command": "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]),
        "quick": size != "full", "size": size, "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average_start": [round(x, 2) for x in os.getloadavg()], "machine": machine(),
        "figures": [], "notes": [], "crashed": {}, "seconds": {},
    }

    def run_all(pg: str | None) -> None:
        for name in chosen:
            log(f"== {name}")
            begin = time.perf_counter()
            try:
                part = RUNNERS[name](size, pg)
            except Exception:  # noqa: BLE001 - recorded, reported, and the run exits 1
                result["crashed"][name] = traceback.format_exc()
                log(f"!! {name} crashed:\n{result['crashed'][name]}")
                continue
            finally:
                result["seconds"][name] = time.perf_counter() - begin
            result["figures"] += part.get("figures", [])
            result["notes"] += part.get("notes", [])
            write(finished=False)  # a run cut short still leaves the figures it has
            for row in part.get("figures", []):
                log(f"   {row['figure']}: {_cell(row.get('headwater'), row.get('unit', 's'))} "
                    f"(baseline {_cell(row.get('baseline'), row.get('unit', 's'))}, met {_cell(row.get('met'))})")

    def write(*, finished: bool) -> None:
        result["wall_s"] = time.perf_counter() - started
        result["finished"] = finished
        out.mkdir(parents=True, exist_ok=True)
        (out / "RESULTS.md").write_text(markdown(result), encoding="utf-8")
        (out / "results.json").write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")

    if {"load", "checks"} & set(chosen) or ("history" in chosen and size != "smoke"):
        with postgres() as pg:
            run_all(pg)
    else:
        run_all(None)
    write(finished=True)
    log(f"wrote {out / 'RESULTS.md'} and {out / 'results.json'} in {result['wall_s']:.0f} s")
    missed = [row["figure"] for row in result["figures"] if row.get("met") is False]
    if missed:
        log(f"bars missed (reported, not failed): {len(missed)}")
    return 1 if result["crashed"] else 0


if __name__ == "__main__":
    sys.exit(main())
