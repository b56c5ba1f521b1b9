"""The reference catalog in the three forms Headwater takes it: catalog files, OpenLineage events, a store.

    graph = reference_graph(scale=0.1)
    incidents = reference_incidents(graph)            # 1% of the sources, seeded
    files = write_catalog_files(graph, folder, incidents)   # JSON catalog files for `headwater load`
    count = write_openlineage(graph, folder / "events.ndjson")  # NDJSON for `headwater ingest`
    load_into_store(graph, store, incidents)          # bulk rows, no loader: a store to query

All three are built from `benchmarks.reference.reference_graph`, so they describe the same platform
(layers, namespaces, hubs, fingerprints) and the graph `lineage.graph.build_graph` makes of each is
that graph again (node and edge sets; edge attributes differ only where a form cannot say something,
see below). The generator writes what a team would: one catalog file per namespace and layer (plus one
for the models of each namespace, and one for incidents); names in the file's own namespace are bare,
others qualified (`dataset:NS:NAME`), as the loader requires for a name that exists in several
namespaces.

OpenLineage cannot say everything a catalog file says: a run lists an input once, so a model's second
use of a table (the 10% of feeds with a validation split) is left out, and derivations arrive as one
COMPLETE RunEvent per derived table (its job, its inputs, the table as the one output). Each model is
one training run whose output carries the `headwater_model` facet and whose inputs carry
`headwater_feed` (role and fingerprint).
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from lineage.graph import DATASET, JOB, MODEL

SEED = 20240601
INCIDENT_SHARE = 0.01
INCIDENT_KINDS = ("poisoning", "consent_withdrawn", "licence_revoked", "breach")
PRODUCER = "https://github.com/headwater/benchmarks"
RUN_SCHEMA = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
FACET_SCHEMA = "https://headwater.dev/spec/facets/1-0-0/{}.json"
EVENT_EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)
LAYER_OF_PREFIX = {"raw": "source", "stg": "staging", "mart": "mart", "feat": "feature"}


def governance(attrs: dict[str, Any]) -> dict[str, Any]:
    """The governance record of a well-run platform, as catalog-file fields: documented, bias-examined,
    a legal basis and purpose for personal data, a known origin and a licence for outside data. So the
    conditions risk evaluation finds are the incidents' (1% of sources), not gaps in generated metadata."""
    origin = attrs["origin"] if attrs["origin"] != "unknown" else "internal"
    fields: dict[str, Any] = {"origin": origin, "documentation": f"https://docs.example/{attrs['namespace']}/{attrs['name']}",
                              "bias_examination": {"status": "passed"}}
    if attrs["personal_data"]:
        fields.update(legal_basis="contract", purpose="service delivery")
    if origin in ("vendor", "public", "scraped"):
        fields["licence"] = "CC-BY-4.0" if origin != "vendor" else "proprietary"
    return fields


def _columns(attrs: dict[str, Any]) -> dict[str, Any]:
    """`governance` as store columns."""
    fields = governance(attrs)
    columns = {k: v for k, v in fields.items() if k not in ("bias_examination", "licence")}
    columns["bias_status"] = fields["bias_examination"]["status"]
    if "licence" in fields:
        columns["licence_id"] = fields["licence"]
    return columns


def sources(graph: nx.DiGraph) -> list[str]:
    """Datasets no dataset derives, sorted: where data enters the platform."""
    return sorted(n for n, a in graph.nodes(data=True)
                  if a["kind"] == DATASET and not any(graph.nodes[p]["kind"] == DATASET for p in graph.predecessors(n)))


def reference_incidents(graph: nx.DiGraph, share: float = INCIDENT_SHARE, seed: int = SEED) -> list[dict[str, Any]]:
    """Open incidents on `share` of the sources (seeded): what risk evaluation propagates at scale."""
    rng = np.random.default_rng(seed)
    roots = sources(graph)
    chosen = sorted(rng.choice(len(roots), size=max(1, round(share * len(roots))), replace=False).tolist())
    opened = EVENT_EPOCH - timedelta(days=30)
    return [{"dataset": roots[i], "kind": INCIDENT_KINDS[k % len(INCIDENT_KINDS)],
             "opened": opened + timedelta(hours=k), "note": "reference incident"}
            for k, i in enumerate(chosen)]


def _layer(name: str) -> str:
    return LAYER_OF_PREFIX[name.split(".", 1)[0]]


def _ref(kind: str, graph: nx.DiGraph, node: str, namespace: str) -> str:
    attrs = graph.nodes[node]
    return attrs["name"] if attrs["namespace"] == namespace else f"{kind}:{attrs['namespace']}:{attrs['name']}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def catalog_documents(graph: nx.DiGraph, incidents: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """File name -> catalog document (plain JSON data), one per namespace and layer, models, incidents."""
    docs: dict[str, dict[str, Any]] = {}
    for node, attrs in graph.nodes(data=True):
        kind, ns = attrs["kind"], attrs["namespace"]
        if kind == DATASET:
            file = f"{ns}.{_layer(attrs['name'])}.json"
            doc = docs.setdefault(file, {"catalog": ns, "defaults": {"owner": f"team-{ns}"}, "datasets": []})
            entry: dict[str, Any] = {"name": attrs["name"], "personal_data": attrs["personal_data"], **governance(attrs)}
            inputs = [p for p in graph.predecessors(node) if graph.nodes[p]["kind"] == DATASET]
            if inputs:
                entry["derived_from"] = [_ref("dataset", graph, p, ns) for p in sorted(inputs)]
                jobs = graph.edges[inputs[0], node]["jobs"]
                if jobs:
                    entry["job"] = graph.nodes[jobs[0]]["name"]
            doc["datasets"].append(entry)
        elif kind == MODEL:
            doc = docs.setdefault(f"{ns}.models.json", {"catalog": ns, "models": []})
            entry = {"name": attrs["name"], "version": attrs["version"], "risk_tier": attrs["risk_tier"],
                     "deployed": attrs["deployed"], "owner": attrs["owner"]}
            feeds, base = [], None
            for p in sorted(graph.predecessors(node)):
                edge = graph.edges[p, node]
                if edge["kind"] == "base_model":
                    base = _ref("model", graph, p, ns)
                    continue
                for use in edge["uses"]:
                    feeds.append({"dataset": _ref("dataset", graph, p, ns), "role": use["role"],
                                  "fingerprint": use["fingerprint"], "at": _iso(use["consumed_at"])})
            if base:
                entry["base_model"] = base
            entry["trained_on"] = feeds
            doc["models"].append(entry)
    if incidents:
        docs["incidents.json"] = {"catalog": "incidents", "incidents": [
            {"dataset": incident["dataset"], "kind": incident["kind"], "opened": _iso(incident["opened"]),
             "note": incident["note"]} for incident in incidents]}
    return docs


def write_catalog_files(graph: nx.DiGraph, folder: Path, incidents: list[dict[str, Any]]) -> list[Path]:
    """Write the catalog as JSON catalog files in `folder` (one value per line, so problems have lines)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for file, doc in sorted(catalog_documents(graph, incidents).items()):
        path = folder / file
        path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def openlineage_events(graph: nx.DiGraph) -> Iterator[dict[str, Any]]:
    """One COMPLETE RunEvent per derived dataset (its job and inputs), then one per model (its training run)."""
    rng = np.random.default_rng(SEED)
    moment = EVENT_EPOCH
    step = timedelta(milliseconds=10)

    def run_id() -> str:
        return str(uuid.UUID(bytes=rng.bytes(16), version=4))

    def facet(schema: str, **fields: Any) -> dict[str, Any]:
        return {"_producer": PRODUCER, "_schemaURL": FACET_SCHEMA.format(schema), **fields}

    for node, attrs in graph.nodes(data=True):
        if attrs["kind"] != DATASET:
            continue
        inputs = [p for p in graph.predecessors(node) if graph.nodes[p]["kind"] == DATASET]
        if not inputs:
            continue
        job = graph.nodes[graph.edges[inputs[0], node]["jobs"][0]]
        moment += step
        yield {
            "eventType": "COMPLETE", "eventTime": _iso(moment), "producer": PRODUCER, "schemaURL": RUN_SCHEMA,
            "run": {"runId": run_id()}, "job": {"namespace": job["namespace"], "name": job["name"]},
            "inputs": [{"namespace": graph.nodes[p]["namespace"], "name": graph.nodes[p]["name"]} for p in sorted(inputs)],
            "outputs": [{"namespace": attrs["namespace"], "name": attrs["name"]}],
        }
    for node, attrs in graph.nodes(data=True):
        if attrs["kind"] != MODEL:
            continue
        inputs = []
        for p in sorted(graph.predecessors(node)):
            edge = graph.edges[p, node]
            if edge["kind"] != "feed":
                continue
            use = edge["uses"][0]
            inputs.append({"namespace": graph.nodes[p]["namespace"], "name": graph.nodes[p]["name"],
                           "inputFacets": {"headwater_feed": facet("HeadwaterFeedFacet", role=use["role"],
                                                                   fingerprint=use["fingerprint"])}})
        moment += step
        model = facet("HeadwaterModelFacet", name=attrs["name"], namespace=attrs["namespace"],
                      version=attrs["version"], riskTier=attrs["risk_tier"], deployed=attrs["deployed"])
        yield {
            "eventType": "COMPLETE", "eventTime": _iso(moment), "producer": PRODUCER, "schemaURL": RUN_SCHEMA,
            "run": {"runId": run_id()}, "job": {"namespace": attrs["namespace"], "name": f"train.{attrs['name']}"},
            "inputs": inputs,
            "outputs": [{"namespace": attrs["namespace"], "name": f"artifacts/{attrs['name']}",
                         "outputFacets": {"headwater_model": model}}],
        }


def write_openlineage(graph: nx.DiGraph, path: Path) -> int:
    """Write every event of `openlineage_events` as NDJSON (what `headwater ingest` reads); return the count."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for event in openlineage_events(graph):
            out.write(json.dumps(event, separators=(",", ":")) + "\n")
            count += 1
    return count


def load_into_store(graph: nx.DiGraph, store: Any, incidents: list[dict[str, Any]], *, chunk: int = 50_000) -> dict[str, int]:
    """Bulk-insert the graph into an empty store (Core executemany, one transaction), as if loaded from files.

    For benchmarks that need a store of reference size without measuring a load: the rows are what
    `headwater load` of `write_catalog_files` gives (source "catalog"), the store revision moves once.
    """
    from sqlalchemy import insert, select, update

    from catalog.schema import Dataset, Derivation, Feed, Incident, Job, Model, StoreRevision, utcnow

    now = utcnow()
    stamp = {"created_at": now, "updated_at": now}
    with store.engine.begin() as connection:
        if connection.execute(select(Dataset.id).limit(1)).first() is not None:
            raise ValueError("load_into_store needs an empty store")
        ids: dict[str, int] = {}
        kinds = (DATASET, JOB, MODEL)
        columns = {DATASET: {c.name for c in Dataset.__table__.columns}, MODEL: {c.name for c in Model.__table__.columns}}
        for kind, table in zip(kinds, (Dataset, Job, Model), strict=True):
            nodes = [(n, a) for n, a in graph.nodes(data=True) if a["kind"] == kind]
            if kind == JOB:
                rows = [{"namespace": a["namespace"], "name": a["name"], "facets": {}, **stamp} for _, a in nodes]
            else:
                skip = {"id", "catalog_file", "base_model_id"}
                rows = [{**{k: v for k, v in a.items() if k in columns[kind] and k not in skip}, "facets": {}, **stamp,
                         **(_columns(a) if kind == DATASET else {})} for _, a in nodes]
            for start in range(0, len(rows), chunk):
                connection.execute(insert(table), rows[start:start + chunk])
            stored = {(ns, name): i for i, ns, name in connection.execute(select(table.id, table.namespace, table.name))}
            for node, attrs in nodes:  # ids as the database gave them (PostgreSQL sequences stay right)
                ids[node] = stored[(attrs["namespace"], attrs["name"])]
        derivations, feeds, bases = [], [], []
        for u, v, edge in graph.edges(data=True):
            if edge["kind"] == "derivation":
                job = edge["jobs"][0] if edge["jobs"] else None
                derivations.append({"input_id": ids[u], "output_id": ids[v], "job_id": ids[job] if job else None,
                                    "source": "catalog", **stamp})
            elif edge["kind"] == "feed":
                feeds += [{"dataset_id": ids[u], "model_id": ids[v], "role": use["role"], "fingerprint": use["fingerprint"],
                           "consumed_at": use["consumed_at"], "source": "catalog", **stamp} for use in edge["uses"]]
            elif edge["kind"] == "base_model":
                bases.append({"id": ids[v], "base_model_id": ids[u]})
        for table, rows in ((Derivation, derivations), (Feed, feeds)):
            for start in range(0, len(rows), chunk):
                connection.execute(insert(table), rows[start:start + chunk])
        if bases:
            from sqlalchemy import bindparam

            connection.execute(update(Model).where(Model.id == bindparam("id_")).values(base_model_id=bindparam("base_")),
                               [{"id_": b["id"], "base_": b["base_model_id"]} for b in bases])
        if incidents:
            connection.execute(insert(Incident), [
                {"dataset_id": ids[i["dataset"]], "kind": i["kind"], "opened": i["opened"], "note": i["note"], **stamp}
                for i in incidents])
        connection.execute(update(StoreRevision).where(StoreRevision.id == 1)
                           .values(revision=StoreRevision.revision + 1, changed_at=now))
    counts = defaultdict(int)
    for _, attrs in graph.nodes(data=True):
        counts[attrs["kind"]] += 1
    return {**counts, "edges": graph.number_of_edges(), "incidents": len(incidents)}
