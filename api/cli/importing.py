"""`headwater import mlflow|dbt|hf-card|croissant`: what other tools already know, brought into the catalog.

Each importer reads the tool (catalog/importers/) into a plan and `catalog.imports` writes it in
one transaction: a tool that cannot be read, or a name the tool does not know, writes nothing
(exit 2). Importing again what is already in the catalog changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from api.cli.common import console, emit_json, handle_errors, open_store
from api.cli.options import Format, FormatOption

app = typer.Typer(name="import", help="Import model versions, lineage, test results and governance facts from MLflow, "
                                      "dbt, Hugging Face model cards or Croissant metadata.", no_args_is_help=True)


@app.command("mlflow")
@handle_errors
def mlflow(
    ctx: typer.Context,
    tracking_uri: Annotated[Optional[str], typer.Option(
        "--tracking-uri", envvar="MLFLOW_TRACKING_URI", show_envvar=True,
        help="The MLflow tracking store or server, e.g. sqlite:///mlflow.db or http://mlflow:5000.")] = None,
    models: Annotated[Optional[list[str]], typer.Option("--model", help="Only this registered model (repeatable).")] = None,
    experiments: Annotated[Optional[list[str]], typer.Option(
        "--experiment", help="Only versions whose run is in this experiment (repeatable).")] = None,
    namespace: Annotated[str, typer.Option("--namespace", help="The catalog namespace of the models.")] = "mlflow",
    fmt: FormatOption = Format.text,
) -> None:
    """Each registered model version, with the datasets its run logged (role, time, MLflow's digest)."""
    from catalog.importers.mlflow import plan_import

    plan = plan_import(tracking_uri, models=models, experiments=experiments, namespace=namespace)
    _apply(ctx, plan, fmt)


@app.command("dbt")
@handle_errors
def dbt(
    ctx: typer.Context,
    target: Annotated[Path, typer.Argument(help="dbt's target folder: manifest.json and, when present, run_results.json.")],
    namespace: Annotated[Optional[str], typer.Option(
        "--namespace", help="The catalog namespace of the tables; default the one dbt-ol uses (ADAPTER://HOST).")] = None,
    fmt: FormatOption = Format.text,
) -> None:
    """The dbt DAG (seeds included) and its test outcomes as check runs, from dbt's target folder."""
    from catalog.importers.dbt import plan_import

    plan = plan_import(target, namespace=namespace)
    _apply(ctx, plan, fmt)


@app.command("hf-card")
@handle_errors
def hf_card(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(
        help="Model cards: a README.md with YAML front matter, or the folder holding one (read offline).")],
    namespace: Annotated[str, typer.Option(
        "--namespace", help="The catalog namespace of the cards' models; datasets and base models, named by "
                            "their Hub ids, are in huggingface.")] = "huggingface",
    fmt: FormatOption = Format.text,
) -> None:
    """Each card's model (version main), the datasets it names as training or evaluation feeds, its base model
    and licence."""
    from catalog.importers.hf_card import plan_import, without_stored_bases

    plan = plan_import(paths, namespace=namespace)

    def prepare(store) -> None:
        from catalog import service
        from catalog.ids import NodeId

        without_stored_bases(plan, lambda key: service.exists(store, NodeId("model", *key)))

    _apply(ctx, plan, fmt, prepare=prepare)


@app.command("croissant")
@handle_errors
def croissant(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Croissant 1.0/1.1 JSON-LD files (read as JSON, nothing fetched).")],
    namespace: Annotated[str, typer.Option("--namespace", help="The catalog namespace of the datasets.")] = "croissant",
    fmt: FormatOption = Format.text,
) -> None:
    """Each file's dataset: owner, licence, personal data, RAI documentation, location and what it was derived from."""
    from catalog.importers.croissant import plan_import

    plan = plan_import(paths, namespace=namespace)
    _apply(ctx, plan, fmt)


def _apply(ctx: typer.Context, plan, fmt: Format, prepare=None) -> None:
    from catalog.imports import apply_import

    with open_store(ctx) as store:
        if prepare is not None:
            prepare(store)
        result = apply_import(store, plan)
    if fmt is Format.json:
        emit_json(result)
        return
    out = console()
    out.print(f"imported from [bold]{result.source}[/]: datasets {_counts(result.datasets)}; "
              f"model versions {_counts(result.versions)}; feeds changed on {result.feeds_changed} version(s); "
              f"derivations changed on {result.derivations_changed} dataset(s); "
              f"{result.checks_recorded} test run(s) recorded; store revision {result.revision}")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {change}" for change, n in sorted(counts.items())) or "none"
