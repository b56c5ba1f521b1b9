"""Benchmark: risk evaluation on the reference platform (incidents on 1% of its sources), per model.

    python -m benchmarks.risk [--scale S]

`checks.summary.summarise` (what `headwater risk --by-model` and `GET /api/v1/risk/models` answer:
every model's counts, the first page of 50 models with 3 top findings and one path each) on a store
holding the reference catalog, the lineage graph already cached (as in a running API). Baseline, same
run: the full `checks.risk.evaluate` (every (node, root) finding as an object, no paths) where it is
affordable (--quick); at reference scale it builds millions of findings and is not run. Checked: the
summary's total of findings on models equals the full report's where both run.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import main_for, clock, figure, log


def run(quick: bool = False, *, scale: float | None = None) -> dict[str, Any]:
    from benchmarks.reference import reference_graph
    from benchmarks.reference_catalog import load_into_store, reference_incidents
    from catalog.store import Store
    from checks import risk
    from checks.summary import summarise
    from lineage.service import graph_of

    scale = scale if scale is not None else (0.05 if quick else 1.0)
    folder = Path(tempfile.mkdtemp(prefix="headwater-risk-"))
    try:
        graph = reference_graph(scale=scale)
        incidents = reference_incidents(graph)
        with Store(f"sqlite:///{folder}/risk.db") as store:
            load_into_store(graph, store, incidents)
            shape = f"{graph.number_of_nodes():,} nodes, {graph.number_of_edges():,} edges"
            del graph
            graph_of(store)  # the API's cached graph
            log("risk: per-model summary")
            clock(summarise, store)  # warm-up: the propagation index is built once per graph revision
            seconds, summary = clock(summarise, store)
            baseline, note = None, "full evaluate not run at this scale (millions of finding objects)"
            if quick:
                log("risk: full evaluate (baseline)")
                baseline, full = clock(risk.evaluate, store, path_limit=0)
                on_models = sum(1 for f in full.findings if f.node_kind == "model")
                if on_models != summary.findings_on_models:
                    raise AssertionError(f"summary counts {summary.findings_on_models} findings on models, "
                                         f"the full report {on_models}")
                note = f"full evaluate: {len(full.findings):,} findings"
        return {"figures": [figure(
            f"risk per model ({shape}; {summary.conditions} conditions from {len(incidents)} incidents; "
            f"{summary.findings_on_models:,} findings on {summary.models_total:,} models)", seconds, baseline,
            target="report; baseline: the full findings list (checks.risk.evaluate)", note=note)],
            "notes": [f"risk: {note}"]}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    main_for(run, __doc__, argv)


if __name__ == "__main__":
    main()
