"""A dataset node's attributes: its store row as the driver returned it, decoded when first read.

A dataset row has 38 columns, 14 of them typed (JSON lists, dates, durations, times, flags). As
dicts of decoded values, the reference graph's 100,000 datasets held 160 MB and took half a second
to decode and copy on every build, while a lineage or impact answer reads only a node's kind,
namespace and name. `RowAttrs` keeps the raw tuple; the first read of a typed field decodes the
whole row with the same SQLAlchemy result processors a normal query would apply, so every reader
sees exactly the values it saw before. It is a read-only `Mapping`: the graph of record is never
edited after it is built (`dict(attrs)` gives a dict where one is needed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

Decoder = Callable[[Any], Any] | None


class RowLayout:
    """What the rows of one build share: the keys a node shows, where each is in the row, and
    the decoders of the typed columns (None when the rows came decoded)."""

    def __init__(self, kind: str, columns: list[str], decoders: list[Decoder] | None) -> None:
        # a row begins with its store id, shown as `store_id`; `kind` and `incidents` come first
        self.kind = kind
        self.keys = ("kind", "incidents", "store_id", *columns[1:])
        self.at = {key: i for i, key in enumerate(columns)}
        del self.at[columns[0]]
        self.at["store_id"] = 0
        self.decoders = decoders if decoders and any(d is not None for d in decoders) else None
        self.typed = frozenset(columns[i] for i, d in enumerate(self.decoders or ()) if d is not None)


_NO_INCIDENTS: list[dict[str, Any]] = []  # shared, never appended to: `incidents` is set per node when it has one


class RowAttrs(Mapping[str, Any]):
    __slots__ = ("_row", "_layout", "_decoded", "incidents")

    def __init__(self, row: tuple[Any, ...], layout: RowLayout) -> None:
        self._row = row
        self._layout = layout
        self._decoded = layout.decoders is None
        self.incidents = _NO_INCIDENTS

    def _value(self, at: int, key: str) -> Any:
        if not self._decoded and key in self._layout.typed:
            decoders = self._layout.decoders or ()
            # two threads may both decode: the same values, and either tuple is whole when assigned
            self._row = tuple(v if d is None else d(v) for v, d in zip(self._row, decoders, strict=True))
            self._decoded = True
        return self._row[at]

    def __getitem__(self, key: str) -> Any:
        if key == "kind":
            return self._layout.kind
        if key == "incidents":
            return self.incidents
        at = self._layout.at[key]  # KeyError for a key the node does not have, as a dict would
        return self._value(at, key)

    def get(self, key: str, default: Any = None) -> Any:
        if key == "kind":
            return self._layout.kind
        if key == "incidents":
            return self.incidents
        at = self._layout.at.get(key)
        return default if at is None else self._value(at, key)

    def __contains__(self, key: object) -> bool:
        return key in ("kind", "incidents") or key in self._layout.at

    def __iter__(self) -> Iterator[str]:
        return iter(self._layout.keys)

    def __len__(self) -> int:
        return len(self._layout.keys)

    def copy(self) -> dict[str, Any]:
        return dict(self)

    def __repr__(self) -> str:
        return repr(dict(self))
