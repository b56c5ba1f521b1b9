"""Fixtures for check tests: small real data files and a catalog that points at them."""

from __future__ import annotations

import csv
import textwrap
from pathlib import Path

import pytest

from catalog.loader import load_catalog
from catalog.store import Store

PEOPLE = [
    # id, age, country, email
    (1, 34, "DE", "a@x.example"),
    (2, 17, "FR", "b@x.example"),
    (3, 45, "DE", None),
    (4, 15, "XX", "d@x.example"),
    (5, 52, "NL", "e@x.example"),
]


def write_people_csv(path: Path, rows=PEOPLE) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id", "age", "country", "email"])
        writer.writerows(rows)
    return path


@pytest.fixture
def people_csv(tmp_path: Path) -> Path:
    return write_people_csv(tmp_path / "people.csv")


@pytest.fixture
def load(store: Store, tmp_path: Path):
    """Write a catalog (YAML text, dedented) next to the data and load it; returns the path."""

    def write_and_load(text: str, name: str = "catalog.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        load_catalog(store, [path])
        return path

    return write_and_load


def fingerprinted(monkeypatch) -> list[str]:
    """Every location `run_checks` fingerprints from now on (its calls of `service.observe`), in order:
    empty when a run reused what the change signal vouched for."""
    from checks import service

    seen: list[str] = []
    real = service.observe

    def counted(location):
        seen.append(location.value)
        return real(location)

    monkeypatch.setattr(service, "observe", counted)
    return seen


def recorded_signals(store: Store) -> list[str | None]:
    """The change signal each check run recorded, oldest run first."""
    from sqlalchemy import select

    from catalog.schema import CheckRun
    from checks import service

    with store.read() as session:
        return [(run.digests or {}).get(service.TABLE_SIGNAL) for run in session.scalars(select(CheckRun).order_by(CheckRun.id))]

