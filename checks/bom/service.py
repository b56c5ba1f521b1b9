"""`headwater export bom` and `GET /api/v1/models/{id}/bom`: one model version's AI-BOM in a format."""

from __future__ import annotations

from datetime import datetime
from importlib.metadata import PackageNotFoundError, version

from catalog.errors import ConfigurationError
from catalog.store import Store
from checks.bom import FORMATS
from checks.bom.material import gather

MEDIA_TYPES = {"cyclonedx": "application/vnd.cyclonedx+json", "spdx": "application/spdx+json"}


def export_bom(store: Store, model: str, fmt: str, *, as_of: datetime | None = None) -> str:
    if fmt not in FORMATS:
        raise ConfigurationError(f"unknown BOM format {fmt!r}; expected one of {', '.join(FORMATS)}")
    material = gather(store, model, as_of=as_of)
    if fmt == "cyclonedx":
        from checks.bom.cyclonedx import render
    else:
        from checks.bom.spdx import render
    return render(material, tool_version=_version())


def _version() -> str:
    try:
        return version("headwater")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without an install
        return "0+unknown"
