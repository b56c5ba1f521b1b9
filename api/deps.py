"""What routers get from the app: the store, the settings, and the write guard."""

from __future__ import annotations

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


def require_writer(
    settings: Annotated[Settings, Depends(get_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """Writes need a bearer token from HEADWATER_TOKENS, compared in constant time."""
    if credentials is None:
        raise HTTPException(401, "a bearer token is required for writes", headers={"WWW-Authenticate": "Bearer"})
    given = credentials.credentials.encode()
    if not any(hmac.compare_digest(given, token.encode()) for token in settings.tokens):
        raise HTTPException(403, "this token may not write")


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Writer = Depends(require_writer)
