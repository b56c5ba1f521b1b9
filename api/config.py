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
    # Database servers (host or host:port) the server may connect to for a location named through the
    # API or OpenLineage; SQLite files are judged by the data roots instead. Empty: none.
    allowed_databases: tuple[str, ...] = ()
    # Who may read (every GET of the API and /viewer): "open" (anyone who reaches the server) or
    # "token" (a bearer token from HEADWATER_TOKENS, checked as writes check it).
    reads: str = "open"
    # Names a request's Host header may carry (DNS-rebinding defence); "*" allows any. None means no
    # check at all: only an app built in code (in-process tests) has it; from_env always sets a list,
    # and `headwater serve` defaults it to the address it binds (with the loopback names on loopback).
    allowed_hosts: tuple[str, ...] | None = None
    # Seconds an expensive read (risk, impact, lineage, reports, viewer) may run before it is stopped
    # and answered 503: an anonymous request must not cost without bound as the catalog grows.
    read_budget: float = 30.0
    # Expensive reads that compute at once in one server process; the rest wait their turn in
    # arrival order (api/read_turns.py).
    read_concurrency: int = 2
    # Seconds `headwater serve` lets running requests finish after SIGTERM before cancelling them.
    shutdown_timeout: float = 3.0

    @classmethod
    def from_env(cls, *, db: str | None = None) -> "Settings":
        """Command-line options win over the environment, which wins over defaults."""
        tokens = tuple(t.strip() for t in os.environ.get("HEADWATER_TOKENS", "").split(",") if t.strip())
        limit = _bytes("HEADWATER_MAX_BODY_BYTES", 10 * 1024 * 1024)
        roots = tuple(Path(p) for p in os.environ.get("HEADWATER_DATA_ROOTS", "").split(os.pathsep) if p.strip())
        databases = tuple(h.strip().lower() for h in os.environ.get("HEADWATER_ALLOWED_DATABASES", "").split(",") if h.strip())
        hosts = tuple(h.strip().lower() for h in os.environ.get("HEADWATER_ALLOWED_HOSTS", "").split(",") if h.strip())
        return cls(db=db or os.environ.get("HEADWATER_DB") or DEFAULT_URL, tokens=tokens, max_body_bytes=limit,
                   data_roots=roots, allowed_databases=databases,
                   reads=os.environ.get("HEADWATER_READS", "").strip().lower() or "open",
                   allowed_hosts=hosts or LOOPBACK_HOSTS,
                   read_budget=_seconds("HEADWATER_READ_BUDGET", 30.0),
                   read_concurrency=_bytes("HEADWATER_READ_CONCURRENCY", 2),
                   shutdown_timeout=_seconds("HEADWATER_SHUTDOWN_TIMEOUT", 3.0))


# What a server on the loopback interface answers to (uvicorn's own default bind is 127.0.0.1).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def _bytes(name: str, default: int) -> int:
    """A size or count from the environment, judged as `_seconds` values are: junk becomes 0, which
    `api.app.settings_problems` names (so only the server refuses it, not every command)."""
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        return 0


def _seconds(name: str, default: float) -> float:
    """Seconds from the environment. Not judged here (every CLI command builds Settings, and a server
    setting must not break `headwater risk`): junk becomes NaN, which
    `api.app.settings_problems` names."""
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        return float("nan")
