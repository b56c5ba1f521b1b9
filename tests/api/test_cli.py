"""The `headwater` command end to end: output and exit codes (in-process), the console script and its
start-up cost (real processes)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('\\nHEAVY=' + ','.join(sorted(m for m in "
    "('great_expectations', 'pyvis', 'pandas', 'fastapi', 'networkx', 'sqlalchemy') if m in sys.modules)) + '\\n'))\n"
    "from api.cli import main\n"
    "sys.argv[0] = 'headwater'\n"
    "main()\n"
)


def heavy_modules(result: subprocess.CompletedProcess[str]) -> set[str]:
    line = [ln for ln in result.stderr.splitlines() if ln.startswith("HEAVY=")][-1]
    return set(filter(None, line.removeprefix("HEAVY=").split(",")))


def probe(tmp_path: Path, *args: str, db: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", PROBE, *(["--db", db] if db else []), *args]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)


# Every command the CLI has; a command dropped or renamed by mistake fails here, not in a user's CI.
COMMANDS = ["load", "lineage", "impact", "path", "check", "snapshot", "risk", "report", "view", "gate", "ingest",
            "history", "serve", "demo", "import", "export", "audit"]


def listed_commands(help_text: str) -> list[str]:
    """The command names in the Commands panel of `--help`, in the order shown."""
    lines = help_text.splitlines()
    start = next(i for i, line in enumerate(lines) if "─ Commands " in line)
    names = []
    for line in lines[start + 1:]:
        if line.startswith("╰"):
            break
        body = line.removeprefix("│ ")
        if body[:1].strip():  # a wrapped description continues on an indented line
            names.append(body.split()[0])
    return names


def test_console_script_is_installed_and_lists_every_command(tmp_path):
    import typer

    from api.cli import app

    registered = list(typer.main.get_command(app).commands)
    assert registered == COMMANDS
    beside = Path(sys.executable).parent / "headwater"  # the environment's own scripts folder
    executable = str(beside) if beside.is_file() else shutil.which("headwater")
    assert executable, "installing the project puts the `headwater` console script beside its Python"
    result = subprocess.run([executable, "--help"], capture_output=True, text=True, cwd=tmp_path,
                            env={"PATH": str(Path(executable).parent), "COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert listed_commands(result.stdout) == registered


def test_help_imports_nothing_heavy(tmp_path):
    result = probe(tmp_path, "--help")
    assert result.returncode == 0
    assert heavy_modules(result) == set()


def test_only_new_expectations_make_load_import_great_expectations(tmp_path, examples):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    first = probe(tmp_path, "load", str(examples / "catalog.yaml"), db=db)
    assert first.returncode == 0, first.stderr
    assert "great_expectations" in heavy_modules(first)  # the new suites were validated by GX itself
    again = probe(tmp_path, "load", str(examples / "catalog.yaml"), db=db)
    assert again.returncode == 0, again.stderr
    assert not heavy_modules(again) & {"great_expectations", "pyvis", "pandas", "fastapi"}


def test_lineage_commands_do_not_import_great_expectations_or_pyvis(tmp_path, examples, headwater):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    assert headwater("load", str(examples / "catalog.yaml"), db=db).returncode == 0
    for args in (("impact", "vendor.bureau_scores"), ("lineage", "credit-scorer"), ("path", "raw.support_tickets", "support-assistant")):
        walked = probe(tmp_path, *args, db=db)
        assert walked.returncode == 0, walked.stderr
        assert not heavy_modules(walked) & {"great_expectations", "pyvis", "pandas", "fastapi"}, args


def test_version_prints_the_package_version(headwater):
    from importlib.metadata import version

    result = headwater("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"headwater {version('headwater')}"


def table_cells(line: str) -> list[str]:
    """The cells of one row of a rich table (header rows use heavy rules); [] for any other line."""
    row = line.replace("┃", "│").strip()
    if not (row.startswith("│") and row.endswith("│")):
        return []
    return [cell.strip() for cell in row[1:-1].split("│")]


def test_load_prints_counts_then_unchanged_on_reload(headwater, examples, tmp_path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    first = headwater("load", str(examples / "catalog.yaml"), db=db)
    assert first.returncode == 0, first.stderr
    rows = {cells[0]: cells[1:] for cells in (table_cells(line) for line in first.stdout.splitlines()) if len(cells) == 4}
    assert rows["kind"] == ["created", "updated", "unchanged"]
    assert rows["datasets"] == ["15", "0", "0"]
    assert first.stdout.splitlines()[-1] == "store changed, revision 1"
    second = headwater("load", str(examples / "catalog.yaml"), "--format", "json", db=db)
    assert second.returncode == 0
    data = json.loads(second.stdout)
    assert data["counts"]["datasets"] == {"created": 0, "updated": 0, "unchanged": 15}
    assert data["revision"] == 1


def test_load_error_exits_2_naming_file_path_and_line_and_writes_nothing(headwater, tmp_path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    good = tmp_path / "good.yaml"
    good.write_text("catalog: t\ndatasets:\n  - name: a\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("catalog: t\ndatasets:\n  - name: b\n    licence: {id: x, expires: 2027-13-01}\n")
    result = headwater("load", str(good), str(bad), db=db)
    assert result.returncode == 2
    assert f"{bad}:4: datasets[0].licence.expires" in result.stderr
    assert "nothing was written" in result.stderr
    check = headwater("lineage", "a", db=db)
    assert check.returncode == 2 and "no node named 'a'" in check.stderr


def test_db_comes_from_the_environment_or_the_option(headwater, examples, tmp_path):
    env_db = f"sqlite:///{tmp_path / 'env.db'}"
    assert headwater("load", str(examples / "catalog.yaml"), db=env_db).returncode == 0
    assert (tmp_path / "env.db").exists() and not (tmp_path / "headwater.db").exists()
    default = headwater("load", str(examples / "catalog.yaml"))
    assert default.returncode == 0 and (tmp_path / "headwater.db").exists()


def test_lineage_text_and_json(headwater, examples, tmp_path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    headwater("load", str(examples / "catalog.yaml"), db=db)
    text = headwater("lineage", "credit-scorer", db=db)
    assert text.returncode == 0
    assert "dataset:acme-ml:vendor.bureau_scores" in text.stdout
    assert "7 datasets, 0 models upstream" in text.stdout
    data = json.loads(headwater("lineage", "features.credit_features", "--downstream", "-f", "json", db=db).stdout)
    assert data["root"]["id"] == "dataset:acme-ml:features.credit_features"
    assert [r["node"]["id"] for r in data["nodes"]] == ["model:acme-ml:credit-scorer@3.1.0",
                                                        "model:acme-ml:credit-scorer@3.2.0"]
    shallow = json.loads(headwater("lineage", "credit-scorer", "--depth", "1", "-f", "json", db=db).stdout)
    assert {r["node"]["id"] for r in shallow["nodes"]} == {
        "dataset:acme-ml:features.credit_features", "dataset:acme-ml:eval.credit_holdout"}


def test_impact_json_lists_models_with_their_paths(headwater, examples, tmp_path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    headwater("load", str(examples / "catalog.yaml"), db=db)
    result = headwater("impact", "raw.support_tickets", "--format", "json", db=db)
    assert result.returncode == 0
    data = json.loads(result.stdout)
    (model,) = data["models"]
    assert model["model"]["id"] == "model:acme-ml:support-assistant@1.4.0"
    assert model["risk_tier"] == "gpai" and model["path_count"] == 1
    assert model["paths"] == [["dataset:acme-ml:raw.support_tickets", "dataset:acme-ml:staging.support_tickets_clean",
                               "model:acme-ml:support-assistant@1.4.0"]]


def test_path_between_source_and_model(headwater, examples, tmp_path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    headwater("load", str(examples / "catalog.yaml"), db=db)
    result = headwater("path", "raw.loan_applications", "model:acme-ml:credit-scorer", db=db)
    assert result.returncode == 0
    assert "2 paths" in result.stdout
    assert "raw.loan_applications → features.credit_features → credit-scorer@3.2.0" in result.stdout
    none = headwater("path", "raw.crm_customers", "credit-scorer", db=db)
    assert none.returncode == 0 and "no path" in none.stdout


@pytest.mark.parametrize("args, fragment", [
    (("lineage", "no-such-thing"), "no node named 'no-such-thing'"),
    (("impact", "credit-scorer"), "no dataset named 'credit-scorer'"),
    (("impact", "raw.loan_aplications"), "did you mean"),
])
def test_unknown_nodes_exit_2_with_a_hint(headwater, examples, tmp_path, args, fragment):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    headwater("load", str(examples / "catalog.yaml"), db=db)
    result = headwater(*args, db=db)
    assert result.returncode == 2
    assert fragment in result.stderr


def test_ambiguous_name_exits_2_listing_full_ids(headwater, tmp_path):
    db = f"sqlite:///{tmp_path / 'h.db'}"
    for namespace in ("one", "two"):
        path = tmp_path / f"{namespace}.yaml"
        path.write_text(f"catalog: {namespace}\ndatasets:\n  - name: shared\n")
        assert headwater("load", str(path), db=db).returncode == 0
    result = headwater("lineage", "shared", db=db)
    assert result.returncode == 2
    assert "dataset:one:shared" in result.stderr and "dataset:two:shared" in result.stderr
    assert headwater("lineage", "two:shared", db=db).returncode == 0


@pytest.mark.parametrize("args, message", [
    (("load",), "Missing argument 'files'"),
    (("lineage",), "Missing argument 'node'"),
    (("frobnicate",), "No such command 'frobnicate'"),
    (("lineage", "x", "--depth", "-1"), "Invalid value for '--depth' / '-d': Input should be greater than or equal to 0"),
])
def test_usage_errors_exit_2_naming_what_is_wrong(headwater, args, message):
    result = headwater(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_database_exits_2_with_masked_password(headwater):
    result = headwater("--db", "postgresql+psycopg://bob:hunter2@127.0.0.1:1/x", "lineage", "a")
    assert result.returncode == 2
    assert "hunter2" not in result.stderr and "bob:***@" in result.stderr


def test_demo_loads_the_example_and_shows_the_breach_impact(headwater, tmp_path):
    result = headwater("demo", "--workdir", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "15 datasets (10 sources" in out
    assert "breach on dataset:acme-ml:vendor.bureau_scores" in out
    assert "Impact of dataset:acme-ml:vendor.bureau_scores: 2 models, 2 datasets downstream" in out
    assert "vendor.bureau_scores → features.credit_features → credit-scorer@3.2.0" in out
    assert "vendor.bureau_scores → features.credit_features → credit-scorer@3.1.0" in out
    assert (tmp_path / "demo" / "headwater.db").exists()
    viewer = (tmp_path / "demo" / "lineage.html").read_text(encoding="utf-8")
    assert "lineage viewer written to" in out and "23 nodes, 25 edges" in out
    assert viewer.startswith("<!doctype html>") and "connect-src 'none'" in viewer and "vendor.bureau_scores" in viewer
    again = headwater("demo", "--workdir", str(tmp_path / "demo"))
    assert again.returncode == 0 and "store changed, revision 1" in again.stdout  # fresh store each time
