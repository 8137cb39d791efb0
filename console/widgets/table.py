"""A read-only table of at most one page of rows, filterable with '/' (k9s style, '!' inverts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

MAX_ROWS = 500  # never pour more into a DataTable (PERF-LIMITS.md section 5): page in the query instead


@dataclass(frozen=True)
class Col:
    label: str
    key: str
    width: int | None = None


@dataclass(frozen=True)
class Row:
    """One row: its key (what enter opens) and its cells, already inert Text."""

    key: str
    cells: Sequence[Text]

    def matches(self, needle: str) -> bool:
        return any(needle in cell.plain.lower() for cell in self.cells)


class RowsTable(DataTable[Text]):
    """A DataTable fed whole pages of rows; keeps the cursor on the same row across refreshes."""

    DEFAULT_CSS = """
    RowsTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self._columns_shown: tuple[Col, ...] = ()
        self._rows: list[Row] = []
        self.offered_rows = 0  # rows the screen offered; more than MAX_ROWS are cut
        self.filter_text = ""

    @property
    def total_rows(self) -> int:
        return len(self._rows)

    @property
    def truncated(self) -> bool:
        return self.offered_rows > len(self._rows)

    @property
    def shown_rows(self) -> int:
        return self.row_count

    @property
    def current_key(self) -> str | None:
        """The key of the highlighted row, if any."""
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return key.value

    def show(self, columns: Sequence[Col], rows: Sequence[Row]) -> None:
        """Replace the rows (at most MAX_ROWS), keep the filter and the highlighted row."""
        self.offered_rows = len(rows)
        self._rows = list(rows[:MAX_ROWS])
        if tuple(columns) != self._columns_shown:
            self.clear(columns=True)
            for column in columns:
                self.add_column(Text(column.label), key=column.key, width=column.width)
            self._columns_shown = tuple(columns)
        self._fill()

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self._fill()

    def _visible(self) -> list[Row]:
        needle = self.filter_text.strip().lower()
        if not needle or needle == "!":
            return self._rows
        if needle.startswith("!"):
            return [row for row in self._rows if not row.matches(needle[1:])]
        return [row for row in self._rows if row.matches(needle)]

    def _fill(self) -> None:
        keep = self.current_key
        self.clear()
        for row in self._visible():
            self.add_row(*row.cells, key=row.key)
        if keep is not None:
            try:
                self.move_cursor(row=self.get_row_index(keep), animate=False, scroll=True)
            except RowDoesNotExist:
                pass
