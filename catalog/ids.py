"""Node ids: `KIND:NAMESPACE:NAME`, one type, one parser, one formatter.

The form follows Marquez and OpenLineage (`dataset:postgres://db:5432:public.loans`). Namespaces
are often URIs and hold colons of their own, so **the name is what follows the last colon**. A
colon or a percent sign inside a name is written `%3A` / `%25` (percent-encoding, as in URLs), so
a dataset named `eu:loans` has the id `dataset:demo:eu%3Aloans` and every id splits one way. Names
without either character (nearly all) read exactly as they are.

In a URL path the encoded name is encoded once more by the client as usual: `PUT
/api/v1/datasets/demo:eu%253Aloans` names `eu:loans` in namespace `demo`.

A model is a family of versions, and the graph's model nodes are versions:
`model:NAMESPACE:NAME@VERSION`. The version is what follows the last `@`; an `@` inside a model's
name is written `%40`. `model:NAMESPACE:NAME` without a version names the model as a whole, which
`lineage.service.resolve` turns into its deployed versions, else its latest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["dataset", "job", "model"]
KINDS: tuple[Kind, ...] = ("dataset", "job", "model")
Key = tuple[str, str]  # (namespace, name): a row's identity within its kind


ModelKey = tuple[str, str, str]  # (namespace, name, version): one model version
DEFAULT_VERSION = "1"  # the version of a model that never said which it is


def encode_name(name: str) -> str:
    """A name as it appears in an id: `%`, `:` and `@` percent-encoded, nothing else touched."""
    return name.replace("%", "%25").replace(":", "%3A").replace("@", "%40")


def decode_name(text: str) -> str:
    """The inverse of `encode_name`; other `%` sequences are left as written."""
    return text.replace("%3A", ":").replace("%3a", ":").replace("%40", "@").replace("%25", "%")


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """An order of versions people agree with: `2` < `10`, `1.9.0` < `1.10.0`, numbers before words."""
    parts = re.findall(r"\d+|[^\d.\-_+]+", version)
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in parts)


@dataclass(frozen=True, order=True)
class NodeId:
    kind: Kind
    namespace: str
    name: str
    version: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}:{self.qualified}"

    @property
    def qualified(self) -> str:
        """`NAMESPACE:NAME[@VERSION]` (the id without its kind), as users may write it."""
        return qualified_name(self.namespace, self.name, self.version)

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)

    @property
    def model_key(self) -> ModelKey:
        """(namespace, name, version) of a model version; ValueError for a model named without one."""
        if self.version is None:
            raise ValueError(f"{self} names a model, not one of its versions")
        return (self.namespace, self.name, self.version)

    def without_version(self) -> "NodeId":
        return NodeId(self.kind, self.namespace, self.name)

    @classmethod
    def parse(cls, text: str, kind: Kind | None = None) -> "NodeId":
        """`KIND:NAMESPACE:NAME`, or `NAMESPACE:NAME` when `kind` is given; ValueError otherwise.

        With `kind` given, a leading `KIND:` is optional and must be that kind if present.
        """
        head, sep, rest = text.partition(":")
        if head in KINDS and sep and (kind is None or head == kind):
            found: Kind = head  # type: ignore[assignment]
        elif kind is not None:
            found, rest = kind, text
        else:
            raise ValueError(f"expected KIND:NAMESPACE:NAME with KIND one of {', '.join(KINDS)}, got {text!r}")
        namespace, sep, name = rest.rpartition(":")
        version: str | None = None
        if found == "model" and "@" in name:
            name, _, version = name.rpartition("@")
            version = decode_name(version)
        if not sep or not namespace or not name or version == "":
            expected = f"{found}:NAMESPACE:NAME" + ("[@VERSION]" if found == "model" else "")
            expected += " or NAMESPACE:NAME" + ("[@VERSION]" if found == "model" else "") if kind else ""
            raise ValueError(f"expected {expected}, got {text!r}")
        return cls(found, namespace, decode_name(name), version)


def node_id(kind: Kind, namespace: str, name: str, version: str | None = None) -> str:
    """The id string of a node: what the graph, the API and reports key nodes by."""
    return f"{kind}:{qualified_name(namespace, name, version)}"


def model_node(key: ModelKey) -> str:
    """The id of one model version."""
    return node_id("model", *key)


def qualified_name(namespace: str, name: str, version: str | None = None) -> str:
    """`NAMESPACE:NAME[@VERSION]` with the name encoded, the form `resolve` accepts without a kind."""
    qualified = f"{namespace}:{encode_name(name)}"
    return qualified if version is None else f"{qualified}@{encode_name(version)}"


def short_name(node: str) -> str:
    """The bare name of a node id, decoded (with `@VERSION` for a model version): what a chart labels it with."""
    tail = node.rpartition(":")[2]
    if node.startswith("model:") and "@" in tail:
        name, _, version = tail.rpartition("@")
        return f"{decode_name(name)}@{decode_name(version)}"
    return decode_name(tail)


def kind_of(node: str) -> str:
    return node.partition(":")[0]
