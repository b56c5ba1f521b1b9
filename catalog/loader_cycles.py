"""A load's cycle checks: derivations and base models must flow one way.

The yes/no for derivations is one read of ids and scipy's strongly connected components, in C:
networkx needed ten seconds to build a million-edge graph for it. networkx still names the cycles
when there is one, judged by this load's own edges.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from catalog import reads
from catalog.ids import Key, ModelKey

if TYPE_CHECKING:
    import networkx as nx

    from catalog.store import Writer

Edge = tuple[Key, Key]


def problems(writer: Writer, replaced: set[Key], declared: set[Edge],
             base_models: dict[ModelKey, ModelKey | None]) -> Iterator[tuple[Key, str, str]]:
    """(the dataset or model at fault, message, field) for each cycle this load would make.

    `replaced`: the datasets whose catalog-declared inputs this load replaces."""
    import networkx as nx

    if not derivations_acyclic(writer, replaced, declared):
        graph = nx.DiGraph()
        for inp, out, source in writer.derivation_keys():
            if source == "catalog" and out in replaced:
                continue  # this load replaces those edges
            graph.add_edge(inp, out)
        graph.add_edges_from(declared)
        yield from derivation_cycles(graph, declared)
    bases = nx.DiGraph((model, base) for model, base in base_models.items() if base)
    try:
        loop = nx.find_cycle(bases)
    except nx.NetworkXNoCycle:
        return
    names = " -> ".join(f"{node[1]}@{node[2]}" for node, _ in loop) + f" -> {loop[0][0][1]}@{loop[0][0][2]}"
    yield loop[0][0], f"base_model cycle: {names}", "base_model"


def derivations_acyclic(writer: Writer, replaced: set[Key], declared: set[Edge]) -> bool:
    """Whether the store's derivations, with this load's in place of the catalog edges it replaces,
    form no cycle."""
    import numpy as np
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    session = writer.session
    ids = reads.dataset_ids(session)
    replaced_ids = {ids[key] for key in replaced if key in ids}
    inputs: list[int] = []
    outputs: list[int] = []
    for inp, out, source in reads.derivation_ids(session):
        if source == "catalog" and out in replaced_ids:
            continue  # this load replaces those edges
        inputs.append(inp)
        outputs.append(out)
    numbered = len(ids) and max(ids.values()) + 1
    for inp_key, out_key in declared:
        for key in (inp_key, out_key):
            if key not in ids:  # declared by this load, not yet stored
                ids[key] = numbered
                numbered += 1
        inputs.append(ids[inp_key])
        outputs.append(ids[out_key])
    if not inputs:
        return True
    sources, targets = np.asarray(inputs, dtype=np.int64), np.asarray(outputs, dtype=np.int64)
    if np.any(sources == targets):
        return False
    size = int(max(sources.max(), targets.max())) + 1
    edges = coo_matrix((np.ones(len(sources), dtype=np.int32), (sources, targets)), shape=(size, size)).tocsr()
    components, _labels = connected_components(edges, directed=True, connection="strong")
    return components == size  # every node its own component: no cycle


def derivation_cycles(graph: nx.DiGraph, declared: set[Edge]) -> Iterator[tuple[Key, str, str]]:
    """One problem per cycle that runs through an edge this load declares.

    A cycle the store already held (one written before cycles were refused everywhere) is not
    this load's doing and must not hide the file's own: every strongly connected component is
    judged by the edges of this load inside it, not by whichever cycle networkx finds first.
    """
    import networkx as nx

    ordered = sorted(declared)
    for component in nx.strongly_connected_components(graph):
        if len(component) < 2 and not any(graph.has_edge(n, n) for n in component):
            continue
        edge = next(((i, o) for i, o in ordered if i in component and o in component), None)
        if edge is None:
            continue
        cycle = nx.find_cycle(graph.subgraph(component), source=edge[1])
        names = " -> ".join(node[1] for node, _ in cycle) + f" -> {cycle[0][0][1]}"
        yield edge[1], f"derivation cycle: {names}; lineage must flow one way", "derived_from"
