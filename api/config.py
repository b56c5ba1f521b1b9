"""Settings, read once at an entry point and passed down.

Kept free of heavy imports: the CLI builds one for every command, including `--help`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from catalog import DEFAULT_URL


@dataclass(frozen=True)
class Settings:
    db: str = DEFAULT_URL
    tokens: tuple[str, ...] = field(default=(), repr=False)  # bearer tokens allowed to write; never logged
    max_body_bytes: int = 10 * 1024 * 1024

    @classmethod
    def from_env(cls, *, db: str | None = None) -> "Settings":
        """Command-line options win over the environment, which wins over defaults."""
        tokens = tuple(t.strip() for t in os.environ.get("HEADWATER_TOKENS", "").split(",") if t.strip())
        limit = int(os.environ.get("HEADWATER_MAX_BODY_BYTES", 10 * 1024 * 1024))
        return cls(db=db or os.environ.get("HEADWATER_DB") or DEFAULT_URL, tokens=tokens, max_body_bytes=limit)
