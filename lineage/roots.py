"""Root conditions and how they travel: the vocabulary both propagation paths share.

Here rather than in `lineage.propagate` so that `lineage.bitsets` (the fast path) and the work list
read the same rules from one place without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Mode = Literal["direct", "hard", "review"]
Travel = Literal["hard", "review", "none"]


@dataclass(frozen=True)
class Root:
    key: str  # unique id of this root condition, e.g. "dataset:ns:x|breach_flagged"
    dataset: str
    into_datasets: Travel
    into_models: Travel
    anonymisation: Literal["stops", "review", "none"] = "none"
    effective_from: datetime | None = None  # only for time-scoped roots
    models: frozenset[str] | None = None  # when set, only these consuming models are affected directly


def trained_before(edge: dict[str, Any], moment: datetime) -> bool:
    """True when every recorded use of this feed predates `moment`.

    An unknown consumption time counts as after: a model is not cleared of a condition on a guess.
    """
    uses = edge.get("uses") or []
    return bool(uses) and all(use.get("consumed_at") is not None and use["consumed_at"] < moment for use in uses)
