"""Python's full garbage collections wait until the user pauses, so keys are never held behind one."""

from __future__ import annotations

import asyncio
import gc
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from console import idle_gc
from console.app import create_app
from console.screenshots import NOW, settle
from queries import audit
from tests.test_tui_helpers import shared_estate


def survivors() -> int:
    """New container objects to keep alive so that CPython would run a full pass on its own: it
    runs one once the objects that outlived young passes reach a quarter of the oldest generation."""
    return max(300_000, len(gc.get_objects()) // 2)


class _Cycle:
    """Garbage only a full collection can free once it has aged: it refers to itself."""

    def __init__(self) -> None:
        self.me = self


def _aged_cycle() -> weakref.ref[_Cycle]:
    """A reference cycle that has been through the young collections into the oldest generation."""
    cycle = _Cycle()
    gc.collect(1)  # it survives young passes while still referenced: into generation 2
    return weakref.ref(cycle)


@pytest.fixture
def full_passes() -> Iterator[list[int]]:
    """Every collection of generation 2 while the test runs, by the count of objects it freed."""
    seen: list[int] = []

    def note(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] == 2:
            seen.append(info["collected"])

    gc.callbacks.append(note)
    try:
        yield seen
    finally:
        gc.callbacks.remove(note)


def test_the_same_allocations_make_python_collect_fully_on_its_own(full_passes: list[int]) -> None:
    """The control for the test below: without the console, this much new data runs a full pass."""
    held = [[index] for index in range(survivors())]
    assert full_passes, "CPython ran no full collection: the test below would prove nothing"
    del held


async def test_full_collections_wait_for_a_pause_in_input(
        tmp_path_factory: pytest.TempPathFactory, full_passes: list[int]) -> None:
    before = gc.get_threshold()
    app = create_app(shared_estate(tmp_path_factory), now=NOW, live=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        cycle = _aged_cycle()
        del full_passes[:]
        held, quarter = [], survivors() // 4
        for key in "2312":  # the user goes on working while screens allocate
            await pilot.press(key)
            held += [[index] for index in range(quarter)]
            await settle(pilot)
        assert full_passes == []
        assert cycle() is not None and app.collector.pending() > 0

        # A second after the last key: still no moment to pause.
        assert app.collector.tick() is False and full_passes == []

        # The user stops for longer than IDLE_SECONDS: the collection runs, the cycle is freed.
        app.collector.last_input -= idle_gc.IDLE_SECONDS
        assert app.collector.tick() is True
        assert full_passes and cycle() is None
        assert app.collector.pending() == 0

        # A key press makes it busy again.
        app.collector.last_input -= idle_gc.IDLE_SECONDS
        await pilot.press("3")
        await settle(pilot)
        held += [[index] for index in range(quarter)]
        assert app.collector.tick() is False
        del held
    assert gc.get_threshold() == before  # the process's own settings, back after the console


async def test_endless_input_still_collects_once_garbage_piles_up(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
        full_passes: list[int]) -> None:
    monkeypatch.setattr(idle_gc, "FORCE_AFTER", 3)
    app = create_app(shared_estate(tmp_path_factory), now=NOW, live=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        cycle = _aged_cycle()
        held = [[index] for index in range(survivors() // 4)]
        await pilot.press("2")
        assert app.collector.pending() >= idle_gc.FORCE_AFTER
        del full_passes[:]
        assert app.collector.tick() is True  # right after a key press, since so much piled up
        assert full_passes and cycle() is None
        del held


async def test_a_user_waiting_for_an_answer_is_not_idle(
        tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
        full_passes: list[int]) -> None:
    """On a big store a screen's query can take seconds without a key pressed; the collection
    waits until the answer is in and the console has been calm since."""
    asking, release, real = threading.Event(), threading.Event(), audit.trail

    def slow_trail(*args: Any, **kwargs: Any) -> Any:
        asking.set()
        release.wait(60)  # a slow query, without sleeping
        return real(*args, **kwargs)

    monkeypatch.setattr(audit, "trail", slow_trail)
    app = create_app(shared_estate(tmp_path_factory), now=NOW, live=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        cycle = _aged_cycle()
        held = [[index] for index in range(survivors() // 4)]
        try:
            await pilot.press("6")
            assert await asyncio.to_thread(asking.wait, 20)  # the audit screen's query is running
            del full_passes[:]
            app.collector.last_input -= 10 * idle_gc.IDLE_SECONDS  # no key for a long while
            app._collect_when_calm()
            assert full_passes == [] and cycle() is not None
        finally:
            release.set()
        await settle(pilot)
        app._collect_when_calm()  # the answer just came: not calm for long enough yet
        assert full_passes == [] and cycle() is not None
        app.collector.last_input -= idle_gc.IDLE_SECONDS  # calm since
        app._collect_when_calm()
        assert full_passes and cycle() is None
        del held


async def test_garbage_frozen_by_a_calm_collection_goes_in_the_sweep_when_the_user_is_away(
        tmp_path_factory: pytest.TempPathFactory, full_passes: list[int]) -> None:
    """A calm collection freezes what survives, so the next visits only what is new; what was
    alive then and died since waits for the sweep over everything after SWEEP_SECONDS of calm."""
    app = create_app(shared_estate(tmp_path_factory), now=NOW, live=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        collector = app.collector
        kept = _Cycle()  # alive at the calm collection below, garbage after it
        held = [[index] for index in range(survivors() // 4)]
        collector.last_input -= idle_gc.IDLE_SECONDS
        assert collector.tick() is True and collector.sweeps == 0
        cycle = weakref.ref(kept)
        del kept, held
        await pilot.press("2")  # more work, then calm again: a collection of the new only
        await settle(pilot)
        held = [[index] for index in range(survivors() // 4)]
        collector.last_input -= idle_gc.IDLE_SECONDS
        collector.tick()
        del held
        assert collector.sweeps == 0 and cycle() is not None  # frozen, not visited

        collector.last_input -= idle_gc.SWEEP_SECONDS  # the user is away
        assert collector.tick() is True and collector.sweeps == 1
        assert cycle() is None
        assert collector.tick() is False  # once, until there is something new to sweep
