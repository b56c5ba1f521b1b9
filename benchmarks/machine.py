"""What machine a benchmark ran on, for its results file: figures mean little without it."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any


def version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def describe_machine(*packages: str) -> dict[str, Any]:
    """CPU model, core count (as `nproc` says), RAM, OS, Python and the given packages' versions."""
    cpu = platform.processor() or "unknown"
    ram = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    try:
        nproc = int(subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, ValueError, subprocess.CalledProcessError):
        nproc = len(os.sched_getaffinity(0))
    return {"nproc": nproc, "cpu": cpu, "ram_gib": ram, "os": platform.platform(), "python": platform.python_version(),
            **{package.replace("-", "_"): version(package) for package in packages}}
