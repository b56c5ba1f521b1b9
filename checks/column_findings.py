"""Privacy findings made precise by column lineage: a model is exposed to what its columns carry.

A privacy condition (personal data without a basis, a special category without an Art. 9 condition,
consent withdrawn, erasure pending, retention, de-identification) concerns the columns that hold the
personal data. When the dataset's columns are classified, the policy rule says which columns carry
it (`columns: personal` or `special_category`); the condition then reaches only what those columns
reach along the column graph (`lineage.column_reach`), and is taken away from every node the table
rule reached but the columns do not. A hop without column lineage passes the condition on as the
table rule does, and the finding says "assumed". Integrity conditions (breach, poisoning, tampering,
licence) keep the table rule: a poisoned table is poisoned in every column.

A dataset whose columns are not classified for the condition (the dataset says `special_categories:
[health]` and no column is marked health) keeps the table rule as well: nothing says which column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from checks.conditions import PERSONAL_CLASSES, SPECIAL_CLASSES, Condition
from checks.policy import Policy
from checks.results import ColumnStep
from lineage.column_reach import ColumnReach, Seed, reach_columns
from lineage.columns import classified, column_graph, has_columns
from lineage.propagate import Reach
from lineage.roots import Root

CARRIERS = {"personal": PERSONAL_CLASSES | SPECIAL_CLASSES, "special_category": SPECIAL_CLASSES}
ASSUMED_NOTE = "column lineage incomplete: assumed"


@dataclass
class ColumnScope:
    """Which roots travel by column, and where they reached (None: no root does)."""

    reach: ColumnReach | None = None
    seeds: dict[str, Seed] = field(default_factory=dict)

    def label(self, key: str, node: str) -> str | None:
        if self.reach is None or key not in self.seeds or node == self.seeds[key].dataset:
            return None
        return self.reach.label(key, node)

    def paths(self, key: str, node: str, limit: int) -> list[list[ColumnStep]]:
        if self.reach is None or key not in self.seeds or node == self.seeds[key].dataset:
            return []
        return [[ColumnStep(node=name, column=column) for name, column in path]
                for path in self.reach.paths(key, node, limit)]


def refine(graph: nx.DiGraph, conditions: list[Condition], roots: list[Root], reach: Reach,
           policy: Policy) -> ColumnScope:
    """Narrow the privacy roots whose datasets have classified columns to where those columns go."""
    if not has_columns(graph):
        return ColumnScope()
    cg = column_graph(graph)
    seeds: dict[str, Seed] = {}
    places: list[int] = []
    for i, (root, condition) in enumerate(zip(roots, conditions, strict=True)):
        carriers = CARRIERS.get(policy.conditions[condition.condition].columns)
        if carriers is None:
            continue
        columns = classified(cg, root.dataset, carriers)
        if columns:
            seeds[root.key] = Seed(root.key, root.dataset, tuple(columns))
            places.append(i)
    if not seeds:
        return ColumnScope()
    words = max(1, (len(roots) + 63) // 64)  # the bits of the table propagation: root i is bit i
    found = reach_columns(cg, list(seeds.values()), places=places, words=words)
    allowed = found.table.copy()
    seeded = np.zeros(words, dtype=np.uint64)
    for seed, i in zip(seeds.values(), places, strict=True):
        bit = np.uint64(1) << np.uint64(i & 63)
        seeded[i >> 6] |= bit
        allowed[cg.number[seed.dataset], i >> 6] |= bit  # a root's own dataset keeps its own finding
    reach.narrow(allowed, seeded, cg.number)
    return ColumnScope(found, seeds)


def describe(label: str | None, detail: str) -> str:
    """The finding's detail with what column lineage says of it."""
    if label == "assumed":
        return f"{detail} ({ASSUMED_NOTE})"
    if label == "indirect":
        return f"{detail} (reached through filters, joins or aggregations only: indirect)"
    return detail
