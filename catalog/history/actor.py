"""Who is writing, and through what: what each audit entry says about its transaction.

The *actor* is a person or a credential: `HEADWATER_ACTOR` or the OS user on the command line, the
token's name in the API (never the token). The entry point sets it once (`acting_as`), so a
service deep below does not pass it along. The *source* is the door the write came through
(`catalog-file`, `api`, `openlineage`, `import:mlflow`, `check`, ...) and is said by whoever opens
the transaction, with details such as the file or the OpenLineage producers.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_actor: ContextVar[str | None] = ContextVar("headwater_actor", default=None)


def current_actor() -> str:
    """The actor set by the entry point; else `HEADWATER_ACTOR`, else the OS user, else `unknown`."""
    chosen = _actor.get()
    if chosen:
        return chosen
    configured = os.environ.get("HEADWATER_ACTOR", "").strip()
    if configured:
        return configured[:200]
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        return "unknown"


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    """Attribute every write inside the block to `actor`."""
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def set_actor(actor: str | None) -> None:
    """Set the actor for the rest of this context (a request's thread, a CLI process)."""
    _actor.set(actor)
