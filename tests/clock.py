"""The moment the tests' stores record their history at.

Before every date a test evaluates at: a test asking about 2026-11-25 asks about the catalog it
loaded, not about a past the store never had. Tests of the history itself use clocks of their own.
"""

from __future__ import annotations

from datetime import datetime, timezone

RECORDED_AT = datetime(2024, 1, 1, tzinfo=timezone.utc)


def recorded_clock() -> datetime:
    return RECORDED_AT
