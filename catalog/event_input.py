"""OpenLineage events from a file or stdin, as `headwater ingest` reads them.

Producers write events three ways: one JSON event, a JSON array of them, or one event per line
(NDJSON, what `dbt-ol` and most emitters append to). All three are accepted; for NDJSON the line
of each event is kept, so a refusal points at `events.ndjson:1234`, not at `events[1233]`.

The input is read in chunks up to `MAX_EVENT_INPUT_BYTES`: a pipe is fine (`<(dbt-ol …)`), but
`/dev/zero` or a runaway producer must end in an error, not in memory exhaustion.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from catalog.errors import ConfigurationError, InvalidEvent

MAX_EVENT_INPUT_BYTES = 256 * 1024 * 1024
STDIN = "-"
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class EventInput:
    """The events of one input, with where each came from."""

    name: str  # the file as the user named it, or "<stdin>"
    events: list[Any]
    lines: list[int] = field(default_factory=list)  # line of each event when the input was NDJSON

    def where(self, index: int | None) -> str:
        """`FILE:LINE` of the event at `index` when lines are known, else just `FILE`."""
        return f"{self.name}:{self.lines[index]}" if self.lines and index is not None else self.name

    def located(self, error: InvalidEvent) -> InvalidEvent:
        """`error` restated with each listed event's place in this input.

        At most the listed events are named and the rest counted, as the batch error holds them:
        five million bad lines make a short answer.
        """
        detail = "\n  ".join(f"{self.where(e.index)}: {e.message}" for e in error.errors)
        if error.omitted:
            detail += f"\n  ... and {error.omitted:,} more not listed"
        if error.unchecked:
            detail += f"\n  ... and {error.unchecked:,} more event(s) after them not checked"
        return InvalidEvent("", f"{error.total:,} invalid event(s); nothing was written\n  {detail}")


def read_event_input(source: str) -> EventInput:
    """The events in `source` (a path, or `-` for stdin); ConfigurationError when there are none.

    A document that parses as JSON is one event or an array of them; anything else is NDJSON, and
    the first line that is not JSON is the error.
    """
    name = "<stdin>" if source == STDIN else source
    text = _read_text(source, name)
    lines: list[int] = []
    try:
        data = json.loads(text)
        events = data if isinstance(data, list) else [data]
    except json.JSONDecodeError:
        events = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ConfigurationError(f"{name}:{number}: not JSON ({exc.msg}); expected a JSON event per line") from None
            lines.append(number)
    if not events:
        raise ConfigurationError(f"{name}: no OpenLineage events in it; expected a JSON event, a JSON array of "
                                 "events, or one JSON event per line (NDJSON)")
    return EventInput(name=name, events=events, lines=lines)


def _read_text(source: str, name: str) -> str:
    """The whole input as text, refused past the cap or when it is not UTF-8."""
    try:
        handle: BinaryIO = sys.stdin.buffer if source == STDIN else open(source, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise ConfigurationError(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        chunks, size = [], 0
        while chunk := handle.read(_CHUNK):
            size += len(chunk)
            if size > MAX_EVENT_INPUT_BYTES:
                raise ConfigurationError(f"{name} is larger than {MAX_EVENT_INPUT_BYTES // (1024 * 1024)} MiB; "
                                         "split the events into several files")
            chunks.append(chunk)
    except OSError as exc:
        raise ConfigurationError(f"cannot read {name}: {exc.strerror or exc}") from None
    finally:
        if source != STDIN:
            handle.close()
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"cannot read {name}: not valid UTF-8 (byte {exc.start})") from None
