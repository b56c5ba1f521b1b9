"""`headwater check` and `headwater snapshot` as a user runs them."""

from __future__ import annotations

import json
import shutil

from tests.api.test_cli import heavy_modules, probe


def example_copy(tmp_path, examples):
    """The example catalog and data in a scratch folder, so tests may change the data."""
    target = tmp_path / "examples"
    shutil.copytree(examples, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_check_on_the_example_fails_on_the_planted_problems(headwater, examples, tmp_path):
    folder = example_copy(tmp_path, examples)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    assert headwater("load", str(folder / "catalog.yaml"), db=db).returncode == 0
    result = headwater("check", db=db)
    assert result.returncode == 1
    assert "raw.loan_applications #2 expect_column_values_to_be_between" in result.stdout
    assert "6 unexpected (0.30%)" in result.stdout
    assert "15 datasets: 3 passed, 1 warning, 2 failed, 9 unchecked; 6 validated, 0 reused" in result.stdout


def test_check_exit_0_when_only_passing_datasets_are_selected(headwater, examples, tmp_path):
    folder = example_copy(tmp_path, examples)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    headwater("load", str(folder / "catalog.yaml"), db=db)
    result = headwater("check", "vendor.bureau_scores", "raw.repayment_history", "--format", "json", db=db)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [run["outcome"] for run in report["runs"]] == ["passed", "passed"]


def test_errored_dataset_exits_1_and_unknown_dataset_exits_2(headwater, examples, tmp_path):
    folder = example_copy(tmp_path, examples)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    headwater("load", str(folder / "catalog.yaml"), db=db)
    (folder / "data" / "bureau_scores.csv").unlink()
    errored = headwater("check", "vendor.bureau_scores", db=db)
    assert errored.returncode == 1 and "file not found" in errored.stdout
    assert headwater("check", "vendor.nope", db=db).returncode == 2


def test_rerun_on_unchanged_data_reuses_results_without_importing_gx(tmp_path, examples, headwater):
    """Only the warm run needs a fresh interpreter (to see what it imports); the probe's own control,
    GX showing up when a check does validate, is test_cli's test of `load`."""
    folder = example_copy(tmp_path, examples)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    assert headwater("load", str(folder / "catalog.yaml"), db=db).returncode == 0
    cold = headwater("check", db=db)
    assert cold.returncode == 1 and "6 validated, 0 reused" in cold.stdout
    warm = probe(tmp_path, "check", db=db)
    assert warm.returncode == 1
    assert "0 validated, 6 reused" in warm.stdout
    assert "great_expectations" not in heavy_modules(warm)
    forced = headwater("check", "--force", db=db)
    assert "6 validated, 0 reused" in forced.stdout


def test_history_shows_each_run(headwater, examples, tmp_path):
    folder = example_copy(tmp_path, examples)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    headwater("load", str(folder / "catalog.yaml"), db=db)
    headwater("check", "raw.loan_applications", db=db)
    headwater("check", "raw.loan_applications", db=db)
    result = headwater("check", "--history", "raw.loan_applications", "--format", "json", db=db)
    assert result.returncode == 0
    runs = json.loads(result.stdout)["runs"]
    assert [run["outcome"] for run in runs] == ["failed", "failed"]
    assert runs[0]["reused_from"] == runs[1]["id"]
    assert all(result["sample"] is None for run in runs for result in run["results"])  # personal data
    text = headwater("check", "--history", "raw.loan_applications", db=db)
    assert "Check history of dataset:acme-ml:raw.loan_applications" in text.stdout


def test_snapshot_json_manifest_then_a_change_shows(headwater, examples, tmp_path):
    folder = example_copy(tmp_path, examples)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    headwater("load", str(folder / "catalog.yaml"), db=db)
    result = headwater("snapshot", "support-assistant", "--json", db=db)
    assert result.returncode == 0, result.stderr
    manifest = json.loads(result.stdout)
    assert manifest["model"] == "model:acme-ml:support-assistant@1.4.0"
    assert {f["dataset"]: f["previous_fingerprint"] == f["fingerprint"] for f in manifest["feeds"]} == {
        "dataset:acme-ml:staging.web_corpus_dedup": True, "dataset:acme-ml:staging.support_tickets_clean": True}
    with (folder / "data" / "support_tickets_clean.jsonl").open("a") as handle:
        handle.write('{"ticket_id": "T999999", "body": "appended after the snapshot"}\n')
    again = json.loads(headwater("snapshot", "support-assistant", "--json", db=db).stdout)
    changed = {f["dataset"]: f["previous_fingerprint"] != f["fingerprint"] for f in again["feeds"]}
    assert changed["dataset:acme-ml:staging.support_tickets_clean"] is True
    assert changed["dataset:acme-ml:staging.web_corpus_dedup"] is False


def test_snapshot_refusal_exits_2_and_names_the_source(headwater, examples, tmp_path):
    folder = example_copy(tmp_path, examples)
    db = f"sqlite:///{tmp_path / 'h.db'}"
    headwater("load", str(folder / "catalog.yaml"), db=db)
    (folder / "data" / "credit_holdout.csv").unlink()
    result = headwater("snapshot", "credit-scorer", db=db)
    assert result.returncode == 2
    assert "dataset:acme-ml:eval.credit_holdout: file not found" in result.stderr
    assert "nothing was recorded" in result.stderr


def test_demo_catches_the_failing_expectation(headwater, tmp_path):
    result = headwater("demo", "--workdir", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    assert "critical raw.loan_applications #2 expect_column_values_to_be_between" in result.stdout
    assert "critical raw.crm_customers #1 expect_column_values_to_be_in_set" in result.stdout
