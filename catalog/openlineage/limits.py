"""Bounds on what one OpenLineage event may do to the catalog.

An event is a claim by whoever holds a write token, and the catalog believes the newest claim. So an
event may not date itself in the future (it would outrank every real run to come), may not name a
date that has no UTC equivalent, and may not make the server write without bound:

* `eventTime` at most `max_clock_skew` ahead of the server's clock (default 5 minutes;
  `HEADWATER_MAX_CLOCK_SKEW`, a duration such as `10s`, `5min`, `1h`). A later one is refused with
  a problem naming `eventTime`, however far ahead: clamping it to "now" would rank it above the
  real runs of the next minutes, and its sender's clock needs fixing anyway.
* `eventTime` must exist in UTC: `0001-01-01T00:00:00+01:00` and `9999-12-31T23:59:59-01:00` are
  valid RFC 3339 but fall outside the years 1-9999 once converted, and are refused, not saturated
  (a saturated time would rank a bogus event as the oldest or newest of all).
* At most `max_edges_per_event` derivation edges per event (default 10,000;
  `HEADWATER_MAX_EDGES_PER_EVENT`), counted as distinct inputs x distinct outputs (models
  included, their inputs become feeds). A run accumulates the inputs and outputs of its events, so
  the same bound applies to a run: an event that would take its run past it is refused too. Past
  the bound the event is refused whole (400, exit 2) with the count it would write and the limit;
  nothing is truncated, since a silently partial lineage is worse than a refused one.
* An answer lists at most `max_problems` invalid events (default 20) and counts the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from catalog.durations import format_duration, parse_duration
from catalog.errors import MAX_LISTED, ConfigurationError, InvalidEvent

CLOCK_SKEW_VARIABLE = "HEADWATER_MAX_CLOCK_SKEW"
EDGES_VARIABLE = "HEADWATER_MAX_EDGES_PER_EVENT"


@dataclass(frozen=True)
class EventLimits:
    """What one event may claim and cost; built once at an entry point and passed down."""

    max_clock_skew: timedelta = timedelta(minutes=5)
    max_edges_per_event: int = 10_000
    max_problems: int = MAX_LISTED

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "EventLimits":
        """The limits `environ` sets, defaults for the others; a bad value is a ConfigurationError naming it."""
        limits = cls()
        skew, edges = limits.max_clock_skew, limits.max_edges_per_event
        if environ.get(CLOCK_SKEW_VARIABLE, "").strip():
            try:
                skew = parse_duration(environ[CLOCK_SKEW_VARIABLE])
            except ValueError as exc:
                raise ConfigurationError(f"{CLOCK_SKEW_VARIABLE}={environ[CLOCK_SKEW_VARIABLE]!r}: {exc}") from None
        if environ.get(EDGES_VARIABLE, "").strip():
            text = environ[EDGES_VARIABLE].strip().replace("_", "").replace(",", "")
            if not text.isdigit() or int(text) < 1:
                raise ConfigurationError(f"{EDGES_VARIABLE}={environ[EDGES_VARIABLE]!r}: expected a whole number "
                                         "of edges, at least 1 (such as 10000)")
            edges = int(text)
        return cls(max_clock_skew=skew, max_edges_per_event=edges)


DEFAULT_LIMITS = EventLimits()


def event_time_in_utc(value: datetime, raw: str) -> datetime:
    """`value` converted to UTC, or InvalidEvent naming eventTime when UTC has no such moment."""
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise InvalidEvent("eventTime", f"{raw!r} lies outside the years 1-9999 once converted to UTC; "
                                        "send a date-time between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z") from None


def check_event_time(value: datetime, raw: str, limits: EventLimits, now: datetime) -> None:
    """Refuse an eventTime further ahead of the server's clock than the allowed skew."""
    ahead = value - now
    if ahead > limits.max_clock_skew:
        raise InvalidEvent("eventTime", f"{raw!r} is {_span(ahead)} ahead of the server's clock "
                                        f"({now.isoformat(timespec='seconds')}); events may be at most "
                                        f"{format_duration(limits.max_clock_skew)} ahead ({CLOCK_SKEW_VARIABLE}), "
                                        "since a future event would outrank every real run until then")


def check_fan_out(inputs: int, outputs: int, limit: int, *, what: str = "this event") -> None:
    """Refuse an event (or a run) whose inputs x outputs exceed `limit` edges; the path is `outputs`."""
    edges = inputs * outputs
    if edges > limit:
        raise InvalidEvent("outputs", f"{what} would write {edges:,} derivation edges ({inputs:,} inputs x "
                                      f"{outputs:,} outputs); at most {limit:,} per event "
                                      f"({EDGES_VARIABLE}); split it into several jobs or events")


def check_column_flows(per_output: list[int], limit: int) -> None:
    """Refuse an event whose `columnLineage` facets state more than `limit` column flows in all."""
    total = sum(per_output)
    if total > limit:
        worst = max(range(len(per_output)), key=per_output.__getitem__)
        raise InvalidEvent(f"outputs[{worst}].facets.columnLineage",
                           f"this event's columnLineage facets state {total:,} column flows; at most {limit:,} per "
                           f"event ({EDGES_VARIABLE}); split it into several events")


def distinct_count(refs: list[Any]) -> int:
    """Datasets named, each once (a dataset listed twice adds no edge)."""
    return len({(ref.namespace, ref.name) for ref in refs})


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for size, unit in ((365 * 86400, "y"), (86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"about {seconds // size:,}{unit}"
    return f"{seconds}s"
