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


def test_a_built_package_would_hold_every_module_and_data_file():
    """An editable install hides packaging gaps (a subpackage or a schema file left out of the wheel
    breaks `headwater` only for people who install it): every package folder must be found and every
    data file matched by a package-data glob."""
    import fnmatch

    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    include = tool["packages"]["find"]["include"]
    data = tool["package-data"]
    missing = []
    for top in ("catalog", "lineage", "checks", "api"):
        for path in sorted((ROOT / top).rglob("*")):
            if "__pycache__" in path.parts or path.is_dir():
                continue
            folder = path.parent.relative_to(ROOT)
            package = ".".join(folder.parts)
            if path.suffix == ".py":
                if (path.parent / "__init__.py").exists() and not any(fnmatch.fnmatch(package, p) for p in include):
                    missing.append(f"{package} (package not found)")
                continue
            owners = [p for p in data if str(path.relative_to(ROOT)).startswith(p.replace(".", "/") + "/")]
            matched = any(fnmatch.fnmatch(str(path.relative_to(ROOT / owner.replace(".", "/"))), glob)
                          for owner in owners for glob in data[owner])
            if not matched:
                missing.append(str(path.relative_to(ROOT)))
    assert missing == [], "left out of a built wheel:\n" + "\n".join(missing)
