"""`ingest_events` and `ingest_parsed`: validate, then store and map in one transaction.

Every new event is kept raw and mapped onto the catalog in ONE transaction: an invalid event
anywhere in a batch means nothing of it is written. Events are identified by the SHA-256 of their
canonical JSON, so a sender may retry freely: an event seen before is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from catalog.openlineage.events import ParsedEvent, parse_events
from catalog.openlineage.limits import DEFAULT_LIMITS, EventLimits
from catalog.openlineage.mapping import IngestResult, Ingestion
from catalog.retry import retry_lost_races
from catalog.store import Store


def ingest_events(store: Store, events: Iterable[Any], *, attempts: int = 5,
                  limits: EventLimits = DEFAULT_LIMITS) -> IngestResult:
    """Validate every event, then store and map the new ones in one transaction (all or nothing).

    Raises InvalidEvent (nothing written) when any event is invalid, is dated too far ahead, would
    write more edges than `limits` allow, or would close a derivation cycle (LineageCycle). Writers
    racing on the same new dataset, job or event (one of them hits a unique constraint) or
    deadlocking on PostgreSQL retry the whole transaction, so concurrent API workers never lose a batch.
    """
    return ingest_parsed(store, [parse_events(events, limits=limits)], attempts=attempts)[0]


def ingest_parsed(store: Store, groups: Sequence[list[ParsedEvent]], *, attempts: int = 5,
                  actors: Sequence[str] = ()) -> list[IngestResult]:
    """Store and map several already validated batches in ONE transaction, each with its own result.

    This is the API's group commit: many small requests share one commit instead of paying one each,
    and each still learns what its own events did. All groups are written or none is; a lost race
    retries the whole transaction, as `ingest_events` does. `actors` are the senders of the groups
    (the audit entry names them all; default: the current actor), and its detail the producers.
    """
    producers = sorted({event.producer for group in groups for event in group})[:20]
    actor = ", ".join(sorted(set(actors)))[:500] or None

    def write() -> list[IngestResult]:
        with store.transaction("openlineage", {"producers": producers}, actor=actor) as writer:
            if len(groups) == 1:
                results = [Ingestion(writer, groups[0]).run()]
            else:
                # one mapping pass over every group's events: per-request passes would cost 5x as much
                ingestion = Ingestion(writer, [event for group in groups for event in group])
                shared = ingestion.run()
                results = [_share(shared, group, ingestion.new, len(groups) - 1) for group in groups]
        # the revision this transaction committed, as the transaction read it: no second connection
        for result in results:
            result.revision = writer.revision or 0
        return results

    return retry_lost_races(write, attempts=attempts)


def _share(shared: IngestResult, group: list[ParsedEvent], new: set[int], others: int) -> IngestResult:
    """One request's answer from a shared transaction: its own event counts, the transaction's row counts."""
    stored = sum(1 for event in group if id(event) in new)
    kinds = {kind: sum(1 for event in group if event.kind == kind) for kind in ("RunEvent", "DatasetEvent", "JobEvent")}
    # model_construct: the counts are ints already, and validating a copy per request showed in the profile
    return IngestResult.model_construct(**{
        **shared.__dict__, "events": len(group), "stored": stored, "duplicates": len(group) - stored,
        "run_events": kinds["RunEvent"], "dataset_events": kinds["DatasetEvent"], "job_events": kinds["JobEvent"],
        "shared_with": others,
    })
