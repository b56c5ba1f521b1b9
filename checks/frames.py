"""Reading a dataset file into pandas for validation. Only called when GX must look at the data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from catalog.fingerprint import Unreadable


def read_frame(path: str, fmt: str) -> Any:
    import pandas as pd

    try:
        if fmt == "csv":
            return pd.read_csv(path, low_memory=False)
        if fmt == "parquet":
            return pd.read_parquet(path)
        if fmt == "jsonl":
            return pd.read_json(path, lines=True)
    except FileNotFoundError:
        raise Unreadable(f"file not found: {path}") from None
    except Exception as exc:  # pandas/pyarrow raise many types for malformed files
        raise Unreadable(f"cannot read {Path(path).name} as {fmt}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    raise Unreadable(f"cannot read {fmt} files")
