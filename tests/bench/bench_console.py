"""Console speed on the big store (2.5M orders: 18.0M events, 40.4M spans; with BACKROOM_BENCH_EXTRA
(conftest.py) topped up past the 20M events the targets name) vs the same app on an empty store.

Three figures, each taken through the Textual pilot on the real app (160×48, time frozen at the
estate's end, live refresh off):

- first paint of the overview: from `run_test` being entered until the app is ready (its first
  frame composed) and, separately, until the overview's KPI tiles show their data;
- opening a journey: from the `enter` of `:order KEY` until the app wrote its last frame of the
  journey (what the user waits for), and until the pilot found it settled (that adds the pilot's
  idle test, which sleeps 20 ms at a time until the process is idle: at least 60 ms here);
- the longest handler on the UI thread during a tour of every screen: each asyncio callback on the
  app's loop is timed (a wrapper around `asyncio.Handle._run`, the loop's one place for running
  callbacks); the ones over 50 ms are listed.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from benchkit import fresh, show
from conftest import AT, STORE

from console.app import create_app
from console.messages import JourneyLoaded, OverviewLoaded
from console.screens.journey import JourneyScreen
from console.screenshots import settle
from queries import Store
from tests.test_tui_helpers import MessageLog

SIZE = (160, 48)
SLOW = 0.050


def empty_store(work: Path) -> Path:
    db = fresh(work / "empty.duckdb")
    with Store.at(db).writing():
        pass  # the schema, no rows
    return db


async def first_paint(db: Path) -> tuple[float, float]:
    """Seconds until the app is ready, and until the overview shows its KPIs."""
    log = MessageLog()
    started = time.perf_counter()
    app = create_app(db, now=AT, live=None)
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        ready = time.perf_counter() - started
        await log.wait_for(OverviewLoaded, timeout=120)
        await settle(pilot)
        painted = time.perf_counter() - started
    return ready, painted


class Frames:
    """When the app last wrote a frame to its terminal (wraps the app's one place for that)."""

    def __init__(self, app: Any) -> None:
        self.last = 0.0
        write = app._display

        def timed(screen: Any, renderable: Any) -> None:
            write(screen, renderable)
            if renderable is not None:
                self.last = time.perf_counter()

        app._display = timed


async def open_journeys(db: Path, keys: list[str]) -> list[tuple[float, float]]:
    """For each key, seconds from `enter` on `:order KEY` to the journey's last frame, and to the
    pilot finding the app settled (its idle test sleeps at least 20 ms a step, three steps)."""
    log = MessageLog()
    app = create_app(db, now=AT, live=None)
    frames = Frames(app)
    seconds = []
    async with app.run_test(size=SIZE, message_hook=log) as pilot:
        await settle(pilot)
        for key in keys:
            await pilot.press("colon", *f"order {key}")
            mark = log.mark()
            started = time.perf_counter()
            await pilot.press("enter")
            loaded = await log.wait_for(JourneyLoaded, after=mark, timeout=60)
            await settle(pilot)
            seconds.append((frames.last - started, time.perf_counter() - started))
            assert isinstance(app.screen, JourneyScreen) and loaded.journey is not None
            await pilot.press("escape")
            await settle(pilot)
    return seconds


@contextmanager
def slow_handlers() -> Iterator[list[tuple[float, str]]]:
    """Every callback the event loop runs for longer than SLOW, with what it was."""
    found: list[tuple[float, str]] = []
    original = asyncio.Handle._run

    def timed_run(handle: asyncio.Handle) -> None:
        started = time.perf_counter()
        original(handle)
        took = time.perf_counter() - started
        if took > SLOW:
            found.append((took, _describe(handle)))

    asyncio.Handle._run = timed_run  # type: ignore[method-assign]
    try:
        yield found
    finally:
        asyncio.Handle._run = original  # type: ignore[method-assign]


def _describe(handle: asyncio.Handle) -> str:
    """The coroutine a task step ran (Textual's message pumps are tasks), else the callback."""
    owner = getattr(handle._callback, "__self__", None)  # what the loop ran
    coroutine = owner.get_coro() if isinstance(owner, asyncio.Task) else None
    if coroutine is not None:
        frame = getattr(coroutine, "cr_frame", None)
        where = f" of {frame.f_locals.get('self')!r}" if frame is not None else ""
        return f"{coroutine.__qualname__}{where}"[:120]
    return repr(handle)[:120]


async def tour(db: Path, key: str) -> list[tuple[float, str]]:
    """Every screen as on-call walks them, after startup; the UI-thread callbacks over 50 ms."""
    app = create_app(db, now=AT, live=None)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        with slow_handlers() as found:
            await pilot.press("2")
            await settle(pilot)
            await pilot.press(*key, "enter")
            await settle(pilot)
            await pilot.press("escape", "escape")
            await pilot.press("colon", *f"order {key}", "enter")
            await settle(pilot)
            for screen in "3456":
                await pilot.press("escape")
                await pilot.press(screen)
                await settle(pilot)
                await pilot.press("enter")  # the first row: a rule's orders, a group's messages…
                await settle(pilot)
                await pilot.press("escape")
            await pilot.press("1")
            await settle(pilot)
    return sorted(found, reverse=True)


def size_of(store: Store) -> str:
    """The store's size as the targets name it."""
    with store.reading() as cursor:
        orders, events, spans = cursor.execute(
            "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM events), "
            "(SELECT count(*) FROM spans)").fetchone() or (0, 0, 0)
    return f"{orders / 1e6:.2f}M orders, {events / 1e6:.1f}M events, {spans / 1e6:.1f}M spans"


def sample_keys(store: Store, count: int) -> list[str]:
    with store.reading() as cursor:
        rows = cursor.execute("SELECT order_id FROM orders USING SAMPLE 50 ROWS (reservoir, 11)"
                              ).fetchall()
    return [row[0] for row in rows][:count]


def test_first_paint_big_vs_empty(big_store: Store, work: Path) -> None:
    empty = empty_store(work)
    runs: dict[str, list[tuple[float, float]]] = {"empty": [], "big": []}
    for _ in range(3):  # alternate, so both see the same machine
        runs["empty"].append(asyncio.run(first_paint(empty)))
        runs["big"].append(asyncio.run(first_paint(STORE)))
    ready = {name: statistics.median(r for r, _ in values) for name, values in runs.items()}
    data = {name: statistics.median(p for _, p in values) for name, values in runs.items()}
    show(f"overview first paint (median of 3, alternating); big store: {size_of(big_store)}", [
        ("empty store: app ready (first frame)", ready["empty"], ""),
        ("big store: app ready (first frame)", ready["big"],
         f"{ready['big'] / ready['empty']:.2f}x of empty (target <= 2)"),
        ("empty store: KPI tiles filled", data["empty"], ""),
        ("big store: KPI tiles filled", data["big"],
         f"{data['big'] / data['empty']:.2f}x of empty"),
    ])


def test_journey_opens_after_enter(big_store: Store) -> None:
    keys = sample_keys(big_store, 12)
    runs = asyncio.run(open_journeys(STORE, keys))[1:]  # the first warms the file's caches
    painted, settled = [p for p, _ in runs], [s for _, s in runs]
    show(f"journey after enter on ':order KEY' ({len(runs)} orders)", [
        ("last frame painted: median", statistics.median(painted), "target <= 0.300 s"),
        ("last frame painted: slowest", max(painted), ""),
        ("pilot settled: median", statistics.median(settled), "the pilot's idle test included"),
        ("pilot settled: slowest", max(settled), ""),
    ])


@pytest.mark.parametrize("which", ["empty", "big"])
def test_no_slow_handler_on_the_ui_thread(big_store: Store, work: Path, which: str) -> None:
    key = sample_keys(big_store, 1)[0]
    db = STORE if which == "big" else empty_store(work)
    found = asyncio.run(tour(db, key))
    rows = [(f"{which}: longest UI-thread callbacks over 50 ms: {len(found)}",
             found[0][0] if found else 0.0, "target: none")]
    rows += [(f"  {what[:56]}", took, "") for took, what in found[:5]]
    show(f"UI thread during a tour of every screen ({which} store)", rows)
