"""One table from error class to HTTP status and CLI exit code, used by both doors."""

from __future__ import annotations

from catalog.errors import (
    AmbiguousName, BeforeHistory, ConfigurationError, HeadwaterError, InvalidCatalogFile, InvalidEvent, LineageCycle, LookalikeName, NotFound,
    OutsideDataRoots, StoreUnavailable,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# (status, exit code, problem title); the first matching class in order wins.
ERROR_TABLE: list[tuple[type[HeadwaterError], int, int, str]] = [
    (InvalidCatalogFile, 422, EXIT_USAGE, "Invalid catalog"),
    (LineageCycle, 400, EXIT_USAGE, "Derivation cycle"),  # an InvalidEvent: listed before its parent's row
    (LookalikeName, 400, EXIT_USAGE, "Lookalike name"),  # an InvalidEvent too
    (InvalidEvent, 400, EXIT_USAGE, "Invalid OpenLineage event"),
    (NotFound, 404, EXIT_USAGE, "Not found"),
    (BeforeHistory, 422, EXIT_USAGE, "Before the store's history"),
    (AmbiguousName, 409, EXIT_USAGE, "Ambiguous name"),
    (OutsideDataRoots, 422, EXIT_USAGE, "Location outside the data roots"),
    (StoreUnavailable, 503, EXIT_USAGE, "Store unavailable"),
    (ConfigurationError, 400, EXIT_USAGE, "Configuration error"),
    (HeadwaterError, 400, EXIT_USAGE, "Bad request"),
]


def classify(error: HeadwaterError) -> tuple[int, int, str]:
    for cls, status, code, title in ERROR_TABLE:
        if isinstance(error, cls):
            return status, code, title
    raise AssertionError("HeadwaterError is the last row of ERROR_TABLE")  # pragma: no cover
