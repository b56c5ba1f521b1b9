"""Running Headwater: `headwater serve` (the REST API) and `headwater demo` (the bundled example).

uvicorn and FastAPI are imported only here, inside `serve`, so no other command pays for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from api.cli.common import console, handle_errors, settings


@handle_errors
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes (share the store; PostgreSQL for more than one writer).")] = 1,
) -> None:
    """The REST API (OpenAPI at /docs) over the store."""
    import os

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
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info",
                timeout_graceful_shutdown=chosen.shutdown_timeout)  # type: ignore[arg-type]  # seconds; floats work


@handle_errors
def demo(
    workdir: Annotated[Path, typer.Option("--workdir", "-w", help="Folder for the demo's store and outputs; recreated.")] = Path("headwater-demo"),
    examples: Annotated[Optional[Path], typer.Option("--examples", help="The example catalog folder (default: the bundled examples/).")] = None,
) -> None:
    """Load the bundled example into a fresh store and show what it tells you."""
    from api.demo import run_demo

    run_demo(console(), workdir=workdir, examples=examples)
