"""`headwater import dbt TARGET_DIR`: a dbt project's DAG and test outcomes, from its artifacts.

For teams that do not run dbt-ol, and for what dbt-ol leaves out: dbt-ol sends no event for seeds
and does not list a seed read through `ref()` as an input, so the tables it feeds look like
sources. `manifest.json`'s `parent_map` has the whole DAG; `run_results.json` the outcome of each
test, recorded as a check run on the tested table (catalog/dbt_tests.py); `catalog.json` is read
for nothing yet (its columns wait for column-level lineage).

Tables are named as dbt-ol names them: `DATABASE.SCHEMA.ALIAS` in the namespace given (dbt-ol uses
the adapter's connection, `duckdb:///path/to.duckdb` or `postgres://host:5432`; the manifest does
not record it, so pass `--namespace` to meet dbt-ol's datasets), and each model's job is
`DATABASE.SCHEMA.PROJECT.MODEL`: one producer whether dbt-ol saw it under `dbt run` or `dbt build`.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from catalog.dbt_tests import result_row
from catalog.runs import outcome_of
from catalog.errors import ConfigurationError
from catalog.imports import ImportedCheck, ImportedDataset, ImportPlan

SOURCE = "dbt"
MANIFEST_VERSIONS = range(10, 13)  # dbt-core 1.6 (v10) to 1.11 (v12)
RUN_RESULTS_VERSIONS = range(5, 7)
TABLES = ("model", "seed", "snapshot", "source")


def plan_import(target: Path, *, namespace: str | None = None) -> ImportPlan:
    manifest = _artifact(target / "manifest.json", "manifest", MANIFEST_VERSIONS, required=True)
    results = _artifact(target / "run_results.json", "run-results", RUN_RESULTS_VERSIONS, required=False)
    meta = manifest.get("metadata", {})
    namespace = namespace or f"dbt://{meta.get('project_name') or meta.get('adapter_type') or 'project'}"
    nodes = {**manifest.get("nodes", {}), **manifest.get("sources", {})}
    plan = ImportPlan(source=SOURCE)
    tables = {uid: node for uid, node in nodes.items() if node.get("resource_type") in TABLES}
    for uid, node in sorted(tables.items()):
        description = (node.get("description") or "").strip() or None
        plan.datasets.append(ImportedDataset(handle=uid, key=(namespace, _table(node)),
                                             fields={"description": description} if description else {}))
    for uid, parents in sorted((manifest.get("parent_map") or {}).items()):
        node = tables.get(uid)
        if node is None or node.get("resource_type") == "source":
            continue
        job = (SOURCE, f"{_table(node).rsplit('.', 1)[0]}.{node.get('package_name')}.{node.get('name')}")
        plan.derivations[uid] = {(parent, job) for parent in parents if parent in tables}
    if results is not None:
        plan.checks = _checks(results, nodes, tables)
    return plan


def _checks(results: dict[str, Any], nodes: dict[str, Any], tables: dict[str, Any]) -> list[ImportedCheck]:
    at = _time(results.get("metadata", {}).get("generated_at"))
    by_table: dict[str, list[dict[str, Any]]] = {}
    for result in results.get("results", []):
        test = nodes.get(result.get("unique_id", ""))
        if test is None or test.get("resource_type") != "test":
            continue
        tested = test.get("attached_node") or next((n for n in test.get("depends_on", {}).get("nodes", []) if n in tables), None)
        if tested not in tables:
            continue
        status = result.get("status")
        error = None
        if status in ("error", "skipped", "runtime error"):
            error = (result.get("message") or f"dbt {status} the test").strip().splitlines()[0]
        by_table.setdefault(tested, []).append(result_row(
            test.get("name") or result["unique_id"], severity=(test.get("config") or {}).get("severity"),
            column=test.get("column_name"), success=None if error else status == "pass", error=error,
            failures=result.get("failures")))
    return [ImportedCheck(dataset=uid, started_at=at, finished_at=at, outcome=outcome_of(rows), results=rows)
            for uid, rows in sorted(by_table.items())]


def _table(node: dict[str, Any]) -> str:
    name = node.get("alias") or node.get("identifier") or node.get("name")
    return ".".join(part for part in (node.get("database"), node.get("schema"), name) if part)


def _artifact(path: Path, kind: str, versions: range, *, required: bool) -> dict[str, Any] | None:
    if not path.is_file():
        if required:
            raise ConfigurationError(f"{path}: no such file; expected dbt's target folder (run dbt first)")
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigurationError(f"{path}: not a readable JSON file: {exc}") from None
    url = str((data.get("metadata") or {}).get("dbt_schema_version", "")) if isinstance(data, dict) else ""
    found = re.search(rf"/{kind}/v(\d+)\.json$", url)
    if not found or int(found.group(1)) not in versions:
        supported = ", ".join(f"v{v}" for v in versions)
        raise ConfigurationError(f"{path}: metadata.dbt_schema_version is {url or 'missing'!r}; this importer reads "
                                 f"{kind} {supported}")
    return data


def _time(text: str | None) -> datetime:
    if not text:
        return datetime.now(timezone.utc)
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
