"""What this machine can serve at all: an ASGI app that does no work, under uvicorn, one process.

The API bars (ingestion events/s, impact p99) are absolute, and the machine they are measured on
is two cores shared with the 16 client threads that load it. To say how far a miss is from what
the machine allows, the ingestion and queries benchmarks send the same requests, from the same
client code, to this app: it reads a POST's body and answers `201 {}`, and answers every GET with
the bytes of the file named by HEADWATER_CEILING_BODY (an API answer of the size measured). Nothing
is parsed, validated, stored or computed, so a real server can only be slower.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks.common import served

BODY_FILE = "HEADWATER_CEILING_BODY"
_body: bytes | None = None


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    global _body
    if scope["type"] != "http":
        return
    if scope["method"] == "POST":
        while (await receive()).get("more_body", False):
            pass
        status, body = 201, b"{}"
    else:
        if _body is None:
            _body = Path(os.environ[BODY_FILE]).read_bytes() if os.environ.get(BODY_FILE) else b"{}"
        status, body = 200, _body
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


@contextmanager
def ceiling_server(answer: bytes = b"{}") -> Iterator[str]:
    """This app under uvicorn on a free port, logging as `headwater serve` does (one process, access
    log on, to a file); yields the base URL."""
    with tempfile.TemporaryDirectory(prefix="headwater-ceiling-") as folder:
        body = Path(folder) / "answer.json"
        body.write_bytes(answer)
        with served(lambda port: [sys.executable, "-m", "uvicorn", "benchmarks.ceiling:app", "--port", str(port),
                                  "--log-level", "info"], env={BODY_FILE: str(body)}) as base:
            yield base
