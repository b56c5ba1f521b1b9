"""MLflow's own digest of a dataset, recomputed on the content as it is now.

When a run calls `mlflow.log_input(mlflow.data.from_pandas(frame, source=path))`, MLflow stores a
digest of the frame: the evidence, made at training time, of what the model learned from.
`headwater import mlflow` keeps that digest as the feed's fingerprint (`mlflow:<digest>`) rather
than fingerprinting the file at import time, which would silently take today's content as what
was trained on. `headwater check` reads the file as pandas reads it by default and asks MLflow's
own function for the digest, so the comparison is MLflow's, not a re-implementation of it.

What it can miss (MLflow's digest is a sample, not a hash of every byte): rows after the first
10,000, columns that are neither numbers nor strings, and changes that a pandas round trip hides.
A frame the run transformed before logging (columns dropped, rows filtered) never matches the file
it came from, and is reported as changed: the safe way round for tamper evidence. The digest is
recomputed only for files, and only where the `mlflow` extra is installed; elsewhere the feed stays
unverified, never silently trusted.
"""

from __future__ import annotations

from catalog.fingerprint import Unreadable
from catalog.locations import Location

READABLE = ("csv", "parquet", "jsonl")


def mlflow_digest(location: Location) -> str | None:
    """The digest MLflow would record for this file today, or None where it cannot be computed."""
    if location.kind != "file" or (location.format or "") not in READABLE:
        return None
    try:
        from mlflow.data.digest_utils import compute_pandas_digest  # seconds to import: only for MLflow feeds
    except ImportError:
        return None
    from checks.frames import read_frame

    try:
        frame = read_frame(location.value, location.format or "")
    except Unreadable:
        return None
    return str(compute_pandas_digest(frame))
