"""What the CLI and the API call for the history: one function per question, one read each."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from catalog.errors import ConfigurationError
from catalog.history import chain
from catalog.history.changes import NodeHistory, find_node, node_history
from catalog.ids import Kind
from catalog.store import Store

MAX_CHANGES = 1000


def history(store: Store, reference: str, *, kind: Kind | None = None, since: datetime | None = None,
            limit: int = 200) -> NodeHistory:
    """A dataset's or model's changes, newest first; found even when it has been deleted."""
    with store.read() as session:
        return node_history(session, find_node(session, reference, kind), since=since, limit=limit)


def verify(store: Store) -> chain.Verdict:
    """The audit chain recomputed; a store with no trail is a usage error (exit 2), not a pass."""
    with store.read() as session:
        if chain.entries_count(session) == 0:
            raise ConfigurationError(f"the store at {store.display_url} has no audit trail to verify")
        return chain.verify(session)


def export(store: Store, since: datetime | None = None) -> Iterator[dict[str, Any]]:
    """The trail's entries, oldest first, each with its changes, streamed from one read."""
    with store.read() as session:
        if chain.entries_count(session) == 0:
            raise ConfigurationError(f"the store at {store.display_url} has no audit trail to export")
        yield from chain.export(session, since)
