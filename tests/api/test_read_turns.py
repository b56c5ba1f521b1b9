"""At most `width` reads compute at once, in arrival order; a read stopped while it waits leaves."""

from __future__ import annotations

import threading
import time

import pytest

from api.app import create_app
from api.config import Settings
from api.read_turns import TURNS, ReadTurns
from catalog.errors import ConfigurationError


def _queued(turns: ReadTurns, count: int) -> None:
    deadline = time.monotonic() + 10
    while turns.waiting < count:
        assert time.monotonic() < deadline, "the reads never queued"
        time.sleep(0.005)


@pytest.mark.parametrize("width", [1, 2])
def test_reads_take_turns_in_arrival_order_and_never_more_than_the_width_at_once(width):
    turns = ReadTurns(width)
    release = threading.Event()
    order: list[int] = []
    at_once = []
    computing = 0
    lock = threading.Lock()

    def read(number: int) -> None:
        nonlocal computing
        with turns.turn(lambda: False) as mine:
            assert mine
            with lock:
                computing += 1
                at_once.append(computing)
                order.append(number)
            release.wait(10)
            with lock:
                computing -= 1

    holders = [threading.Thread(target=read, args=(i,)) for i in range(width)]
    for holder in holders:
        holder.start()
    deadline = time.monotonic() + 10
    while len(order) < width:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    waiters = []
    for number in range(width, width + 6):  # queued one after another, so their order is known
        waiter = threading.Thread(target=read, args=(number,))
        waiter.start()
        waiters.append(waiter)
        _queued(turns, number - width + 1)
    assert sorted(order) == list(range(width))  # the queue waits while the turns are held
    release.set()
    for thread in holders + waiters:
        thread.join(10)
    assert sorted(order[:width]) == list(range(width))  # the holders started together, in either order
    assert order[width:] == list(range(width, width + 6))  # the queue in arrival order
    assert max(at_once) == width


def test_a_read_stopped_while_it_waits_leaves_the_queue_and_the_next_goes_first():
    turns = ReadTurns(1)
    release, stop_second = threading.Event(), threading.Event()
    outcomes: dict[str, bool] = {}

    def read(name: str, stopped) -> None:
        with turns.turn(stopped) as mine:
            outcomes[name] = mine
            if name == "first":
                release.wait(10)

    first = threading.Thread(target=read, args=("first", lambda: False))
    first.start()
    while "first" not in outcomes:
        time.sleep(0.005)
    second = threading.Thread(target=read, args=("second", stop_second.is_set))
    second.start()
    _queued(turns, 1)
    third = threading.Thread(target=read, args=("third", lambda: False))
    third.start()
    _queued(turns, 2)
    stop_second.set()
    second.join(10)
    assert outcomes["second"] is False and turns.waiting == 1  # gone from the queue, holding nothing
    release.set()
    first.join(10)
    third.join(10)
    assert outcomes["third"] is True and turns.waiting == 0


def test_the_width_comes_from_the_environment_and_junk_is_refused(monkeypatch, sqlite_url):
    def width_of_an_app() -> int:
        app = create_app(Settings.from_env(db=sqlite_url))
        app.state.store.close()
        return TURNS.width

    monkeypatch.setenv("HEADWATER_READ_CONCURRENCY", "3")
    assert width_of_an_app() == 3
    for junk in ("0", "two", "-1"):
        monkeypatch.setenv("HEADWATER_READ_CONCURRENCY", junk)
        with pytest.raises(ConfigurationError, match="HEADWATER_READ_CONCURRENCY"):
            create_app(Settings.from_env(db=sqlite_url))
        assert TURNS.width == 3  # refused before anything changed
    monkeypatch.delenv("HEADWATER_READ_CONCURRENCY")
    assert width_of_an_app() == 2


def test_a_forked_child_starts_with_no_reads_of_its_parent():
    """A child forked while the parent's only turn is taken can take one at once: the parent's
    reads do not exist there (without the reset it would wait forever)."""
    import os

    width = TURNS.width
    TURNS.width = 1
    try:
        with TURNS.turn(lambda: False) as mine:
            assert mine
            child = os.fork()
            if child == 0:  # the child: exit 0 only if it got a turn within 5 s
                deadline = time.monotonic() + 5
                with TURNS.turn(lambda: time.monotonic() > deadline) as got:
                    os._exit(0 if got else 1)
            _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        TURNS.width = width
