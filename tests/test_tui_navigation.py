"""Pilot tests: number keys, ':' commands, esc, the palette, '?', '/' filter, and deep links."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from textual import events
from textual.widgets import Input

from console.app import BackroomApp, create_app
from console.messages import DeadLetterLoaded, GroupsLoaded, JourneyLoaded, OrdersFound
from console.screens.dlq_message import DeadLetterScreen
from console.screens.help import HelpScreen
from console.screens.journey import JourneyScreen
from console.screenshots import NOW, settle
from console.widgets.fitting import Fitting
from console.widgets.keybar import KeyBar
from console.widgets.stepper import StateStepper
from console.widgets.table import RowsTable
from console.widgets.titlebar import TitleBar
from queries import Store
from tests.test_tui_helpers import MessageLog, shared_estate


@pytest.fixture(scope="session")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_estate(tmp_path_factory)


async def test_number_keys_switch_screens_and_esc_comes_back(estate: Path) -> None:
    app = create_app(estate, now=NOW, live=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert app.current_mode == "overview"
        for key, mode in [("2", "orders"), ("3", "sla"), ("4", "inventory"), ("5", "dlq"), ("6", "audit")]:
            if mode == "sla":
                await pilot.press("escape")  # orders starts in its search box: leave it first
            await pilot.press(key)
            await settle(pilot)
            assert app.current_mode == mode
        await pilot.press("escape")
        assert app.current_mode == "dlq"
        await pilot.press("escape")
        assert app.current_mode == "inventory"
        await pilot.press("1")
        assert app.current_mode == "overview"


async def test_colon_commands_jump_and_open(estate: Path) -> None:
    log = MessageLog()
    app = create_app(estate, now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await settle(pilot)
        await pilot.press("colon", *"dlq", "enter")
        await log.wait_for(GroupsLoaded)
        assert app.current_mode == "dlq"
        await pilot.press("colon", *"order 1129", "enter")
        loaded = await log.wait_for(JourneyLoaded)
        assert app.current_mode == "orders" and isinstance(app.screen, JourneyScreen)
        assert loaded.journey is not None and loaded.journey.order_name == "#1129"
        await settle(pilot)
        stepper = app.screen.query_one(StateStepper)
        assert "shipped" in str(stepper.render()) and "invoiced" in str(stepper.render())
        await pilot.press("escape")
        await settle(pilot)
        assert app.current_mode == "orders" and not isinstance(app.screen, JourneyScreen)
        await pilot.press("colon", *"warp 9", "enter")
        await settle(pilot)
        assert app.current_mode == "orders"
        assert any("unknown command :warp" in str(n.message) for n in app._notifications)


async def test_the_palette_runs_the_same_commands(estate: Path) -> None:
    app = create_app(estate, now=NOW, live=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"Dead letters")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert app.current_mode == "dlq"
        await pilot.press("ctrl+p", *"order 1129")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, JourneyScreen) and app.screen.key == "1129"


async def test_question_mark_shows_this_screens_keys(estate: Path) -> None:
    app = create_app(estate, screen="sla", now=NOW, live=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        text = " ".join(str(static.render()) for static in app.screen.query("Static"))
        assert "channel" in text and "open/closed" in text and ":order KEY" in text
        await pilot.press("escape")
        assert app.current_mode == "sla" and not isinstance(app.screen, HelpScreen)


def store_orders(estate: Path, store_id: str) -> int:
    """How many orders the store took: what searching for its number finds."""
    with Store.at(estate).reading() as cursor:
        row = cursor.execute("SELECT count(*) FROM orders WHERE store_id = ?", [store_id]).fetchone()
    assert row is not None and row[0] > 0
    return int(row[0])


async def test_search_then_enter_opens_the_journey(estate: Path) -> None:
    log = MessageLog()
    orders = store_orders(estate, "0003")
    app = create_app(estate, screen="orders", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await settle(pilot)
        await pilot.press(*"0003", "enter")
        found = await log.wait_for(OrdersFound)
        assert found.page.total == orders
        await settle(pilot)
        results = app.screen.query_one("#results", RowsTable)
        assert results.row_count == orders and app.focused is results
        first = results.current_key
        assert f"1–{orders} of {orders}" in str(app.screen.query_one("#status").render())
        await pilot.press("enter")
        loaded = await log.wait_for(JourneyLoaded)
        assert loaded.journey.order_id == first


async def test_a_slash_typed_out_of_habit_before_a_search_is_dropped(estate: Path) -> None:
    log = MessageLog()
    app = create_app(estate, screen="orders", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await settle(pilot)
        await pilot.press("slash", *"0003", "enter")  # '/' filters on the other screens
        found = await log.wait_for(OrdersFound)
        assert found.page.query == "0003" and found.page.total == store_orders(estate, "0003")
        await settle(pilot)
        assert app.screen.query_one("#search", Input).value == "0003"


async def test_deep_link_search_opens_that_journey(estate: Path) -> None:
    log = MessageLog()
    app = create_app(estate, search="#1129", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        loaded = await log.wait_for(JourneyLoaded)
        assert loaded.journey.order_id == "ORD-00000256"
        await settle(pilot)
        assert app.current_mode == "orders" and isinstance(app.screen, JourneyScreen)
        await pilot.press("w")
        spans = app.screen.query_one("#spans-table", RowsTable)
        # every span of the order, under a heading for each of its traces
        traces = {span.trace_id for span in loaded.journey.spans}
        assert len(traces) == 3 and len(loaded.journey.spans) > 10
        assert spans.row_count == len(loaded.journey.spans) + len(traces)


async def test_a_journey_shows_its_sla_rules_and_no_empty_table_when_none_applies(estate: Path) -> None:
    with Store.at(estate).reading() as cursor:  # a till sale only authorised: no rule covers it yet
        (bare,) = cursor.execute("SELECT order_id FROM orders WHERE channel = 'pos' "
                                 "AND state = 'payment_authorized' ORDER BY order_id LIMIT 1").fetchone()
    for key, judged in (("#1129", True), (bare, False)):
        log = MessageLog()
        app = create_app(estate, search=key, now=NOW, live=None)
        async with app.run_test(size=(160, 48), message_hook=log) as pilot:
            loaded = await log.wait_for(JourneyLoaded)
            await settle(pilot)
            assert bool(loaded.journey.sla) is judged
            table = app.screen.query_one("#sla", RowsTable)
            assert table.display is judged and table.row_count == len(loaded.journey.sla)


async def test_deep_link_message_opens_that_dead_letter(estate: Path) -> None:
    log = MessageLog()
    probe = create_app(estate, screen="dlq", now=NOW, live=None)
    async with probe.run_test(size=(160, 48), message_hook=log) as pilot:
        groups = await log.wait_for(GroupsLoaded)
    group = groups.groups[-1].group
    log = MessageLog()
    from queries import Store, dlq

    with Store.at(estate).reading() as cursor:
        message_id = dlq.page(cursor, group=group).messages[0].message_id
    app = create_app(estate, message=message_id, now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        loaded = await log.wait_for(DeadLetterLoaded)
        assert loaded.message is not None and loaded.message.group == group
        await settle(pilot)
        assert app.current_mode == "dlq" and isinstance(app.screen, DeadLetterScreen)
        await pilot.press("o")
        journey = await log.wait_for(JourneyLoaded)
        assert journey.journey.order_id == loaded.message.order_id
        await pilot.press("escape")
        assert isinstance(app.screen, DeadLetterScreen)


async def test_slash_filters_the_table_and_esc_clears_it(estate: Path) -> None:
    app = create_app(estate, screen="dlq", now=NOW, live=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        groups = app.screen.query_one("#groups", RowsTable)
        assert groups.row_count == 5
        await pilot.press("slash", *"erp.orders")
        assert groups.row_count == 2
        await pilot.press("enter")
        assert groups.row_count == 2 and app.focused is groups
        await pilot.press("slash", "home", "exclamation_mark", "enter")
        assert groups.row_count == 3  # '!' inverts
        await pilot.press("escape")
        assert groups.row_count == 5 and app.current_mode == "dlq"


async def test_paging_keeps_at_most_one_page_in_the_table(estate: Path) -> None:
    log = MessageLog()
    app = create_app(estate, now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await settle(pilot)
        app.action_search("ORD-000")
        first = await log.wait_for(OrdersFound)
        assert (first.page.total, len(first.page.orders)) == (600, 200)
        await settle(pilot)
        await pilot.press("right_square_bracket")
        second = await log.wait_for(OrdersFound, lambda m: m.page.offset == 200)
        assert len(second.page.orders) == 200
        await settle(pilot)
        assert "201–400 of 600" in str(app.screen.query_one("#status").render())


async def test_tiles_move_with_arrows_open_with_enter_and_themes_switch(estate: Path) -> None:
    log = MessageLog()
    app = create_app(estate, now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await settle(pilot)
        assert app.focused is not None and app.focused.id == "tile-backlog"
        await pilot.press("right", "down")
        assert app.focused.id == "tile-refunds"
        await pilot.press("up", "right", "enter")
        await log.wait_for(GroupsLoaded)
        assert app.current_mode == "dlq"
        dark, dark_background = app.tones("text-error"), app.screen.styles.background
        await pilot.press("colon", *"theme textual-light", "enter")
        await settle(pilot)
        assert app.theme == "textual-light" and app.tones("text-error") != dark
        # the stylesheet was parsed again with the new theme's variables, and screens restyled
        assert app.screen.styles.background != dark_background
        await pilot.press("1")
        await settle(pilot)
        assert app.screen.styles.background.brightness > 0.5


async def test_clicking_a_key_in_the_bottom_line_does_what_the_key_does(estate: Path) -> None:
    # Over SSH with mouse reporting on, people click the keys they see; that once crashed.
    app = create_app(estate, now=NOW, live=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        bar = app.screen.query_one(KeyBar)
        text = str(bar.render())
        assert await pilot.click(KeyBar, offset=(text.index("keys"), 0))
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)


async def test_the_title_of_a_screen_without_an_as_of_time_ends_with_the_role(estate: Path) -> None:
    app = create_app(estate, now=NOW, live=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        title = app.screen.query_one(TitleBar)
        assert str(title.render()).endswith("○ paused · oncall · 2026-03-02 12:00Z ")
        await pilot.press("2")  # orders, before any search: nothing is "as of" yet
        await settle(pilot)
        assert str(app.screen.query_one(TitleBar).render()).endswith("○ paused · oncall ")


def type_ahead(app: BackroomApp, *keys: str) -> None:
    """Keys as a fast typist (or an SSH connection catching up) sends them: all queued at once."""
    names = {":": "colon", "/": "slash", "?": "question_mark", "\r": "enter", "#": "number_sign"}
    for char in keys:
        app.post_message(events.Key(names.get(char, char), char))


async def test_a_command_typed_ahead_is_not_lost(estate: Path) -> None:
    # ':' opened the prompt only after the keys behind it had gone to the table: ':q⏎' did not quit.
    app = create_app(estate, now=NOW, live=None)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        type_ahead(app, *":q\r")
        for _ in range(50):  # each pause waits for the queued messages, no clock involved
            if not app.is_running:
                break
            await pilot.pause()
        assert not app.is_running


@pytest.mark.parametrize(("keys", "screen", "typed"), [
    ("5/erp", "dlq", "erp"),  # a screen, then its filter
    ("2#1042", "orders", "#1042"),  # the orders screen's search box takes what follows '2'
    ("2:dl", "orders", ":dl"),  # ... and ':' there is text, not the command line
])
async def test_keys_typed_behind_a_screen_key_reach_that_screen(
    estate: Path, keys: str, screen: str, typed: str,
) -> None:
    app = create_app(estate, now=NOW, live=None)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        type_ahead(app, *keys)
        await settle(pilot)
        assert app.current_mode == screen
        assert isinstance(app.focused, Input) and app.focused.value == typed


async def test_the_overview_says_when_input_was_quarantined(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Rejected records were stored and shown nowhere in the console.
    from collectors import ingest_paths
    from queries import Store
    from tests.test_tui_helpers import private_copy

    db = private_copy(tmp_path_factory, "quarantine")
    bad = tmp_path_factory.mktemp("in") / "pos.jsonl"
    bad.write_bytes(b'{"specversion":"1.0","id":"x1","sour\nnot json\n')
    store = Store.at(db)
    assert ingest_paths(store, [bad]).rejects == 2
    with store.writing() as cursor:  # rejected an hour before the console's "now"
        cursor.execute("UPDATE rejects SET rejected_at = $at", {"at": NOW - timedelta(hours=1)})
    app = create_app(db, now=NOW, live=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        heading = str(app.screen.query_one("#heading", Fitting).render())
        assert heading.endswith("·  7 rejected (7: rejects)")  # the demo's five and these two
