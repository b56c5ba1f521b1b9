"""`headwater`: the command line. Each command opens the store, calls one service, renders.

Imports of the store, the graph and (later) Great Expectations happen inside the commands, so
`headwater --help` starts in a fraction of a second.
"""

from __future__ import annotations

import functools
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Callable, Optional

import typer

from api.config import Settings
from api.errors import EXIT_FAILED

if TYPE_CHECKING:
    from catalog.store import Store

app = typer.Typer(
    name="headwater",
    help="Data-governance lineage catalog for AI training data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Format(str, Enum):
    text = "text"
    json = "json"


class RiskFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


def _as_of(value: Optional[str]):
    """--as-of: a date (midnight UTC... the end of that day is what people mean) or a date-time.

    A date-time must exist in UTC, where the store keeps every moment: 0001-01-01T00:00:00+01:00
    is in year 0 there, and would otherwise fail deep inside a query with a traceback."""
    if value is None:
        return None
    from datetime import datetime, time, timedelta, timezone

    try:
        if len(value) == 10:
            day = datetime.fromisoformat(value).date()
            return datetime.combine(day, time.max, tzinfo=timezone.utc) - timedelta(microseconds=time.max.microsecond)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"expected a date (2026-11-25) or an ISO date-time, got {value!r}",
                                 param_hint="--as-of") from None
    moment = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    try:
        moment.astimezone(timezone.utc)
    except OverflowError:
        raise typer.BadParameter(f"{value!r} is not a moment UTC can hold: it must lie between 0001-01-01 and "
                                 f"9999-12-31 in UTC", param_hint="--as-of") from None
    return moment


AsOfOption = Annotated[Optional[str], typer.Option("--as-of", metavar="DATE", help="Evaluate as known on this date (default: now).")]
PolicyOption = Annotated[Optional[Path], typer.Option("--policy", help="A policy file merged over the default policy.")]


FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output as text for people or JSON for tools.")]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"headwater {version('headwater')}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[Optional[str], typer.Option(
        "--db", envvar="HEADWATER_DB", show_envvar=True,
        help="Store URL: sqlite:///path.db (default sqlite:///headwater.db) or postgresql+psycopg://user:pw@host/db.",
    )] = None,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")] = False,
) -> None:
    ctx.obj = Settings.from_env(db=db)


def _console(stderr: bool = False):
    """A rich console; 120 columns when not on a terminal, so CI logs do not truncate tables."""
    import os

    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() or os.environ.get("COLUMNS") else 120
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width, emoji=False)


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a HeadwaterError into its message on stderr and the exit code of api/errors.py."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from catalog.errors import HeadwaterError

        try:
            return command(*args, **kwargs)
        except HeadwaterError as error:
            from rich.markup import escape

            from api.errors import classify

            _status, code, _title = classify(error)
            _console(stderr=True).print(f"[bold red]error:[/] {escape(str(error))}")
            raise typer.Exit(code) from None

    return wrapper


def open_store(ctx: typer.Context) -> "Store":
    from catalog.store import Store

    settings: Settings = ctx.obj
    return Store(settings.db)


def _write(path: Path, text: str) -> None:
    """Write an output file the user named; an unwritable path is a usage error (exit 2), not a traceback."""
    from catalog.errors import ConfigurationError

    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(f"cannot write {path}: {error.strerror or error}") from None


def _emit_json(result: Any) -> None:
    sys.stdout.write(result.model_dump_json(indent=2) if hasattr(result, "model_dump_json") else str(result))
    sys.stdout.write("\n")


@app.command()
@handle_errors
def load(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="Catalog files (YAML or JSON), or folders holding them.")],
    fmt: FormatOption = Format.text,
) -> None:
    """Upsert catalog files into the store: all of them or, on any error, none."""
    from catalog.loader import iter_catalog_files, load_catalog

    with open_store(ctx) as store:
        result = load_catalog(store, iter_catalog_files(files))
    if fmt is Format.json:
        import json

        print(json.dumps({"files": result.files, "counts": result.counts, "revision": result.revision}, indent=2))
    else:
        from api import render

        render.load_result(_console(), result)


@app.command()
@handle_errors
def lineage(
    ctx: typer.Context,
    node: Annotated[str, typer.Argument(help="A node id (dataset:NS:NAME, model:NS:NAME) or an unambiguous name.")],
    upstream: Annotated[bool, typer.Option("--upstream/--downstream", help="Walk towards sources or towards models.")] = True,
    depth: Annotated[Optional[int], typer.Option("--depth", "-d", min=0, help="Levels to walk (jobs do not count); default all.")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """Print the lineage tree of a dataset or model."""
    from lineage import service

    with open_store(ctx) as store:
        result = service.lineage(store, node, direction="upstream" if upstream else "downstream", depth=depth)
    if fmt is Format.json:
        _emit_json(result)
    else:
        from api import render

        render.lineage_result(_console(), result)


@app.command()
@handle_errors
def impact(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Argument(help="The dataset whose consequences you want: e.g. a breached source.")],
    paths: Annotated[int, typer.Option("--paths", min=1, help="At most this many paths per model, shortest first.")] = 10,
    fmt: FormatOption = Format.text,
) -> None:
    """Every model and dataset downstream of DATASET, with the paths that reach each model."""
    from lineage import service

    with open_store(ctx) as store:
        result = service.impact(store, dataset, path_limit=paths)
    if fmt is Format.json:
        _emit_json(result)
    else:
        from api import render

        render.impact_result(_console(), result)


@app.command()
@handle_errors
def path(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(help="Where the path starts (usually a dataset).")],
    target: Annotated[str, typer.Argument(help="Where it ends (a dataset or a model).")],
    paths: Annotated[int, typer.Option("--paths", min=1, help="At most this many paths, shortest first.")] = 10,
    fmt: FormatOption = Format.text,
) -> None:
    """The paths through the lineage from SOURCE to TARGET."""
    from lineage import service

    with open_store(ctx) as store:
        result = service.path(store, source, target, limit=paths)
    if fmt is Format.json:
        _emit_json(result)
    else:
        from api import render

        render.path_result(_console(), result)


@app.command()
@handle_errors
def check(
    ctx: typer.Context,
    datasets: Annotated[Optional[list[str]], typer.Argument(help="Datasets to check; default all.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Validate again even where data and suite are unchanged.")] = False,
    history: Annotated[Optional[str], typer.Option("--history", metavar="DATASET", help="Show the check history of DATASET instead.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="With --history: how many runs.")] = 20,
    fmt: FormatOption = Format.text,
) -> None:
    """Run each dataset's expectations on its real data with Great Expectations, and fingerprint it.

    Exit 1 when a critical expectation fails or a dataset cannot be judged (errored).
    """
    from checks import service

    with open_store(ctx) as store:
        if history:
            result = service.history(store, history, limit=limit)
            if fmt is Format.json:
                _emit_json(result)
            else:
                from api import render

                render.check_history(_console(), result)
            return
        if fmt is Format.json:
            report = service.run_checks(store, datasets or None, force=force)
        else:
            from api import render

            with render.check_progress(_console(stderr=True)) as progress:
                report = service.run_checks(store, datasets or None, force=force, progress=progress)
    if fmt is Format.json:
        _emit_json(report)
    else:
        render.check_report(_console(), report)
    if not report.ok:
        raise typer.Exit(EXIT_FAILED)


@app.command()
@handle_errors
def snapshot(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="The model about to be trained.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the training manifest as JSON.")] = False,
) -> None:
    """Record the fingerprints of everything MODEL trains on, now: its training manifest.

    Call it just before training. Refuses (exit 2, nothing recorded) when a source cannot be read.
    """
    from checks import service

    with open_store(ctx) as store:
        manifest = service.snapshot(store, model)
    if as_json:
        _emit_json(manifest)
    else:
        from api import render

        render.manifest(_console(), manifest)


@app.command()
@handle_errors
def risk(
    ctx: typer.Context,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Only this model's findings.")] = None,
    as_of: AsOfOption = None,
    policy: PolicyOption = None,
    paths: Annotated[int, typer.Option("--paths", min=0, help="Paths to list per finding (0: none).")] = 5,
    fmt: Annotated[RiskFormat, typer.Option("--format", "-f", help="text, json or markdown.")] = RiskFormat.text,
    by_model: Annotated[bool, typer.Option("--by-model", help="One row per model, worst first: counts and the top "
                                           "findings (for large platforms; text or json).")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="With --by-model: models to show.")] = 50,
    top: Annotated[int, typer.Option("--top", min=0, help="With --by-model: findings to show per model.")] = 3,
) -> None:
    """Governance findings: every condition, where it reaches, how severe, what to do."""
    moment = _as_of(as_of)  # a bad date is a usage error before anything is opened
    from checks import risk as risk_service

    if by_model:
        from checks.summary import summarise

        with open_store(ctx) as store:
            chosen = risk_service.policy_for(store, policy)
            summary = summarise(store, as_of=moment, policy=chosen, model=model, limit=limit, top=top,
                                path_limit=min(paths, 1))
        if fmt is RiskFormat.json:
            _emit_json(summary)
        else:
            from api import render

            render.risk_summary(_console(), summary)
        return
    with open_store(ctx) as store:
        chosen = risk_service.policy_for(store, policy)
        report = risk_service.evaluate(store, as_of=moment, policy=chosen, model=model, path_limit=paths)
    if fmt is RiskFormat.json:
        _emit_json(report)
    elif fmt is RiskFormat.markdown:
        from checks.reports.markdown import risk_summary

        sys.stdout.write(risk_summary(report))
    else:
        from api import render

        render.risk_report(_console(), report, model_only=model is not None)


@app.command()
@handle_errors
def report(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="The model to report on.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the Markdown here instead of stdout.")] = None,
    as_of: AsOfOption = None,
    policy: PolicyOption = None,
) -> None:
    """The model's training-data governance report (Markdown, with a Mermaid lineage chart)."""
    moment = _as_of(as_of)
    from checks import risk as risk_service

    with open_store(ctx) as store:
        chosen = risk_service.policy_for(store, policy)
        text = risk_service.model_report(store, model, as_of=moment, policy=chosen)
    if output is None:
        sys.stdout.write(text)
    else:
        _write(output, text)
        _console(stderr=True).print(f"wrote {output}")


@app.command()
@handle_errors
def view(
    ctx: typer.Context,
    focus: Annotated[Optional[str], typer.Option("--focus", help="Centre on this node: what it rests on and what it feeds.")] = None,
    depth: Annotated[Optional[int], typer.Option("--depth", "-d", min=0, help="Levels each way from the focus; default all.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Show what this model rests on.")] = None,
    output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path("lineage.html"),
    # 5,000 is lineage.view.DEFAULT_MAX_NODES, written out so `headwater --help` does not import networkx
    max_nodes: Annotated[int, typer.Option("--max-nodes", min=1, help="Past this many nodes, group them.")] = 5_000,
    as_of: AsOfOption = None,
) -> None:
    """Write the lineage viewer: one self-contained HTML page that works offline."""
    from api.viewer import viewer_page

    with open_store(ctx) as store:
        page, shown = viewer_page(store, focus=focus, depth=depth, model=model, max_nodes=max_nodes, as_of=_as_of(as_of))
    _write(output, page)
    grouped = f", grouped from {shown['selected']:,}" if shown["grouped"] else ""
    _console(stderr=True).print(f"wrote {output} ({shown['nodes']:,} nodes{grouped}, {shown['edges']:,} edges)")


@app.command()
@handle_errors
def gate(
    ctx: typer.Context,
    catalogs: Annotated[Optional[list[Path]], typer.Argument(help="Catalog files to load first; default: the store as it is.")] = None,
    fail_on: Annotated[str, typer.Option("--fail-on", help="Fail on findings at or above: low, medium, high, critical.")] = "high",
    model: Annotated[Optional[list[str]], typer.Option("--model", "-m", help="Models in scope (repeatable); default every deployed model.")] = None,
    everything: Annotated[bool, typer.Option("--all", help="Every model, deployed or not.")] = False,
    waivers: Annotated[Optional[Path], typer.Option("--waivers", help="A waivers file (YAML).")] = None,
    junit: Annotated[Optional[Path], typer.Option("--junit", help="Write JUnit XML here.")] = None,
    sarif: Annotated[Optional[Path], typer.Option("--sarif", help="Write SARIF 2.1.0 here.")] = None,
    markdown: Annotated[Optional[Path], typer.Option("--markdown", help="Write a Markdown summary here.")] = None,
    json_file: Annotated[Optional[Path], typer.Option("--json", help="Write the result as JSON here.")] = None,
    github: Annotated[bool, typer.Option("--github", help="GitHub Actions annotations, and a step summary when GITHUB_STEP_SUMMARY is set.")] = False,
    as_of: AsOfOption = None,
    policy: PolicyOption = None,
    force: Annotated[bool, typer.Option("--force", help="Validate again even where data and suites are unchanged.")] = False,
) -> None:
    """The CI data-quality gate: exit 1 when a finding at or above --fail-on reaches a model in scope."""
    import os

    from checks import gate as gate_service
    from checks import risk as risk_service

    if fail_on not in ("low", "medium", "high", "critical"):
        raise typer.BadParameter(f"expected low, medium, high or critical, got {fail_on!r}", param_hint="--fail-on")
    moment = _as_of(as_of)  # before any catalog is loaded or check run
    with open_store(ctx) as store:
        if catalogs:
            from catalog.loader import iter_catalog_files, load_catalog

            load_catalog(store, iter_catalog_files(catalogs))
        chosen = risk_service.policy_for(store, policy)
        from api import render

        with render.check_progress(_console(stderr=True)) as progress:
            result = gate_service.run_gate(store, fail_on=fail_on, models=model, everything=everything,
                                           waivers_file=waivers, as_of=moment, policy=chosen, force=force,
                                           progress=progress)
        from lineage.service import graph_of

        graph = graph_of(store)
    from checks.reports import markdown as markdown_report

    summary = markdown_report.gate_summary(result, graph)
    if junit:
        from checks.reports import junit as junit_report

        _write(junit, junit_report.render(result))
    if sarif:
        from importlib.metadata import version

        from checks.reports import sarif as sarif_report

        _write(sarif, sarif_report.render(result, chosen, version("headwater")))
    if markdown:
        _write(markdown, summary)
    if json_file:
        _write(json_file, result.model_dump_json(indent=2))
    if github:
        from checks.reports.github import annotations

        for line in annotations(result):
            print(line)
        step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if step_summary:
            with open(step_summary, "a", encoding="utf-8") as handle:
                handle.write(summary)
    render.gate_result(_console(), result)
    if not result.passed:
        raise typer.Exit(EXIT_FAILED)


@app.command()
@handle_errors
def ingest(
    ctx: typer.Context,
    source: Annotated[str, typer.Argument(metavar="FILE|-", help="OpenLineage events: a JSON event or array, or NDJSON; - reads stdin.")],
    fmt: FormatOption = Format.text,
) -> None:
    """Ingest OpenLineage events as `POST /api/v1/lineage` does: all of them or, on any error, none."""
    import json
    import os

    from catalog.errors import ConfigurationError, InvalidEvent
    from catalog.openlineage import ingest_events
    from catalog.openlineage import EventLimits

    limits = EventLimits.from_env(os.environ)  # the server's bounds: eventTime skew, edges per event

    name = "<stdin>" if source == "-" else source
    text = _read_events_text(source, name)
    lines: list[int] = []
    try:
        data = json.loads(text)
        events = data if isinstance(data, list) else [data]
    except json.JSONDecodeError:
        events = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ConfigurationError(f"{name}:{number}: not JSON ({exc.msg}); expected a JSON event per line") from None
            lines.append(number)
    if not events:
        raise ConfigurationError(f"{name}: no OpenLineage events in it; expected a JSON event, a JSON array of "
                                 "events, or one JSON event per line (NDJSON)")
    with open_store(ctx) as store:
        try:
            result = ingest_events(store, events, limits=limits)
        except InvalidEvent as error:
            # at most limits.max_problems listed, the rest counted: five million bad lines make a short answer
            where = [f"{name}:{lines[e.index]}" if lines and e.index is not None else name for e in error.errors]
            detail = "\n  ".join(f"{w}: {e.message}" for w, e in zip(where, error.errors, strict=True))
            if error.omitted:
                detail += f"\n  ... and {error.omitted:,} more not listed"
            if error.unchecked:
                detail += f"\n  ... and {error.unchecked:,} more event(s) after them not checked"
            raise InvalidEvent("", f"{error.total:,} invalid event(s); nothing was written\n  {detail}") from None
    if fmt is Format.json:
        _emit_json(result)
    else:
        _console().print(f"{result.events} events ({result.stored} new, {result.duplicates} already seen); "
                         f"datasets {result.datasets_created} created, {result.datasets_updated} updated; "
                         f"jobs {result.jobs_created} created; models {result.models_created} created")


MAX_INGEST_BYTES = 256 * 1024 * 1024


def _read_events_text(source: str, name: str) -> str:
    """The events file or stdin, read in chunks up to a cap: a pipe is fine (`<(dbt-ol …)`), but
    `/dev/zero` or a runaway producer must end in an error, not in memory exhaustion."""
    from catalog.errors import ConfigurationError

    try:
        handle = sys.stdin.buffer if source == "-" else open(source, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise ConfigurationError(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        chunks, size = [], 0
        while chunk := handle.read(1024 * 1024):
            size += len(chunk)
            if size > MAX_INGEST_BYTES:
                raise ConfigurationError(f"{name} is larger than {MAX_INGEST_BYTES // (1024 * 1024)} MiB; "
                                         "split the events into several files")
            chunks.append(chunk)
    except OSError as exc:
        raise ConfigurationError(f"cannot read {name}: {exc.strerror or exc}") from None
    finally:
        if source != "-":
            handle.close()
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(f"cannot read {name}: not valid UTF-8 (byte {exc.start})") from None


@app.command()
@handle_errors
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes (share the store; PostgreSQL for more than one writer).")] = 1,
) -> None:
    """The REST API (OpenAPI at /docs) over the store."""
    import os

    import uvicorn

    from api.app import allowed_hosts_for, settings_problems
    from catalog.errors import ConfigurationError
    from catalog.store import Store, mask_url

    settings: Settings = ctx.obj
    problems = settings_problems(settings)
    if problems:
        raise ConfigurationError("; ".join(problems))
    Store(settings.db).close()  # fail fast (exit 2) on a bad URL, and migrate once before the workers start
    os.environ["HEADWATER_DB"] = settings.db
    # The app is built by uvicorn from the environment, in each worker: hand it the default Host list
    # for the address bound here (an explicit HEADWATER_ALLOWED_HOSTS wins).
    hosts = tuple(h.strip().lower() for h in os.environ.get("HEADWATER_ALLOWED_HOSTS", "").split(",") if h.strip())
    hosts = hosts or allowed_hosts_for(host)
    os.environ["HEADWATER_ALLOWED_HOSTS"] = ",".join(hosts)
    console = _console(stderr=True)
    console.print(f"serving {mask_url(settings.db)} on http://{host}:{port} (docs at /docs, lineage viewer at /viewer)")
    console.print(f"allowed hosts: {', '.join(hosts)}; reads: {settings.reads}; "
                  f"read budget {settings.read_budget:g} s", markup=False)
    if not settings.tokens:
        console.print("[yellow]HEADWATER_TOKENS is not set: the API is read-only, every write is refused (403)[/]")
        if settings.reads == "token":
            console.print("[yellow]HEADWATER_READS=token and no token: every read is refused too (403)[/]")
    # After SIGTERM, running requests get `shutdown_timeout` seconds; then they are cancelled, which
    # stops the reads they run (api/deps.py ReadBudget), so the process exits within seconds.
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info",
                timeout_graceful_shutdown=settings.shutdown_timeout)  # type: ignore[arg-type]  # seconds; floats work


@app.command()
@handle_errors
def demo(
    workdir: Annotated[Path, typer.Option("--workdir", "-w", help="Folder for the demo's store and outputs; recreated.")] = Path("headwater-demo"),
    examples: Annotated[Optional[Path], typer.Option("--examples", help="The example catalog folder (default: the bundled examples/).")] = None,
) -> None:
    """Load the bundled example into a fresh store and show what it tells you."""
    from api.demo import run_demo

    run_demo(_console(), workdir=workdir, examples=examples)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive only
        sys.stderr.write("interrupted\n")
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
