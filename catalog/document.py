"""Read a YAML or JSON catalog file and remember the line of every value in it.

pydantic reports errors by path (`datasets[3].licence.expires`); users fix files by line. Parsing
once into a node tree lets us keep both, and lets us refuse duplicate keys, which PyYAML otherwise
resolves silently by keeping the last one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from catalog import sniff
from catalog.errors import Problem
from catalog.files import UnreadableFile, read_regular_file

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
        raw = read_regular_file(path, MAX_BYTES)
    except UnreadableFile as exc:
        return None, [Problem(name, "", str(exc))]
    if _separators(raw) > MAX_VALUES:
        return None, [Problem(name, "", f"holds more than {MAX_VALUES:,} values; split the catalog into several "
                                        "files (a folder of them loads as one)")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Problem(name, "", f"not valid UTF-8 (byte {exc.start})", line)]
    text = _join_surrogates(text)
    if path.suffix.lower() in (".md", ".markdown"):
        return None, [Problem(name, "", sniff.describe(None, suffix=path.suffix, text=text) or sniff.CATALOG_HINT, 1)]
    if _flow_depth(raw) > MAX_DEPTH:
        return None, [Problem(name, "", f"nested deeper than {MAX_DEPTH} levels; a catalog is a few levels deep")]
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Problem(name, "", "the file is empty; expected a mapping with 'catalog:' and 'datasets:'")]
        lines: dict[Loc, int] = {}
        problems: list[Problem] = []
        if not _index(node, (), lines, problems, name, budget=len(text) + 1):
            return None, [Problem(name, "", "aliases (*name) expand to more values than the file holds characters; "
                                            "refusing what looks like an alias bomb")]
        if problems:
            return None, problems
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or str(exc)
        if sniff.front_matter(text):
            return None, [Problem(name, "", sniff.describe(None, suffix=".md", text=text) or what, 1)]
        return None, [Problem(name, "", f"invalid {'JSON' if path.suffix == '.json' else 'YAML'}: {what}", line)]
    except yaml.reader.ReaderError as exc:  # a character YAML forbids (NUL, other controls)
        line = text[: exc.position].count("\n") + 1
        return None, [Problem(name, "", f"invalid YAML: character #x{exc.character:04x} is not allowed", line)]
    except (yaml.YAMLError, RecursionError, ValueError, TypeError) as exc:
        return None, [Problem(name, "", f"cannot parse: {exc}")]
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        what = sniff.describe(data) or f"expected a mapping at the top level, got {type(data).__name__}"
        return None, [Problem(name, "", what, 1)]
    return Document(path, data, lines), []


_SURROGATE_PAIR = re.compile(r"(?<!\\)((?:\\\\)*)\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE)


def _join_surrogates(text: str) -> str:
    """`\ud83d\ude80` (how `json.dumps` writes 🚀) as the one character it encodes.

    JSON spells characters beyond the Basic Multilingual Plane as two escaped UTF-16 halves;
    libyaml refuses each half as an invalid character, so valid JSON would fail to load.
    """
    if "\\u" not in text and "\\U" not in text:
        return text

    def join(match: re.Match[str]) -> str:
        high, low = int(match.group(2), 16), int(match.group(3), 16)
        return match.group(1) + chr(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))

    return _SURROGATE_PAIR.sub(join, text)


def _flow_depth(raw: bytes) -> int:
    """How deep `[`/`{` nest, over-estimated (brackets inside strings count too), at C speed.

    libyaml's composer recurses in C: a 100 KB file of `[[[[…` overflows the stack and kills the
    process (SIGSEGV) before any error can be reported, so depth is measured before parsing.
    """
    import numpy as np

    brackets = np.frombuffer(raw.translate(None, _NOT_BRACKETS), dtype=np.uint8)
    if brackets.size == 0:
        return 0
    steps = np.where((brackets == ord("[")) | (brackets == ord("{")), 1, -1)
    level = np.cumsum(steps)
    floor = np.minimum.accumulate(np.concatenate(([0], level[:-1])))
    return int((level - np.minimum(floor, 0)).max())


_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
MAX_DEPTH = 500
# Parsed YAML costs about 500 bytes a value (nodes, marks, then objects): 2 million values is a
# memory budget of about 1 GB. A reference-scale catalog file (2,500 datasets) holds about 60,000.
MAX_VALUES = 2_000_000
_NOT_SEPARATORS = bytes(b for b in range(256) if b not in b",:\n")


def _separators(raw: bytes) -> int:
    """An upper bound, at C speed and before parsing, of how many values the file can hold: every
    value but the first is preceded by a comma, a colon or a line break."""
    return len(raw.translate(None, _NOT_SEPARATORS)) + 1


def _index(node: yaml.Node, loc: Loc, lines: dict[Loc, int], problems: list[Problem], name: str,
           *, budget: int) -> bool:
    """Walk the node tree iteratively deep enough for real files, recording each value's line.

    Returns False after `budget` values: every value takes at least one character of the file, so
    more can only come from aliases referring to aliases (the "billion laughs"), which would
    otherwise expand exponentially here and again in validation.
    """
    stack: list[tuple[yaml.Node, Loc]] = [(node, loc)]
    while stack:
        budget -= 1
        if budget < 0:
            return False
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
    return True
