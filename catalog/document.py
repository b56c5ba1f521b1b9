"""Read a YAML or JSON catalog file and remember the line of every value in it.

pydantic reports errors by path (`datasets[3].licence.expires`); users fix files by line. Parsing
once into a node tree lets us keep both, and lets us refuse duplicate keys, which PyYAML otherwise
resolves silently by keeping the last one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from catalog.errors import Problem

Loc = tuple[str | int, ...]

MAX_BYTES = 50 * 1024 * 1024


@dataclass
class Document:
    path: Path
    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """The line of `loc`, or of its nearest enclosing value when `loc` itself is absent."""
        for end in range(len(loc), -1, -1):
            line = self.lines.get(tuple(loc[:end]))
            if line is not None:
                return line
        return None


def format_loc(loc: Loc) -> str:
    """('datasets', 3, 'licence', 'expires') -> 'datasets[3].licence.expires'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


# libyaml's parser (when PyYAML was built with it) reads a reference-size catalog (70 MB) ten times
# faster than the pure-Python one; both give nodes with line marks, which is all we need from them.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_SafeLoader):  # type: ignore[misc, valid-type]
    """SafeLoader that leaves dates as text: pydantic then validates them with a located error,
    where PyYAML would raise a bare ValueError for `2027-13-01`."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def read_document(path: Path) -> tuple[Document | None, list[Problem]]:
    """Parse one file. Returns the document, or the problems that stopped us reading it."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, [Problem(name, "", "file not found")]
    except OSError as exc:
        return None, [Problem(name, "", f"cannot read file: {exc.strerror or exc}")]
    if len(raw) > MAX_BYTES:
        return None, [Problem(name, "", f"file is larger than {MAX_BYTES // (1024 * 1024)} MiB")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Problem(name, "", f"not valid UTF-8 (byte {exc.start})", line)]
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Problem(name, "", "the file is empty; expected a mapping with 'catalog:' and 'datasets:'")]
        lines: dict[Loc, int] = {}
        problems: list[Problem] = []
        _index(node, (), lines, problems, name)
        if problems:
            return None, problems
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or str(exc)
        return None, [Problem(name, "", f"invalid {'JSON' if path.suffix == '.json' else 'YAML'}: {what}", line)]
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as exc:
        return None, [Problem(name, "", f"cannot parse: {exc}")]
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        return None, [Problem(name, "", f"expected a mapping at the top level, got {type(data).__name__}", 1)]
    return Document(path, data, lines), []


def _index(node: yaml.Node, loc: Loc, lines: dict[Loc, int], problems: list[Problem], name: str) -> None:
    """Walk the node tree iteratively deep enough for real files, recording each value's line."""
    stack: list[tuple[yaml.Node, Loc]] = [(node, loc)]
    while stack:
        current, here = stack.pop()
        lines[here] = current.start_mark.line + 1
        if isinstance(current, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, value_node in current.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node.start_mark)
                line = key_node.start_mark.line + 1
                if key in seen and key != "<<":
                    problems.append(
                        Problem(name, format_loc(here + (key,)), f"duplicate key (first given on line {seen[key]})", line)
                    )
                seen.setdefault(key, line)
                stack.append((value_node, here + (key,)))
        elif isinstance(current, yaml.SequenceNode):
            for index, item in enumerate(current.value):
                stack.append((item, here + (index,)))
