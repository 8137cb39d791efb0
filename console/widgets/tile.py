"""A KPI tile of the overview: the number now, what it counts, its last 24 hours; enter jumps to its screen."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widget import Widget

from console.output import seconds
from console.widgets.chart import bars
from queries.kpis import Kpi

COLUMNS = 3  # tiles per row, as the overview's grid lays them out


def kpi_value(kpi: Kpi) -> str:
    """The headline number as people read it."""
    if kpi.value is None:
        return "–"
    if kpi.unit == "seconds":
        return seconds(kpi.value)
    if kpi.unit == "ratio":
        return f"{kpi.value * 100:.1f}%"
    return f"{int(kpi.value):,}"


class KpiTile(Widget, can_focus=True):
    """One KPI: focusable; enter or a click opens the screen that explains it.

    The number, the note and the chart are lines of this one widget, not widgets of their own:
    the overview repaints all six tiles at once, and Textual's cost of a repaint grows with the
    widgets and widget edges on each line (README, Performance).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "open", id="tile.open"),
        *[Binding(key, f"move({step})", "move", show=False, id=f"tile.{key}")
          for key, step in (("right", 1), ("left", -1), ("down", COLUMNS), ("up", -COLUMNS))],
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "kpi-tile--value", "kpi-tile--alert", "kpi-tile--note", "kpi-tile--chart"}
    DEFAULT_CSS = """
    KpiTile { text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, name: str, note: str, target: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = name
        self.note = note
        self.target = target
        self.alert = False
        self._value: Content = Content("…")
        self._series: list[float | None] | None = None  # None until the first answer came

    def show(self, kpi: Kpi, alert: bool) -> None:
        # durations and percentages carry their unit already ("7m 4s", "0.0%")
        self._value = Content.assemble(
            (kpi_value(kpi), "bold"), (f"  {kpi.unit}" if kpi.unit not in ("ratio", "seconds") else ""))
        self._series = list(kpi.series)
        self.alert = alert
        self.set_class(alert, "-alert")
        self.refresh()

    def render(self) -> Content:
        width, height = self.content_size.width, self.content_size.height
        value = self._value.stylize(
            self.get_visual_style("kpi-tile--alert" if self.alert else "kpi-tile--value"))
        lines = [value]
        if not self.screen.has_class("-short"):
            lines.append(Content(self.note).stylize(self.get_visual_style("kpi-tile--note")))
        rows = max(0, height - len(lines))
        if self._series is None:
            pass  # not read yet (or the store is busy): no claim about the data
        elif not any(value is not None for value in self._series):
            lines.append(Content("no data in this window").stylize(
                self.get_visual_style("kpi-tile--note")))
        else:
            chart = self.get_visual_style("kpi-tile--chart")
            lines += [Content(row).stylize(chart) for row in bars(self._series, width, rows)]
        return Content("\n").join(line.truncate(width, ellipsis=True) for line in lines[:height])

    def action_move(self, step: int) -> None:
        """Arrow keys move between tiles as they sit in their grid; down from the last row leaves it."""
        tiles = list(self.screen.query(KpiTile).results())
        target = tiles.index(self) + step
        if 0 <= target < len(tiles):
            tiles[target].focus()
        elif target >= len(tiles):
            self.screen.focus_next("RowsTable")

    def action_open(self) -> None:
        self.app.action_show_screen(self.target)  # type: ignore[attr-defined]

    def on_click(self) -> None:
        self.action_open()
