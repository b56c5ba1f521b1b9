"""Each node's state in the lineage viewer (its colour), and what hovering it tells.

Judged from the risk assessment and each dataset's latest check run, for the nodes a view shows.

One state per node, the worst that applies, in the order a reader should act on them:
compromised (breach, poisoning, or content changed since training: stop using it), check errored
(we could not look: the data may be anything), stale, unverified (a model recorded no fingerprint of
what it consumed, so a change cannot be told: not evidence of one), tainted (a serious finding, own
or inherited), warning (findings to review), healthy. Jobs are not assessed themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import networkx as nx

from catalog.ids import short_name
from catalog.runs import latest_outcomes
from catalog.secrets import mask_secrets
from catalog.store import Store
from checks.conditions import PERSONAL_CLASSES, SPECIAL_CLASSES, UNRECORDED
from checks.risk import DEFAULT_PATH_LIMIT, Assessment, Priced
from lineage.columns import ColumnGraph, column_graph, has_columns
from lineage.graph import DATASET, JOB, MODEL
from lineage.viewer import NodeInfo

COMPROMISING = {"breach_flagged", "poisoning_flagged", "fingerprint_mismatch"}
SERIOUS = {"high", "critical"}
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
MANY_IDS = 5_000  # past this, reading every newest run beats a long IN list
PriceKey = tuple[int, str, str, bool]  # (root class, mode, node tier, the node's own): all a price depends on
SENSITIVE = PERSONAL_CLASSES | SPECIAL_CLASSES
MAX_COLUMNS = 500  # columns a node's panel lists at most
SEEDED_ROOTS = 20  # column-scoped roots of one class asked for column paths at one node
LINEAGE_RANK = {"column": 0, "indirect": 1, "assumed": 2}


def node_info(store: Store, assessment: Assessment, nodes: Iterable[str], *, details: bool = True) -> dict[str, NodeInfo]:
    """State (and, with `details`, fields and findings) of the given nodes only: a view never pays for
    the whole platform, and a grouped view needs states alone."""
    graph = assessment.graph
    wanted = list(dict.fromkeys(nodes))
    classes, keys = _classes(assessment)
    summaries = assessment.reach.summarise(wanted, keys)
    at_root: dict[str, set[int]] = defaultdict(set)
    for root, condition in zip(assessment.roots, assessment.conditions, strict=True):
        at_root[root.dataset].add(classes[(condition.condition, condition.variant)])
    ids = {graph.nodes[n]["store_id"]: n for n in wanted if graph.nodes[n]["kind"] == DATASET}
    with store.read() as session:
        runs = latest_outcomes(session, ids if len(ids) <= MANY_IDS else None)
    checked = {ids[k]: run for k, run in runs.items() if k in ids}
    prices: dict[PriceKey, Priced] = {}
    seeded = [[k for k in class_keys if k in assessment.columns.seeds] for class_keys in keys] if details else None
    cg = column_graph(graph) if details and has_columns(graph) else None
    info: dict[str, NodeInfo] = {}
    for node in wanted:
        attrs = graph.nodes[node]
        summary = summaries.get(node, []) if attrs["kind"] != JOB else []
        findings = _findings(assessment, node, summary, at_root.get(node, set()), prices, seeded)
        run = checked.get(node)
        info[node] = NodeInfo(state=state_of(attrs["kind"], findings, run),
                              fields=_fields(graph, node, attrs, run) if details else [],
                              findings=findings if details else [],
                              columns=_columns(cg, node) if cg is not None else [])
    return info


def _columns(cg: ColumnGraph, node: str) -> list[dict[str, Any]]:
    """A dataset's known columns as its panel lists them: those it declares, in order, then those
    only column flows name (a derived table's outputs), each with the columns it comes from;
    sensitive ones (personal or special category classifications) marked."""
    sources: dict[str, list[str]] = {}
    for flow in cg.flows_into.get(node, []):
        if flow.output_column:
            sources.setdefault(flow.output_column, []).append(f"{short_name(flow.input)}.{flow.input_column}")
    declared = cg.columns.get(node, {})
    listed = [{"name": c.name, "type": c.type, "classifications": list(c.classifications),
               "sensitive": bool(SENSITIVE & set(c.classifications)), "from": sources.get(c.name, [])}
              for c in declared.values()]
    listed += [{"name": name, "type": None, "classifications": [], "sensitive": False, "from": inputs}
               for name, inputs in sources.items() if name not in declared]
    return listed[:MAX_COLUMNS]


def _column_scope(assessment: Assessment, node: str, seeded: list[str]) -> tuple[str | None, list[list[list[Any]]]]:
    """How column lineage carries a class's column-scoped roots to the node, and the column paths
    (as [node, column] steps) that show it, as a finding's `column_lineage` and `column_paths` do."""
    scope = assessment.columns
    best: str | None = None
    paths: list[list[list[Any]]] = []
    for key in seeded[:SEEDED_ROOTS]:
        label = scope.label(key, node)
        if label is None:
            continue
        if best is None or LINEAGE_RANK[label] < LINEAGE_RANK[best]:
            best = label
        if label in ("column", "indirect") and len(paths) < DEFAULT_PATH_LIMIT:
            paths += [[[step.node, step.column] for step in path]
                      for path in scope.paths(key, node, DEFAULT_PATH_LIMIT - len(paths))]
    return best, paths


def _classes(assessment: Assessment) -> tuple[dict[tuple[str, str | None], int], list[list[str]]]:
    """Roots grouped by what decides a finding's severity and wording: condition and variant."""
    classes: dict[tuple[str, str | None], int] = {}
    keys: list[list[str]] = []
    for root, condition in zip(assessment.roots, assessment.conditions, strict=True):
        j = classes.setdefault((condition.condition, condition.variant), len(keys))
        if j == len(keys):
            keys.append([])
        keys[j].append(root.key)
    return classes, keys


def _findings(assessment: Assessment, node: str, summary: list[tuple[int, str, int, str]], own: set[int],
              prices: dict[PriceKey, Priced], seeded: list[list[str]] | None = None) -> list[dict[str, Any]]:
    """One entry per condition reaching the node, worst first, with how many roots it comes from.

    Severity and wording depend on the class, the mode, the node's tier and whether the node is the
    root, not on which root: each combination is priced once (`prices`) for the whole view."""
    tier = assessment.tier(node)
    by_condition: dict[str, dict[str, Any]] = {}
    by_columns: dict[str, tuple[str | None, list[list[list[Any]]]]] = {}
    for j, mode, count, first in summary:
        price_key = (j, mode, tier, j in own or mode == "direct")
        priced = prices.get(price_key)
        if priced is None:
            priced = prices[price_key] = assessment.priced(node, first, mode, tier)
        condition = priced.condition.condition
        entry = {"severity": priced.severity, "title": priced.title, "condition": condition, "mode": mode,
                 "at_root": j in own, "root": assessment.by_key[first][0].dataset, "roots": count, "note": priced.note,
                 "citations": priced.citations, "unverified": priced.condition.variant == UNRECORDED}
        if seeded and seeded[j]:
            label, paths = _column_scope(assessment, node, seeded[j])
            was_label, was_paths = by_columns.get(condition, (None, []))
            if was_label is not None and (label is None or LINEAGE_RANK[was_label] < LINEAGE_RANK[label]):
                label = was_label
            by_columns[condition] = (label, (was_paths + paths)[:DEFAULT_PATH_LIMIT])
        best = by_condition.get(condition)
        if best is None:
            by_condition[condition] = entry
            continue
        entry["roots"] = best["roots"] = best["roots"] + count
        # unverified only while every root of the condition is an unrecorded fingerprint
        entry["unverified"] = best["unverified"] = best["unverified"] and entry["unverified"]
        if (SEVERITY_RANK[entry["severity"]], not entry["at_root"]) < (SEVERITY_RANK[best["severity"]], not best["at_root"]):
            by_condition[condition] = entry
    ordered = sorted(by_condition.values(), key=lambda e: (SEVERITY_RANK[e["severity"]], e["condition"]))
    for entry in ordered:
        entry["column_lineage"], entry["column_paths"] = by_columns.get(entry["condition"], (None, []))
        if entry["at_root"]:
            entry["root"] = node
        more = entry.pop("roots") - 1
        if more > 0:
            entry["root"] = f"{entry['root']} and {more:,} more"
    return ordered


def state_of(kind: str, findings: list[dict[str, Any]], run: dict[str, Any] | None) -> str:
    """The first state that applies, in the order a reader should act on them (see the module)."""
    if kind == JOB:
        return "neutral"
    own = [f for f in findings if f["at_root"]]
    if any(f["condition"] in COMPROMISING and not f.get("unverified") for f in own):
        return "compromised"
    if run is not None and run["outcome"] == "errored":
        return "check_errored"
    if any(f["condition"] == "source_stale" for f in own):
        return "stale"
    if any(f.get("unverified") for f in own):
        return "unverified"
    if any(f["severity"] in SERIOUS or f["mode"] == "hard" for f in findings):
        return "tainted"
    if findings:
        return "warning"
    return "healthy"


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def _fields(graph: nx.DiGraph, node: str, attrs: dict[str, Any], run: dict[str, Any] | None) -> list[tuple[str, str]]:
    kind = attrs["kind"]
    if kind == JOB:
        return [("description", attrs.get("description") or "—")]
    if kind == MODEL:
        feeds = [use for source in graph.predecessors(node) if graph.edges[source, node]["kind"] == "feed"
                 for use in graph.edges[source, node]["uses"]]
        fingerprinted = sum(1 for use in feeds if use["fingerprint"])
        return [
            ("version", attrs.get("version") or "—"),
            ("risk tier", attrs.get("risk_tier") or "—"),
            ("purpose", attrs.get("purpose") or "—"),
            ("owner", attrs.get("owner") or "—"),
            ("deployed", "yes" if attrs.get("deployed") else "no"),
            ("training fingerprints", f"{fingerprinted} of {len(feeds)} feeds"),
        ]
    classes: list[str] = []
    if attrs.get("personal_data"):
        classes.append("personal data")
    classes += [f"special category: {c}" for c in attrs.get("special_categories") or []]
    classes += [str(t) for t in attrs.get("tags") or []]
    licence = attrs.get("licence_id") or "—"
    if attrs.get("licence_revoked"):
        licence += " (revoked)"
    elif attrs.get("licence_expires"):
        licence += f" (expires {attrs['licence_expires']})"
    if run is None:
        last_check = "never checked"
    else:
        last_check = f"{run['outcome']} at {_when(run['started_at'])}"
        if run["failed"]:
            last_check += f", {run['failed']} failed"
        if run["errored"]:
            last_check += f", {run['errored']} errored"
    open_incidents = [i["kind"] for i in attrs.get("incidents", []) if i["resolved"] is None]
    return [
        ("owner", attrs.get("owner") or "—"),
        ("origin", attrs.get("origin") or "—"),
        ("location", mask_secrets(attrs["location"]) if attrs.get("location") else "—"),  # the store keeps it whole
        ("classifications", ", ".join(classes) or "none declared"),
        ("legal basis", attrs.get("legal_basis") or "—"),
        ("licence", licence),
        ("last check", last_check),
        ("fingerprint", (run or {}).get("fingerprint") or "—"),
        ("open incidents", ", ".join(open_incidents) or "none"),
    ]
