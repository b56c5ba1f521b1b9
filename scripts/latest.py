"""Run the test suite against the newest releases of every dependency and report what breaks.

Not part of CI: CI installs from uv.lock, so an upstream release never turns it red by itself. This
script is how an upgrade becomes a decision. It resolves the newest versions pyproject.toml allows
(what `uv lock --upgrade` would pick) or, with --beyond-bounds, the newest versions at all (our upper
bounds lifted), installs them into a throwaway virtualenv, runs pytest there, and writes a Markdown
report: every package whose version would move from the lock, and every test that failed.

    python3 scripts/latest.py                   # newest within our ranges
    python3 scripts/latest.py --beyond-bounds   # would lifting the upper bounds break us?
    python3 scripts/latest.py -- -k openlineage # extra arguments go to pytest
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXTRAS = ("test", "postgres")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beyond-bounds", action="store_true", help="lift pyproject's upper bounds too")
    parser.add_argument("--report", type=Path, default=ROOT / "latest-report.md", help="where to write the report")
    parser.add_argument("--keep", action="store_true", help="keep the virtualenv (printed) for a closer look")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args()
    uv = [sys.executable, "-m", "uv"]
    work = Path(tempfile.mkdtemp(prefix="headwater-latest-"))
    venv = work / "venv"
    started = time.monotonic()
    try:
        requirements = work / "requirements.txt"
        compile_ = [*uv, "pip", "compile", str(ROOT / "pyproject.toml"), "--upgrade", "--quiet",
                    "--python", sys.executable, "-o", str(requirements), *(f"--extra={e}" for e in EXTRAS)]
        if args.beyond_bounds:
            overrides = work / "overrides.txt"
            overrides.write_text("\n".join(unbounded(ROOT / "pyproject.toml")) + "\n")
            compile_ += ["--override", str(overrides)]
        resolved = subprocess.run(compile_, capture_output=True, text=True)
        if resolved.returncode != 0:
            return write(args.report, args, {}, None, f"resolution failed:\n\n```\n{resolved.stderr.strip()}\n```\n", started)
        subprocess.run([*uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
        python = venv / "bin" / "python"
        subprocess.run([*uv, "pip", "install", "--quiet", "--python", str(python), "-r", str(requirements)], check=True)
        subprocess.run([*uv, "pip", "install", "--quiet", "--python", str(python), "--no-deps", "-e", str(ROOT)], check=True)
        junit = work / "junit.xml"
        env = {**os.environ, "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", "VIRTUAL_ENV": str(venv)}
        tests = subprocess.run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}",
                                *args.pytest_args], cwd=ROOT, env=env, capture_output=True, text=True)
        summary = tests.stdout.strip().splitlines()[-1] if tests.stdout.strip() else tests.stderr.strip()[-2000:]
        moved = changes(ROOT / "uv.lock", requirements)
        return write(args.report, args, moved, junit if junit.exists() else None, summary, started,
                     exit_code=tests.returncode)
    finally:
        if args.keep:
            print(f"virtualenv kept at {venv}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def unbounded(pyproject: Path) -> list[str]:
    """Every requirement of the project and its extras with its upper bound removed."""
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        requirements += extra
    lifted: dict[str, str] = {}
    for requirement in requirements:
        name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+(?:\[[^\]]*\])?)\s*(.*)$", requirement).groups()
        kept = [c.strip() for c in spec.split(",") if c.strip() and not c.strip().startswith(("<", "=="))]
        lifted[re.sub(r"\[.*\]", "", name).lower()] = name + ",".join(kept)
    return sorted(lifted.values())


def locked_versions(lock: Path) -> dict[str, set[str]]:
    versions: dict[str, set[str]] = {}
    for package in tomllib.loads(lock.read_text())["package"]:
        versions.setdefault(package["name"], set()).add(package["version"])
    return versions


def changes(lock: Path, requirements: Path) -> dict[str, tuple[str, str]]:
    """package -> (locked, newest) for every package whose newest version is not in the lock."""
    locked = locked_versions(lock)
    moved = {}
    for line in requirements.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if not match:
            continue
        name, newest = match.group(1).lower().replace("_", "-"), match.group(2)
        if newest not in locked.get(name, set()):
            moved[name] = (", ".join(sorted(locked.get(name, {"—"}))), newest)
    return moved


def failures(junit: Path) -> list[tuple[str, str]]:
    found = []
    for case in ET.parse(junit).iter("testcase"):
        for problem in list(case.findall("failure")) + list(case.findall("error")):
            message = (problem.get("message") or problem.text or "").strip().splitlines()
            found.append((f"{case.get('classname')}::{case.get('name')}", message[0][:200] if message else ""))
    return found


def write(report: Path, args, moved, junit, summary: str, started: float, exit_code: int = 1) -> int:
    mode = "newest releases, upper bounds lifted" if args.beyond_bounds else "newest releases within pyproject.toml's ranges"
    lines = [f"# Latest-versions run ({mode})", "",
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {time.monotonic() - started:.0f} s. Result: **{summary}**", ""]
    if moved:
        lines += ["| package | locked | newest |", "| --- | --- | --- |"]
        lines += [f"| {name} | {old} | {new} |" for name, (old, new) in sorted(moved.items())]
    elif junit is not None:
        lines += ["Every package resolves to its locked version."]
    broken = failures(junit) if junit else []
    if broken:
        lines += ["", f"## {len(broken)} failing", ""] + [f"- `{test}`: {message}" for test, message in broken]
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(report.read_text())
    return 0 if exit_code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
