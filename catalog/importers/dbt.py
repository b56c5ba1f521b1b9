"""`headwater import dbt TARGET_DIR`: a dbt project's DAG and test outcomes, from its artifacts.

For teams that do not run dbt-ol, and for what dbt-ol leaves out: dbt-ol sends no event for seeds
and does not list a seed read through `ref()` as an input, so the tables it feeds look like
sources. `manifest.json`'s `parent_map` has the whole DAG; `run_results.json` the outcome of each
test, recorded as a check run on the tested table (catalog/dbt_tests.py); `catalog.json` (from
`dbt docs generate`, optional) each built table's columns as the warehouse has them: name, type,
comment and position, recorded with source "dbt" (catalog/bulk_columns.py). The manifest adds each
column's documented `description` (it wins over the warehouse comment) and, from the column's
`meta` (or `config.meta`), `headwater: {classifications: [...]}` with Headwater's classification
names; an unknown name refuses the import, as it would in a catalog file. Tags are not read as
classifications: a tag means what the project says it means. A table catalog.json does not have
(never built, or no catalog.json) gets the columns schema.yml declares, in declared order; a table
neither names keeps whatever dbt said of it before.

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
from typing import Any, get_args

from catalog.bulk_columns import ColumnValues
from catalog.dbt_tests import result_row
from catalog.runs import outcome_of
from catalog.errors import ConfigurationError
from catalog.imports import ImportedCheck, ImportedDataset, ImportPlan, checked_name
from catalog.spec import Classification

SOURCE = "dbt"
MANIFEST_VERSIONS = range(10, 13)  # dbt-core 1.6 (v10) to 1.11 (v12)
RUN_RESULTS_VERSIONS = range(5, 7)
CATALOG_VERSIONS = range(1, 2)  # catalog v1: every dbt-core since 1.0
CLASSIFICATIONS = frozenset(get_args(Classification))
TABLES = ("model", "seed", "snapshot", "source")


def plan_import(target: Path, *, namespace: str | None = None) -> ImportPlan:
    manifest = _artifact(target / "manifest.json", "manifest", MANIFEST_VERSIONS, required=True)
    results = _artifact(target / "run_results.json", "run-results", RUN_RESULTS_VERSIONS, required=False)
    catalog = _artifact(target / "catalog.json", "catalog", CATALOG_VERSIONS, required=False)
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
    built = {**((catalog or {}).get("nodes") or {}), **((catalog or {}).get("sources") or {})}
    for uid, node in sorted(tables.items()):
        columns = _columns(target / "manifest.json", uid, node, built.get(uid))
        if columns is not None:
            plan.columns[uid] = columns
    return plan


def _columns(where: Path, uid: str, node: dict[str, Any], built: dict[str, Any] | None) -> list[ColumnValues] | None:
    """The table's columns: catalog.json's when it was built, else those schema.yml declares."""
    declared = {str(name).lower(): column for name, column in (node.get("columns") or {}).items()
                if isinstance(column, dict)}
    if isinstance(built, dict) and isinstance(built.get("columns"), dict):
        found = [(column.get("name") or name, column.get("type"), column.get("comment"), column.get("index"))
                 for name, column in built["columns"].items() if isinstance(column, dict)]
        found.sort(key=lambda c: (not isinstance(c[3], int), c[3] if isinstance(c[3], int) else 0))
    elif declared:
        found = [(column.get("name") or name, column.get("data_type"), None, i + 1)
                 for i, (name, column) in enumerate(declared.items())]
    else:
        return None
    columns = []
    for name, type_, comment, index in found:
        name = checked_name(f"{where}: {uid}", str(name), "column")
        doc = declared.get(name.lower(), {})
        description = (doc.get("description") or "").strip() or (str(comment).strip() if comment else "") or None
        columns.append(ColumnValues(name, str(type_) if type_ else None, description,
                                    _classifications(where, uid, name, doc),
                                    index - 1 if isinstance(index, int) and index > 0 else None))
    return columns


def _classifications(where: Path, uid: str, name: str, column: dict[str, Any]) -> tuple[str, ...]:
    """`meta: {headwater: {classifications: [...]}}` on the column (`config.meta` since dbt 1.10)."""
    found: list[str] = []
    for meta in (column.get("meta"), (column.get("config") or {}).get("meta")):
        ours = meta.get("headwater") if isinstance(meta, dict) else None
        if ours is None:
            continue
        given = ours.get("classifications", []) if isinstance(ours, dict) else ours
        if not isinstance(ours, dict) or not isinstance(given, list) or not all(isinstance(value, str) for value in given):
            raise ConfigurationError(f"{where}: {uid} column {name!r}: meta.headwater.classifications must be a "
                                     f"list of names, not {given!r}")
        unknown = sorted(set(given) - CLASSIFICATIONS)
        if unknown:
            raise ConfigurationError(f"{where}: {uid} column {name!r}: unknown classification {unknown[0]!r} in "
                                     f"meta.headwater.classifications; expected any of {', '.join(sorted(CLASSIFICATIONS))}")
        found.extend(value for value in given if value not in found)
    return tuple(found)


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
