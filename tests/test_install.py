"""The install story the README tells is the one the scripts and the lock carry out."""

from __future__ import annotations

import re
import tomllib

from tests.paths import ROOT


def _uv_pin() -> str:
    return re.search(r"^UV_VERSION=(\S+)$", (ROOT / "scripts" / "uv.sh").read_text(), re.M).group(1)


def test_readme_demo_command_pins_the_uv_the_scripts_use():
    readme = (ROOT / "README.md").read_text()
    assert f"python3 -m pip install uv=={_uv_pin()} && python3 -m uv run --locked headwater demo" in readme


def test_ci_runs_the_readme_test_command_which_installs_from_the_lock():
    assert "exec bash scripts/test.sh" in (ROOT / ".ci" / "run").read_text()
    script = (ROOT / "scripts" / "test.sh").read_text()
    assert "uv sync --locked" in script and "pip install -e" not in script


def test_lock_pins_every_declared_dependency_of_every_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    locked = {p["name"] for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"]}
    declared = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    names = {re.match(r"[A-Za-z0-9_.\-]+", r).group(0).lower().replace("_", "-") for r in declared}
    assert names - locked == set()


def test_pytest_stays_below_the_release_that_breaks_schemathesis():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pytest_pin = next(r for r in project["optional-dependencies"]["test"] if r.startswith("pytest"))
    assert "<9" in pytest_pin.replace(" ", "")
    locked = {p["name"]: p["version"] for p in tomllib.loads((ROOT / "uv.lock").read_text())["package"]}
    assert int(locked["pytest"].split(".")[0]) < 9


OUTSIDE = re.compile(r"\.\./" + "shared" + r"|\"shared\" / \"reference\"")  # split so this file does not match


def test_nothing_in_the_project_reads_outside_the_repository():
    """Tests once read the reference folder beside the checkout; a clone from a public host has none."""
    offenders = []
    for path in ROOT.rglob("*"):
        if path.suffix not in (".py", ".sh", ".toml", ".yaml", ".yml") or {".venv", ".git"} & set(path.parts):
            continue
        if OUTSIDE.search(path.read_text(errors="replace")):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
