"""OpenLineage intake: what `POST /api/v1/lineage` does with a body, from validation to commit.

The order is what makes a 2xx mean something and a bad request cheap: the events are validated
first (a bad event fails only its own request, and validation stops at the limit's last listed
problem, so a body of garbage costs a blink), then no `dataSource` may name a file outside the data
roots; only then are they queued for the group commit (api/group_commit.py), and the answer waits
for the transaction that holds them. Nothing is written unless every check passed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool

from api.confinement import confine_events
from api.group_commit import event_limits, group_commit
from catalog.errors import InvalidEvent
from catalog.openlineage import IngestResult, ParsedEvent, parse_events
from catalog.store import Store

INLINE = 4  # events that parse faster than a hop to the thread pool and back; a big batch must not block the loop


async def ingest(body: Any, *, store: Store, state: Any, roots: Callable[[], list[Path]]) -> IngestResult:
    """Validate, confine and commit one request's events (`body`: one event or a JSON array of them).

    `state` is the app's (its limits and its group commit live there); `roots` is asked only when
    an event names a local file.
    """
    events = body if isinstance(body, list) else [body]
    limits = event_limits(state)
    if len(events) <= INLINE:
        parsed = parse_events(events, limits=limits)
    else:
        parsed = await run_in_threadpool(lambda: parse_events(events, limits=limits))
    try:
        if any(_names_a_data_source(event) for event in parsed):
            await run_in_threadpool(confine_events, events, roots)  # may read the catalog folders: off the loop
        # else nothing to confine, and no hop to the thread pool and back for the usual run event
    except InvalidEvent as refused:  # one per refused facet: summarised like any other batch of problems
        raise InvalidEvent.of_batch(refused.errors, omitted=refused.omitted, unchecked=refused.unchecked,
                                    limit=limits.max_problems) from None
    return await asyncio.wrap_future(group_commit(state, store).submit(parsed))


def _names_a_data_source(event: ParsedEvent) -> bool:
    """Whether any dataset of the event carries a `dataSource` facet (the only thing `confine_events` checks)."""
    refs = [event.dataset] if event.dataset is not None else [*event.inputs, *event.outputs]
    return any("dataSource" in ref.facets for ref in refs)
