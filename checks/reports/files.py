"""Report files on disk: the outputs a command was asked to write, each where it was asked.

The path is the user's, so a path that cannot be written is their input error (a
ConfigurationError: exit 2, one line naming the path), not a traceback. The gate's formats
(JUnit, SARIF, Markdown, JSON) are written here together, so `headwater gate` writes the same
files whichever door runs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from catalog.errors import ConfigurationError

if TYPE_CHECKING:
    import networkx as nx

    from checks.gate import GateResult
    from checks.policy import Policy


def write_report(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path`, replacing what was there."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ConfigurationError(f"cannot write {path}: {error.strerror or error}") from None


def write_lines(path: Path, lines: Iterable[str]) -> int:
    """Stream `lines` (each with its newline) to `path`; how many were written. A trail too big to
    hold in memory is written as it is read."""
    count = 0
    try:
        with path.open("w", encoding="utf-8") as handle:
            for line in lines:
                handle.write(line)
                count += 1
    except OSError as error:
        raise ConfigurationError(f"cannot write {path}: {error.strerror or error}") from None
    return count


@dataclass(frozen=True)
class GateReportPaths:
    """Where each gate report goes; a format left at None is not written."""

    junit: Path | None = None
    sarif: Path | None = None
    markdown: Path | None = None
    json: Path | None = None


def write_gate_reports(result: "GateResult", graph: "nx.DiGraph", policy: "Policy", paths: GateReportPaths) -> str:
    """Write every report `paths` asks for; return the Markdown summary, which is also the GitHub
    step summary whether or not a Markdown file was asked for."""
    from checks.reports.markdown import gate_summary

    summary = gate_summary(result, graph)
    if paths.junit:
        from checks.reports import junit

        write_report(paths.junit, junit.render(result))
    if paths.sarif:
        from importlib.metadata import version

        from checks.reports import sarif

        write_report(paths.sarif, sarif.render(result, policy, version("headwater")))
    if paths.markdown:
        write_report(paths.markdown, summary)
    if paths.json:
        write_report(paths.json, result.model_dump_json(indent=2))
    return summary


def append_step_summary(summary: str, environ: Mapping[str, str] = os.environ) -> None:
    """Append to the GitHub Actions job summary (the file GITHUB_STEP_SUMMARY names), if there is one.

    Appended, not written: earlier steps of the job may have written their own part.
    """
    step_summary = environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8") as handle:
            handle.write(summary)
