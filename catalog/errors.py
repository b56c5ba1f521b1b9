"""Errors a user can act on.

Every error the product raises on purpose derives from `HeadwaterError`. The API and the CLI map
each class to an HTTP status and an exit code in one table (`api/errors.py`), so a new error class
only needs a place there, not a try/except in every command.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class HeadwaterError(Exception):
    """Base class: the message is written for the person who has to fix the input."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong in one input file, located as precisely as we can."""

    file: str
    path: str  # e.g. "datasets[3].licence.expires"; "" for the document itself
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


@dataclass
class InvalidCatalogFile(HeadwaterError):
    """One or more catalog files are wrong. Carries every problem found, not just the first."""

    problems: list[Problem] = field(default_factory=list)
    what: str = "the catalog"

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"{count} problem{'s' if count != 1 else ''} in {self.what}; nothing was written"
        return head + "".join(f"\n  {p}" for p in self.problems)


class NotFound(HeadwaterError):
    """A dataset, model or node named by the user does not exist."""


class AmbiguousName(HeadwaterError):
    """A bare name matches more than one node; the user must qualify it."""

    def __init__(self, name: str, candidates: list[str]) -> None:
        self.name = name
        self.candidates = candidates
        listed = ", ".join(candidates[:10])
        super().__init__(f"'{name}' is ambiguous; use one of: {listed}")


class StoreUnavailable(HeadwaterError):
    """The database URL is wrong or the server cannot be reached."""


class OutsideDataRoots(HeadwaterError):
    """A location the server was asked to register or read lies outside its data roots.

    The server reads files on behalf of whoever holds a token; confining it to the folders its
    operator named (HEADWATER_DATA_ROOTS) keeps a PUT or an OpenLineage event from pointing a check
    at /etc, a home folder or another tenant's data.
    """


class DatabaseNotAllowed(OutsideDataRoots):
    """A database server the operator has not allowed the server to connect to (not an OS path)."""


class ConfigurationError(HeadwaterError):
    """A setting (URL, option, environment variable) is invalid."""


MAX_LISTED = 20  # problems an answer lists; the rest are counted, so a hostile batch gets a small answer


class InvalidEvent(HeadwaterError):
    """An OpenLineage event that does not follow the spec; nothing of its batch was written.

    `path` is the JSON path at fault inside the event ("run.runId", "inputs[0].facets.schema");
    `index` is the event's position in its batch when it came in one. `errors` holds the invalid
    events of the batch (this one first), at most `MAX_LISTED` of them; `omitted` counts the others
    known to be invalid, and `unchecked` the events after the last listed one that were not
    validated (the batch is refused anyway). A 10 MB array of `1`s is five million invalid events:
    listing each made an answer fifty times larger than the request.
    """

    def __init__(self, path: str, reason: str, *, index: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.index = index
        self.errors: list[InvalidEvent] = [self]
        self.omitted = 0
        self.unchecked = 0
        super().__init__(self.message)

    @classmethod
    def of_batch(cls, errors: list["InvalidEvent"], *, omitted: int = 0, unchecked: int = 0,
                 limit: int = MAX_LISTED) -> "InvalidEvent":
        """The first of `errors`, carrying the first `limit` of them and counts of the rest."""
        first = errors[0]
        first.errors = list(errors[:limit])
        first.omitted = omitted + max(0, len(errors) - limit)
        first.unchecked = unchecked
        return first

    @property
    def total(self) -> int:
        """Events of the batch known to be invalid, listed or not (`unchecked` ones not included)."""
        return len(self.errors) + self.omitted

    @property
    def location(self) -> str:
        """The path, prefixed with `events[i]` when the event came in a batch."""
        if self.index is None:
            return self.path
        return f"events[{self.index}]" + (f".{self.path}" if self.path and not self.path.startswith("[") else self.path)

    @property
    def message(self) -> str:
        return f"{self.location}: {self.reason}" if self.location else self.reason

    def __str__(self) -> str:
        more = self.total - 1
        text = self.message + (f" (and {more:,} more invalid event{'s' if more != 1 else ''})" if more else "")
        if self.omitted:
            text += f"; the first {len(self.errors)} are listed, {self.omitted:,} more are not"
        if self.unchecked:
            text += f"; {self.unchecked:,} more event{'s' if self.unchecked != 1 else ''} after them not checked"
        return text


class LookalikeName(InvalidEvent):
    """Events naming a new dataset or model that reads as an existing one (catalog/names.py); nothing was written."""


class LineageCycle(InvalidEvent):
    """Events whose derivations would close a cycle (A from B, B from A); nothing of their request was written.

    Lineage must flow one way: a cycle would make every later catalog load that names one of its
    datasets fail, and could hide a cycle the catalog file itself declares.
    """


class BeforeHistory(HeadwaterError):
    """An `--as-of` earlier than anything the store recorded: it cannot say what it did not know."""
