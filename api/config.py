"""Settings, read once at an entry point and passed down.

Kept free of heavy imports: the CLI builds one for every command, including `--help`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from catalog import DEFAULT_URL


@dataclass(frozen=True)
class Settings:
    db: str = DEFAULT_URL

    @classmethod
    def from_env(cls, *, db: str | None = None) -> "Settings":
        """Command-line options win over the environment, which wins over defaults."""
        return cls(db=db or os.environ.get("HEADWATER_DB") or DEFAULT_URL)
