"""`headwater import mlflow` against a real MLflow tracking store, made here with the real `mlflow` library.

Two versions of one registered model, each trained on its own file, share an evaluation set. What
each version learned from stays its own; a file changed after training is a finding for the version
trained on it only, detected against the digest MLflow recorded at training time.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from catalog.store import Store

MAKE_STORE = textwrap.dedent('''
    import os, sys, warnings
    warnings.simplefilter("ignore")
    import mlflow, pandas as pd
    from mlflow import MlflowClient
    folder = sys.argv[1]
    uri = f"sqlite:///{folder}/mlflow.db"
    mlflow.set_tracking_uri(uri); mlflow.set_registry_uri(uri)
    pd.DataFrame({"income": [10, 20, 30], "region": ["n", "s", "e"]}).to_csv(f"{folder}/train_v1.csv", index=False)
    pd.DataFrame({"income": [11, 21, 31, 41], "region": ["n", "s", "e", "w"]}).to_csv(f"{folder}/train_v2.csv", index=False)
    pd.DataFrame({"income": [5, 6], "region": ["n", "w"]}).to_csv(f"{folder}/holdout.csv", index=False)
    mlflow.set_experiment("credit")
    client = MlflowClient()
    client.create_registered_model("credit-scorer", tags={"headwater.risk_tier": "high", "headwater.owner": "ml@acme"})
    client.create_registered_model("untiered")
    for train in ("train_v1", "train_v2"):
        with mlflow.start_run() as run:
            path = f"{folder}/{train}.csv"
            mlflow.log_input(mlflow.data.from_pandas(pd.read_csv(path), source=path, name=train), context="training")
            path = f"{folder}/holdout.csv"
            mlflow.log_input(mlflow.data.from_pandas(pd.read_csv(path), source=path, name="holdout"), context="eval")
        client.create_model_version("credit-scorer", source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    client.set_registered_model_alias("credit-scorer", "champion", "2")
    with mlflow.start_run() as run:
        path = f"{folder}/holdout.csv"
        mlflow.log_input(mlflow.data.from_pandas(pd.read_csv(path), source=path, name="holdout"), context="calibration")
    client.create_model_version("untiered", source=f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
''')


@pytest.fixture(scope="module")
def tracking(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real MLflow SQLite tracking store (made once: MLflow takes seconds to start)."""
    folder = tmp_path_factory.mktemp("mlflow")
    subprocess.run([sys.executable, "-c", MAKE_STORE, str(folder)], check=True, capture_output=True, text=True)
    return folder


def _import(headwater, tracking: Path, db: str, *extra: str):
    return headwater("import", "mlflow", "--tracking-uri", f"sqlite:///{tracking}/mlflow.db", "--format", "json",
                     *extra, db=db)


def _fingerprint_findings(headwater, db: str) -> dict[str, set[str]]:
    result = headwater("risk", "--format", "json", db=db)
    found: dict[str, set[str]] = {}
    for finding in json.loads(result.stdout)["findings"]:
        if finding["root_condition"] == "fingerprint_mismatch" and finding["node_kind"] == "model":
            found.setdefault(finding["node"], set()).add(Path(finding["root"].rpartition(":")[2]).name)
    return found


def test_each_version_keeps_its_own_feeds_and_a_reimport_changes_nothing(headwater, tracking: Path, sqlite_url: str):
    first = _import(headwater, tracking, sqlite_url)
    assert first.returncode == 0, first.stderr
    counts = json.loads(first.stdout)
    assert counts["versions"] == {"created": 3} and counts["datasets"] == {"created": 3}
    store = Store(sqlite_url)
    revision = store.revision()
    again = _import(headwater, tracking, sqlite_url)
    assert json.loads(again.stdout)["versions"] == {"unchanged": 3} and store.revision() == revision

    from catalog import service

    page = service.list_feeds(store, model="mlflow:credit-scorer@1")
    v1 = {(Path(item["dataset"].rpartition(":")[2]).name, item["role"]) for item in page.items}
    page = service.list_feeds(store, model="mlflow:credit-scorer@2")
    v2 = {(Path(item["dataset"].rpartition(":")[2]).name, item["role"]) for item in page.items}
    assert v1 == {("train_v1.csv", "training"), ("holdout.csv", "evaluation")}
    assert v2 == {("train_v2.csv", "training"), ("holdout.csv", "evaluation")}
    assert all(item["fingerprint"].startswith("mlflow:") for item in page.items)


def test_tags_give_tier_owner_and_deployment_and_a_version_without_a_tier_is_a_finding(headwater, tracking, sqlite_url):
    _import(headwater, tracking, sqlite_url)
    from catalog import service
    from lineage.service import resolve

    store = Store(sqlite_url)
    v2 = service.get_model(store, resolve(store, "credit-scorer", "model"))  # bare name: the deployed version
    assert (v2.id, v2.risk_tier, v2.owner, v2.deployed, v2.stage) == (
        "model:mlflow:credit-scorer@2", "high", "ml@acme", True, "champion")
    assert v2.field_sources["risk_tier"]["source"] == "mlflow" and v2.source == "mlflow"
    v1 = service.get_model(store, resolve(store, "credit-scorer@1", "model"))
    assert v1.deployed is False and v1.registered_at < v2.registered_at
    untiered = service.get_model(store, resolve(store, "untiered", "model"))
    assert untiered.risk_tier is None
    feeds = service.list_feeds(store, model="mlflow:untiered@1").items
    assert [f["role"] for f in feeds] == ["calibration"]  # an unknown context is kept as written
    risk = json.loads(headwater("risk", "--format", "json", db=sqlite_url).stdout)["findings"]
    unknown = [f for f in risk if f["condition"] == "risk_tier_unknown"]
    assert [f["node"] for f in unknown] == ["model:mlflow:untiered@1"]


def test_a_file_changed_after_training_is_a_finding_for_the_version_trained_on_it_only(headwater, tracking, tmp_path,
                                                                                         sqlite_url):
    work = tmp_path / "copy"
    work.mkdir()
    for name in ("mlflow.db", "train_v1.csv", "train_v2.csv", "holdout.csv"):
        (work / name).write_bytes((tracking / name).read_bytes())
    # the store records the datasets at their original paths: change the original v1 file, then restore it
    original = (tracking / "train_v1.csv").read_text()
    _import(headwater, tracking, sqlite_url)
    before = _fingerprint_findings(headwater, sqlite_url)
    assert before == {  # not yet recomputed: unverified, never taken as matching
        "model:mlflow:credit-scorer@1": {"train_v1.csv", "holdout.csv"},
        "model:mlflow:credit-scorer@2": {"train_v2.csv", "holdout.csv"},
        "model:mlflow:untiered@1": {"holdout.csv"},
    }
    assert headwater("check", db=sqlite_url).returncode == 0
    assert _fingerprint_findings(headwater, sqlite_url) == {}  # MLflow's digests, recomputed, all match
    try:
        (tracking / "train_v1.csv").write_text(original.replace("20", "99"))
        headwater("check", db=sqlite_url)
        after = _fingerprint_findings(headwater, sqlite_url)
    finally:
        (tracking / "train_v1.csv").write_text(original)
    assert after == {"model:mlflow:credit-scorer@1": {"train_v1.csv"}}
    risk = json.loads(headwater("risk", "--model", "credit-scorer@1", "--format", "json", db=sqlite_url).stdout)
    detail = next(f["detail"] for f in risk["findings"] if f["root_condition"] == "fingerprint_mismatch")
    assert "MLflow digested as" in detail


def test_a_missing_store_or_an_unknown_model_is_exit_2_and_writes_nothing(headwater, tracking, tmp_path, sqlite_url):
    missing = headwater("import", "mlflow", "--tracking-uri", f"sqlite:///{tmp_path}/nope.db", db=sqlite_url)
    assert missing.returncode == 2 and "no such database file" in missing.stderr
    assert not (tmp_path / "nope.db").exists()  # MLflow would have created an empty store
    unknown = _import(headwater, tracking, sqlite_url, "--model", "credit-scorrer")
    assert unknown.returncode == 2 and "no registered model 'credit-scorrer'" in unknown.stderr
    assert "credit-scorer" in unknown.stderr
    assert Store(sqlite_url).counts()["models"] == 0


def test_a_version_without_tier_tags_takes_them_from_the_models_catalog_entry(headwater, tracking, tmp_path, sqlite_url):
    catalog = tmp_path / "models.yaml"
    catalog.write_text("catalog: mlflow\nmodels:\n  - name: untiered\n    version: declared\n    risk_tier: limited\n"
                       "    purpose: routing support tickets\n")
    assert headwater("load", str(catalog), db=sqlite_url).returncode == 0
    _import(headwater, tracking, sqlite_url)
    from catalog import service
    from lineage.service import resolve

    store = Store(sqlite_url)
    imported = service.get_model(store, resolve(store, "untiered@1", "model"))
    assert (imported.risk_tier, imported.purpose, imported.source) == ("limited", "routing support tickets", "mlflow")
    risk = json.loads(headwater("risk", "--format", "json", db=sqlite_url).stdout)["findings"]
    assert not [f for f in risk if f["condition"] == "risk_tier_unknown"]
