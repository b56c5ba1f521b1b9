"""Node ids: `KIND:NAMESPACE:NAME`, one type, one parser, one formatter.

The form follows Marquez and OpenLineage (`dataset:postgres://db:5432:public.loans`). Namespaces
are often URIs and hold colons of their own, so **the name is what follows the last colon**. A
colon or a percent sign inside a name is written `%3A` / `%25` (percent-encoding, as in URLs), so
a dataset named `eu:loans` has the id `dataset:demo:eu%3Aloans` and every id splits one way. Names
without either character (nearly all) read exactly as they are.

In a URL path the encoded name is encoded once more by the client as usual: `PUT
/api/v1/datasets/demo:eu%253Aloans` names `eu:loans` in namespace `demo`.

`version` is room for model versions; ids do not carry it yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["dataset", "job", "model"]
KINDS: tuple[Kind, ...] = ("dataset", "job", "model")
Key = tuple[str, str]  # (namespace, name): a row's identity within its kind


def encode_name(name: str) -> str:
    """A name as it appears in an id: `%` and `:` percent-encoded, nothing else touched."""
    return name.replace("%", "%25").replace(":", "%3A")


def decode_name(text: str) -> str:
    """The inverse of `encode_name`; other `%` sequences are left as written."""
    return text.replace("%3A", ":").replace("%3a", ":").replace("%25", "%")


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
        """`NAMESPACE:NAME` (the id without its kind), as users may write it."""
        return f"{self.namespace}:{encode_name(self.name)}"

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)

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
        if not sep or not namespace or not name:
            expected = f"{found}:NAMESPACE:NAME" + (" or NAMESPACE:NAME" if kind else "")
            raise ValueError(f"expected {expected}, got {text!r}")
        return cls(found, namespace, decode_name(name))


def node_id(kind: Kind, namespace: str, name: str) -> str:
    """The id string of a node: what the graph, the API and reports key nodes by."""
    return f"{kind}:{namespace}:{encode_name(name)}"


def qualified_name(namespace: str, name: str) -> str:
    """`NAMESPACE:NAME` with the name encoded, the form `resolve` accepts without a kind."""
    return f"{namespace}:{encode_name(name)}"


def short_name(node: str) -> str:
    """The bare name of a node id, decoded: what a table or chart labels a node with."""
    return decode_name(node.rpartition(":")[2])


def kind_of(node: str) -> str:
    return node.partition(":")[0]
