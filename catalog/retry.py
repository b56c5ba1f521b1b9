"""Writers that lose a race retry, so concurrency never turns an acknowledged-looking write into a 500.

SQLite serialises writers (BEGIN IMMEDIATE), and so does PostgreSQL now: `Store.transaction` takes
an advisory lock first (issue 15: two loads deciding side by side committed a derivation cycle).
Races remain possible with writers that do not take it (an older Headwater during a rolling
upgrade, a script writing the tables): two requests creating the same new dataset both find it
missing and the second insert hits the unique constraint, or two transactions touching the same
rows in opposite orders deadlock. Either way the loser's transaction rolled back whole, so running
it again is safe, and on the second try it finds the winner's row and updates it instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError

T = TypeVar("T")


def lost_race(exc: DBAPIError) -> bool:
    """A unique violation, a deadlock or a serialization failure (SQLSTATE 23505, 40xxx)."""
    if isinstance(exc, IntegrityError):
        return True
    state = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None) or ""
    return str(state).startswith("40")


def retry_lost_races(action: Callable[[], T], *, attempts: int = 5) -> T:
    """Run `action` (one whole transaction) again when it lost a race; other errors pass through."""
    for attempt in range(attempts):
        try:
            return action()
        except DBAPIError as exc:
            if attempt == attempts - 1 or not lost_race(exc):
                raise
    raise AssertionError("unreachable")  # pragma: no cover
