"""The house rules of the code, checked: layering, no import cycles, SQL in the store modules only,
routers that only route, and modules small enough to read.

Each rule is read from the source with `ast` (imports inside functions count: a deferred import
still makes a cycle, it only hides it from Python), so a change that breaks one fails here with
the module and line at fault.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("catalog", "lineage", "checks", "api")
LAYER = {name: rank for rank, name in enumerate(PACKAGES)}  # a package imports only those before it
MAX_LINES = 400
LONG_REASON = "Longer than 400 lines because"
# The store modules: the only places that build SQL or run it (schema.py declares the tables).
STORE_MODULES = {
    "catalog.schema", "catalog.store", "catalog.bulk", "catalog.reads", "catalog.runs",
    "catalog.openlineage.mapping", "catalog.openlineage.cycles", "catalog.imports", "catalog.lineage_rows",
    "catalog.history.chain", "catalog.history.changes", "catalog.history.past", "catalog.history.recent",
    "catalog.history.triggers", "catalog.loader_fingerprints", "catalog.engine", "catalog.revision_watch",
    "catalog.bulk_columns",
}
# Modules that query the user's own data sources, never the store (they read what is being catalogued).
DATA_SOURCE_MODULES = {"catalog.fingerprint"}
SQL_NAMES = {"select", "insert", "update", "delete", "text", "tuple_", "func", "and_", "or_", "exists", "union_all"}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> list[tuple[str, int, list[str]]]:
    """(module imported, line, names taken from it) for every import in the file, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, node.lineno, [alias.name for alias in node.names]))
    return found


def _own_target(module: str, names: list[str]) -> list[str]:
    """The project modules an import reaches: `from catalog import ids` reaches catalog.ids."""
    targets = [f"{module}.{n}" for n in names if f"{module}.{n}" in MODULES]
    if module in MODULES and len(targets) < len(names):
        targets.append(module)
    return targets or ([module] if module in MODULES else [])


def _graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for name, path in MODULES.items():
        graph.add_node(name)
        for module, line, names in _imports(path):
            for target in _own_target(module, names):
                if target != name and not name.startswith(target + "."):  # a package's own __init__
                    graph.add_edge(name, target, line=line)
    return graph


def test_the_module_list_is_read():
    assert {"catalog.store", "catalog.openlineage.events", "api.app", "lineage.graph"} <= set(MODULES)


def test_layers_point_one_way():
    wrong = [f"{name} (line {data['line']}) imports {target}"
             for name, target, data in _graph().edges(data=True)
             if LAYER[target.split(".")[0]] > LAYER[name.split(".")[0]]]
    assert wrong == [], "catalog <- lineage <- checks <- api:\n" + "\n".join(wrong)


def test_no_import_cycles():
    graph = _graph()
    cycles = [c for c in nx.simple_cycles(graph) if len(c) > 1]
    shown = [" -> ".join(c + [c[0]]) for c in sorted(cycles, key=len)[:10]]
    assert cycles == [], "import cycles (deferred imports included):\n" + "\n".join(shown)


def test_sql_lives_in_the_store_modules_only():
    offenders = []
    for name, path in MODULES.items():
        if name in STORE_MODULES or name in DATA_SOURCE_MODULES:
            continue
        for module, line, names in _imports(path):
            if module.startswith("sqlalchemy") and (set(names) & SQL_NAMES or module == "sqlalchemy.sql"):
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {', '.join(sorted(set(names) & SQL_NAMES))}")
        source = path.read_text(encoding="utf-8")
        for needle in (".execute(", ".scalars(", ".scalar("):
            if needle in source:
                line = source[:source.index(needle)].count("\n") + 1
                offenders.append(f"{path.relative_to(ROOT)}:{line} runs a statement ({needle})")
    assert offenders == [], "SQL outside " + ", ".join(sorted(STORE_MODULES)) + ":\n" + "\n".join(offenders)


def test_routers_only_route():
    offenders = []
    for name, path in MODULES.items():
        if not name.startswith("api.routers."):
            continue
        for module, line, _names in _imports(path):
            if module.startswith("sqlalchemy") or module in ("catalog.schema", "catalog.store"):
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert offenders == [], "routers call services, never the store:\n" + "\n".join(offenders)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_are_small_or_say_why(name):
    path = MODULES[name]
    text = path.read_text(encoding="utf-8")
    lines = text.count("\n")
    docstring = ast.get_docstring(ast.parse(text)) or ""
    assert lines <= MAX_LINES or LONG_REASON in docstring, (
        f"{path.relative_to(ROOT)} has {lines} lines: split it, or say at its top '{LONG_REASON} …'")
