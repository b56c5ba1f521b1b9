"""What routers get from the app: the store, the settings, and the write guard."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.config import Settings
from catalog.store import Store

_bearer = HTTPBearer(auto_error=False, description="A token from HEADWATER_TOKENS; needed for writes")


def get_store(request: Request) -> Store:
    return request.app.state.store


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def require_writer(  # async: no thread-pool hop on every write (it does no I/O)
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Writes need a bearer token from HEADWATER_TOKENS, compared in constant time.

    Both sides are hashed first, so `compare_digest` always compares 32 bytes (it returns early on
    a length mismatch, which would tell a guesser the token's length), and every configured token
    is compared (no early exit telling which one came close). Neither the token nor its hash is
    ever put in a message or a log.
    """
    if credentials is None:
        raise HTTPException(401, "a bearer token is required for writes", headers={"WWW-Authenticate": "Bearer"})
    given = hashlib.sha256(credentials.credentials.encode()).digest()
    matches = [hmac.compare_digest(given, hashlib.sha256(token.encode()).digest()) for token in settings.tokens]
    if not any(matches):
        raise HTTPException(403, "this token may not write")


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Writer = Depends(require_writer)
