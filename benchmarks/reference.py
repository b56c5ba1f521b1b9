"""A seeded generator of the reference lineage graph: a large data platform, built in memory.

    graph = reference_graph()                 # 100,000 datasets, 5,000 models, ~1,000,000 edges
    graph = reference_graph(scale=0.1)        # the same shape at a tenth of the size

The graph has the shape `lineage.graph.build_graph` gives (same node ids, node and edge attributes),
so `lineage.queries` and `lineage.propagate` run on it unchanged; it is built directly with
networkx, without a store, because loading a million rows through the store is not what is measured.

Shape, layered like a real platform (every edge goes from an earlier node to a later one in one
fixed order, so the graph is a DAG by construction):

- datasets in four layers: sources (20%), staging (30%), marts (25%), features (25%), each split
  into namespaces of unequal sizes (8 by default); a dataset's inputs come mostly from the layer
  before, some from earlier tables of its own layer (chains of staging and of marts), mostly from
  its own namespace (80%), with a heavy tail inside each namespace block (the first tables of a
  block are read far more often than the last), so the fan-out is skewed;
- hubs: a dozen mart and feature tables (a customer dimension, a user-feature table, ...) that a
  fixed share of all reads goes to, so each feeds a few thousand datasets and models;
- models, fed by features (mostly), marts and staging tables, with 1 to ~100s of feeds each; a feed
  has one use (sometimes two: training and validation), each with a role, a fingerprint and a
  consumed_at datetime; a quarter of the models are fine-tunes of an earlier model (base_model
  edges), mostly of a few foundation models;
- a few hundred jobs (~1 per 270 derived datasets), each producing the derived datasets of one
  namespace: every derived dataset has one producing job (a `produces` edge), and every derivation
  into it lists that job in `jobs`, as the store would.

Edge count: `edges` counts every edge (derivation, produces, feed, base_model), as
`graph.number_of_edges()` does; the generator draws, removes duplicate pairs, and tops up until
the count is reached exactly (unless the graph is too small to hold it).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import networkx as nx
import numpy as np

from catalog.ids import node_id
from lineage.graph import DATASET, JOB, MODEL

LAYERS = ("source", "staging", "mart", "feature")
LAYER_SHARE = (0.20, 0.30, 0.25, 0.25)
PREFIX = {"source": "raw", "staging": "stg", "mart": "mart", "feature": "feat"}
NAMESPACES = ("payments", "identity", "marketing", "support", "logistics", "risk", "product", "research",
              "search", "ads", "fraud", "growth")
# Relative mean in-degree of each derived layer (derivation edges only): staging tables clean one or
# two sources, marts join a dozen tables, feature tables join marts and other features.
IN_DEGREE_WEIGHT = {"staging": 3.0, "mart": 12.0, "feature": 15.0}
# Where a derived dataset's inputs come from: (layer, probability); the layer itself means an
# earlier table of the same layer.
INPUTS = {
    "staging": (("source", 0.85), ("staging", 0.15)),
    "mart": (("staging", 0.60), ("mart", 0.30), ("source", 0.10)),
    "feature": (("mart", 0.60), ("feature", 0.25), ("staging", 0.15)),
}
FEED_INPUTS = (("feature", 0.70), ("mart", 0.22), ("staging", 0.08))
SAME_NAMESPACE = 0.8
HUB_SHARE = {"mart": 0.03, "feature": 0.04, "model": 0.08}  # share of reads that go to a hub table
SKEW = 1.6  # index = floor(size * u**SKEW): the first tables of a block are read most
FEED_SHARE = 0.15  # share of all edges that are feeds
FINE_TUNE_SHARE = 0.25
FOUNDATION_SHARE = 0.01  # the first 1% of models are foundation models, bases of most fine-tunes
ROLES = ("training", "fine_tuning", "retrieval", "evaluation", "validation", "test")
ROLE_P = (0.80, 0.08, 0.05, 0.04, 0.02, 0.01)
RISK_TIERS = ("minimal", "limited", "gpai", "high", "prohibited")
RISK_P = (0.45, 0.25, 0.10, 0.195, 0.005)
ORIGINS = ("internal", "vendor", "public", "scraped", "synthetic", "unknown")
ORIGIN_P = (0.70, 0.12, 0.08, 0.03, 0.02, 0.05)
EPOCH = datetime(2023, 1, 1, tzinfo=timezone.utc)
SPAN_S = 3 * 365 * 86_400  # consumed_at falls in 2023-2025


def reference_graph(datasets: int = 100_000, models: int = 5_000, edges: int = 1_000_000, *, seed: int = 20240601,
                    scale: float = 1.0, namespaces: int = 8, hubs_per_layer: int = 6) -> nx.DiGraph:
    """The reference graph; `scale` multiplies the three sizes (0.1 for a quick run)."""
    datasets, models, edges = (max(1, round(n * scale)) for n in (datasets, models, edges))
    if not 1 <= namespaces <= len(NAMESPACES):
        raise ValueError(f"namespaces must be between 1 and {len(NAMESPACES)}")
    rng = np.random.default_rng(seed)
    plan = _Plan(rng, datasets, models, namespaces, hubs_per_layer)
    produces = datasets - plan.layer_size["source"]
    fine_tunes = round(FINE_TUNE_SHARE * models) if models > 1 else 0
    feeds = max(models, round(FEED_SHARE * edges))
    derivations = edges - produces - fine_tunes - feeds
    if derivations < plan.derived:
        raise ValueError(f"{edges} edges is too few for {datasets} datasets and {models} models")

    jobs_of, job_names = plan.jobs(rng)
    src, dst = _edges(rng, plan, derivations, plan.derivation_targets)
    f_src, f_dst = _edges(rng, plan, feeds, plan.feed_targets)
    graph = nx.DiGraph(revision=1, reference={"seed": seed, "datasets": datasets, "models": models, "edges": edges})
    dataset_ids = plan.dataset_ids()
    model_ids = plan.model_ids()
    job_ids = [node_id(JOB, ns, name) for ns, name in job_names]

    origin = rng.choice(len(ORIGINS), size=datasets, p=ORIGIN_P)
    personal = rng.random(datasets) < 0.35
    graph.add_nodes_from(
        (node, _dataset_attrs(i, plan.namespace_name(plan.dataset_ns[i]), plan.dataset_name(i), ORIGINS[origin[i]],
                              bool(personal[i])))
        for i, node in enumerate(dataset_ids)
    )
    graph.add_nodes_from(
        (node, {"kind": JOB, "namespace": ns, "name": name, "description": None})
        for node, (ns, name) in zip(job_ids, job_names, strict=True)
    )
    tiers = rng.choice(len(RISK_TIERS), size=models, p=RISK_P)
    graph.add_nodes_from(
        (node, _model_attrs(plan.namespace_name(plan.model_ns[m]), plan.model_name(m), RISK_TIERS[tiers[m]]))
        for m, node in enumerate(model_ids)
    )

    from_openlineage = rng.random(len(src)) < 0.7
    graph.add_edges_from(
        (dataset_ids[s], dataset_ids[d],
         {"kind": "derivation", "jobs": [job_ids[jobs_of[d]]], "sources": ["openlineage" if ol else "catalog"]})
        for s, d, ol in zip(src.tolist(), dst.tolist(), from_openlineage.tolist(), strict=True)
    )
    first_derived = plan.layer_start["staging"]
    graph.add_edges_from((job_ids[jobs_of[d]], dataset_ids[d], {"kind": "produces"}) for d in range(first_derived, datasets))
    graph.add_edges_from(_feed_edges(rng, f_src, f_dst, dataset_ids, model_ids, datasets))
    graph.add_edges_from((model_ids[b], model_ids[m], {"kind": "base_model"}) for b, m in _fine_tunes(rng, models, fine_tunes))
    return graph


def _dataset_attrs(i: int, ns: str, name: str, origin: str, personal: bool) -> dict:
    """The attributes build_graph copies from a datasets row (every column but id), plus kind, incidents, store_id."""
    return {
        "kind": DATASET, "incidents": [], "store_id": i + 1, "namespace": ns, "name": name, "description": None,
        "location": None, "owner": f"team-{ns}", "origin": origin, "personal_data": personal, "special_categories": [],
        "legal_basis": None, "purpose": None, "licence_id": None, "licence_expires": None, "licence_url": None,
        "licence_revoked": False, "retention": None, "freshness": None, "last_updated": None, "documentation": None,
        "special_category_basis": None, "collected": None, "retention_until": None, "tdm_status": None,
        "tdm_method": None, "tdm_checked": None, "deid_method": None, "deid_verified": None, "bias_status": None,
        "bias_date": None, "bias_documentation": None, "tags": [], "expectations": [], "expectations_file": None,
        "catalog_file": None, "catalog_line": None,
    }


def _model_attrs(ns: str, name: str, tier: str) -> dict:
    """The attributes build_graph copies from a models row (every column but id and base_model_id), plus kind."""
    return {
        "kind": MODEL, "namespace": ns, "name": name, "version": "1", "risk_tier": tier, "deployed": tier != "prohibited",
        "purpose": None, "owner": f"ml-{ns}", "description": None, "tags": [], "catalog_file": None, "catalog_line": None,
    }


class _Plan:
    """Where every dataset and model sits: global index order = layer, then namespace block, then position."""

    def __init__(self, rng: np.random.Generator, datasets: int, models: int, namespaces: int, hubs_per_layer: int):
        self.namespaces = namespaces
        self.ns_weight = rng.dirichlet(np.full(namespaces, 4.0))
        self.datasets, self.models = datasets, models
        sizes = np.floor(np.array(LAYER_SHARE) * datasets).astype(np.int64)
        sizes[0] += datasets - sizes.sum()
        self.layer_size = dict(zip(LAYERS, sizes.tolist(), strict=True))
        self.layer_start = dict(zip(LAYERS, np.concatenate([[0], np.cumsum(sizes)[:-1]]).tolist(), strict=True))
        # blocks[layer] = (starts, sizes) of each namespace's contiguous block inside the layer
        self.blocks: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        ns_of = []
        for layer in LAYERS:
            b_sizes = _split(self.layer_size[layer], self.ns_weight)
            b_starts = self.layer_start[layer] + np.concatenate([[0], np.cumsum(b_sizes)[:-1]])
            self.blocks[layer] = (b_starts, b_sizes)
            ns_of.append(np.repeat(np.arange(namespaces), b_sizes))
        self.dataset_ns = np.concatenate(ns_of)
        m_sizes = _split(models, self.ns_weight)
        self.blocks["model"] = (np.concatenate([[0], np.cumsum(m_sizes)[:-1]]) + datasets, m_sizes)
        self.model_ns = np.repeat(np.arange(namespaces), m_sizes)
        self.hubs = {}
        for layer in ("mart", "feature"):  # hubs sit early in their layer so most later readers can use them
            start, size = self.layer_start[layer], self.layer_size[layer]
            window = max(1, size // 20)
            self.hubs[layer] = np.sort(start + rng.choice(window, size=min(hubs_per_layer, window), replace=False))
        self.derived = sum(self.layer_size[layer] for layer in LAYERS[1:])

    # --- targets: which nodes get how many in-edges -------------------------------------------------
    def derivation_targets(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        """n in-edges split over derived datasets: every one gets at least one, the rest geometric-ish."""
        weight = {layer: IN_DEGREE_WEIGHT[layer] * self.layer_size[layer] for layer in LAYERS[1:]}
        total = sum(weight.values())
        out, left = {}, n
        for layer in LAYERS[1:]:
            k = round(n * weight[layer] / total) if layer != LAYERS[-1] else left
            left -= k
            out[layer] = _degrees(rng, self.layer_start[layer], self.layer_size[layer], k)
        return out

    def feed_targets(self, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
        return {"model": _degrees(rng, self.datasets, self.models, n)}

    # --- names ---------------------------------------------------------------------------------------
    def namespace_name(self, ns: int) -> str:
        return NAMESPACES[ns]

    def layer_of(self, i: int) -> str:
        for layer in reversed(LAYERS):
            if i >= self.layer_start[layer]:
                return layer
        raise AssertionError(i)

    def dataset_name(self, i: int) -> str:
        layer = self.layer_of(i)
        return f"{PREFIX[layer]}.{layer}_{i:06d}"

    def model_name(self, m: int) -> str:
        return f"model_{m:05d}"

    def dataset_ids(self) -> list[str]:
        return [node_id(DATASET, NAMESPACES[self.dataset_ns[i]], self.dataset_name(i)) for i in range(self.datasets)]

    def model_ids(self) -> list[str]:
        return [node_id(MODEL, NAMESPACES[self.model_ns[m]], self.model_name(m), "1") for m in range(self.models)]

    def jobs(self, rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[str, str]]]:
        """About one job per 270 derived datasets, per namespace; each derived dataset gets one of its namespace's."""
        n_jobs = max(self.namespaces, round(self.derived / 270))
        per_ns = np.maximum(1, _split(n_jobs, self.ns_weight))
        starts = np.concatenate([[0], np.cumsum(per_ns)[:-1]])
        names = [(NAMESPACES[ns], f"{NAMESPACES[ns]}.pipeline_{k:03d}") for ns in range(self.namespaces)
                 for k in range(per_ns[ns])]
        ns = self.dataset_ns
        jobs_of = starts[ns] + np.floor(rng.random(self.datasets) ** SKEW * per_ns[ns]).astype(np.int64)
        jobs_of[: self.layer_start["staging"]] = -1  # sources have no producing job
        return jobs_of.tolist(), names


def _split(n: int, weight: np.ndarray) -> np.ndarray:
    sizes = np.floor(weight * n).astype(np.int64)
    sizes[np.argmax(weight)] += n - sizes.sum()
    return sizes


def _degrees(rng: np.random.Generator, start: int, size: int, k: int) -> np.ndarray:
    """Target index of each of k in-edges over nodes start..start+size-1: one each, the rest heavy-tailed."""
    if k < size:
        return start + rng.choice(size, size=k, replace=False)
    extra = rng.geometric(1.0 / max(1.0, (k - size) / size + 1), size=size) - 1
    extra = np.minimum(extra, 400)
    extra = np.round(extra * ((k - size) / max(1, extra.sum()))).astype(np.int64)
    deficit = k - size - int(extra.sum())
    if deficit > 0:
        extra += np.bincount(rng.integers(0, size, deficit), minlength=size)
    elif deficit < 0:
        drop = rng.choice(np.repeat(np.arange(size), extra), size=-deficit, replace=False)
        extra -= np.bincount(drop, minlength=size)
    return start + np.repeat(np.arange(size), 1 + extra)


def _pick(rng: np.random.Generator, plan: _Plan, target_layer: str, dst: np.ndarray) -> np.ndarray:
    """One input for each in-edge of `dst` (all in `target_layer`)."""
    n = len(dst)
    src = np.full(n, -1, dtype=np.int64)
    if target_layer == "model":
        ns = plan.model_ns[dst - plan.datasets]
        choices = FEED_INPUTS
    else:
        ns = plan.dataset_ns[dst]
        choices = INPUTS[target_layer]
    layers = np.array([layer for layer, _ in choices])
    which = rng.choice(len(choices), size=n, p=[p for _, p in choices])
    same = rng.random(n) < SAME_NAMESPACE
    u = rng.random(n) ** SKEW
    for k, layer in enumerate(layers):
        mask = which == k
        if layer == target_layer:  # an earlier table of the same layer
            b_starts, _ = plan.blocks[layer]
            lo = np.where(same, b_starts[ns], plan.layer_start[layer])
            room = dst - lo
            ok = mask & (room > 0)
            src[ok] = lo[ok] + np.floor(u[ok] * room[ok]).astype(np.int64)
            which[mask & ~ok] = k + 1  # the block is empty so far: fall back to the layer before
            continue
        m_same, m_other = mask & same, mask & ~same
        b_starts, b_sizes = plan.blocks[layer]
        size = b_sizes[ns[m_same]]
        empty = size == 0
        picked = b_starts[ns[m_same]] + np.floor(u[m_same] * size).astype(np.int64)
        picked[empty] = -1
        src[m_same] = picked
        src[m_other] = plan.layer_start[layer] + np.floor(rng.random(int(m_other.sum())) * plan.layer_size[layer]).astype(np.int64)
    # a fall-back from the layer itself lands on the next choice, which is an earlier layer
    redo = src < 0
    if redo.any():
        fallback = next(layer for layer, _ in choices if layer != target_layer)
        src[redo] = plan.layer_start[fallback] + np.floor(rng.random(int(redo.sum())) * plan.layer_size[fallback]).astype(np.int64)
    hub_share = HUB_SHARE.get(target_layer, 0.0)
    if hub_share:
        hubs = np.concatenate([plan.hubs["mart"], plan.hubs["feature"]])
        hubs.sort()
        to_hub = rng.random(n) < hub_share
        eligible = np.searchsorted(hubs, np.minimum(dst, plan.datasets))  # hubs before the target
        to_hub &= eligible > 0
        src[to_hub] = hubs[np.floor(rng.random(int(to_hub.sum())) * eligible[to_hub]).astype(np.int64)]
    return src


def _edges(rng: np.random.Generator, plan: _Plan, n: int, targets) -> tuple[np.ndarray, np.ndarray]:
    """n distinct (source, target) pairs: draw, drop duplicates, top up until there are n."""
    src_parts, dst_parts = [], []
    for layer, dst in targets(rng, n).items():
        src_parts.append(_pick(rng, plan, layer, dst))
        dst_parts.append(dst)
    src, dst = np.concatenate(src_parts), np.concatenate(dst_parts)
    width = plan.datasets + plan.models
    assert (src < dst).all(), "an edge goes backwards: the graph would not be a DAG"
    keys = np.unique(src * width + dst)
    for _ in range(20):
        missing = n - len(keys)
        if missing <= 0:
            break
        more_src, more_dst = [], []
        for layer, dst in targets(rng, missing * 2).items():
            more_src.append(_pick(rng, plan, layer, dst))
            more_dst.append(dst)
        extra = np.concatenate(more_src) * width + np.concatenate(more_dst)
        extra = np.setdiff1d(np.unique(extra), keys, assume_unique=True)
        keys = np.union1d(keys, rng.permutation(extra)[:missing])
    return keys // width, keys % width


def _feed_edges(rng: np.random.Generator, src: np.ndarray, dst: np.ndarray, dataset_ids: list[str],
                model_ids: list[str], datasets: int):
    n = len(src)
    roles = rng.choice(len(ROLES), size=n, p=ROLE_P)
    second = rng.random(n) < 0.10  # training + a validation (or test) split of the same table
    seconds = rng.integers(0, SPAN_S, size=n)
    later = rng.integers(0, 30 * 86_400, size=n)
    digests = rng.bytes(32 * n * 2)
    for i, (s, d) in enumerate(zip(src.tolist(), dst.tolist(), strict=True)):
        at = EPOCH + timedelta(seconds=int(seconds[i]))
        uses = [{"role": ROLES[roles[i]], "fingerprint": "sha256:" + digests[64 * i: 64 * i + 32].hex(), "consumed_at": at}]
        if second[i]:
            role = "validation" if uses[0]["role"] != "validation" else "test"
            uses.append({"role": role, "fingerprint": "sha256:" + digests[64 * i + 32: 64 * i + 64].hex(),
                         "consumed_at": at + timedelta(seconds=int(later[i]))})
        yield dataset_ids[s], model_ids[d - datasets], {"kind": "feed", "uses": uses, "roles": sorted(u["role"] for u in uses)}


def _fine_tunes(rng: np.random.Generator, models: int, count: int):
    """`count` (base, model) pairs: each fine-tune has one base, an earlier model, mostly a foundation model."""
    foundations = max(1, round(FOUNDATION_SHARE * models))
    candidates = np.arange(min(foundations, models - 1) + 1 if models > 1 else 0, models)
    if count == 0 or len(candidates) == 0:
        return
    tuned = np.sort(rng.choice(candidates, size=min(count, len(candidates)), replace=False))
    for m in tuned.tolist():
        if rng.random() < 0.7:
            base = int(rng.integers(0, min(foundations, m)))
        else:
            base = int(rng.integers(0, m))
        yield base, m


def describe(graph: nx.DiGraph) -> dict:
    """Counts of nodes by kind and edges by kind, plus hub fan-outs: what the benchmark reports."""
    nodes: dict[str, int] = {}
    for _, kind in graph.nodes(data="kind"):
        nodes[kind] = nodes.get(kind, 0) + 1
    edges: dict[str, int] = {}
    for _, _, kind in graph.edges(data="kind"):
        edges[kind] = edges.get(kind, 0) + 1
    out_degrees = sorted((d for n, d in graph.out_degree() if graph.nodes[n]["kind"] == DATASET), reverse=True)
    return {
        "nodes": graph.number_of_nodes(), "edges": graph.number_of_edges(), "nodes_by_kind": nodes,
        "edges_by_kind": edges, "namespaces": len({ns for _, ns in graph.nodes(data="namespace")}),
        "max_dataset_fan_out": out_degrees[0] if out_degrees else 0,
        "datasets_with_fan_out_over_1000": sum(1 for d in out_degrees if d > 1000),
        "median_dataset_fan_out": out_degrees[len(out_degrees) // 2] if out_degrees else 0,
    }
