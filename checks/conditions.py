"""Per-dataset governance conditions, detected from what the catalog knows on a given day.

Inputs are the lineage graph (metadata, incidents, feeds), what check runs had observed by then
(fingerprints, verdicts) and the policy's settings. Each detection states its evidence in `detail`
so a reader can check it without opening the catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, get_args

import networkx as nx

from catalog.durations import format_duration
from catalog.ids import short_name
from catalog.spec import SpecialCategory
from lineage.graph import DATASET, MODEL

MLFLOW_DIGEST = "mlflow:"  # a feed fingerprint that is MLflow's digest of the logged dataset (checks/mlflow_digest.py)

EXTERNAL = ("vendor", "public", "scraped", "unknown")
ANONYMISING = ("anonymised", "aggregated", "safe_harbor", "expert_determination")


@dataclass(frozen=True)
class Condition:
    dataset: str
    condition: str
    detail: str
    since: datetime | None = None
    variant: str | None = None
    effective_from: datetime | None = None  # for time-scoped propagation
    models: frozenset[str] | None = None  # only these consuming models (a fingerprint recorded by them)


def start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.utc)


def open_incidents(attrs: dict[str, Any], as_of: datetime, *kinds: str) -> list[dict[str, Any]]:
    return sorted(
        (i for i in attrs.get("incidents", []) if i["kind"] in kinds and i["opened"] <= as_of
         and (i["resolved"] is None or i["resolved"] > as_of)),
        key=lambda i: i["opened"],
    )


def model_tiers_downstream(graph: nx.DiGraph, tier_of) -> dict[str, set[str]]:
    """For every dataset, the policy tiers of the models it feeds, directly or not."""
    from lineage import arrays

    if len(graph) >= ARRAY_NODES:
        topo = arrays.topology(graph)
        if topo.level is not None:
            return _tiers_on_arrays(graph, topo, tier_of)
    result: dict[str, set[str]] = {}
    try:
        order = list(reversed(list(nx.topological_sort(graph))))
    except nx.NetworkXUnfeasible:
        order = None
    if order is None:
        for node, attrs in graph.nodes(data=True):
            if attrs["kind"] == DATASET:
                result[node] = {tier_of(graph.nodes[m].get("risk_tier")) for m in nx.descendants(graph, node)
                                if graph.nodes[m]["kind"] == MODEL}
        return result
    for node in order:
        attrs = graph.nodes[node]
        tiers: set[str] = set()
        if attrs["kind"] == MODEL:
            tiers.add(tier_of(attrs.get("risk_tier")))
        for nxt in graph.successors(node):
            tiers |= result.get(nxt, set())
        result[node] = tiers
    return result


ARRAY_NODES = 20_000  # from this size the tiers below each dataset are found on the graph's arrays


def _tiers_on_arrays(graph: nx.DiGraph, topo: Any, tier_of) -> dict[str, set[str]]:
    """`model_tiers_downstream` as bit masks carried up a topological level at a time: a node's
    tiers are its successors' (all on higher levels), and alike answers share one frozenset."""
    import numpy as np

    from lineage.arrays import KIND_CODES, neighbours

    nodes = topo.nodes.tolist()
    tiers = sorted({tier_of(graph._node[n].get("risk_tier")) for n in nodes if graph._node[n]["kind"] == MODEL})
    bit = {tier: 1 << i for i, tier in enumerate(tiers)}
    mask = np.zeros(len(nodes), dtype=np.int64)
    models = np.flatnonzero(topo.kind == KIND_CODES[MODEL])
    mask[models] = [bit[tier_of(graph._node[nodes[m]].get("risk_tier"))] for m in models.tolist()]
    levels, down = topo.by_level, topo.down
    for level in range(len(levels.node_starts) - 2, -1, -1):
        here = levels.nodes[levels.node_starts[level]:levels.node_starts[level + 1]]
        counts = np.diff(down.indptr)[here]
        if not counts.any():
            continue
        np.bitwise_or.at(mask, np.repeat(here, counts), mask[neighbours(down.indptr, down.indices, here)])
    shared = {m: frozenset(t for t in tiers if m & bit[t]) for m in np.unique(mask).tolist()}
    datasets = np.flatnonzero(topo.kind == KIND_CODES[DATASET])
    return {nodes[d]: shared[m] for d, m in zip(datasets.tolist(), mask[datasets].tolist(), strict=True)}  # type: ignore[misc]


def detect(graph: nx.DiGraph, observed: dict[str, dict[str, Any]], as_of: datetime, settings: Any,
           tier_of: Any) -> list[Condition]:
    """Every condition on every dataset. `observed` maps dataset node ids to what runs had seen.

    Datasheets and bias examinations are asked of the datasets a high-risk or general-purpose
    model consumes directly (its training, validation and test sets, AI Act Art. 10 and Annex IV
    point 2(d)); their own sources are covered by the provenance those datasheets must describe.
    """
    found: list[Condition] = []
    today = as_of.date()
    classes = column_classes(graph)
    for node, attrs in graph.nodes(data=True):
        if attrs["kind"] == MODEL and attrs.get("risk_tier") is None:
            found.append(Condition(node, "risk_tier_unknown", detail=(
                f"version {attrs.get('version')} came from {attrs.get('source') or 'an import'} without a risk tier")))
        if attrs["kind"] != DATASET:
            continue
        seen = observed.get(node)
        found += _freshness(node, attrs, seen, as_of)
        found += _quality(node, seen)
        found += _fingerprints(graph, node, attrs, seen)
        found += _incidents(node, attrs, as_of, settings)
        found += _privacy(node, _with_column_flags(attrs, classes.get(node)), as_of, today, settings)
        # graph._pred/_succ/_node: the plain dicts, not views built per call (100,000 datasets here)
        derived = any(edge.get("kind") == "derivation" for edge in graph._pred[node].values())
        found += _rights(node, attrs, today, derived=derived)
        consumers = {tier_of(graph._node[m].get("risk_tier")) for m, edge in graph._succ[node].items()
                     if edge.get("kind") == "feed"}
        found += _documentation(node, attrs, consumers)
    return found


def _freshness(node: str, attrs: dict, seen: dict | None, as_of: datetime) -> list[Condition]:
    freshness: timedelta | None = attrs.get("freshness")
    if not freshness:
        return []
    last, how = attrs.get("last_updated"), "declared"
    if last is None and seen:
        last, how = seen.get("changed_at"), "observed change"
        if last is None:
            last, how = seen["by_source"].get("headwater", seen["latest"]).get("modified_at"), "file modification time"
    if last is None or last > as_of or as_of - last <= freshness:
        return []
    return [Condition(node, "source_stale", since=last + freshness,
                      detail=f"last updated {last:%Y-%m-%d} ({how}); must be fresh within "
                             f"{format_duration(freshness)}, so stale since {last + freshness:%Y-%m-%d}")]


def _quality(node: str, seen: dict | None) -> list[Condition]:
    """A failed or errored latest run, of any source: each tool's latest verdict stands on its own."""
    if not seen:
        return []
    failing = [run for run in seen["by_source"].values() if run["outcome"] in ("failed", "errored")]
    if not failing:
        return []
    latest = min(failing, key=lambda run: (run["outcome"] != "errored", run["source"]))
    by = "" if latest["source"] == "headwater" else f" ({latest['source']})"
    problems = [p for p in seen.get("problems", []) if p.get("run_id", latest["id"]) == latest["id"]]
    if latest["outcome"] == "errored":
        reason = latest.get("error") or "; ".join(f"{p['expectation']}: {p['error']}" for p in problems if p["errored"])
        detail = f"could not be checked{by} on {latest['started_at']:%Y-%m-%d}: {reason}"
    else:
        failures = [p for p in problems if p["success"] is False and p["severity"] == "critical"]
        listed = "; ".join(
            p["expectation"] + (f" ({p['unexpected_count']} unexpected)" if p["unexpected_count"] is not None else "")
            for p in failures)
        detail = f"critical {'test' if by else 'expectation'} failed{by} on {latest['started_at']:%Y-%m-%d}: {listed}"
    return [Condition(node, "quality_check_failed", since=latest["started_at"], detail=detail)]


UNRECORDED = "unrecorded"  # the variant of a fingerprint_mismatch where no fingerprint was recorded at all


def _fingerprints(graph: nx.DiGraph, node: str, attrs: dict, seen: dict | None) -> list[Condition]:
    current = seen["fingerprint"] if seen else None
    variant = "external" if (attrs.get("origin") or "unknown") in EXTERNAL else None
    found = []
    for model, edge in graph._succ[node].items():
        if edge.get("kind") != "feed":
            continue
        label = short_name(model)
        for use in edge["uses"]:
            recorded = use["fingerprint"]
            if recorded is None:
                found.append(Condition(  # `unrecorded`: unverifiable, not shown as compromised (checks/node_states.py)
                    node, "fingerprint_mismatch", models=frozenset([model]), since=use["consumed_at"], variant=UNRECORDED,
                    detail=f"{label} recorded no fingerprint of what it consumed ({use['role']})"))
            elif recorded.startswith(MLFLOW_DIGEST):
                found += _mlflow_digest(node, model, label, use, seen, variant)
            elif current is not None and current != recorded:
                since = seen["first_seen"].get(current) if seen else None
                found.append(Condition(
                    node, "fingerprint_mismatch", models=frozenset([model]), since=since, variant=variant,
                    detail=f"{label} trained ({use['role']}) on {recorded[:19]}…, "
                           f"the content is now {current[:19]}…"))
    return found


def _mlflow_digest(node: str, model: str, label: str, use: dict, seen: dict | None, variant: str | None) -> list[Condition]:
    """A feed imported from MLflow carries the digest MLflow computed when the run logged the data:
    the evidence anchored at training time. `headwater check` recomputes that digest on the content
    as it is now (checks/mlflow_digest.py); until a check has, the feed is unverified."""
    recorded = use["fingerprint"].removeprefix(MLFLOW_DIGEST)
    current = (seen or {}).get("digests", {}).get("mlflow")
    if current is None:
        return [Condition(node, "fingerprint_mismatch", models=frozenset([model]), since=use["consumed_at"],
                          variant=UNRECORDED, detail=(
                              f"MLflow recorded digest {recorded} of what {label} consumed ({use['role']}); "
                              "no check has recomputed it on the content yet, so it is unverified"))]
    if current == recorded:
        return []
    return [Condition(node, "fingerprint_mismatch", models=frozenset([model]), variant=variant, detail=(
        f"{label} trained ({use['role']}) on content MLflow digested as {recorded}; "
        f"the content now digests as {current}"))]


def _incidents(node: str, attrs: dict, as_of: datetime, settings: Any) -> list[Condition]:
    if not attrs.get("incidents"):
        return []
    found = []
    for incident in open_incidents(attrs, as_of, "poisoning", "tampering"):
        start = incident["effective_from"] or incident["opened"]
        found.append(Condition(node, "poisoning_flagged", since=incident["opened"], effective_from=start,
                               detail=f"{incident['kind']} reported {incident['opened']:%Y-%m-%d}, "
                                      f"affecting data from {start:%Y-%m-%d}: {incident['note'] or ''}".rstrip(": ")))
    for incident in open_incidents(attrs, as_of, "breach"):
        personal = attrs.get("personal_data") is not False
        found.append(Condition(node, "breach_flagged", since=incident["opened"],
                               variant=None if personal else "no_personal_data",
                               detail=f"breach reported {incident['opened']:%Y-%m-%d}"
                                      f"{'' if personal else ' (no personal data declared)'}: {incident['note'] or ''}".rstrip(": ")))
    for incident in open_incidents(attrs, as_of, "consent_withdrawn"):
        found.append(Condition(node, "consent_withdrawn", since=incident["effective_from"] or incident["opened"],
                               variant="special_category" if attrs.get("special_categories") else None,
                               detail=f"consent withdrawn, reported {incident['opened']:%Y-%m-%d}"
                                      f"{'' if attrs.get('legal_basis') == 'consent' else ' (the recorded legal basis is not consent)'}"
                                      f": {incident['note'] or ''}".rstrip(": ")))
    for incident in open_incidents(attrs, as_of, "erasure_request", "objection"):
        due = start_of(incident["due"]) if incident["due"] else shifted(incident["opened"], settings.erasure_deadline)
        variant = "overdue" if as_of > due else "due_soon" if as_of > shifted(due, -settings.erasure_due_soon) else None
        state = {"overdue": "overdue since", "due_soon": "due"}.get(variant or "", "due")
        found.append(Condition(node, "erasure_or_objection_pending", since=incident["opened"], variant=variant,
                               detail=f"{incident['kind'].replace('_', ' ')} received {incident['opened']:%Y-%m-%d}, "
                                      f"{state} {due:%Y-%m-%d}: {incident['note'] or ''}".rstrip(": ")))
    for incident in open_incidents(attrs, as_of, "licence_revoked"):
        found.append(Condition(node, "licence_invalid", since=incident["opened"],
                               detail=f"licence revoked, reported {incident['opened']:%Y-%m-%d}: {incident['note'] or ''}".rstrip(": ")))
    return found


def shifted(moment: datetime, delta: timedelta) -> datetime:
    """`moment + delta`, held at the ends of the calendar: data collected on 9999-12-01 and kept
    for two years is kept "until the end of time", not a crash of every risk evaluation."""
    try:
        return moment + delta
    except OverflowError:
        end = datetime.max if delta > timedelta(0) else datetime.min
        return end.replace(tzinfo=moment.tzinfo)


PERSONAL_CLASSES = frozenset({"personal_data", "direct_identifier", "pseudonymous", "free_text"})
SPECIAL_CLASSES = frozenset(get_args(SpecialCategory))


def column_classes(graph: nx.DiGraph) -> dict[str, set[str]]:
    """Per dataset, the classifications its columns carry (empty for most stores: no column rows)."""
    rows = graph.graph.get("column_rows")
    found: dict[str, set[str]] = {}
    for dataset, _name, _type, _description, classes, *_ in (rows.dataset_columns if rows else ()):
        if classes:
            found.setdefault(dataset, set()).update(classes)
    return found


def _with_column_flags(attrs: Any, classes: set[str] | None) -> Any:
    """The dataset's flags with what its columns say added: a column marked health makes the
    dataset hold health data, one marked personal (or any special category) makes it personal."""
    if not classes:
        return attrs
    special = sorted(set(attrs.get("special_categories") or ()) | (classes & SPECIAL_CLASSES))
    personal = attrs.get("personal_data") or bool(classes & (PERSONAL_CLASSES | SPECIAL_CLASSES))
    if special == list(attrs.get("special_categories") or ()) and personal == attrs.get("personal_data"):
        return attrs
    merged = dict(attrs)
    merged.update(special_categories=special, personal_data=personal)
    return merged


def _privacy(node: str, attrs: dict, as_of: datetime, today: date, settings: Any) -> list[Condition]:
    found = []
    personal = attrs.get("personal_data")
    if personal and (not attrs.get("legal_basis") or not attrs.get("purpose")):
        missing = " and ".join(x for x in ("legal_basis", "purpose") if not attrs.get(x))
        found.append(Condition(node, "lawful_basis_missing", detail=f"personal data with no {missing} recorded"))
    if attrs.get("special_categories") and not attrs.get("special_category_basis"):
        found.append(Condition(node, "special_category_unbased",
                               detail=f"holds {', '.join(attrs['special_categories'])} data; no Art. 9(2) condition recorded"))
    method, verified = attrs.get("deid_method"), attrs.get("deid_verified")
    if method in ANONYMISING:
        if verified is None:
            found.append(Condition(node, "deidentification_invalid", detail=f"declared {method}, never verified"))
        elif as_of - start_of(verified) > settings.deidentification_max_age:
            found.append(Condition(node, "deidentification_invalid", since=start_of(verified) + settings.deidentification_max_age,
                                   detail=f"declared {method}, last verified {verified:%Y-%m-%d}: older than "
                                          f"{format_duration(settings.deidentification_max_age)}"))
    elif method == "pseudonymised" and personal is False:
        found.append(Condition(node, "deidentification_invalid",
                               detail="pseudonymised data is still personal data, but it is declared as not personal"))
    if personal:
        until = attrs.get("retention_until")
        if until is None and attrs.get("collected") and attrs.get("retention"):
            until = shifted(start_of(attrs["collected"]), attrs["retention"]).date()
        if until is not None and today > until:
            found.append(Condition(node, "retention_exceeded", since=start_of(until),
                                   variant="special_category" if attrs.get("special_categories") else None,
                                   detail=f"may be kept until {until:%Y-%m-%d}"))
    return found


def _rights(node: str, attrs: dict, today: date, *, derived: bool) -> list[Condition]:
    """Licence, TDM reservation and provenance. A derived dataset's provenance is its lineage: no
    origin or owner of its own is not "unknown provenance" (its sources answer for themselves, and
    their conditions reach it downstream); a derived dataset declared as coming from outside
    (vendor, public, scraped) still needs the licence it came under."""
    found = []
    expires = attrs.get("licence_expires")
    if attrs.get("licence_revoked"):
        found.append(Condition(node, "licence_invalid", detail=f"licence {attrs.get('licence_id')} is marked revoked"))
    elif expires is not None and expires < today:
        found.append(Condition(node, "licence_invalid", since=start_of(expires),
                               detail=f"licence {attrs.get('licence_id')} expired {expires:%Y-%m-%d}"))
    if attrs.get("tdm_status") == "reserved":
        how = f" ({attrs['tdm_method']})" if attrs.get("tdm_method") else ""
        checked = f", checked {attrs['tdm_checked']:%Y-%m-%d}" if attrs.get("tdm_checked") else ""
        found.append(Condition(node, "tdm_reserved", since=start_of(attrs["tdm_checked"]) if attrs.get("tdm_checked") else None,
                               detail=f"rightholders reserved text-and-data mining{how}{checked}"))
    origin = attrs.get("origin")
    gaps = [label for label, missing in (
        ("origin", origin in (None, "unknown") and not derived),
        ("owner", not attrs.get("owner") and not derived),
        ("licence", origin in ("vendor", "public", "scraped") and not attrs.get("licence_id")),
    ) if missing]
    if gaps:
        found.append(Condition(node, "provenance_unknown", detail=f"no {', no '.join(gaps)} recorded"))
    return found


def _documentation(node: str, attrs: dict, consumers: set[str]) -> list[Condition]:
    found = []
    if not attrs.get("documentation") and consumers & {"high", "gpai"}:
        found.append(Condition(node, "documentation_missing",
                               detail="a high-risk or general-purpose model trains on it and it has no datasheet link"))
    if "high" in consumers and attrs.get("bias_status") in (None, "failed"):
        status = "failed" if attrs.get("bias_status") == "failed" else "missing"
        found.append(Condition(node, "bias_check_missing_or_failed",
                               detail=f"a high-risk model trains on it; bias examination {status}"))
    return found
