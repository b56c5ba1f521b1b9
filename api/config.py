"""Settings, read once at an entry point and passed down.

Kept free of heavy imports: the CLI builds one for every command, including `--help`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from catalog import DEFAULT_URL


@dataclass(frozen=True)
class Settings:
    db: str = DEFAULT_URL
    tokens: tuple[str, ...] = field(default=(), repr=False)  # bearer tokens allowed to write; never logged
    max_body_bytes: int = 10 * 1024 * 1024
    # Folders whose files the server may read (checks) and accept as locations (PUT, OpenLineage).
    # Empty: the working directory and the folder of every catalog file loaded into the store.
    data_roots: tuple[Path, ...] = ()

    @classmethod
    def from_env(cls, *, db: str | None = None) -> "Settings":
        """Command-line options win over the environment, which wins over defaults."""
        tokens = tuple(t.strip() for t in os.environ.get("HEADWATER_TOKENS", "").split(",") if t.strip())
        limit = int(os.environ.get("HEADWATER_MAX_BODY_BYTES", 10 * 1024 * 1024))
        roots = tuple(Path(p) for p in os.environ.get("HEADWATER_DATA_ROOTS", "").split(os.pathsep) if p.strip())
        return cls(db=db or os.environ.get("HEADWATER_DB") or DEFAULT_URL, tokens=tokens, max_body_bytes=limit,
                   data_roots=roots)
