"""Drill-downs open with their answer in them: asked first, shown when answered (or after a moment, with
a spinner), asked once, and esc before they show forgets them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import console.app
from console.app import create_app
from console.messages import JourneyLoaded
from console.screens.journey import JourneyScreen
from console.screenshots import NOW, settle
from console.widgets.fitting import Fitting
from queries import journey
from tests.test_tui_helpers import MessageLog, shared_estate


@pytest.fixture(scope="session")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_estate(tmp_path_factory)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """The journey query waits until the test lets it go (a slow store, without sleeping)."""
    release = threading.Event()
    real = journey.find

    def slow_find(*args: Any) -> Any:
        release.wait(60)
        return real(*args)

    monkeypatch.setattr(journey, "find", slow_find)
    yield release
    release.set()


def asked(log: MessageLog, mark: int) -> int:
    """How many journey queries answered (a message is seen by the screen and again by the app)."""
    return len({m.query_id for m in log.seen[mark:] if isinstance(m, JourneyLoaded)})


def heading(app: Any) -> str:
    return str(app.screen.query_one("#heading", Fitting).render())


async def test_the_journey_is_shown_with_its_answer_and_asked_once(
        estate: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    answered_when_shown: list[bool] = []

    def spy(screen: JourneyScreen) -> None:  # Textual calls it, then DataScreen's own handler
        answered_when_shown.append(screen.last is not None)

    monkeypatch.setattr(JourneyScreen, "on_screen_resume", spy)
    # a loaded machine may take longer than PUSH_AFTER to answer; that path has its own test below
    monkeypatch.setattr(console.app, "PUSH_AFTER", 30.0)
    log = MessageLog()
    app = create_app(estate, screen="orders", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await settle(pilot)
        await pilot.press("escape", "colon", *"order 1129")  # out of the search box, then ':'
        mark = log.mark()
        await pilot.press("enter")
        await log.wait_for(JourneyLoaded, after=mark)
        await settle(pilot)
        assert isinstance(app.screen, JourneyScreen) and "#1129" in heading(app)
        assert answered_when_shown == [True]  # the answer was in before the screen was shown
        assert asked(log, mark) == 1  # and not asked again


async def test_a_slow_answer_follows_the_screen_it_belongs_to(
        estate: Path, held: threading.Event, monkeypatch: pytest.MonkeyPatch) -> None:
    shown = asyncio.Event()
    monkeypatch.setattr(JourneyScreen, "on_screen_resume", lambda _screen: shown.set())
    log = MessageLog()
    app = create_app(estate, screen="orders", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        try:
            await settle(pilot)
            await pilot.press("escape", "colon", *"order 1129")
            mark = log.mark()
            await pilot.press("enter")
            await asyncio.wait_for(shown.wait(), 20)  # shown after PUSH_AFTER, still asking
            screen = app.screen
            assert isinstance(screen, JourneyScreen) and screen.last is None and screen.is_loading
        finally:
            held.set()
        await log.wait_for(JourneyLoaded, after=mark)
        await settle(pilot)
        assert app.screen is screen and "#1129" in heading(app) and not screen.is_loading
        assert asked(log, mark) == 1


async def test_esc_before_the_journey_shows_forgets_it(
        estate: Path, held: threading.Event, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(console.app, "PUSH_AFTER", 60.0)  # the screen waits for its answer
    log = MessageLog()
    app = create_app(estate, now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        try:
            await settle(pilot)
            await pilot.press("colon", *"order 1129")
            mark = log.mark()
            await pilot.press("enter", "escape")
        finally:
            held.set()
        await app.workers.wait_for_complete()
        await settle(pilot)
        assert app.current_mode == "orders" and not isinstance(app.screen, JourneyScreen)
        assert not any(isinstance(m, JourneyLoaded) for m in log.seen[mark:])
        await pilot.press("escape")  # nothing being opened now: esc goes back as always
        await settle(pilot)
        assert app.current_mode == "overview"


async def test_a_new_screen_starts_with_the_breakpoint_classes_of_the_terminal(estate: Path) -> None:
    app = create_app(estate, now=NOW, live=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert {"-wide", "-tall"} <= set(JourneyScreen("x").classes)  # before any resize
    app = create_app(estate, now=NOW, live=None)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert {"-narrow", "-short"} <= set(JourneyScreen("x").classes)
