"""What every rendering shares: one style per kind, tier and severity, and safe text.

Every string that came from a user (names, notes, messages) is escaped before it is printed, so a
dataset named `[bold red]x` reads as itself instead of restyling the terminal; messages that may
quote a location are also masked, since they can carry a database password.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape

from catalog.ids import kind_of
from catalog.secrets import mask_secrets

if TYPE_CHECKING:
    from checks.results import Finding
    from lineage.results import NodeRef

KIND_STYLE = {"dataset": "cyan", "job": "dim", "model": "bold magenta"}
TIER_STYLE = {"prohibited": "bold red", "high": "red", "gpai": "yellow", "limited": "blue", "minimal": "green"}
SEVERITY_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "dim"}
SEVERITIES = ("critical", "high", "medium", "low")  # worst first


def label(node: "NodeRef") -> str:
    """How a node is named on screen: styled by kind, the full id, escaped."""
    style = KIND_STYLE.get(node.kind, "")
    return f"[{style}]{escape(node.id)}[/]"


def label_id(node: str) -> str:
    """`label` for a bare id string, as findings carry them: the kind is read off the id."""
    return f"[{KIND_STYLE.get(kind_of(node), '')}]{escape(node)}[/]"


def said(message: str) -> str:
    """A message for the terminal: credentials masked (it may quote a location, and runs recorded
    before every form was masked may still hold one), then escaped as every user string is."""
    return escape(mask_secrets(message))


def tier(risk_tier: str | None) -> str:
    if risk_tier is None:
        return "[bold red]tier unknown[/]"
    return f"[{TIER_STYLE.get(risk_tier, '')}]{escape(risk_tier)}[/]"


def severity(level: str | None) -> str:
    return f"[{SEVERITY_STYLE.get(level or '', '')}]{level}[/]"


def rank(level: str) -> int:
    """Sort key putting the worst severity first."""
    return SEVERITIES.index(level)


def condition(finding: "Finding") -> str:
    """A finding's condition; an inherited taint also names the condition it came from."""
    if finding.condition != "upstream_tainted":
        return finding.condition
    return f"upstream_tainted ← {finding.root_condition}"


def plural(count: int | None, noun: str) -> str:
    """`noun` with an `s` unless `count` is exactly 1 (an unknown count is plural)."""
    return noun if count == 1 else f"{noun}s"
