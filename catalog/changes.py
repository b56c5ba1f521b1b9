"""What a write reports of each row, and what a set-at-a-time write needs of its transaction.

Here rather than in `catalog.store` so that `catalog.bulk` can name them without importing the
store: the store's `Writer` hands its feeds to `Bulk`, so the dependency runs store -> bulk only.
"""

from __future__ import annotations

from typing import Literal, Protocol

from sqlalchemy.orm import Session

Change = Literal["created", "updated", "unchanged"]


class Transaction(Protocol):
    """The write side of one `Store.transaction()` as `Bulk` uses it (`catalog.store.Writer` is one).

    `changed` is what moves the store revision at commit, so whoever writes must set it.
    """

    session: Session
    changed: bool
