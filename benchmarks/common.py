"""What every benchmark of the harness shares: the figure row, timing, peak memory, servers.

A figure is the row `python -m benchmarks` puts in RESULTS.md, the same shape `benchmarks.viewer.run`
returns: {"figure", "headwater", "baseline", "ratio", "target", "met", "unit"} plus free extras
(samples, notes). `met` is None where there is no bar to meet, only a figure to report.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # `tests` (tests.postgres, tests.server) is not an installed package


def figure(name: str, headwater: float | None, baseline: float | None = None, *, target: str = "",
           met: bool | None = None, unit: str = "s", ratio: float | None = None, **extra: Any) -> dict[str, Any]:
    """One row; the ratio is headwater / baseline unless given (e.g. a speed-up, baseline / headwater)."""
    if ratio is None and headwater is not None and baseline:
        ratio = headwater / baseline
    return {"figure": name, "headwater": headwater, "baseline": baseline, "ratio": ratio, "target": target,
            "met": met, "unit": unit, **extra}


def clock(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - start, value


def median_time(repeat: int, fn: Callable[[], Any]) -> tuple[float, list[float], Any]:
    """Median of `repeat` timed calls (after one untimed warm-up call), the samples, the last answer."""
    value = fn()
    samples = []
    for _ in range(repeat):
        seconds, value = clock(fn)
        samples.append(seconds)
    return statistics.median(samples), samples, value


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def run_measured(command: list[str], *, env: dict[str, str] | None = None, timeout: float = 3600) -> dict[str, Any]:
    """Run a command; its wall time, peak resident set (MiB, from wait4) and output. Fails loudly."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **(env or {})}, cwd=ROOT)
    deadline = time.time() + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.time() > deadline:
            process.kill()
            raise TimeoutError(f"{' '.join(command)} took longer than {timeout} s")
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    out, err = process.stdout.read(), process.stderr.read()  # type: ignore[union-attr]
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise RuntimeError(f"{' '.join(command)} exited {code}:\n{err[-3000:]}")
    return {"seconds": seconds, "peak_mib": usage.ru_maxrss / 1024, "stdout": out, "stderr": err}


def headwater(*args: str) -> list[str]:
    """The CLI as a user runs it (`headwater ...`), in this interpreter."""
    return [sys.executable, "-m", "api.cli", *args]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory() -> dict[str, int]:
    """This process's resident set now and its peak (KiB), from /proc/self/status.

    Not ru_maxrss: on Linux a child inherits its parent's peak across fork and exec, so a subprocess
    of a (GX-loaded) benchmark would report the parent's footprint. VmHWM belongs to the process's
    own address space, and writing 5 to /proc/self/clear_refs resets it to the current RSS.
    """
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {"rss_kib": int(fields["VmRSS"].split()[0]), "peak_kib": int(fields["VmHWM"].split()[0])}


def reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:  # not every kernel lets a process reset its own peak
        pass


@contextmanager
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL server (tests/postgres.py); yields its server URL."""
    from tests.postgres import PostgresServer

    server = PostgresServer().start()
    try:
        yield server.url
    finally:
        server.stop()


def postgres_database(server_url: str, name: str) -> str:
    from tests.postgres import create_database

    return create_database(server_url, name)


@contextmanager
def serving(db: str, *, tokens: str = "", workers: int = 1) -> Iterator[str]:
    """`headwater serve` over `db` as a real process on a free port; yields the base URL."""
    with served(lambda port: headwater("--db", db, "serve", "--port", str(port), "--workers", str(workers)),
                env={"HEADWATER_TOKENS": tokens}) as base:
        yield base


@contextmanager
def served(command: Callable[[int], list[str]], *, env: dict[str, str] | None = None) -> Iterator[str]:
    """`command(port)` run from the repository on a free port until it answers HTTP; yields the base URL.

    Its output goes to a file: thousands of access-log lines would fill a pipe nobody reads and stall
    the server mid-benchmark.
    """
    import tempfile

    from tests.server import free_port, stop, wait_until_up

    port = free_port()
    with tempfile.TemporaryFile() as output:
        server = subprocess.Popen(command(port), env={**os.environ, **(env or {})}, stdout=output, stderr=output,
                                  cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(base, server)
            yield base
        finally:
            stop(server)


def main_for(run: Callable[..., dict[str, Any]], doc: str, argv: list[str] | None, **options: type) -> None:
    """The `python -m benchmarks.NAME [--scale S] [--OPTION V]` entry point of one benchmark: JSON out."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    for name, kind in options.items():
        parser.add_argument(f"--{name}", type=kind, default=None)
    given = {key: value for key, value in vars(parser.parse_args(argv)).items() if value is not None}
    print(json.dumps(run(**given), indent=1, default=str))


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
