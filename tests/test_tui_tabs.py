"""The one-widget tab strip: labels, the active one marked, letter keys and clicks switch panes."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import ContentSwitcher

from console.app import create_app
from console.messages import JourneyLoaded
from console.screens.journey import JourneyScreen
from console.screenshots import NOW, settle
from console.widgets.tabs import TabStrip
from tests.test_tui_helpers import MessageLog, shared_estate


@pytest.fixture(scope="session")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_estate(tmp_path_factory)


class StripApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TabStrip((("a", "Alpha"), ("b", "Beta 2")), id="strip")


async def test_the_strip_marks_the_active_label_and_says_which_was_clicked() -> None:
    log = MessageLog()
    app = StripApp()
    async with app.run_test(size=(40, 4), message_hook=log) as pilot:
        strip = app.query_one(TabStrip)
        labels, rule = str(strip.render()).split("\n")
        assert labels.startswith("  Alpha   Beta 2 ") and set(rule) == {"━"}
        await pilot.click(TabStrip, offset=(10, 0))  # on " Beta 2 "
        chosen = await log.wait_for(TabStrip.Chosen)
        assert chosen.pane == "b" and chosen.control is strip
        strip.active = "b"
        strip.set_label("b", "Beta 3")
        assert strip.active == "b" and "Beta 3" in str(strip.render())
        strip.active = "nope"  # not a pane: ignored
        assert strip.active == "b"


async def test_journey_tabs_switch_by_key_and_by_click(estate: Path) -> None:
    log = MessageLog()
    app = create_app(estate, search="#1129", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await log.wait_for(JourneyLoaded)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, JourneyScreen)
        switcher = screen.query_one(ContentSwitcher)
        assert switcher.current == "events-table" and app.focused is screen.query_one("#events-table")
        assert "Dead letters 1" in str(screen.query_one(TabStrip).render())
        await pilot.press("d")
        assert switcher.current == "dead-table" and app.focused is screen.query_one("#dead-table")
        assert screen.query_one(TabStrip).active == "dead"
        await pilot.click(TabStrip, offset=(3, 0))  # on " Timeline 5 "
        await settle(pilot)
        assert switcher.current == "events-table" and screen.query_one(TabStrip).active == "events"
