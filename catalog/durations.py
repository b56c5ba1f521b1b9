"""Durations as people write them in catalog files: `7d`, `12h`, `2y`, or ISO 8601 (`P30D`).

`m` is refused on purpose: half of the people who write `6m` mean months and the other half minutes.
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {
    "s": timedelta(seconds=1),
    "min": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
    "mo": timedelta(days=30),
    "y": timedelta(days=365),
}
_COMPACT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$")
_ISO = re.compile(
    r"^P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<min>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)

EXPECTED = "a duration such as 12h, 7d, 2w, 6mo, 2y (or ISO 8601 like P30D)"


MAX_DURATION = timedelta(days=365 * 1000)


def parse_duration(value: object) -> timedelta:
    """Turn `7d` / `P7D` / a number of seconds into a timedelta; raise ValueError otherwise.

    Bounded to 1000 years and never negative: `freshness: 99999999d` would otherwise be accepted
    here and overflow later, in the store or in date arithmetic, far from the line that caused it.
    """
    try:
        duration = _parse(value)
    except OverflowError:
        duration = MAX_DURATION * 2
    if duration < timedelta(0):
        raise ValueError("a duration cannot be negative")
    if duration > MAX_DURATION:
        raise ValueError("duration out of range: at most 1000 years")
    return duration


def _parse(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError(f"expected {EXPECTED}")
    if isinstance(value, (int, float)):
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError(f"expected {EXPECTED}")
    text = value.strip()
    compact = _COMPACT.match(text.lower())
    if compact:
        amount, unit = compact.groups()
        if unit == "m":
            raise ValueError("'m' is ambiguous: write 'min' for minutes or 'mo' for months")
        if unit not in _UNITS:
            raise ValueError(f"unknown unit '{unit}'; expected {EXPECTED}")
        return float(amount) * _UNITS[unit]
    iso = _ISO.match(text.upper())
    if iso and text.upper() not in ("P", "PT"):
        parts = {k: float(v) for k, v in iso.groupdict().items() if v}
        return sum((amount * _UNITS[unit] for unit, amount in parts.items()), timedelta())
    raise ValueError(f"expected {EXPECTED}")


def format_duration(value: timedelta | None) -> str:
    """The shortest exact compact form, so `7d` read back prints as `7d`."""
    if value is None:
        return "-"
    seconds = value.total_seconds()
    for unit in ("y", "d", "h", "min", "s"):
        size = _UNITS[unit].total_seconds()
        if seconds and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
