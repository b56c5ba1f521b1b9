"""Options several commands share, so each reads, defaults and fails the same way everywhere.

A bad value raises `typer.BadParameter`: a usage error (exit 2) that names the option, never a
traceback from deep inside a query.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from datetime import datetime


class Format(str, Enum):
    text = "text"
    json = "json"


class RiskFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


def parse_as_of(value: Optional[str], *, option: str = "--as-of", day_end: bool = True) -> Optional["datetime"]:
    """--as-of: a date (midnight UTC... the end of that day is what people mean) or a date-time;
    `--since` takes a bare date as the start of that day (`day_end=False`).

    A date-time must exist in UTC, where the store keeps every moment: 0001-01-01T00:00:00+01:00
    is in year 0 there, and would otherwise fail deep inside a query with a traceback."""
    if value is None:
        return None
    from datetime import datetime, time, timedelta, timezone

    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value).date()
            if not day_end:
                return datetime.combine(day, time.min, tzinfo=timezone.utc)
            return datetime.combine(day, time.max, tzinfo=timezone.utc) - timedelta(microseconds=time.max.microsecond)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"expected a date (2026-11-25) or an ISO date-time, got {value!r}",
                                 param_hint=option) from None
    moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    try:
        moment.astimezone(timezone.utc)
    except OverflowError:
        raise typer.BadParameter(f"{value!r} is not a moment UTC can hold: it must lie between 0001-01-01 and "
                                 f"9999-12-31 in UTC", param_hint=option) from None
    return moment


AsOfOption = Annotated[Optional[str], typer.Option("--as-of", metavar="DATE", help="Evaluate as known on this date (default: now).")]
PolicyOption = Annotated[Optional[Path], typer.Option("--policy", help="A policy file merged over the default policy.")]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output as text for people or JSON for tools.")]
