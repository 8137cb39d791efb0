"""A read-only table of at most one page of rows, filterable with '/' (k9s style, '!' inverts).

Textual's DataTable measured every cell again when the UI thread fell idle after rows arrived,
then laid the screen out a second time, and rendered each cell through Rich's `render_lines`
(PERF-LIMITS.md section 5): on a journey that was most of the time between the answer and the
last frame, and a snapshot taken in between showed columns not yet sized. This table is a Line
API widget instead: the column widths are settled when the rows are given, each row becomes one
Strip the first time it is on screen, and a repaint crops the strips it already has.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.output import HANDLES, READABLE, SHORT, TAILS, fitted, kept_columns

MAX_ROWS = 500  # never pour more into a table (PERF-LIMITS.md section 5): page in the query instead
AUTO_WIDTH_CAP = 160  # an auto-sized column (a free-text error, say) is cut here, with an ellipsis


@dataclass(frozen=True)
class Col:
    label: str
    key: str
    width: int | None = None  # None: as wide as its widest cell (up to AUTO_WIDTH_CAP)
    # When the table is too narrow for every column (k9s style: an 80-column terminal over SSH),
    # columns with `spare` set are left out, 1 first, then 2, ...; 0: always shown.
    spare: int = 0


@dataclass(frozen=True)
class Row:
    """One row: its key (what enter opens) and its cells, already inert Text."""

    key: str
    cells: Sequence[Text]

    def matches(self, needle: str) -> bool:
        return any(needle in cell.plain.lower() for cell in self.cells)


class RowsTable(ScrollView, can_focus=True):
    """Whole pages of rows under a fixed header; the cursor stays on the same row across refreshes."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"rows--header", "rows--cursor", "rows--stripe"}
    DEFAULT_CSS = """
    RowsTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        & > .rows--header { text-style: bold; background: $panel; color: $foreground; }
        & > .rows--stripe { background: $surface-lighten-1 50%; }
        &:dark > .rows--stripe { background: $surface-darken-1 40%; }
        & > .rows--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        &:focus {
            background-tint: $foreground 5%;
            & > .rows--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select", "open", show=False),
        Binding("up", "move(-1)", "up", show=False),
        Binding("down", "move(1)", "down", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("home,ctrl+home", "move_to(0)", "first row", show=False),
        Binding("end,ctrl+end", "move_to(-1)", "last row", show=False),
        Binding("left", "scroll_left", "scroll left", show=False),
        Binding("right", "scroll_right", "scroll right", show=False),
    ]

    class RowHighlighted(Message):
        """The cursor is on another row."""

        def __init__(self, table: RowsTable, key: str | None) -> None:
            super().__init__()
            self.table, self.key = table, key

        @property
        def control(self) -> RowsTable:
            return self.table

    class RowSelected(Message):
        """Enter (or a click on the highlighted row): open what the row is about."""

        def __init__(self, table: RowsTable, key: str) -> None:
            super().__init__()
            self.table, self.key = table, key

        @property
        def control(self) -> RowsTable:
            return self.table

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._columns: tuple[Col, ...] = ()
        self._widths: list[int] = []
        self._shown: tuple[int, ...] = ()  # the columns shown, for the width in `_room`
        self._cut: tuple[int, ...] = ()  # each shown column's width there (`_widths` cut to fit)
        self._room = -1
        self._rows: list[Row] = []
        self._visible: list[Row] = []
        self._strips: dict[int, Strip] = {}  # row index -> its cells as one Strip, built when first shown
        self._header: Strip | None = None
        self.cursor_row = 0
        self.offered_rows = 0  # rows the screen offered; more than MAX_ROWS are cut
        self.filter_text = ""

    @property
    def total_rows(self) -> int:
        return len(self._rows)

    @property
    def truncated(self) -> bool:
        return self.offered_rows > len(self._rows)

    @property
    def row_count(self) -> int:
        """Rows shown: all of them, or those the filter lets through."""
        return len(self._visible)

    @property
    def filter_note(self) -> str:
        """What a screen's status line adds while a filter is on ('' without one)."""
        return f"  ·  filter /{self.filter_text}: {self.row_count} shown" if self.filter_text else ""

    @property
    def current_key(self) -> str | None:
        """The key of the highlighted row, if any."""
        return self._visible[self.cursor_row].key if self._visible else None

    def get_row_index(self, key: str) -> int:
        """The index of the shown row with this key (KeyError when it is filtered out or absent)."""
        for index, row in enumerate(self._visible):
            if row.key == key:
                return index
        raise KeyError(key)

    def show(self, columns: Sequence[Col], rows: Sequence[Row]) -> None:
        """Replace the rows (at most MAX_ROWS), keep the filter and the highlighted row."""
        self.offered_rows = len(rows)
        self._rows = list(rows[:MAX_ROWS])
        self._columns = tuple(columns)
        self._fill()

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self._fill()

    def _matching(self) -> list[Row]:
        needle = self.filter_text.strip().lower()
        if not needle or needle == "!":
            return self._rows
        if needle.startswith("!"):
            return [row for row in self._rows if not row.matches(needle[1:])]
        return [row for row in self._rows if row.matches(needle)]

    def _fill(self) -> None:
        keep = self.current_key
        self._visible = self._matching()
        self._widths = [_width(column, index, self._rows) for index, column in enumerate(self._columns)]
        self._room = -1  # the columns shown are settled again for these widths
        self._lay_out()
        index = next((i for i, row in enumerate(self._visible) if row.key == keep), 0)
        self.cursor_row = max(0, min(index, len(self._visible) - 1))
        self._scroll_to_cursor()
        self.refresh()
        if self.current_key != keep:
            self.post_message(self.RowHighlighted(self, self.current_key))

    def move_cursor(self, *, row: int) -> None:
        """Put the cursor on a row (clamped to the rows shown) and bring it into view."""
        self._set_cursor(row)

    def _set_cursor(self, row: int) -> None:
        before = self.cursor_row
        self.cursor_row = max(0, min(row, len(self._visible) - 1))
        self._scroll_to_cursor()
        if self.cursor_row != before:
            self.refresh()
            self.post_message(self.RowHighlighted(self, self.current_key))

    def _scroll_to_cursor(self) -> None:
        rows_in_view = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_y)
        if self.cursor_row < top:
            top = self.cursor_row
        elif self.cursor_row >= top + rows_in_view:
            top = self.cursor_row - rows_in_view + 1
        if top != round(self.scroll_y):
            self.scroll_to(y=top, animate=False, immediate=True)

    def _lay_out(self) -> None:
        """Settle the columns shown at the present width, and the scrollable size they make."""
        room = self.scrollable_content_region.width
        if room != self._room:
            self._room = room
            self._shown = shown_columns(self._columns, self._widths, room)
            self._cut = cut_widths(self._columns, self._widths, self._shown, room)
            self._strips.clear()
            self._header = None
        self.virtual_size = Size(sum(width + 2 for width in self._cut), len(self._visible) + 1)

    def on_resize(self) -> None:
        self._lay_out()
        self._scroll_to_cursor()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._header = None  # the theme or focus changed: styles are applied when lines are cut

    def action_move(self, step: int) -> None:
        self._set_cursor(self.cursor_row + step)

    def action_page(self, step: int) -> None:
        self._set_cursor(self.cursor_row + step * max(1, self.scrollable_content_region.height - 1))

    def action_move_to(self, row: int) -> None:
        self._set_cursor(row if row >= 0 else len(self._visible) - 1)

    def action_select(self) -> None:
        key = self.current_key
        if key is not None:
            self.post_message(self.RowSelected(self, key))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:
            return
        row = round(self.scroll_y) + offset.y - 1
        if not 0 <= row < len(self._visible):
            return
        if row == self.cursor_row:
            self.action_select()
        else:
            self._set_cursor(row)

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if width != self._room:  # painted before the resize is handled: the same columns now
            self._lay_out()
        scroll_x = round(self.scroll_x)
        base = self.rich_style
        if y == 0:
            if self._header is None:
                header = self.get_component_rich_style("rows--header")
                self._header = self._line([Text(column.label) for column in self._columns]).apply_style(header)
            style = base + self.get_component_rich_style("rows--header")
            return self._header.crop_extend(scroll_x, scroll_x + width, style)
        index = round(self.scroll_y) + y - 1
        if index >= len(self._visible):
            return Strip.blank(width, base)
        strip = self._strips.get(index)
        if strip is None:
            strip = self._strips[index] = self._line(self._visible[index].cells)
        style = base
        if index % 2 == 0:
            style += self.get_component_rich_style("rows--stripe")
        if index == self.cursor_row:
            style += self.get_component_rich_style("rows--cursor")
        return strip.apply_style(style).crop_extend(scroll_x, scroll_x + width, style)

    def _line(self, cells: Sequence[Text]) -> Strip:
        """One row's cells, each fitted to its column with a space either side, as one Strip
        (a cell's segments stay its own, so an exported SVG places every column where it belongs)."""
        console = self.app.console
        pad = Segment(" ")
        segments: list[Segment] = []
        shown = [(index, width) for index, width in zip(self._shown, self._cut) if index < len(cells)]
        for index, width in shown:
            cell = cells[index]
            segments.append(pad)
            shaped = _fit(cell, width, tail=self._columns[index].label in TAILS)
            # Text.render leaves out the text's own style when it has no spans: put it under them
            style = console.get_style(shaped.style) if shaped.style else None
            segments.extend(Segment.apply_style(shaped.render(console), style))
            segments.append(pad)
        return Strip(segments, sum(width + 2 for _, width in shown))


def shown_columns(columns: Sequence[Col], widths: Sequence[int], room: int) -> tuple[int, ...]:
    """The indexes of the columns that fit `room` cells: all but the first spare ones (by their
    `spare` order) that must go for the others to fit, an auto-sized (free-text) column counted
    at most READABLE wide, as in the CLI's tables; every column while the table has no width yet."""
    least = [(width if column.width is not None else min(width, READABLE)) + 2
             for column, width in zip(columns, widths)]
    spare = [index for _, index in sorted(
        (column.spare, index) for index, column in enumerate(columns) if column.spare)]
    return tuple(kept_columns(least, spare, room))


def cut_widths(columns: Sequence[Col], widths: Sequence[int], shown: Sequence[int],
               room: int) -> tuple[int, ...]:
    """The widths of the `shown` columns in `room` cells: whole where they fit; else the columns
    wider than SHORT (a hop, a reason, a path) cut to one common width, as the CLI's tables are
    (`console.output.fitted`), none below its label. A column of SHORT cells or fewer (an instant,
    a count, a rule) or a handle (an order or dead letter id) is never cut, and a free-text last
    column (an error) counts as READABLE cells here and runs on past the edge, to scroll to.
    When even that does not fit, nothing is cut and the table scrolls sideways, as in a narrow
    panel, where cutting would leave every column unreadable. So no column is out of sight to
    the right of one too wide (the SLA breaches' "took" after a 44-cell hop, at 80 columns)."""
    whole = [widths[index] for index in shown]
    if room <= 0 or not shown:
        return tuple(whole)
    free_last = columns[shown[-1]].width is None
    wanted = [*whole[:-1], min(whole[-1], READABLE) if free_last else whole[-1]]
    floors = [width if width <= SHORT or columns[index].label in HANDLES
              else min(width, len(columns[index].label)) for index, width in zip(shown, wanted)]
    room -= 2  # a space either side of each cell: the CLI's two-space gaps, and one at either end
    if sum(floors) + 2 * (len(floors) - 1) > room:
        return tuple(whole)
    cut = fitted(wanted, floors, room)
    if free_last:
        cut[-1] = whole[-1]
    return tuple(cut)


def _width(column: Col, index: int, rows: Sequence[Row]) -> int:
    if column.width is not None:
        return column.width
    widest = max((row.cells[index].cell_len for row in rows if index < len(row.cells)), default=0)
    return min(AUTO_WIDTH_CAP, max(len(column.label), widest))


def _fit(cell: Text, width: int, tail: bool = False) -> Text:
    """The cell cut (with an ellipsis; at its start for a `tail`, a path whose end names the
    file) or padded to exactly `width` cells, as it asks to be justified."""
    length = cell.cell_len
    if length == width:
        return cell
    shaped = cell.copy()
    if length > width and tail and width > 1 and length == len(cell.plain):
        shaped = Text("…", style=cell.style) + cell[length - width + 1:]
        shaped.justify = cell.justify
    elif length > width:
        shaped.truncate(width, overflow="ellipsis")
    gap = width - shaped.cell_len
    if cell.justify == "right":
        shaped.pad_left(gap)
    elif cell.justify == "center":
        shaped.pad_left(gap // 2)
        shaped.pad_right(gap - gap // 2)
    else:
        shaped.pad_right(gap)
    return shaped
