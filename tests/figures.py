"""The reliability suite's tally, summed over every pytest-xdist worker.

Tests add what they actually did (`figures["requests fuzzed"] += n`); at the end of the run the
controller prints the sum and writes it to `reliability-figures.json` in pytest's base temp folder
(or `$HEADWATER_RELIABILITY_FIGURES`), so the README's figures come from a run, not from memory.
Each worker hands its own tally to the controller through xdist's `workeroutput`; without xdist the
one process is both. The hooks are registered by tests/conftest.py.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

_tally: Counter[str] = Counter()


@pytest.fixture(scope="session")
def figures() -> Counter[str]:
    return _tally


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller sums and reports
        workeroutput["reliability_figures"] = dict(_tally)
        return
    if _tally:
        base = session.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
        target = Path(os.environ.get("HEADWATER_RELIABILITY_FIGURES") or base / "reliability-figures.json")
        target.write_text(json.dumps(dict(sorted(_tally.items())), indent=2) + "\n", encoding="utf-8")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:  # noqa: ARG001 - xdist hook signature
    _tally.update(getattr(node, "workeroutput", {}).get("reliability_figures", {}))


def pytest_terminal_summary(terminalreporter) -> None:
    if _tally:
        terminalreporter.section("reliability figures")
        for key, value in sorted(_tally.items()):
            terminalreporter.write_line(f"{key}: {value}")
