"""`headwater import mlflow`: registered model versions and the datasets their runs logged.

Read through MLflow's own client (`MlflowClient`, the `headwater[mlflow]` extra), never its
database directly, so any tracking store MLflow can open works. What becomes what:

- each registered model version is a model version (`NAME@VERSION` in `--namespace`, default
  `mlflow`): registered when MLflow registered it, its stage MLflow's stage or its aliases;
- each dataset input of the version's run is a feed: the role from the input's
  `mlflow.data.context` tag (`train`/`training`, `eval`/`evaluation`, `val`/`validation`, `test`, …;
  an unknown context is kept as written), consumed when the run started;
- the dataset is found by its source: a local file or a URI is the dataset at that location, the
  same one a catalog file or OpenLineage names; a new one is named as OpenLineage names files
  (namespace `file`, the absolute path; or `s3://bucket` and the key);
- the feed's fingerprint is MLflow's digest of what the run logged (`mlflow:<digest>`), the
  evidence made at training time; `headwater check` recomputes it on the data (checks/mlflow_digest.py);
- tier, purpose, owner and deployment come from tags (TAGS below; a version's own tag wins over its
  registered model's), else from the model's catalog-file entry; a version with neither has no tier,
  which is a `risk_tier_unknown` finding.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from catalog.errors import ConfigurationError
from catalog.imports import ImportedDataset, ImportedFeed, ImportedVersion, ImportPlan

SOURCE = "mlflow"
TAGS = {  # tag on the registered model or the version -> model field
    "headwater.risk_tier": "risk_tier", "headwater.purpose": "purpose", "headwater.owner": "owner",
    "headwater.deployed": "deployed",
}
ROLES = {
    "train": "training", "training": "training", "eval": "evaluation", "evaluation": "evaluation",
    "val": "validation", "valid": "validation", "validation": "validation", "test": "test", "testing": "test",
    "fine_tuning": "fine_tuning", "fine-tuning": "fine_tuning", "finetuning": "fine_tuning", "retrieval": "retrieval",
}
TIERS = ("prohibited", "high", "gpai", "limited", "minimal")
DEPLOYED_ALIASES = ("production", "prod", "champion", "live")


def plan_import(tracking_uri: str | None, *, models: list[str] | None = None, experiments: list[str] | None = None,
                namespace: str = "mlflow") -> ImportPlan:
    uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        raise ConfigurationError("no tracking URI: pass --tracking-uri or set MLFLOW_TRACKING_URI")
    _must_exist(uri)
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise ConfigurationError("MLflow is not installed: pip install 'headwater[mlflow]'") from None
    try:
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        registered = {rm.name: rm for rm in client.search_registered_models()}
    except Exception as exc:  # MLflow raises its own errors for a store it cannot open
        raise ConfigurationError(f"cannot open the MLflow tracking store {uri}: {_first_line(exc)}") from None
    unknown = sorted(set(models or ()) - registered.keys())
    if unknown:
        raise ConfigurationError(f"MLflow at {uri} has no registered model {', '.join(map(repr, unknown))}; "
                                 f"it has: {', '.join(sorted(registered)) or 'none'}")
    wanted_experiments = _experiment_ids(client, experiments, uri)
    plan = ImportPlan(source=SOURCE)
    datasets: dict[str, ImportedDataset] = {}
    for name in sorted(models or registered):
        model = registered[name]
        found = client.search_model_versions(f"name='{_quoted(name)}'")
        for version in sorted(found, key=lambda v: int(v.version)):
            version = client.get_model_version(name, version.version)  # a search leaves out the aliases
            run = client.get_run(version.run_id) if version.run_id else None
            if wanted_experiments is not None and (run is None or run.info.experiment_id not in wanted_experiments):
                continue
            plan.versions.append(_version(namespace, model, version, run, datasets))
    plan.datasets = list(datasets.values())
    return plan


def _version(namespace: str, model: Any, version: Any, run: Any, datasets: dict[str, ImportedDataset]) -> ImportedVersion:
    tags = {**(model.tags or {}), **(version.tags or {})}
    fields: dict[str, Any] = {}
    for tag, field_name in TAGS.items():
        if tags.get(tag) not in (None, ""):
            fields[field_name] = tags[tag].strip()
    where = f"registered model {model.name!r} version {version.version}"
    if "risk_tier" in fields:
        fields["risk_tier"] = fields["risk_tier"].lower()
        if fields["risk_tier"] not in TIERS:
            raise ConfigurationError(f"{where}: tag headwater.risk_tier is {tags['headwater.risk_tier']!r}; "
                                     f"expected one of {', '.join(TIERS)}")
    aliases = [a.lower() for a in (getattr(version, "aliases", None) or [])]
    stage = version.current_stage if version.current_stage not in (None, "", "None") else None
    fields["deployed"] = (str(fields.get("deployed", "")).lower() in ("true", "1", "yes")
                          or (stage or "").lower() == "production" or any(a in DEPLOYED_ALIASES for a in aliases))
    fields["stage"] = stage or (", ".join(sorted(aliases)) if aliases else None)
    fields["registered_at"] = _time(version.creation_timestamp)
    fields["description"] = version.description or model.description or None
    feeds = []
    for dataset_input in (run.inputs.dataset_inputs if run is not None and run.inputs else []):
        dataset = dataset_input.dataset
        context = next((t.value for t in dataset_input.tags if t.key == "mlflow.data.context"), None)
        role = ROLES.get((context or "training").strip().lower(), (context or "").strip())
        if len(role) > 32:
            raise ConfigurationError(f"{where}: dataset {dataset.name!r} has context {context!r}; a role is at most "
                                     "32 characters")
        imported = _dataset(dataset)
        datasets.setdefault(imported.handle, imported)
        feeds.append(ImportedFeed(dataset=imported.handle, role=role,
                                  fingerprint=f"mlflow:{dataset.digest}" if dataset.digest else None,
                                  consumed_at=_time(run.info.start_time)))
    return ImportedVersion(key=(namespace, model.name, str(version.version)), fields=fields, feeds=feeds)


def _dataset(dataset: Any) -> ImportedDataset:
    """The catalog dataset an MLflow dataset source names."""
    try:
        source = json.loads(dataset.source) if dataset.source else {}
    except (TypeError, ValueError):
        source = {}
    uri = source.get("uri") or source.get("url") or source.get("path") if isinstance(source, dict) else None
    description = f"logged to MLflow as {dataset.name!r}"
    if isinstance(uri, str) and uri:
        parsed = urlparse(uri)
        if parsed.scheme in ("", "file"):
            path = str(Path(parsed.path if parsed.scheme == "file" else uri).expanduser().resolve())
            return ImportedDataset(handle=path, key=("file", path), location=path, fields={"description": description})
        return ImportedDataset(handle=uri, key=(f"{parsed.scheme}://{parsed.netloc}", parsed.path.lstrip("/") or uri),
                               location=uri, fields={"description": description})
    return ImportedDataset(handle=f"mlflow:{dataset.name}:{dataset.digest}", key=("mlflow", dataset.name),
                           fields={"description": description})


def _experiment_ids(client: Any, names: list[str] | None, uri: str) -> set[str] | None:
    if not names:
        return None
    found = {}
    for name in names:
        experiment = client.get_experiment_by_name(name)
        if experiment is None:
            raise ConfigurationError(f"MLflow at {uri} has no experiment {name!r}")
        found[name] = experiment.experiment_id
    return set(found.values())


def _must_exist(uri: str) -> None:
    """MLflow creates an empty store where none is: a mistyped path must be an error, not a new database."""
    parsed = urlparse(uri)
    if parsed.scheme == "sqlite":
        path = uri.split(":///", 1)[1] if ":///" in uri else ""
        if path and not Path(path).exists():
            raise ConfigurationError(f"cannot open the MLflow tracking store {uri}: no such database file")
    elif parsed.scheme in ("", "file") and not Path(parsed.path or uri).exists():
        raise ConfigurationError(f"cannot open the MLflow tracking store {uri}: no such folder")


def _quoted(name: str) -> str:
    return name.replace("'", "\\'")


def _time(millis: int | None) -> datetime | None:
    return datetime.fromtimestamp(millis / 1000, tz=timezone.utc) if millis else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
