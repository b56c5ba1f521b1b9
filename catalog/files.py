"""Reading a file someone named, without letting the name decide how much we read or wait.

A path from a catalog file or an API body may be a FIFO (a read that never returns, while the
loader holds the store's write lock), a device (`/dev/zero`: a read that never ends) or a huge
file read whole before its size is checked. `read_regular_file` looks before it reads: a regular
file only, at most `limit` bytes, and errors that say what is wrong with the file, never what it
holds.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


class UnreadableFile(ValueError):
    """Why a named file was not read; the message never quotes its content."""


def read_regular_file(path: Path, limit: int) -> bytes:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise UnreadableFile("file not found") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot read file: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise UnreadableFile("is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise UnreadableFile("is not a regular file (a pipe, socket or device); refusing to read it")
    if info.st_size > limit:
        raise UnreadableFile(f"file is larger than {_size(limit)}")
    try:
        # O_NONBLOCK: should the file be swapped for a FIFO after the stat, opening it does not wait
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise UnreadableFile(f"cannot read file: {exc.strerror or exc}") from None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise UnreadableFile("is not a regular file (a pipe, socket or device); refusing to read it")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UnreadableFile(f"file is larger than {_size(limit)}")
    return data


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit:,} bytes"
