"""Pilot tests on a narrow terminal (80x24 over SSH): headings, steps, titles and tables keep to
what fits, and say the rest shorter."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from textual.content import Content
from textual.widgets import Static

from console.app import create_app
from console.messages import DeadLetterLoaded, JourneyLoaded
from console.screenshots import NOW, settle
from console.widgets.fitting import Facts, Fitting, Items
from console.widgets.stepper import StateStepper, laid_out
from console.widgets.table import RowsTable
from console.widgets.titlebar import TitleBar
from queries import Store, dlq
from tests.test_tui_helpers import MessageLog, shared_estate


@pytest.fixture(scope="session")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_estate(tmp_path_factory)


def first_dead_letter(estate: Path) -> str:
    """The message id of the dead letter the list shows first."""
    with Store.at(estate).reading() as cursor:
        message_id = dlq.page(cursor).messages[0].message_id
    assert message_id is not None
    return message_id


async def test_on_80_columns_the_journey_heading_keeps_to_one_line_and_steps_stay_whole(
        estate: Path) -> None:
    log = MessageLog()
    app = create_app(estate, search="#1129", now=NOW, live=None)
    async with app.run_test(size=(80, 24), message_hook=log) as pilot:
        loaded = await log.wait_for(JourneyLoaded)
        await settle(pilot)
        heading = app.screen.query_one("#heading", Fitting)
        # the values without their labels; the customer masked as always
        email = loaded.journey.customer_email
        assert email and str(heading.render()) == (
            f"Order {loaded.journey.order_id}  #1129  ·  ecommerce  ·  {email[0]}***@{email.split('@')[1]}")
        assert heading.size.height == 1
        # the states wrap between two steps, each line ending with its arrow
        stepper = app.screen.query_one(StateStepper)
        lines = str(stepper.render()).split("\n")
        assert len(lines) == stepper.size.height > 1
        assert all(line[0] in "✓●!○" and len(line) <= stepper.size.width for line in lines)
        assert all(line.endswith(" →") for line in lines[:-1]) and lines[-1].endswith("○ settled")


async def test_on_80_columns_a_heading_too_long_for_one_line_breaks_between_its_values(
        estate: Path) -> None:
    """A till order names its store and customer too: its heading takes two lines at 80 columns,
    broken between two values (it wrapped inside the last separator, a line ending in a dot)."""
    with Store.at(estate).reading() as cursor:
        (key,) = cursor.execute(
            "SELECT order_id FROM orders WHERE store_id IS NOT NULL AND customer_email IS NOT NULL "
            "ORDER BY length(order_name) + length(customer_email) DESC, order_id LIMIT 1").fetchone()
    log = MessageLog()
    app = create_app(estate, search=key, now=NOW, live=None)
    async with app.run_test(size=(80, 24), message_hook=log) as pilot:
        loaded = await log.wait_for(JourneyLoaded)
        await settle(pilot)
        heading = str(app.screen.query_one("#heading", Fitting).render()).split("\n")
        assert len(heading) == 2 and all(len(line) <= 78 for line in heading)
        values = [part for line in heading for part in line.split("  ·  ")]
        assert values == [f"Order {key}  {loaded.journey.order_name}", loaded.journey.channel,
                          f"store {loaded.journey.store_id}", values[-1]]
        assert values[-1].endswith("@" + loaded.journey.customer_email.split("@")[1])


async def test_on_80_columns_the_journey_summary_breaks_between_its_parts(estate: Path) -> None:
    """The line under the heading (state and age, events, spans, dead letters) went on past the
    edge and was cut ("1 dead"); it breaks between its parts instead."""
    with Store.at(estate).reading() as cursor:  # a till sale with a dead letter: a long summary
        (key,) = cursor.execute(
            "SELECT d.order_id FROM dlq_messages d JOIN orders o USING (order_id) "
            "ORDER BY length(o.state) DESC, d.order_id LIMIT 1").fetchone()
    log = MessageLog()
    app = create_app(estate, search=key, now=NOW, live=None)
    async with app.run_test(size=(80, 24), message_hook=log) as pilot:
        loaded = await log.wait_for(JourneyLoaded)
        await settle(pilot)
        summary = app.screen.query_one("#summary", Items)
        lines = str(summary.render()).split("\n")
        assert summary.size.height == len(lines) > 1 and all(len(line) <= 78 for line in lines)
        parts = [part for line in lines for part in line.split("  ·  ")]
        found = loaded.journey
        traces, dead = len(found.trace_ids), len(found.dlq)
        assert parts[0].startswith(found.state.replace("_", " ") + " for ")
        assert parts[1:] == [f"{len(found.events)} events",
                             f"{len(found.spans)} spans in {traces} trace{'s' if traces != 1 else ''}",
                             f"{dead} dead letter{'s' if dead != 1 else ''}"]


async def test_a_dead_letter_at_80_columns_keeps_each_death_s_queue_reason_and_time(
        estate: Path) -> None:
    log = MessageLog()
    app = create_app(estate, message=first_dead_letter(estate), now=NOW, live=None)
    async with app.run_test(size=(80, 24), message_hook=log) as pilot:
        await log.wait_for(DeadLetterLoaded)
        await settle(pilot)
        await pilot.press("y")
        history = app.screen.query_one("#history", RowsTable)
        # routing keys and the exchange (named above the tabs) leave first
        assert history.render_line(0).text.split() == ["deaths", "queue", "reason", "time"]
        await pilot.resize_terminal(160, 48)
        await settle(pilot)
        assert history.render_line(0).text.split() == [
            "deaths", "exchange", "queue", "reason", "routing", "keys", "time"]


async def test_at_80_columns_the_hints_say_every_key_and_search_shorter_not_cut(estate: Path) -> None:
    """The dead letter's R/M/E/D line and the orders search hint are one line each, whole, at 80
    columns (they were cut mid-word), and said in full again on a wide terminal."""
    log = MessageLog()
    app = create_app(estate, message=first_dead_letter(estate), now=NOW, live=None)
    async with app.run_test(size=(80, 24), message_hook=log) as pilot:
        await log.wait_for(DeadLetterLoaded)
        await settle(pilot)
        actions = app.screen.query_one("#actions", Fitting)
        assert str(actions.render()) == "R replay · M reroute · E edit & retry · D discard (each asks first)"
        assert actions.size.height == 1
        # a fact too long for its line goes on under its value, never under the labels, and the
        # reason's line breaks between its items: "last" keeps its date and time together
        facts = str(app.screen.query_one("#facts", Facts).render()).split("\n")
        assert all(len(line) <= 78 for line in facts)
        labelled = [line for line in facts if line[:12].strip()]
        assert [line[:12].strip() for line in labelled] == [
            "status", "queue", "died in", "reason", "error", "order", "trace", "message id", "group"]
        assert all(line.startswith(" " * 13) for line in facts if line not in labelled)
        assert len(facts) > len(labelled)  # something did wrap at 80 columns
        reason = facts[facts.index(next(line for line in labelled if line.lstrip().startswith("reason"))):]
        times = [item for line in reason[:3] for item in line[13:].split("  ·  ")]
        assert sum(1 for item in times if re.fullmatch(r"(first|last) \d\d-\d\d \d\d:\d\d:\d\d", item)) == 2
        await pilot.press("2")
        await settle(pilot)
        hint = app.screen.query_one("#status", Fitting)
        assert str(hint.render()) == "Type an order id, #name, email, trace or message id, SKU or store; enter."
        assert hint.size.height == 1 and hint.content_size.width >= len(str(hint.render()))
        await pilot.resize_terminal(160, 48)
        await settle(pilot)
        assert str(hint.render()).endswith("message id, SKU or store, then enter.")
        await pilot.press("escape", "5")  # back to the dead letter, now 160 columns wide
        await settle(pilot)
        assert str(app.screen.query_one("#actions", Fitting).render()).endswith("until you confirm)")


@pytest.mark.parametrize(("size", "begins", "ends", "last"), [
    # SSH's usual terminal: no brand, no time, the other screens' names shortened
    ((80, 24), " 1 overview  2 ord ", "○ paused · support ", "7 rej "),
    ((90, 24), " 1 overview  2 orders ", "○ paused · support ", "7 rejects "),
    ((100, 24), " backroom  1 overview", "○ paused · support ", "7 rejects "),
    ((130, 24), " backroom  1 overview", "○ paused · support · 2026-03-02 12:00Z ", "7 rejects "),
])
async def test_a_narrow_title_keeps_live_state_and_role(
    estate: Path, size: tuple[int, int], begins: str, ends: str, last: str,
) -> None:
    app = create_app(estate, now=NOW, live=None, role="support")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        title = str(app.screen.query_one(TitleBar).render())
        assert title.startswith(begins) and title.endswith(ends)
        assert last in title and len(title) == size[0]
        await pilot.press("4")  # the screen shown keeps its whole name
        await settle(pilot)
        title = str(app.screen.query_one(TitleBar).render())
        assert "4 inventory " in title and title.endswith(ends) and len(title) == size[0]


async def test_the_groups_screen_says_why_on_an_80x24_terminal(estate: Path) -> None:
    # The table's error column is off screen at 80 columns; the sample below it must not be.
    app = create_app(estate, now=NOW, live=None, screen="dlq")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        panel = app.screen.query_one("#preview-panel")
        assert app.screen.has_class("-short") and panel.display and panel.region.height >= 3
        groups = app.screen.last.groups
        index = next(number for number, group in enumerate(groups) if group.sample_error)
        for _ in range(index):
            await pilot.press("down")
        await settle(pilot)
        shown = str(app.screen.query_one("#preview", Static).render())
        assert shown.startswith(groups[index].sample_error[:20])


async def test_groups_of_one_error_are_told_apart_by_their_queue_at_80_and_100_columns(
        estate: Path) -> None:
    # The ERP timeouts fail alike on the orders and the invoices queue: two groups whose reason
    # and sample error agree as far as the table shows it. At 100 columns the table keeps the queue (before the reason); at 80
    # it keeps neither, and the sample's panel names the highlighted group's queue and reason.
    app = create_app(estate, now=NOW, live=None, screen="dlq")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#groups", RowsTable)
        assert table.render_line(0).text.split()[:3] == ["group", "count", "queue"]
        groups = app.screen.last.groups
        alike = [(a, b) for a in groups for b in groups if a.group < b.group
                 and a.sample_error and b.sample_error and a.reason == b.reason
                 and a.sample_error[:30] == b.sample_error[:30]]
        assert alike and all(a.queue != b.queue for a, b in alike)
    app = create_app(estate, now=NOW, live=None, screen="dlq")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#groups", RowsTable)
        panel = app.screen.query_one("#preview-panel")
        for twin in alike[0]:
            index = next(n for n, group in enumerate(groups) if group.group == twin.group)
            table.move_cursor(row=index)
            await settle(pilot)
            assert Content.from_markup(panel.border_title or "").plain == (
                f"Sample error  {twin.queue}  ·  {twin.reason}")


@pytest.mark.parametrize(("size", "said"), [
    ((160, 48), "last 24 h, as of 2026-03-02 12:00Z  ·  1 quiet store (4: inventory)  ·  5 rejected (7: rejects)"),
    ((80, 24), "24 h to 03-02 12:00Z  ·  1 quiet store (4)  ·  5 rejected (7)"),  # on one line still
])
async def test_the_overview_names_the_quiet_store_and_4_shows_which(
        estate: Path, size: tuple[int, int], said: str) -> None:
    # the demo's one store whose uplink is down: the rest beat every quarter of an hour
    silent = json.loads((estate.parent / "demo-estate" / "manifest.json").read_text())["silent_store"]
    app = create_app(estate, now=NOW, live=None)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        heading = app.screen.query_one("#heading", Fitting)
        assert str(heading.render()) == f"Overview  {said}" and heading.size.height == 1
        await pilot.press("4")
        await settle(pilot)
        quiet = app.screen.query_one("#quiet", RowsTable)
        assert app.current_mode == "inventory" and quiet.row_count == 1
        assert app.screen.query_one("#heading", Fitting).size.height == 1  # said shorter at 80
        assert quiet._visible[0].cells[0].plain == silent["store_id"]


async def test_the_overview_heading_fits_again_when_the_terminal_narrows(estate: Path) -> None:
    app = create_app(estate, now=NOW, live=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        heading = app.screen.query_one("#heading", Fitting)
        assert str(heading.render()).endswith("1 quiet store (4)  ·  5 rejected (7)")
        assert heading.size.height == 1


def test_the_steps_leave_room_for_the_arrow_that_ends_a_line() -> None:
    parts = [Content("✓ aaaa"), Content("✓ bbbb"), Content("○ cc")]
    # "✓ aaaa → ✓ bbbb" is 15 cells: at 16 it fits, but not with the " →" it would end with
    for width in range(8, 30):
        lines = laid_out(parts, width).plain.split("\n")
        assert all(len(line) <= width for line in lines), width
        assert [part for line in lines for part in line.removesuffix(" →").split(" → ")] == [
            part.plain for part in parts]


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_the_sla_breaches_show_every_kept_column_on_screen_and_cut_the_hop_to_fit(
        estate: Path, size: tuple[int, int]) -> None:
    """At 80 columns the 44-cell slowest hop pushed "took" off the right edge; the hop is cut
    (marked by an ellipsis) so that every column the table keeps is on screen."""
    app = create_app(estate, now=NOW, live=None, screen="sla")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#breaches", RowsTable)
        assert table.row_count > 0
        width = table.scrollable_content_region.width
        header = table.render_line(0).text
        assert header.split()[-1] == "took" and table.virtual_size.width <= width
        hops = [row.cells[8].plain for row in table._visible]
        shown = "\n".join(table.render_line(y).text for y in range(1, table.row_count + 1))
        longest = max(hops, key=len)
        if size == (80, 24):
            assert "slowest hop" in header and longest[:8] in shown and longest not in shown
            assert "…" in shown
        else:
            assert all(hop in shown for hop in hops)


@pytest.mark.parametrize(("size", "rules", "groups"), [
    ((80, 24), ["rule", "open"], ["count", "queue"]),
    ((100, 30), ["rule", "open", "closed", "p95"], ["count", "reason", "queue"]),
    ((120, 30), ["rule", "open"], ["count", "queue"]),
    # the sample error tells apart two groups of one reason and queue: it goes after last seen
    ((200, 48), ["rule", "open", "closed", "met", "p95"], ["count", "reason", "queue", "error"]),
    ((250, 48), ["rule", "open", "closed", "met", "p95"],
     ["count", "reason", "queue", "last seen", "error"]),
])
async def test_the_overview_panels_leave_out_whole_columns_rather_than_cut_one_at_the_edge(
        estate: Path, size: tuple[int, int], rules: list[str], groups: list[str]) -> None:
    """At 100 columns the lower panels cut p95's header to "p" and last seen's to "la" at their
    edge; now the columns least needed go, and every column kept is whole on screen."""
    app = create_app(estate, now=NOW, live=None)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        for table_id, expected in (("#rules", rules), ("#groups", groups)):
            table = app.screen.query_one(table_id, RowsTable)
            assert table.row_count > 0
            header = table.render_line(0).text
            assert [label.strip() for label in re.split(r"\s{2,}", header.strip())] == expected
            if expected[-1] != "error":  # a free-text last column may run on, to scroll to
                assert table.virtual_size.width <= table.scrollable_content_region.width


async def test_on_80_columns_the_journey_s_sla_rules_keep_elapsed_and_within(estate: Path) -> None:
    """The slowest hop was kept whole at 44 cells and elapsed, within and took left out, so a rule
    read "met –"; now the hop's time goes first and the hop is cut to fit."""
    log = MessageLog()
    app = create_app(estate, search="#1129", now=NOW, live=None)
    async with app.run_test(size=(80, 24), message_hook=log) as pilot:
        await log.wait_for(JourneyLoaded)
        await settle(pilot)
        table = app.screen.query_one("#sla", RowsTable)
        assert table.row_count > 0
        header = [label.strip() for label in re.split(r"\s{2,}", table.render_line(0).text.strip())]
        assert header[:4] == ["rule", "status", "elapsed", "within"]
        assert all(row.cells[2].plain and row.cells[3].plain for row in table._visible)
