"""`Store.lineage_rows` reads the derivations on a second connection beside the other tables: the
two reads must still be one snapshot of the store, or be read again in one transaction."""

from __future__ import annotations

import threading

from sqlalchemy import event

from catalog.loader import load_catalog
from catalog.lineage_rows import read_lineage_rows
from catalog.store import Store

CATALOG = """\
catalog: t
datasets:
  - {name: raw.a}
  - {name: raw.b}
  - {name: feat.x, derived_from: [raw.a, raw.b], job: jobs.build}
"""
GROWN = CATALOG + "  - {name: feat.y, derived_from: [feat.x, raw.a], job: jobs.y}\n"


def _load(store: Store, tmp_path, text: str) -> None:
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    load_catalog(store, [path])


def _derivation_pairs(rows) -> list[tuple[int, int]]:
    return sorted(zip(rows.derivations.input_id.tolist(), rows.derivations.output_id.tolist()))


def test_the_rows_read_side_by_side_equal_those_of_one_transaction(store, tmp_path):
    _load(store, tmp_path, GROWN)
    side_by_side = store.lineage_rows()
    with store.engine.connect() as connection, connection.begin():
        one = read_lineage_rows(connection)
    assert len(side_by_side.derivations) == len(one.derivations) == 4
    assert _derivation_pairs(side_by_side) == _derivation_pairs(one)
    assert side_by_side.derivations.sources == one.derivations.sources
    assert (side_by_side.revision, side_by_side.datasets, side_by_side.jobs) == (one.revision, one.datasets, one.jobs)


def test_a_write_between_the_two_reads_sends_them_back_to_one_transaction(store, store_url, tmp_path):
    """The main read takes its snapshot; then, before the derivations' connection takes its own, a
    real write commits (a second store on the same database). Kept side by side, the rows would
    pair the old datasets with the new derivations."""
    _load(store, tmp_path, CATALOG)
    main = threading.current_thread()
    main_has_its_snapshot = threading.Event()
    wrote = threading.Event()

    def after_execute(connection, cursor, statement, parameters, context, executemany) -> None:
        if threading.current_thread() is main and "revision" in statement:
            main_has_its_snapshot.set()

    def before_begin(connection) -> None:
        if threading.current_thread().name.startswith("headwater-derivations") and not wrote.is_set():
            assert main_has_its_snapshot.wait(30)
            other = Store(store_url)
            _load(other, tmp_path, GROWN)
            other.close()
            wrote.set()

    event.listen(store.engine, "after_cursor_execute", after_execute)
    event.listen(store.engine, "begin", before_begin)
    try:
        rows = store.lineage_rows()
    finally:
        event.remove(store.engine, "after_cursor_execute", after_execute)
        event.remove(store.engine, "begin", before_begin)
    assert wrote.is_set()
    assert rows.revision == store.revision()  # the newer snapshot, read whole
    assert len(rows.derivations) == 4
    assert {row[2] for row in rows.datasets} == {"raw.a", "raw.b", "feat.x", "feat.y"}
    assert set(rows.derivations.output_id.tolist()) <= {row[0] for row in rows.datasets}
