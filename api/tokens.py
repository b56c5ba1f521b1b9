"""Bearer tokens from `HEADWATER_TOKENS`: who a request is, and what it may do.

An entry is `name:token:scope` (scope `read`, `write` or `admin`), or a bare `token`, which keeps
working as a write token named `token-` plus the first 8 hex digits of its SHA-256 (so the audit
trail can tell two bare tokens apart without ever holding either). The name is what the audit trail
records as the actor; the token itself is never stored, logged or put in a message.

- `read`: every GET (needed only when `HEADWATER_READS=token`);
- `write`: reads, and every PUT, POST and DELETE;
- `admin`: all of that, and the audit trail over the API (`GET /api/v1/audit`).
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field
from typing import Literal

Scope = Literal["read", "write", "admin"]
SCOPES: tuple[Scope, ...] = ("read", "write", "admin")  # each allows what those before it do
_NAME = re.compile(r"[A-Za-z0-9._@-]{1,64}")


@dataclass(frozen=True)
class Token:
    name: str
    value: str = field(repr=False)
    scope: Scope

    def allows(self, action: Scope) -> bool:
        return SCOPES.index(self.scope) >= SCOPES.index(action)


@functools.lru_cache(maxsize=8)
def parse_tokens(entries: tuple[str, ...]) -> tuple[tuple[Token, ...], tuple[str, ...]]:
    """The tokens `entries` define, and what is wrong with the others (by position, never by value)."""
    tokens, problems = [], []
    for position, entry in enumerate(entries, start=1):
        if ":" not in entry:
            tokens.append(Token(f"token-{hashlib.sha256(entry.encode()).hexdigest()[:8]}", entry, "write"))
            continue
        name, _, rest = entry.partition(":")
        value, _, scope = rest.rpartition(":")
        where = f"HEADWATER_TOKENS entry {position}"
        if not value:
            problems.append(f"{where}: expected name:token:scope (scope read, write or admin) or a bare token")
        elif not _NAME.fullmatch(name):
            problems.append(f"{where}: the name must be 1-64 letters, digits or . _ @ -")
        elif scope not in SCOPES:
            problems.append(f"{where} ({name}): unknown scope {scope[:20]!r}; expected read, write or admin")
        else:
            tokens.append(Token(name, value, scope))  # type: ignore[arg-type]  # checked just above
    names = [t.name for t in tokens]
    problems += [f"HEADWATER_TOKENS names {name!r} twice" for name in sorted({n for n in names if names.count(n) > 1})]
    return tuple(tokens), tuple(problems)
