"""Stores as an older Headwater left them, for the tests of the migrations that upgrade them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, create_engine


@contextmanager
def store_at(url: str, revision: str) -> Iterator[Connection]:
    """A store migrated only to `revision`, open for the test to write rows as that schema had them;
    the next `Store(url)` migrates it to the head."""
    from alembic import command
    from alembic.config import Config

    from catalog.store import MIGRATIONS

    engine = create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            yield connection
    finally:
        engine.dispose()
