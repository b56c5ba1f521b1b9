"""Reading a dataset file into pandas for validation. Only called when GX must look at the data.

Only the columns the suite names are read (`needed_columns`): a Parquet file is columnar, so the
others are never decoded, and a CSV parser skips their values; GX then copies fewer columns each
time it drops a column's missing rows. A suite with an expectation about the table's columns
themselves (`expect_table_column...`), or one naming columns in a way this module does not know,
reads every column. A named column that is not in the file is simply absent, as it would be from
a full read, so GX reports it missing either way.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from catalog.fingerprint import Unreadable

_COLUMN_ARGUMENTS = ("column", "column_A", "column_B")
_COLUMN_LISTS = ("column_list",)
_WHOLE_TABLE = ("expect_table_column",)  # count, set, ordered list of the columns: every column matters


def needed_columns(suite: Iterable[dict[str, Any]]) -> set[str] | None:
    """The columns a normalised suite reads, row conditions included; None for "all of them"."""
    from catalog.expectations import ExpectationProblem, row_filter
    from catalog.row_filters import columns as columns_of

    wanted: set[str] = set()
    for expectation in suite:
        if expectation["type"].startswith(_WHOLE_TABLE):
            return None
        kwargs = expectation.get("kwargs") or {}
        for key, value in kwargs.items():
            if key in _COLUMN_ARGUMENTS and isinstance(value, str):
                wanted.add(value)
            elif key in _COLUMN_LISTS and isinstance(value, list) and all(isinstance(v, str) for v in value):
                wanted.update(value)
            elif "column" in key and key not in ("row_condition", "condition_parser"):
                return None  # an argument naming columns that is not known here: read them all
        try:
            node = row_filter(expectation)
        except ExpectationProblem:
            continue  # reported by the validator; no columns to add
        if node is not None:
            wanted.update(columns_of(node))
    return wanted or None


def read_frame(path: str, fmt: str, columns: set[str] | None = None) -> Any:
    import pandas as pd

    try:
        if fmt == "csv":
            usecols = None if columns is None else (lambda name: name in columns)
            return pd.read_csv(path, low_memory=False, usecols=usecols)
        if fmt == "parquet":
            return pd.read_parquet(path, columns=_present(path, columns))
        if fmt == "jsonl":
            return pd.read_json(path, lines=True)
    except FileNotFoundError:
        raise Unreadable(f"file not found: {path}") from None
    except Exception as exc:  # pandas/pyarrow raise many types for malformed files
        raise Unreadable(f"cannot read {Path(path).name} as {fmt}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    raise Unreadable(f"cannot read {fmt} files")


def _present(path: str, columns: set[str] | None) -> list[str] | None:
    """The wanted columns the Parquet file has, in its order; None (all) when it has none of them,
    so the frame still has its rows."""
    if columns is None:
        return None
    import pyarrow.parquet as pq

    present = [name for name in pq.read_schema(path).names if name in columns]
    return present or None
