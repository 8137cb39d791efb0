"""The rejects screen: quarantined input, where it came from and why, inert and masked, a page at a time."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from collectors import ingest_paths
from console.app import create_app
from console.messages import RejectsLoaded
from console.screens.rejects import RejectsScreen
from console.screenshots import NOW, settle
from console.widgets.table import RowsTable
from queries import Store
from queries.ingest import Reject, record_rejects
from tests.test_tui_helpers import (
    CARD,
    ESCAPES,
    HOSTILE_TEXT,
    MessageLog,
    private_copy,
    shared_estate,
)


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_estate(tmp_path_factory)


def _text(app: object, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())  # type: ignore[attr-defined]


def _cells(table: RowsTable) -> list[list[str]]:
    return [[cell.plain for cell in row.cells] for row in table._visible]


async def test_seven_opens_the_quarantine_and_the_detail_follows_the_cursor(estate: Path) -> None:
    app = create_app(estate, now=NOW, live=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("7")
        await settle(pilot)
        assert isinstance(app.screen, RejectsScreen) and app.current_mode == "rejects"
        table = app.screen.query_one("#rejects", RowsTable)
        # what the demo's till log and edge export damaged, in the order the CLI lists them
        assert [(row[2], row[3]) for row in _cells(table)] == [
            ("events/till-replay.jsonl", "3"), ("events/till-replay.jsonl", "4"),
            ("events/till-replay.jsonl", "5"), ("events/till-replay.jsonl", "6"),
            ("traces/edge-collector-export.jsonl", "1")]
        assert "1–5 of 5 rejected records" in _text(app, "#status")
        assert "not valid UTF-8" in _text(app, "#detail")
        await pilot.press("down")
        detail = _text(app, "#detail")
        assert "demo-estate/events/till-replay.jsonl, in the store's folder" in detail
        till = (estate.parent / "demo-estate" / "events" / "till-replay.jsonl").read_bytes()
        start = sum(map(len, till.splitlines(keepends=True)[:3]))  # where its line 4 starts
        assert f"line 4 · byte {start:,}" in detail and "missing required attribute 'id'" in detail
        assert "**** **** **** 1111" in detail and "4111111111111111" not in detail
        await pilot.press("enter")  # a long record is read in its panel
        assert app.focused is not None and app.focused.id == "detail-panel"
        await pilot.press("shift+tab")
        assert app.focused is table
        await pilot.press("escape")
        assert app.current_mode == "overview"


async def test_the_keys_say_what_enter_does_here(estate: Path) -> None:
    app = create_app(estate, screen="rejects", now=NOW, live=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        keys = "\n".join(str(widget.render()) for widget in app.screen.query(Static))
        assert "into the record's panel below" in keys and "open the highlighted row" not in keys


async def test_the_command_line_and_the_overview_lead_there(estate: Path) -> None:
    app = create_app(estate, now=NOW, live=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert str(app.screen.query_one("#heading").render()).endswith("5 rejected (7: rejects)")
        await pilot.press("colon", *"quarantine", "enter")
        await settle(pilot)
        assert app.current_mode == "rejects"


async def test_hostile_names_and_records_stay_inert_and_masked(tmp_path_factory: pytest.TempPathFactory) -> None:
    db = private_copy(tmp_path_factory, "rejects-hostile")
    folder = tmp_path_factory.mktemp("in")
    named = folder / f"pos{ESCAPES['title']}[bold red]x.jsonl"  # a file name is outside text too
    named.write_bytes(b'{"specversion":"1.0","source":"/pos","type":"t","data":{"pan":"' + CARD.encode()
                      + b'"}}\n')
    store = Store.at(db)
    assert ingest_paths(store, [named]).rejects == 1
    with store.writing() as cursor:  # raw text, as a collector that escaped nothing would leave it
        record_rejects(cursor, None, [Reject(f"live {ESCAPES['clipboard']}", 7, HOSTILE_TEXT,
                                             f"{HOSTILE_TEXT} {CARD}", 0)])
    app = create_app(db, screen="rejects", now=NOW, live=None)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#rejects", RowsTable)
        rows = {row[3]: row for row in _cells(table)}
        assert set(rows) >= {"1", "7"}
        for index in range(table.row_count):
            table.move_cursor(row=index)
            await pilot.pause()
            shown = "\n".join(_cells(table)[index]) + _text(app, "#detail")
            assert "\x1b" not in shown and "\x07" not in shown
            assert "4111111111111111" not in shown and "4111 1111 1111 1111" not in shown
        assert "[@click=app.quit]click me[/]" in "".join(rows["7"])  # shown literally
        assert app.is_running  # the click markup did nothing


async def test_pages_of_two_hundred_turn_with_the_brackets(tmp_path_factory: pytest.TempPathFactory) -> None:
    db = private_copy(tmp_path_factory, "rejects-pages")
    with Store.at(db).writing() as cursor:
        record_rejects(cursor, None, [Reject("/var/spool/pos/big.jsonl", line, "invalid JSON", "{", 0)
                                      for line in range(1, 451)])
    log = MessageLog()
    app = create_app(db, screen="rejects", now=NOW, live=None)
    async with app.run_test(size=(160, 48), message_hook=log) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#rejects", RowsTable)
        assert table.row_count == 200 and "1–200 of 455" in _text(app, "#status")
        await pilot.press("right_square_bracket")
        await log.wait_for(RejectsLoaded, lambda m: m.page.offset == 200)
        await settle(pilot)
        assert table.row_count == 200 and "201–400 of 455" in _text(app, "#status")
        await pilot.press("right_square_bracket")
        await log.wait_for(RejectsLoaded, lambda m: m.page.offset == 400)
        await settle(pilot)
        assert table.row_count == 55 and "401–455 of 455" in _text(app, "#status")
        assert app.screen.check_action("page", (1,)) is None  # no page after the last
        await pilot.press("left_square_bracket")
        await log.wait_for(RejectsLoaded, lambda m: m.page.offset == 200)


async def test_an_empty_quarantine_says_so(tmp_path: Path) -> None:
    db = tmp_path / "empty.duckdb"
    with Store.at(db).writing():
        pass
    app = create_app(db, screen="rejects", now=NOW, live=None)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        assert "Nothing quarantined" in _text(app, "#status")
        assert "nothing selected" in _text(app, "#detail")
