"""`headwater serve` as a real process on a free loopback port, for tests that need a real HTTP server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(db: str, port: int, *, tokens: str = "", env: dict[str, str] | None = None,
          extra: tuple[str, ...] = ()) -> subprocess.Popen:
    """The server writes to a temporary file, not a pipe: a pipe nobody reads fills up and stalls it."""
    environment = {**os.environ, "HEADWATER_TOKENS": tokens, **(env or {})}
    log = tempfile.TemporaryFile()
    process = subprocess.Popen([sys.executable, "-m", "api.cli", "--db", db, "serve", "--port", str(port), *extra],
                               env=environment, stdout=log, stderr=subprocess.STDOUT)
    process.log = log  # type: ignore[attr-defined]
    return process


def output(server: subprocess.Popen) -> str:
    """Everything the server printed so far."""
    server.log.seek(0)  # type: ignore[attr-defined]
    return server.log.read().decode(errors="replace")  # type: ignore[attr-defined]


def wait_until_up(base: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while True:
        try:
            httpx.get(f"{base}/openapi.json", timeout=5)
            return
        except httpx.TransportError:
            assert time.time() < deadline and server.poll() is None, "server did not start"
            time.sleep(0.3)


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=30)


@contextmanager
def running(db: str, *, tokens: str = "", env: dict[str, str] | None = None) -> Iterator[str]:
    """A server over `db` for the duration of the block; yields its base URL."""
    port = free_port()
    server = start(db, port, tokens=tokens, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, server)
        yield base
    finally:
        stop(server)
