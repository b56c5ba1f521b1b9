"""The bundled example: reproducible data, small, and seeded with the problems later checks find."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def catalog() -> dict:
    return yaml.safe_load((EXAMPLES / "catalog.yaml").read_text())


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_make_data_reproduces_the_committed_text_files_byte_for_byte(tmp_path):
    result = subprocess.run([sys.executable, str(EXAMPLES / "make_data.py"), str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    committed = sorted(p.name for p in (EXAMPLES / "data").iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == committed
    for name in committed:
        if name.endswith((".csv", ".jsonl")):
            assert (tmp_path / name).read_bytes() == (EXAMPLES / "data" / name).read_bytes(), name


def test_the_training_time_fingerprint_is_recorded_and_the_file_has_since_changed(tmp_path):
    result = subprocess.run([sys.executable, str(EXAMPLES / "make_data.py"), str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    trained = result.stdout.strip().rsplit(" ", 1)[-1]
    # the deployed version: make_data.py prints its training-time fingerprint (3.1.0 was trained on older features)
    scorer = next(m for m in catalog()["models"] if m["name"] == "credit-scorer" and str(m["version"]) == "3.2.0")
    feed = next(f for f in scorer["trained_on"] if f["dataset"] == "features.credit_features")
    assert feed["fingerprint"] == trained
    assert sha256(EXAMPLES / "data" / "credit_features.csv") != trained
    holdout = next(f for f in scorer["trained_on"] if f["dataset"] == "eval.credit_holdout")
    assert sha256(EXAMPLES / "data" / "credit_holdout.csv") == holdout["fingerprint"]


def test_example_is_small_and_covers_the_origins_and_tiers_the_demo_needs():
    size = sum(p.stat().st_size for p in (EXAMPLES / "data").iterdir())
    assert size < 5 * 1024 * 1024
    data = catalog()
    assert len(data["datasets"]) >= 12
    origins = {d.get("origin") for d in data["datasets"]}
    assert {"internal", "vendor", "public", "scraped", "unknown"} <= origins
    assert sorted(m["risk_tier"] for m in data["models"]) == ["gpai", "high", "high", "minimal"]  # two credit-scorers
    formats = {Path(d["location"].split("#")[0]).suffix for d in data["datasets"]}
    assert {".csv", ".parquet", ".jsonl", ".db"} <= formats
    kinds = {i["kind"] for i in data["incidents"]}
    assert {"breach", "consent_withdrawn", "erasure_request"} <= kinds


def test_every_location_in_the_example_exists():
    for dataset in catalog()["datasets"]:
        location = dataset["location"]
        path = location.removeprefix("sqlite:///").split("#")[0]
        assert (EXAMPLES / path).is_file(), dataset["name"]
