"""Running Headwater: `headwater serve` (the REST API) and `headwater demo` (the bundled example).

uvicorn and FastAPI are imported only here, inside `serve`, so no other command pays for them.

With `--workers N` above 1, uvicorn's supervisor process forks N worker processes that share the
listening socket. Each worker builds its app with `worker_app`, which ties the worker's life to the
supervisor's (Linux: PR_SET_PDEATHSIG): a supervisor killed with SIGKILL, which runs no handler and
so cannot stop its workers, takes them with it, instead of leaving orphans that keep answering on
the port and writing to the store while a restarted server opens it again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from api.cli.common import console, handle_errors, settings

SUPERVISOR = "HEADWATER_SERVE_SUPERVISOR"  # pid of the `headwater serve` process whose workers these are
DEFAULT_SQLITE_WORKERS = 1
WORKERS_HELP = (f"Worker processes sharing the port and the store (default: one per core on PostgreSQL, "
                f"{DEFAULT_SQLITE_WORKERS} on SQLite, whose single writer is the bottleneck).")


@handle_errors
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port to listen on.")] = 8000,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help=WORKERS_HELP, show_default=False)] = None,
) -> None:
    """The REST API (OpenAPI at /docs) over the store."""
    import uvicorn

    from api.app import allowed_hosts_for, settings_problems
    from catalog.errors import ConfigurationError
    from catalog.store import Store, mask_url

    chosen = settings(ctx)
    problems = settings_problems(chosen)
    if problems:
        raise ConfigurationError("; ".join(problems))
    Store(chosen.db).close()  # fail fast (exit 2) on a bad URL, and migrate once before the workers start
    os.environ["HEADWATER_DB"] = chosen.db
    # The app is built by uvicorn from the environment, in each worker: hand it the default Host list
    # for the address bound here (an explicit HEADWATER_ALLOWED_HOSTS wins).
    hosts = tuple(h.strip().lower() for h in os.environ.get("HEADWATER_ALLOWED_HOSTS", "").split(",") if h.strip())
    hosts = hosts or allowed_hosts_for(host)
    os.environ["HEADWATER_ALLOWED_HOSTS"] = ",".join(hosts)
    err = console(stderr=True)
    err.print(f"serving {mask_url(chosen.db)} on http://{host}:{port} (docs at /docs, lineage viewer at /viewer)")
    err.print(f"allowed hosts: {', '.join(hosts)}; reads: {chosen.reads}; "
              f"read budget {chosen.read_budget:g} s", markup=False)
    if not chosen.tokens:
        err.print("[yellow]HEADWATER_TOKENS is not set: the API is read-only, every write is refused (403)[/]")
        if chosen.reads == "token":
            err.print("[yellow]HEADWATER_READS=token and no token: every read is refused too (403)[/]")
    # After SIGTERM, running requests get `shutdown_timeout` seconds; then they are cancelled, which
    # stops the reads they run (api/deps.py ReadBudget), so the process exits within seconds.
    workers = workers or default_workers(chosen.db)
    err.print(f"{workers} worker process{'es' if workers > 1 else ''}", markup=False)
    if workers > 1:
        os.environ[SUPERVISOR] = str(os.getpid())  # the workers' parent: they die with it (worker_app)
    uvicorn.run("api.cli.server:worker_app", factory=True, host=host, port=port, workers=workers, log_level="info",
                timeout_graceful_shutdown=chosen.shutdown_timeout)  # type: ignore[arg-type]  # seconds; floats work



def default_workers(db: str) -> int:
    """One worker per core where writers can run side by side; SQLite has one writer whatever the count."""
    if db.startswith("sqlite"):
        return DEFAULT_SQLITE_WORKERS
    return usable_cores()


def usable_cores() -> int:
    """The cores this process may run on (its affinity where the OS tells it)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def worker_app() -> Any:
    """The app of one worker (uvicorn calls this in each), bound to die with the supervisor that forked it."""
    from api.app import create_app

    supervisor = os.environ.get(SUPERVISOR)
    if supervisor and supervisor.isdigit():
        _die_with(int(supervisor))
    return create_app()


def _die_with(parent: int) -> None:
    """SIGKILL this process when `parent` exits (Linux); exit now if it already has. Elsewhere: nothing."""
    import signal
    import sys

    if not sys.platform.startswith("linux") or os.getpid() == parent:
        return  # a single worker runs in the `headwater serve` process itself
    import ctypes

    pr_set_pdeathsig = 1  # <sys/prctl.h>
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the prctl above: no signal will come
        os._exit(1)


@handle_errors
def demo(
    workdir: Annotated[Path, typer.Option("--workdir", "-w", help="Folder for the demo's store and outputs; recreated.")] = Path("headwater-demo"),
    examples: Annotated[Optional[Path], typer.Option("--examples", help="The example catalog folder (default: the bundled examples/).")] = None,
) -> None:
    """Load the bundled example into a fresh store and show what it tells you."""
    from api.demo import run_demo

    run_demo(console(), workdir=workdir, examples=examples)
