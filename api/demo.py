"""`headwater demo`: the bundled example, end to end, in a fresh embedded store.

It finds the breached source from the catalog's incidents rather than by name, so the demo shows
what a user would do on their own catalog: ask what an incident reaches.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from api.render.checks import check_progress, check_report
from api.render.lineage import impact_result, load_result, summary
from api.render.markup import label
from api.render.risk import risk_report
from catalog.errors import ConfigurationError
from catalog.loader import load_catalog
from catalog.store import Store
from lineage import service

BUNDLED = Path(__file__).resolve().parent.parent / "examples"


def find_examples(examples: Path | None) -> Path:
    """The folder holding `catalog.yaml`: `examples` if given, else the bundled one, else ./examples
    (an installed wheel may ship without the examples, a source checkout always has them)."""
    for candidate in ([examples] if examples else [BUNDLED, Path.cwd() / "examples"]):
        if (candidate / "catalog.yaml").is_file():
            return candidate
    where = examples or BUNDLED
    raise ConfigurationError(f"no catalog.yaml in {where}; pass --examples with the folder holding the example catalog")


def run_demo(console: Console, *, workdir: Path, examples: Path | None = None) -> Path:
    """Load the example, then show its lineage, checks, open incidents and what they reach, and its
    risk findings; write the reports and the viewer into `workdir`. Returns the store's path.

    The store is deleted first: the demo always starts from nothing, so it reads the same each run.
    """
    folder = find_examples(examples)
    workdir.mkdir(parents=True, exist_ok=True)
    database = workdir / "headwater.db"
    for leftover in (database, workdir / "headwater.db-wal", workdir / "headwater.db-shm"):
        leftover.unlink(missing_ok=True)
    url = f"sqlite:///{database.resolve()}"

    console.rule("[bold]Headwater demo")
    console.print(f"catalog  {escape(str(folder / 'catalog.yaml'))}")
    console.print(f"store    {escape(url)} (fresh)\n")
    with Store(url) as store:
        result = load_catalog(store, [folder / "catalog.yaml"])
        load_result(console, result)

        console.rule("[bold]Lineage")
        summary(console, service.summary(store))

        console.rule("[bold]Data-quality checks (Great Expectations, on the real files and tables)")
        from checks import service as checks

        with check_progress(console) as progress:
            report = checks.run_checks(store, progress=progress)
        check_report(console, report)

        graph = service.graph_of(store)
        open_incidents = sorted(
            (incident["opened"], node, incident)
            for node, attrs in graph.nodes(data=True)
            for incident in attrs.get("incidents", [])
            if incident["resolved"] is None
        )
        console.rule("[bold]Open incidents and what they reach")
        for opened, node, incident in open_incidents:
            console.print(
                f"[bold]{escape(incident['kind'])}[/] on {label(service.ref(graph, node))} "
                f"since {opened:%Y-%m-%d}: {escape(incident['note'] or '')}"
            )
        breached = [node for _, node, incident in open_incidents if incident["kind"] == "breach"]
        for node in breached:
            console.print()
            impact_result(console, service.impact(store, node))

        console.rule("[bold]Governance findings and regulatory risk")
        from checks import risk

        report = risk.evaluate(store)
        risk_report(console, report)
        reports = workdir / "reports"
        reports.mkdir(exist_ok=True)
        from checks.reports.markdown import risk_summary

        (reports / "risk.md").write_text(risk_summary(report), encoding="utf-8")
        for item in service.summary(store).model_summaries:
            (reports / f"{item.model.name}@{item.model.version}.md").write_text(risk.model_report(store, item.model.id), encoding="utf-8")
        console.print(f"reports written to {escape(str(reports))}/ (risk.md and one per model)")
        from checks.bom import file_name
        from checks.bom.service import export_bom

        boms = workdir / "bom"
        boms.mkdir(exist_ok=True)
        for item in service.summary(store).model_summaries:
            for fmt in ("cyclonedx", "spdx"):
                (boms / file_name(item.model.id, fmt)).write_text(export_bom(store, item.model.id, fmt), encoding="utf-8")
        console.print(f"AI bills of materials written to {escape(str(boms))}/ (CycloneDX 1.6 and SPDX 3.0.1 per model)")

        from api.viewer import viewer_page

        page, shown = viewer_page(store)
        viewer = workdir / "lineage.html"
        viewer.write_text(page, encoding="utf-8")
        console.print(f"lineage viewer written to {escape(str(viewer))} ({shown['nodes']} nodes, {shown['edges']} edges; "
                      "open it in a browser, it needs no network)")

    console.rule("[bold]Next")
    db_option = f"--db {url}"
    for command in (
        f"headwater {db_option} lineage credit-scorer",
        f"headwater {db_option} impact vendor.bureau_scores --format json",
        f"headwater {db_option} path raw.support_tickets support-assistant",
        f"headwater {db_option} check --history raw.loan_applications",
        f"headwater {db_option} snapshot churn-predictor --json",
        f"headwater {db_option} risk --model credit-scorer",
        f"headwater {db_option} history raw.loan_applications",
        f"headwater {db_option} audit verify",
        f"headwater {db_option} view --focus vendor.bureau_scores -o bureau.html",
    ):
        console.print(f"  {escape(command)}")
    if shutil.which("headwater") is None:
        console.print("[dim](headwater is not on PATH: use python -m api.cli)[/]")
    return database
