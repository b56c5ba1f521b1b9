"""The documentation says what the code does: generated pages are current, nothing is undocumented,
links lead somewhere, and every `headwater …` command shown is one the CLI accepts.

The coverage tests walk the code themselves (the click tree, the OpenAPI schema, the pydantic models,
the policy file) rather than asking `scripts/docs.py`, so a generator that skipped something is caught.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
import shlex
import typing
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.paths import ROOT

DOCS = ROOT / "docs"
REFERENCE = DOCS / "reference"
REGENERATE = "python scripts/docs.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("headwater_docs_generator", ROOT / "scripts" / "docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    """Every reference page as the code says it should read now (built once: it starts an app)."""
    return _generator().render()


def _page(name: str) -> str:
    return (REFERENCE / name).read_text(encoding="utf-8")


def _sections(text: str, level: str = "## ") -> dict[str, str]:
    """Heading text -> the body under it, up to the next heading of the same level."""
    found: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        if line.startswith(level):
            current = line[len(level):].strip()
            found[current] = ""
        elif current is not None:
            found[current] += line + "\n"
    return found


def _markdown_files() -> list[Path]:
    return [ROOT / "README.md", ROOT / "CHANGELOG.md", *sorted(DOCS.glob("*.md")), *sorted(REFERENCE.glob("*.md"))]


# --- generated pages -------------------------------------------------------------------------------

def test_the_reference_pages_are_the_ones_the_code_generates(generated):
    assert sorted(p.name for p in REFERENCE.glob("*.md")) == sorted(generated), (
        f"docs/reference/ holds other pages than scripts/docs.py writes: run `{REGENERATE}`")
    for name, expected in generated.items():
        committed = _page(name)
        if committed != expected:
            diff = "\n".join(list(difflib.unified_diff(committed.splitlines(), expected.splitlines(),
                                                       f"docs/reference/{name}", "generated", lineterm=""))[:30])
            pytest.fail(f"docs/reference/{name} is out of date: run `{REGENERATE}`\n{diff}")


def test_the_generator_writes_the_same_bytes_twice(generated):
    """No timestamps, no machine paths, no order that depends on a set or a dict built at random."""
    again = _generator().render()
    assert again == generated


def test_the_check_mode_names_each_stale_page(tmp_path, generated):
    generator = _generator()
    for name, text in generated.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    assert generator.stale(generated, tmp_path) == []
    (tmp_path / "cli.md").write_text(generated["cli.md"].replace("--top", "--tip"), encoding="utf-8")
    (tmp_path / "conditions.md").unlink()
    assert generator.stale(generated, tmp_path) == ["cli.md", "conditions.md"]


# --- nothing undocumented --------------------------------------------------------------------------

def _click_tree() -> list[tuple[tuple[str, ...], Any]]:
    import typer

    from api.cli import app

    found = []

    def walk(path: tuple[str, ...], command: Any) -> None:
        found.append((path, command))
        for name, sub in getattr(command, "commands", {}).items():
            if not sub.hidden:
                walk((*path, name), sub)

    walk((), typer.main.get_command(app))
    return found


def _mentions(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text) is not None


def test_every_command_and_every_option_is_in_the_cli_reference():
    sections = _sections(_page("cli.md"))
    missing = []
    for path, command in _click_tree():
        title = " ".join(("headwater", *path))
        body = sections.get(title)
        if body is None:
            missing.append(f"{title}: no section")
            continue
        for param in command.params:
            if getattr(param, "hidden", False):
                continue
            if param.param_type_name == "argument":
                shown = param.metavar or param.name
                if shown.lower() not in body.lower():
                    missing.append(f"{title}: argument {shown}")
            else:
                missing += [f"{title}: {opt}" for opt in [*param.opts, *param.secondary_opts] if not _mentions(body, opt)]
        for name, sub in getattr(command, "commands", {}).items():
            if not sub.hidden and not _mentions(body, name):
                missing.append(f"{title}: subcommand {name} not listed")
    assert missing == [], f"undocumented in docs/reference/cli.md (run `{REGENERATE}`): {missing}"


def test_every_operation_and_parameter_is_in_the_api_reference(tmp_path):
    from api.app import create_app
    from api.config import Settings

    app = create_app(Settings(db=f"sqlite:///{tmp_path / 'h.db'}"))
    try:
        schema = app.openapi()
    finally:
        app.state.store.close()
    sections = _sections(_page("api.md"))
    missing = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            title = f"{method.upper()} {path}"
            body = sections.get(title)
            if body is None:
                missing.append(f"{title}: no section")
                continue
            missing += [f"{title}: {p['name']}" for p in operation.get("parameters", [])
                        if f"| `{p['name']}` | {p['in']} |" not in body]
            missing += [f"{title}: status {status}" for status in operation["responses"] if f"| {status} |" not in body]
    assert missing == [], f"undocumented in docs/reference/api.md (run `{REGENERATE}`): {missing}"


def _spec_sections() -> list[tuple[str, type]]:
    """(path, model) for every model reachable from CatalogFileSpec, found by walking annotations."""
    from pydantic import BaseModel

    from catalog.spec import CatalogFileSpec

    def models_in(annotation: Any) -> list[tuple[type, bool]]:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return [(annotation, False)]
        inner = [m for arg in typing.get_args(annotation) for m in models_in(arg)]
        return [(m, many or typing.get_origin(annotation) is list) for m, many in inner]

    found = []

    def walk(path: str, model: type) -> None:
        found.append((path, model))
        for name, field in model.model_fields.items():
            for inner, many in models_in(field.annotation):
                walk(f"{path}.{name}".lstrip(".") + ("[]" if many else ""), inner)

    walk("", CatalogFileSpec)
    return found


def test_every_catalog_file_field_is_in_the_catalog_file_reference():
    sections = _sections(_page("catalog-file.md"))
    missing = []
    for path, model in _spec_sections():
        title = f"`{path}`" if path else "Top level"
        body = sections.get(title)
        if body is None:
            missing.append(f"{title}: no section")
            continue
        missing += [f"{path}.{name}".lstrip(".") for name in model.model_fields if f"| `{name}` |" not in body]
    assert len(_spec_sections()) >= 10  # top level, defaults, datasets and their specs, models, feeds, incidents
    assert missing == [], f"undocumented in docs/reference/catalog-file.md (run `{REGENERATE}`): {missing}"


def test_every_condition_in_the_policy_file_is_in_the_conditions_reference():
    policy = yaml.safe_load((ROOT / "checks" / "policy.yaml").read_text(encoding="utf-8"))
    page = _page("conditions.md")
    sections = _sections(page)
    missing = []
    for name, rule in policy["conditions"].items():
        body = sections.get(name)
        if body is None:
            missing.append(f"{name}: no section")
            continue
        severity = rule["severity"]
        if f"| default | {severity['high']} | {severity['gpai']} | {severity['other']} |" not in body:
            missing.append(f"{name}: severities")
        for variant, table in (rule.get("variants") or {}).items():
            if f"| `{variant}` | {table['high']} | {table['gpai']} | {table['other']} |" not in body:
                missing.append(f"{name}: variant {variant}")
        missing += [f"{name}: citation {c}" for c in rule["citations"] if f"- {c}\n" not in body]
        missing += [f"{name}: action {a[:40]}" for a in rule["actions"] if a not in body]
        if " ".join(rule["note"].split()) not in body:
            missing.append(f"{name}: note")
        if f"[`{name}`](#{name})" not in page:
            missing.append(f"{name}: not in the overview table")
    assert len(policy["conditions"]) >= 17
    assert missing == [], f"undocumented in docs/reference/conditions.md (run `{REGENERATE}`): {missing}"


# --- links -----------------------------------------------------------------------------------------

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def _links(text: str) -> list[str]:
    return LINK.findall(re.sub(r"```.*?```", "", text, flags=re.S))


def test_every_hand_written_page_and_reference_page_is_linked_from_the_index():
    index = (DOCS / "index.md").read_text(encoding="utf-8")
    linked = {(DOCS / target.split("#")[0]).resolve() for target in _links(index) if not target.startswith(("http", "#"))}
    pages = [p for p in [*DOCS.glob("*.md"), *REFERENCE.glob("*.md")] if p.name != "index.md" or p.parent != DOCS]
    assert len(pages) >= 10
    assert [str(p.relative_to(ROOT)) for p in sorted(pages) if p.resolve() not in linked] == []


def _anchors(path: Path) -> set[str]:
    from_headings = set()
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            heading = line.lstrip("#").strip()
            from_headings.add(re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-"))
    return from_headings | set(re.findall(r'<a id="([^"]+)"', path.read_text(encoding="utf-8")))


def test_every_relative_link_points_at_a_file_and_heading_that_exist():
    broken = []
    for source in _markdown_files():
        for target in _links(source.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            path = (source.parent / file_part).resolve() if file_part else source
            where = f"{source.relative_to(ROOT)} -> {target}"
            if not path.exists():
                broken.append(f"{where}: no such file")
            elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
                broken.append(f"{where}: no such heading")
    assert broken == []


def test_the_link_checker_sees_a_broken_link():
    assert _links("see [the gate](gate.md#waivers) and [x](https://example.com)") == ["gate.md#waivers", "https://example.com"]
    assert _links("```\n[not a link](nowhere.md)\n```") == []


# --- commands shown in the docs --------------------------------------------------------------------

SHELL_FENCES = ("", "bash", "sh", "shell", "console", "shell-session")
STOP = {"|", "||", "&&", ";", ">", ">>", "2>", "2>&1", "<"}


def _fenced_commands(text: str) -> list[str]:
    """The shell lines of every fenced code block that a shell would run (console: only `$ ` lines)."""
    lines = []
    for language, body in re.findall(r"^```([\w-]*)[^\n]*\n(.*?)^```", text, flags=re.S | re.M):
        if language not in SHELL_FENCES:
            continue
        for line in body.splitlines():
            if language == "console" or language == "shell-session":
                if line.startswith("$ "):
                    lines.append(line[2:])
            elif line.strip() and not line.lstrip().startswith("#"):
                lines.append(line)
    return [line for line in lines if "headwater" in line]


def _inline_commands(text: str) -> list[str]:
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    return [span for span in re.findall(r"`([^`\n]+)`", prose) if span.startswith("headwater ")]


def _global_options(root: Any) -> dict[str, bool]:
    """Option -> whether it takes a value, for the root command."""
    return {opt: not param.is_flag for param in root.params if param.param_type_name == "option"
            for opt in [*param.opts, *param.secondary_opts]}


def _command_of(tokens: list[str], tree: dict[tuple[str, ...], Any]) -> tuple[tuple[str, ...] | None, list[str], str]:
    """(command path, the tokens after it, problem) for the tokens after `headwater`."""
    root = tree[()]
    takes_value = _global_options(root)
    rest = list(tokens)
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        name = option.split("=", 1)[0]
        if name in ("--help", "-h", "--version"):
            return (), rest, ""
        if name not in takes_value:
            return None, rest, f"unknown global option {name}"
        if takes_value[name] and "=" not in option and rest:
            rest.pop(0)
    path: tuple[str, ...] = ()
    while rest and getattr(tree[path], "commands", None):
        word = rest[0]
        if (*path, word) not in tree:
            return None, rest, f"no command {' '.join(('headwater', *path, word))}"
        path = (*path, rest.pop(0))
    if path == ():
        return None, rest, "no command named"
    return path, rest, ""


def _options_of(command: Any) -> set[str]:
    return {opt for param in command.params if param.param_type_name == "option"
            for opt in [*param.opts, *param.secondary_opts]} | {"--help", "-h"}


def _problems_in(line: str, tree: dict[tuple[str, ...], Any], *, inline: bool) -> list[str]:
    try:
        tokens = shlex.split(line, comments=True)
    except ValueError:
        tokens = line.split()
    problems = []
    for start, token in enumerate(tokens):
        if token != "headwater" and not token.endswith("/headwater"):
            continue
        after = []
        for word in tokens[start + 1:]:
            if word in STOP:
                break
            after.append(word)
        if after[:1] in (["…"], ["..."]):  # "a `headwater …` command": a placeholder, not a command
            continue
        path, rest, problem = _command_of(after, tree)
        if problem:
            problems.append(f"{line!r}: {problem}")
            continue
        known = _options_of(tree[path]) if path else _global_options(tree[()]).keys() | {"--help", "-h", "--version"}
        # in prose, options hide inside [--a N|--b] synopses; in a shell line each is its own word
        used = re.findall(r"(?<![\w-])--?[a-zA-Z][\w-]*", " ".join(rest)) if inline else \
            [w.split("=", 1)[0] for w in rest if w.startswith("-") and w != "-"]
        problems += [f"{line!r}: headwater {' '.join(path)} has no option {opt}" for opt in used if opt not in known]
    return problems


def test_every_headwater_command_shown_in_the_docs_is_a_real_command():
    tree = dict(_click_tree())
    problems, seen = [], 0
    for source in _markdown_files():
        text = source.read_text(encoding="utf-8")
        where = str(source.relative_to(ROOT))
        for line in _fenced_commands(text):
            seen += 1
            problems += [f"{where}: {p}" for p in _problems_in(line, tree, inline=False)]
        if source.parent != REFERENCE:
            for span in _inline_commands(text):
                seen += 1
                problems += [f"{where}: {p}" for p in _problems_in(span, tree, inline=True)]
    assert seen >= 30  # the docs show commands; a parser that finds none would pass anything
    assert problems == []


def test_the_command_checker_refuses_what_the_cli_would():
    tree = dict(_click_tree())
    assert _problems_in("headwater --db sqlite:///x.db impact vendor.bureau_scores --paths 3", tree, inline=False) == []
    assert _problems_in("python3 -m uv run --locked headwater demo", tree, inline=False) == []
    assert _problems_in("headwater …", tree, inline=True) == []
    assert _problems_in("headwater risks --model m", tree, inline=False) != []
    assert _problems_in("headwater risk --by-modle", tree, inline=False) != []
    assert _problems_in("headwater gate [--fail-on high] [--model M…|--al]", tree, inline=True) != []
