"""Impact on the graph's arrays (`lineage.arrays`), found once and written two ways: as the
`ImpactResult` the CLI and `service.impact` return (`service.as_result`), and straight to the JSON
bytes that result dumps to (`found_json`, for `GET /api/v1/impact/...` through `service.impact_json`).

An impact page lists a hundred models and the thousand nearest datasets: building a `Reached` and
an `AffectedModel` for each, only to dump them, cost more CPU than finding them (4 of 9.5 ms for a
random table of the reference catalog). As for lineage (`lineage.lineage_json`), each node's JSON is
made once per graph and an answer joined from those pieces; `tests/lineage/test_impact_json.py`
holds the two writings to the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx

from lineage import queries
from lineage.graph import DATASET, MODEL
from lineage.json_pieces import entries, entry_prefixes, refs_of, string as _string

if TYPE_CHECKING:
    import numpy as np

    from lineage.arrays import Topology


@dataclass
class PageModel:
    node: str
    distance: int
    path_count: int | None
    paths: list[list[str]]


@dataclass
class ImpactFound:
    """What an impact answers, before it is written: node ids, distances and counts only."""

    root: str
    revision: int
    models: list[PageModel]
    nodes: np.ndarray  # every node id, by number (`Topology.nodes`)
    dataset_numbers: np.ndarray  # the listed datasets, nearest first
    dataset_steps: np.ndarray  # and their distances
    models_total: int
    datasets_total: int
    offset: int
    limit: int | None

    @property
    def datasets(self) -> list[str]:
        return self.nodes[self.dataset_numbers].tolist()

    @property
    def dataset_distances(self) -> list[int]:
        return self.dataset_steps.tolist()


def find_on_arrays(graph: nx.DiGraph, root: str, path_limit: int, limit: int | None, offset: int,
                   dataset_limit: int | None) -> ImpactFound:
    """The impact of `root`, without a Python step per reached node: only the page's models and the
    listed datasets become Python values. Path counts are summed only up to the deepest model on
    the page, which is all the page shows."""

    from lineage import arrays
    from lineage.path_counts import path_counts

    topo = arrays.topology(graph)
    start = topo.number[root]
    found, steps, parent = arrays.reach_with_parents(topo, start, "downstream")
    kinds = topo.kind[found]
    stop = None if limit is None else offset + limit
    models_found, model_distance, models_total = _nearest(topo, found, steps, kinds == arrays.KIND_CODES[MODEL], stop)
    page, page_distance = models_found[offset:stop], model_distance[offset:stop].tolist()
    counts, exact = None, None
    if len(page):
        deepest = int(topo.level[page].max()) if topo.level is not None else None
        counts = path_counts(topo, start, last_level=deepest)
        if counts is None:  # a cycle: counted in Python, which says there is no count
            exact = queries.count_paths(graph, root, set(topo.nodes[found].tolist()))
    firsts = arrays.paths_from_parents(parent, start, page, page_distance) if path_limit == 1 else []
    page = page.tolist()
    within: set[str] | None = None
    models = []
    for i, (number, d) in enumerate(zip(page, page_distance, strict=True)):
        node = topo.nodes[number]
        if path_limit == 1:
            paths = [topo.nodes[firsts[i]].tolist()]
        else:
            if within is None:
                within = set(topo.nodes[found].tolist())
            paths = queries.paths_between(graph, root, node, path_limit, within)
        count = counts.of(number) if counts is not None else (exact.get(node) if exact is not None else None)
        models.append(PageModel(node, d, count, paths))
    datasets_found, dataset_distance, datasets_total = _nearest(topo, found, steps, kinds == arrays.KIND_CODES[DATASET],
                                                                dataset_limit)
    return ImpactFound(root, graph.graph["revision"], models, topo.nodes, datasets_found, dataset_distance,
                       models_total, datasets_total, offset, limit)


def _nearest(topo: Topology, found: np.ndarray, steps: np.ndarray, mine: np.ndarray,
             stop: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    """The first `stop` of the nodes selected by `mine`, by distance then id, and how many there are.

    `found` comes nearest first (a breadth-first order), so only the distances up to the one at
    `stop` need sorting by id: the thousand nearest of a hub's 45,000 datasets, not all of them.
    """
    import numpy as np

    nodes, distance = found[mine], steps[mine]
    if stop is not None and stop < len(nodes):
        cut = int(np.searchsorted(distance, distance[stop - 1], side="right")) if stop > 0 else 0
        nodes, distance = nodes[:cut], distance[:cut]
    order = np.lexsort((topo.rank[nodes], distance))[:stop]
    return nodes[order], distance[order], int(mine.sum())


def found_json(graph: nx.DiGraph, found: ImpactFound) -> str:
    """The JSON of the `ImpactResult` `service.as_result(found)` makes, field for field."""
    refs = refs_of(graph)
    nodes = graph._node
    models = []
    for model in found.models:
        attrs = nodes[model.node]
        paths = ",".join("[" + ",".join(map(_string, path)) + "]" for path in model.paths)
        models.append(f'{{"model":{refs[model.node]},'
                      f'"version":{_optional(attrs.get("version"))},"risk_tier":{_optional(attrs.get("risk_tier"))},'
                      f'"deployed":{"true" if attrs.get("deployed") else "false"},"distance":{int(model.distance)},'
                      f'"path_count":{"null" if model.path_count is None else int(model.path_count)},"paths":[{paths}]}}')
    datasets = entries(entry_prefixes(graph, found.nodes), found.dataset_numbers, found.dataset_steps)
    return (f'{{"root":{refs[found.root]},"revision":{int(found.revision)},"models":[{",".join(models)}],'
            f'"datasets":[{datasets}],"models_total":{found.models_total},"datasets_total":{found.datasets_total},'
            f'"offset":{int(found.offset)},"limit":{"null" if found.limit is None else int(found.limit)}}}')


def _optional(value: object) -> str:
    return "null" if value is None else _string(str(value))
