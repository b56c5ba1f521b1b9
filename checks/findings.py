"""The risk answers the API pages: findings a page at a time, and the datasets a condition is found on.

Every condition of the platform must be found and propagated before any finding can be ranked; that
assessment is computed once per store revision (`checks.assessment_cache`), findings are ranked without
being built, and only a page's findings are built with their paths. These functions are for the API,
which runs them under its read budget (api/deps.py). On a large platform `checks.summary.summarise`
(risk per model) is the answer that stays small.
"""

from __future__ import annotations

from datetime import datetime, timezone

from pydantic import Field

from catalog import reads
from catalog.ids import node_id
from catalog.service import DatasetPage, dataset_page
from catalog.store import Store
from checks.results import RiskReport
from checks.risk import assess, evaluate_page


class RiskPage(RiskReport):
    """A page of findings: `total` counts them all, `findings` holds `limit` of them from `offset`."""

    total: int = Field(description="findings in all")
    limit: int
    offset: int


def findings_page(store: Store, *, as_of: datetime | None = None, model: str | None = None, path_limit: int = 5,
                  limit: int = 1000, offset: int = 0) -> RiskPage:
    """Findings as of `as_of` (naive times are UTC), for one `model` or all, `path_limit` paths each."""
    report, total = evaluate_page(store, as_of=_utc(as_of), models=[model] if model else None,
                                  path_limit=path_limit, limit=limit, offset=offset)
    return RiskPage(as_of=report.as_of, policy=report.policy, revision=report.revision, findings=report.findings,
                    total=total, limit=limit, offset=offset)


def datasets_with_condition(store: Store, condition: str, *, namespace: str | None = None, owner: str | None = None,
                            origin: str | None = None, tag: str | None = None, limit: int = 100,
                            offset: int = 0) -> DatasetPage:
    """The datasets on which `condition` is detected now (not merely inherited from upstream), filtered
    and paged as the plain dataset list is."""
    assessment = assess(store)
    flagged = {root.dataset for root, found in zip(assessment.roots, assessment.conditions, strict=True)
               if found.condition == condition}
    with store.read() as session:
        _, rows = reads.datasets(session, namespace=namespace, owner=owner, origin=origin, tag=tag)
        chosen = [row for row in rows if node_id("dataset", row.namespace, row.name) in flagged]
        return dataset_page(session, chosen[offset:offset + limit], total=len(chosen), limit=limit, offset=offset)


def _utc(moment: datetime | None) -> datetime | None:
    """A moment without a zone means UTC, as everywhere in the catalog."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment
