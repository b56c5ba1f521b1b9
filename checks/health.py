"""Each node's state for the viewer, and what hovering it tells, from the risk report and check runs.

One state per node, the worst that applies, in the order a reader should act on them:
compromised (breach, poisoning, or content changed since training: stop using it), check errored
(we could not look: the data may be anything), stale, tainted (a serious finding, own or inherited),
warning (findings to review), healthy. Jobs are not assessed themselves.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import networkx as nx

from catalog.runs import latest_outcomes
from catalog.store import Store, mask_url
from checks.risk import Assessment
from checks.service import mask_url_in
from lineage.graph import DATASET, JOB, MODEL
from lineage.viewer import NodeInfo

COMPROMISING = {"breach_flagged", "poisoning_flagged", "fingerprint_mismatch"}
SERIOUS = {"high", "critical"}
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
MANY_IDS = 5_000  # past this, reading every newest run beats a long IN list


def node_info(store: Store, assessment: Assessment, nodes: Iterable[str]) -> dict[str, NodeInfo]:
    """State, fields and findings of the given nodes only: a view never pays for the whole platform."""
    graph = assessment.graph
    wanted = list(dict.fromkeys(nodes))
    reached = assessment.reach.at_each(wanted)
    ids = {graph.nodes[n]["store_id"]: n for n in wanted if graph.nodes[n]["kind"] == DATASET}
    with store.read() as session:
        runs = latest_outcomes(session, ids if len(ids) <= MANY_IDS else None)
    checked = {ids[k]: run for k, run in runs.items() if k in ids}
    info = {}
    for node in wanted:
        attrs = graph.nodes[node]
        findings = findings_at(assessment, node, reached.get(node, {})) if attrs["kind"] != JOB else []
        run = checked.get(node)
        info[node] = NodeInfo(state=state_of(attrs["kind"], findings, run), fields=_fields(graph, node, attrs, run),
                              findings=findings)
    return info


def findings_at(assessment: Assessment, node: str, modes: dict[str, str]) -> list[dict[str, Any]]:
    """One entry per condition reaching the node, worst first, with how many sources it comes from.

    A table below a busy hub can be reached by thousands of roots; grouping them by what decides
    severity and wording (condition, variant, mode, whether it is the node's own) prices each group once.
    """
    tier = assessment.tier(node)
    groups: dict[tuple[str, str | None, str, bool], list[str]] = defaultdict(list)
    for key, mode in modes.items():
        root, condition = assessment.by_key[key]
        groups[(condition.condition, condition.variant, mode, node == root.dataset)].append(key)
    by_condition: dict[str, dict[str, Any]] = {}
    for (condition, _variant, mode, at_root), keys in groups.items():
        priced = assessment.priced(node, keys[0], mode, tier)
        sources = {assessment.by_key[k][0].dataset for k in keys}
        entry = {"severity": priced.severity, "title": priced.title, "condition": condition, "mode": mode,
                 "at_root": at_root, "root": min(sources), "sources": sources, "note": priced.note,
                 "citations": priced.citations}
        best = by_condition.get(condition)
        if best is None:
            by_condition[condition] = entry
        else:
            sources |= best["sources"]
            if SEVERITY_RANK[entry["severity"]] < SEVERITY_RANK[best["severity"]] or entry["at_root"] > best["at_root"]:
                by_condition[condition] = best = entry
            best["sources"] = sources
    ordered = sorted(by_condition.values(), key=lambda e: (SEVERITY_RANK[e["severity"]], e["condition"]))
    for entry in ordered:
        sources = entry.pop("sources")
        if len(sources) > 1:
            entry["root"] = f"{entry['root']} and {len(sources) - 1:,} more"
    return ordered


def state_of(kind: str, findings: list[dict[str, Any]], run: dict[str, Any] | None) -> str:
    if kind == JOB:
        return "neutral"
    own = [f for f in findings if f["at_root"]]
    if any(f["condition"] in COMPROMISING for f in own):
        return "compromised"
    if run is not None and run["outcome"] == "errored":
        return "check_errored"
    if any(f["condition"] == "source_stale" for f in own):
        return "stale"
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
    classes = []
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
        ("location", mask_url_in(attrs["location"], mask_url) if attrs.get("location") else "—"),
        ("classifications", ", ".join(classes) or "none declared"),
        ("legal basis", attrs.get("legal_basis") or "—"),
        ("licence", licence),
        ("last check", last_check),
        ("fingerprint", (run or {}).get("fingerprint") or "—"),
        ("open incidents", ", ".join(open_incidents) or "none"),
    ]
