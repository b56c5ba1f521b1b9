"""Read a YAML or JSON catalog file and remember the line of every value in it.

pydantic reports errors by path (`datasets[3].licence.expires`); users fix files by line. Parsing
once into a node tree lets us keep both, and lets us refuse duplicate keys, which PyYAML otherwise
resolves silently by keeping the last one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
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
    # A JSON file knows the lines of its top-level values and their items (what a load stores); the
    # rest, which only an error message needs, is indexed from the text on first use.
    more_lines: Callable[[], dict[Loc, int]] | None = field(default=None, repr=False, compare=False)

    def line_of(self, loc: Loc) -> int | None:
        """The line of `loc`, or of its nearest enclosing value when `loc` itself is absent."""
        if self.more_lines is not None and tuple(loc) not in self.lines:
            self.lines, self.more_lines = self.more_lines(), None
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


def read_document(path: Path, *, raw: bytes | None = None) -> tuple[Document | None, list[Problem]]:
    """Parse one file (or `raw`, its bytes as already read). Returns the document, or the problems
    that stopped us reading it."""
    name = str(path)
    if raw is None:
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
    if path.suffix.lower() == ".json":
        fast = _read_json(text)
        if fast is not None:
            data, lines = fast
            return Document(path, data, lines, more_lines=lambda: _yaml_lines(text, name)), []
    return _read_yaml(path, text)


def _yaml_lines(text: str, name: str) -> dict[Loc, int]:
    """Every value's line, as the YAML reading of the same text gives them."""
    loader = _Loader(text)
    try:
        lines: dict[Loc, int] = {}
        _index(loader.get_single_node(), (), lines, [], name, budget=len(text) + 1)
        return lines
    finally:
        loader.dispose()


def _read_yaml(path: Path, text: str) -> tuple[Document | None, list[Problem]]:
    name = str(path)
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


class _NotPlainJson(Exception):
    """The text is not JSON, or is JSON that YAML would read differently: read it as YAML."""


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _NotPlainJson  # a duplicate key: the YAML reading reports it, with its line
    return result


def _json_float(text: str) -> float:
    if "e" in text or "E" in text:
        raise _NotPlainJson  # YAML 1.1 reads 1e3 (no dot, no sign) as text
    return float(text)


def _json_constant(text: str) -> Any:
    raise _NotPlainJson  # NaN, Infinity: not JSON


_JSON = json.JSONDecoder(object_pairs_hook=_json_object, parse_float=_json_float, parse_constant=_json_constant)
_JSON_SPACE = re.compile(r"[ \t\n]*")
# What YAML (libyaml) refuses, counts as a line break, or cannot decode; JSON's reading would differ.
_NOT_FOR_JSON = re.compile("[^\x09\x0A\x20-\x7E\xA0-\u2027\u202A-\uD7FF\uE000-\uFFFD\U00010000-\U0010FFFF]"
                           r"|\\u[dD][89a-fA-F]")


def _read_json(text: str) -> tuple[dict[str, Any], dict[Loc, int]] | None:
    """A JSON catalog file read with the json module (C) instead of YAML: ten times faster on 86 MB.

    The data is what the YAML reading gives, which the loader has always used for JSON files: any
    text where the two could differ (a duplicate key, a float with an exponent, a character YAML
    refuses or counts as a line break, a lone UTF-16 half, anything that is not a JSON object) is
    left to YAML (None). The lines kept are those of the top-level values and of their list items,
    taken where each value starts, as YAML's marks are; `Document.more_lines` indexes the rest.
    """
    if _NOT_FOR_JSON.search(text):
        return None
    scan, space = _JSON.scan_once, _JSON_SPACE.match
    line, counted = 1, 0

    def line_at(position: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, position)
        counted = position
        return line

    try:
        position = space(text, 0).end()
        if text[position] != "{":
            return None
        lines: dict[Loc, int] = {(): line_at(position)}
        data: dict[str, Any] = {}
        position = space(text, position + 1).end()
        closed = text[position] == "}"
        position += closed
        while not closed:
            if text[position] != '"':
                return None
            key, position = json.decoder.scanstring(text, position + 1)
            position = space(text, position).end()
            if text[position] != ":" or key in data:
                return None
            position = space(text, position + 1).end()
            lines[(key,)] = line_at(position)
            if text[position] == "[":
                items: list[Any] = []
                position = space(text, position + 1).end()
                ended = text[position] == "]"
                if ended:
                    position = space(text, position + 1).end()
                while not ended:
                    lines[(key, len(items))] = line_at(position)
                    item, position = scan(text, position)
                    items.append(item)
                    position = space(text, position).end()
                    ended = text[position] == "]"
                    if not ended and text[position] != ",":
                        return None
                    position = space(text, position + 1).end()
                value: Any = items
            else:
                value, position = scan(text, position)
                position = space(text, position).end()
            data[key] = value
            closed = text[position] == "}"
            if not closed and text[position] != ",":
                return None
            position = space(text, position + 1).end()
        if space(text, position).end() != len(text):
            return None
        return data, lines
    except (_NotPlainJson, StopIteration, ValueError, IndexError, RecursionError):
        return None


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
