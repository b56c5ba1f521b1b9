"""Markdown: the risk summary, and the per-model training-data governance report.

The model report gathers what an AI Act Annex IV point 2(d) data section or a datasheet needs:
the model's sources with their provenance, what it consumed and whether that still matches, the
latest check results, the sensitive columns it is exposed to (column lineage: `checks.exposure`),
and every finding with its note, citations and actions.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, Any

import networkx as nx

from catalog.ids import short_name
from catalog.secrets import mask_secrets
from checks.reports.mermaid import SEVERE, flowchart
from checks.results import Finding, RiskReport
from lineage import queries
from lineage.columns import has_columns
from lineage.graph import DATASET

if TYPE_CHECKING:
    from checks.exposure import Exposure

RANK = {"critical": 3, "high": 2, "medium": 1, "low": 0}


def cell(value: Any) -> str:
    """Text that reads as itself in Markdown, table cells included: no pipes ending the cell, no
    newlines, no raw HTML, and no emphasis, code or links made of a name's `*`, `` ` ``, `[`…"""
    text = "-" if value is None or value == "" else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", " ").replace("\n", " ")
    return _PUNCTUATION.sub(r"\\\1", text)


# `_` only where it could open or close emphasis: `credit_features` stays as it is written.
_PUNCTUATION = re.compile(r"([\\`*\[\]|~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z]))")


def code(value: str, *, in_table: bool = False) -> str:
    """A code span showing `value` exactly, whatever backticks it holds (the fence is longer)."""
    text = value.replace("\r", " ").replace("\n", " ")
    if in_table:
        text = text.replace("|", "\\|")  # GFM ends the cell at a bare pipe, even inside code
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}" if "`" in text else f"{fence}{text}{fence}"


def short(node: str, graph: nx.DiGraph | None = None) -> str:
    """A node's name: from the graph when there is one, else decoded from the id (`catalog/ids.py`)."""
    if graph is not None and node in graph:
        return graph.nodes[node]["name"]
    return short_name(node)


def risk_summary(report: RiskReport) -> str:
    lines = ["# Headwater risk findings", "",
             f"As of {report.as_of:%Y-%m-%d %H:%M} UTC · store revision {report.revision} · "
             f"{len(report.findings)} findings", ""]
    models = [f for f in report.findings if f.node_kind == "model"]
    lines += ["## Models", "", "| model | severity | condition | root | how | since | detail |", "|---|---|---|---|---|---|---|"]
    for f in models:
        lines.append(f"| {cell(short(f.node))} | {f.severity} | {cell(_condition(f))} | {cell(short(f.root))} | "
                     f"{f.mode} | {f.since:%Y-%m-%d} | {cell(mask_secrets(f.detail))} |" if f.since else
                     f"| {cell(short(f.node))} | {f.severity} | {cell(_condition(f))} | {cell(short(f.root))} | "
                     f"{f.mode} | - | {cell(mask_secrets(f.detail))} |")
    own = [f for f in report.findings if f.node_kind == "dataset" and f.node == f.root]
    lines += ["", "## Datasets (their own conditions)", "", "| dataset | severity | condition | detail |", "|---|---|---|---|"]
    for f in own:
        lines.append(f"| {cell(short(f.node))} | {f.severity} | {cell(f.condition)} | {cell(mask_secrets(f.detail))} |")
    return "\n".join(lines) + "\n"


def _condition(finding: Finding) -> str:
    if finding.condition == "upstream_tainted":
        return f"upstream_tainted ← {finding.root_condition}"
    return finding.condition


def _bom_links(model: str) -> str:
    """Where the version's AI-BOM is: the files the demo writes beside the reports, and how to get one.
    Names are the user's: the link targets are percent-encoded, the rest escaped as every cell is."""
    from urllib.parse import quote

    from checks.bom import file_name

    files = " · ".join(f"[{fmt}](../bom/{quote(file_name(model, fmt))})" for fmt in ("cyclonedx", "spdx"))
    return (f"{files} · {code(f'headwater export bom {short_name(model)} --format cyclonedx', in_table=True)}"
            f" · {code(f'GET /api/v1/models/{model}/bom?format=spdx', in_table=True)}")


def model_report(graph: nx.DiGraph, model: str, report: RiskReport, observed: dict[str, dict[str, Any]],
                 generated: datetime, *, exposure: list[Exposure] | None = None) -> str:
    """`exposure` (`checks.exposure.exposure` of the assessment) lists the sensitive columns the model is
    exposed to; without it they are worked out from the report's findings and policy."""
    attrs = graph.nodes[model]
    findings = report.for_node(model)
    upstream = queries.upstream(graph, model)
    drawn = {n for n in upstream if graph.nodes[n]["kind"] != "job"} | {model}
    worst: dict[str, str] = {}
    tainted: set[tuple[str, str]] = set()
    for finding in report.findings:
        if finding.node in drawn and finding.node in (model, finding.root):
            if finding.node not in worst or RANK[finding.severity] > RANK[worst[finding.node]]:
                worst[finding.node] = finding.severity
    for finding in findings:
        if finding.severity in SEVERE:
            worst.setdefault(finding.root, finding.severity)
            for path in finding.paths or [[finding.root, model]]:
                tainted.update(zip(path, path[1:]))
    title = f"{attrs['name']} {attrs.get('version') or ''}".strip()
    lines = [
        f"# Training-data governance report: {cell(title)}", "",
        f"Generated {generated:%Y-%m-%d %H:%M} UTC by Headwater · findings as of {report.as_of:%Y-%m-%d} · "
        f"store revision {report.revision}", "",
        "```mermaid", flowchart(graph, drawn, tainted_edges=tainted, flagged=worst), "```", "",
        "Thick red arrows: paths along which a critical or high finding reaches the model.", "",
        "## The model", "",
        "| | |", "|---|---|",
        f"| id | {code(model, in_table=True)} |",
        f"| version | {cell(attrs.get('version'))} |",
        f"| risk tier | {cell(attrs.get('risk_tier'))} |",
        f"| deployed | {'yes' if attrs.get('deployed') else 'no'} |",
        f"| purpose | {cell(attrs.get('purpose'))} |",
        f"| owner | {cell(attrs.get('owner'))} |",
        f"| AI bill of materials | {_bom_links(model)} |", "",
        "## What it trained on", "",
        "| dataset | role | fingerprint recorded | consumed at | current fingerprint | matches |",
        "|---|---|---|---|---|---|",
    ]
    for source in sorted(graph.predecessors(model)):
        edge = graph.edges[source, model]
        if edge.get("kind") == "base_model":
            lines.append(f"| {cell(short(source, graph))} (base model) | fine-tuned from | - | - | - | - |")
            continue
        seen = observed.get(source)
        current = seen["fingerprint"] if seen else None
        for use in edge.get("uses", []):
            recorded = use["fingerprint"]
            matches = "not recorded" if recorded is None else "not checked yet" if current is None else (
                "yes" if current == recorded else "**no**")
            when = f"{use['consumed_at']:%Y-%m-%d %H:%M}" if use["consumed_at"] else "-"
            lines.append(f"| {cell(short(source, graph))} | {use['role']} | {_fp(recorded)} | {when} | {_fp(current)} | {matches} |")
    lines += ["", "## Where its data comes from", "",
              "| dataset | origin | owner | personal data | legal basis | licence | datasheet |", "|---|---|---|---|---|---|---|"]
    for node in sorted(n for n in upstream if graph.nodes[n]["kind"] == DATASET):
        a = graph.nodes[node]
        personal = "yes" if a.get("personal_data") else "no" if a.get("personal_data") is False else "undeclared"
        if a.get("special_categories"):
            personal += f" ({', '.join(a['special_categories'])})"
        licence = a.get("licence_id") or "-"
        if a.get("licence_expires"):
            licence += f" (expires {a['licence_expires']:%Y-%m-%d})"
        lines.append(f"| {cell(short(node, graph))} | {cell(a.get('origin'))} | {cell(a.get('owner'))} | {cell(personal)} | "
                     f"{cell(a.get('legal_basis'))} | {cell(licence)} | {cell(a.get('documentation'))} |")
    lines += _exposure_section(graph, model, report, exposure)
    lines += ["", "## Data-quality checks (latest run of each dataset)", "",
              "| dataset | outcome | checked | failed or errored expectations |", "|---|---|---|---|"]
    for node in sorted(n for n in upstream if graph.nodes[n]["kind"] == DATASET):
        seen = observed.get(node)
        if not seen:
            lines.append(f"| {cell(short(node, graph))} | not checked | - | - |")
            continue
        latest = seen["latest"]
        problems = ", ".join(p["expectation"] for p in seen.get("problems", []) if p["success"] is False or p["errored"])
        lines.append(f"| {cell(short(node, graph))} | {latest['outcome']} | {latest['started_at']:%Y-%m-%d %H:%M} | {cell(problems or mask_secrets(latest.get('error') or ''))} |")
    lines += ["", f"## Findings ({len(findings)})", ""]
    if not findings:
        lines.append("No condition reaches this model as of this date.")
    for finding in findings:
        lines += _finding_section(finding, graph)
    return "\n".join(lines) + "\n"


HOW = {"column": "column: its values flow in",
       "indirect": "indirect: through filters, joins or aggregations only",
       "assumed": "assumed: column lineage incomplete, the table-level rule"}


def _exposure_section(graph: nx.DiGraph, model: str, report: RiskReport, exposure: list[Exposure] | None) -> list[str]:
    """The classified source columns behind each column-scoped privacy finding on the model."""
    if exposure is None:
        exposure = _exposure_of_report(graph, model, report)
    lines = ["", "## Sensitive columns it is exposed to", ""]
    if not exposure:
        lines.append("No classified column reaches this model." if has_columns(graph) else
                     "No columns are recorded for its sources: which columns reach it is not known.")
        return lines
    lines += ["| source column | classifications | finding | how it reaches the model | column path |",
              "|---|---|---|---|---|"]
    for found in exposure:
        finding = f"{found.severity}: {found.condition}" + ("" if found.mode == "direct" else f" ({found.mode})")
        for column in found.columns:
            paths = "; ".join(" → ".join(_step(node, name, graph) for node, name in path) for path in column.paths)
            lines.append(f"| {cell(short(column.dataset, graph))}.{cell(column.column)} | "
                         f"{cell(', '.join(column.classifications))} | {cell(finding)} | {HOW[column.lineage]} | "
                         f"{paths or '-'} |")
    return lines


def _step(node: str, column: str | None, graph: nx.DiGraph) -> str:
    name = cell(short(node, graph))
    return name if column is None else f"{name} (whole dataset)" if column == "" else f"{name}.{cell(column)}"


def _exposure_of_report(graph: nx.DiGraph, model: str, report: RiskReport) -> list[Exposure]:
    findings = [f for f in report.for_node(model) if f.column_lineage is not None]
    if not findings:
        return []
    from pathlib import Path

    from checks.exposure import exposure_of_findings
    from checks.policy import load_policy

    policy = load_policy(Path(report.policy[-1]) if len(report.policy) > 1 else None)
    return exposure_of_findings(graph, model, findings, policy)


def _fp(value: str | None) -> str:
    return f"`{value[:19]}…`" if value else "-"


def _finding_section(finding: Finding, graph: nx.DiGraph) -> list[str]:
    applies = ("in force" if finding.applies == "in_force"
               else f"best practice until the obligation applies on {finding.applies_from:%Y-%m-%d}")
    since = f"{finding.since:%Y-%m-%d}" if finding.since else "unknown"
    lines = [
        f"### {finding.severity.upper()}: {cell(finding.title)} — {code(short(finding.root, graph))}", "",
        f"- condition: `{finding.condition}`" + (f" (inherited `{finding.root_condition}`)" if finding.condition == "upstream_tainted" else ""),
        f"- how it reaches the model: {finding.mode}; since {since}; {applies}",
        f"- evidence: {cell(mask_secrets(finding.detail))}",  # a check error may quote a location
    ]
    if finding.paths:
        count = f" ({finding.path_count} in all)" if finding.path_count and finding.path_count > len(finding.paths) else ""
        lines.append(f"- paths{count}: " + "; ".join(" → ".join(cell(short(n, graph)) for n in path) for path in finding.paths))
    lines += ["", cell(finding.note), "", "Citations: " + "; ".join(cell(c) for c in finding.citations), "", "Actions:"]
    lines += [f"1. {cell(action)}" for action in finding.actions]
    lines.append("")
    return lines


def gate_summary(result: Any, graph: nx.DiGraph) -> str:
    """The gate's verdict in Markdown (the GitHub step summary and `--markdown`)."""
    verdict = "✅ passed" if result.passed else "❌ failed"
    lines = [f"## Headwater gate: {verdict}", "",
             f"Fails on findings at or above **{result.fail_on}** for {len(result.scope)} model(s) in scope, "
             f"as of {result.as_of:%Y-%m-%d %H:%M} UTC. Checks: {result.checks_validated} validated, "
             f"{result.checks_reused} reused.", ""]
    failing = [item for item in result.items if item.status == "failing"]
    if failing:
        nodes: set[str] = set()
        edges: set[tuple[str, str]] = set()
        worst: dict[str, str] = {}
        for item in failing:
            for path in item.finding.paths or [[item.finding.root, item.model]]:
                nodes.update(path)
                edges.update(zip(path, path[1:]))
            for node in (item.finding.root, item.model):
                if node not in worst or RANK[item.finding.severity] > RANK[worst[node]]:
                    worst[node] = item.finding.severity
        lines += ["```mermaid", flowchart(graph, {n for n in nodes if n in graph}, tainted_edges=edges, flagged=worst),
                  "```", ""]
    lines += ["| model | condition | root | severity | status |", "|---|---|---|---|---|"]
    order = {"failing": 0, "waived": 1, "below_threshold": 2}
    for item in sorted(result.items, key=lambda i: (order[i.status], -RANK[i.finding.severity], i.model)):
        status = item.status.replace("_", " ") + (f": {item.waiver}" if item.waiver else "")
        lines.append(f"| {cell(short(item.model, graph))} | {cell(_condition(item.finding))} | {cell(short(item.finding.root, graph))} | "
                     f"{item.finding.severity} | {cell(status)} |")
    for check in result.errored:
        lines.append(f"| {cell(', '.join(short(m, graph) for m in check.models))} | check_errored | {cell(short(check.dataset, graph))} | "
                     f"- | {cell(check.status + ': ' + mask_secrets(check.error))} |")
    if result.waivers:
        lines += ["", "Waivers needing attention:", ""]
        lines += [f"- {w.state}: `{w.condition}` on {code(short(w.dataset, graph))} (expires {w.expires}; {cell(w.file)}:{w.line})"
                  for w in result.waivers]
    return "\n".join(lines) + "\n"
