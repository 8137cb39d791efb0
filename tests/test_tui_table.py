"""The console's table widget, in a bare Textual app: columns, keys, filter, selection, and inert cells."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

from console.widgets.table import (
    AUTO_WIDTH_CAP,
    MAX_ROWS,
    Col,
    Row,
    RowsTable,
    cut_widths,
    shown_columns,
)
from tests.test_tui_helpers import MessageLog

COLUMNS = (Col("id", "id", 6), Col("qty", "qty", 5), Col("note", "note"))


def rows(count: int) -> list[Row]:
    return [Row(f"k{i}", (Text(f"r{i}"), Text(str(i), justify="right"), Text(f"note {i}"))) for i in range(count)]


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield RowsTable(id="table")

    def on_mount(self) -> None:
        self.query_one(RowsTable).focus()


def line(table: RowsTable, y: int) -> str:
    return table.render_line(y).text


async def test_columns_are_sized_when_the_rows_arrive() -> None:
    app = TableApp()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(RowsTable)
        table.show(COLUMNS, [*rows(2), Row("long", (Text("abcdefghij"), Text("7", justify="right"),
                                                     Text("x" * (AUTO_WIDTH_CAP + 40))))])
        # no idle step in between: the first frame after `show` has every column at its width
        assert line(table, 0).startswith(" id      qty    note ")
        assert line(table, 1).startswith(" r0          0  note 0 ")
        assert line(table, 3).startswith(" abcde…      7  xxx")  # cut with an ellipsis, number on the right
        assert table.virtual_size.width == 6 + 5 + AUTO_WIDTH_CAP + 6
        await pilot.pause()
        assert line(table, 1).startswith(" r0          0  note 0 ")


async def test_keys_move_the_cursor_and_enter_selects_its_row() -> None:
    log = MessageLog()
    app = TableApp()
    async with app.run_test(size=(60, 8), message_hook=log) as pilot:
        table = app.query_one(RowsTable)
        table.show(COLUMNS, rows(40))
        await pilot.press("down", "down")
        assert table.current_key == "k2"
        highlighted = await log.wait_for(RowsTable.RowHighlighted, lambda m: m.key == "k2")
        assert highlighted.control is table
        await pilot.press("pagedown")
        assert table.current_key == "k9"  # 8 lines: the header and 7 rows
        assert line(table, 7).startswith(" r9 ")  # scrolled so that the cursor is the last row in view
        await pilot.press("end")
        assert table.current_key == "k39" and line(table, 7).startswith(" r39 ")
        await pilot.press("home", "up")
        assert table.current_key == "k0" and line(table, 0).startswith(" id ")
        mark = log.mark()
        await pilot.press("down", "enter")
        selected = await log.wait_for(RowsTable.RowSelected, after=mark)
        assert selected.key == "k1"


async def test_a_click_highlights_a_row_and_a_second_click_opens_it() -> None:
    log = MessageLog()
    app = TableApp()
    async with app.run_test(size=(60, 8), message_hook=log) as pilot:
        table = app.query_one(RowsTable)
        table.show(COLUMNS, rows(5))
        await pilot.click(RowsTable, offset=(2, 3))  # the header is line 0: line 3 is the third row
        assert table.current_key == "k2"
        assert not any(isinstance(m, RowsTable.RowSelected) for m in log.seen)
        await pilot.click(RowsTable, offset=(2, 3))
        selected = await log.wait_for(RowsTable.RowSelected)
        assert selected.key == "k2"


async def test_new_rows_and_filters_keep_the_cursor_on_the_same_row() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(RowsTable)
        table.show(COLUMNS, rows(20))
        table.move_cursor(row=table.get_row_index("k12"))
        table.show(COLUMNS, rows(30)[5:])  # a refresh in which rows came and went
        assert table.current_key == "k12" and table.cursor_row == 7
        table.set_filter("note 1")
        assert table.row_count == 10 and table.current_key == "k12"  # 10..19
        table.set_filter("!note 1")
        assert table.row_count == 15 and table.current_key == "k5"  # k12 is gone: the first row
        table.set_filter("")
        assert table.row_count == 25
        table.show(COLUMNS, [])
        assert table.row_count == 0 and table.current_key is None
        await pilot.press("down", "enter")  # nothing to move to, nothing to open
        assert table.current_key is None


async def test_at_most_one_page_of_rows_goes_in() -> None:
    app = TableApp()
    async with app.run_test(size=(60, 12)):
        table = app.query_one(RowsTable)
        table.show(COLUMNS, rows(MAX_ROWS + 3))
        assert table.row_count == MAX_ROWS and table.truncated and table.offered_rows == MAX_ROWS + 3


async def test_markup_and_escapes_in_cells_stay_text() -> None:
    app = TableApp()
    async with app.run_test(size=(80, 6)):
        table = app.query_one(RowsTable)
        auto = (Col("a", "a"), Col("b", "b"), Col("c", "c"))
        table.show(auto, [Row("x", (Text("[bold]b[/]"), Text("1"), Text("[@click=app.quit]q")))])
        assert "[bold]b[/]" in line(table, 1) and "[@click=app.quit]q" in line(table, 1)


WIDE_COLUMNS = (Col("dead letter", "id", 26), Col("queue", "queue", 20, spare=2),
                Col("status", "status", 9, spare=1), Col("order", "order", 14), Col("error", "error"))


def dead_letters(count: int) -> list[Row]:
    return [Row(f"dl-{i}", (Text(f"dl-{i:022d}"), Text("erp.invoices.dlq"), Text("dead"),
                            Text(f"ORD-{i:08d}"), Text("Timeout after 30000 ms calling POST " * 2)))
            for i in range(count)]


async def test_a_narrow_table_leaves_out_its_spare_columns_in_order_and_a_wide_one_shows_them() -> None:
    app = TableApp()
    async with app.run_test(size=(120, 10)) as pilot:
        table = app.query_one(RowsTable)
        table.show(WIDE_COLUMNS, dead_letters(3))
        # 26 + 20 + 9 + 14 + the error counted at READABLE (20), each with a space either side: 99
        assert line(table, 0).split() == ["dead", "letter", "queue", "status", "order", "error"]
        await pilot.resize_terminal(90, 10)
        await pilot.pause()
        assert line(table, 0).split() == ["dead", "letter", "queue", "order", "error"]  # status first
        await pilot.resize_terminal(70, 10)
        await pilot.pause()
        assert line(table, 0).split() == ["dead", "letter", "order", "error"]
        assert line(table, 1).startswith(f" dl-{0:022d}   ORD-00000000    Timeout after")
        assert table.virtual_size.width == 26 + 14 + 72 + 6  # scrolls to the rest of the error
        await pilot.resize_terminal(120, 10)
        await pilot.pause()
        assert line(table, 0).split() == ["dead", "letter", "queue", "status", "order", "error"]
        # the filter still sees what is left out
        table.set_filter("ORD-00000002")
        assert table.row_count == 1


def test_columns_leave_only_while_the_rest_do_not_fit() -> None:
    widths = [26, 20, 9, 14, 72]
    assert shown_columns(WIDE_COLUMNS, widths, 0) == (0, 1, 2, 3, 4)  # not laid out yet: all
    assert shown_columns(WIDE_COLUMNS, widths, 99) == (0, 1, 2, 3, 4)
    assert shown_columns(WIDE_COLUMNS, widths, 98) == (0, 1, 3, 4)
    assert shown_columns(WIDE_COLUMNS, widths, 40) == (0, 3, 4)  # no spare column left to go


HOP_COLUMNS = (Col("order", "order", 14), Col("rule", "rule", 20), Col("slowest hop", "hop", 44),
               Col("took", "took", 9))


def test_a_column_too_wide_is_cut_so_the_ones_after_it_stay_on_screen() -> None:
    widths = [14, 20, 44, 9]
    assert cut_widths(HOP_COLUMNS, widths, (0, 1, 2, 3), 100) == (14, 20, 44, 9)  # it fits: whole
    # 78 cells: 14 + 20 + 9 whole (short), the hop takes what is left after 2 cells a column
    assert cut_widths(HOP_COLUMNS, widths, (0, 1, 2, 3), 78) == (14, 20, 27, 9)
    # a panel too narrow even for the short columns: nothing cut, it scrolls as before
    assert cut_widths(HOP_COLUMNS, widths, (0, 1, 2, 3), 40) == (14, 20, 44, 9)
    # a free-text last column counts READABLE cells and runs on past the edge
    errors = (Col("order", "order", 14), Col("reason", "reason", 40), Col("error", "error"))
    assert cut_widths(errors, [14, 40, 120], (0, 1, 2), 70) == (14, 30, 120)


async def test_a_path_is_cut_at_its_start_so_the_file_name_stays() -> None:
    app = TableApp()
    async with app.run_test(size=(40, 6)):
        table = app.query_one(RowsTable)
        path = "demo-estate/traces/edge-collector-export.jsonl"
        table.show((Col("source", "source", 30), Col("line", "line", 5)),
                   [Row("r", (Text(path), Text("7", justify="right")))])
        assert line(table, 1) == f" …{path[-29:]}      7 ".ljust(40)
