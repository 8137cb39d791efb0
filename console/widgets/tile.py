"""A KPI tile of the overview: the number now, what it counts, its last 24 hours; enter jumps to its screen."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from console.output import seconds
from console.widgets.chart import Chart
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
    """One KPI: focusable; enter or a click opens the screen that explains it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "open", id="tile.open"),
        *[Binding(key, f"move({step})", "move", show=False, id=f"tile.{key}")
          for key, step in (("right", 1), ("left", -1), ("down", COLUMNS), ("up", -COLUMNS))],
    ]
    DEFAULT_CSS = """
    KpiTile { layout: vertical; }
    KpiTile > .tile-value { height: 1; }
    KpiTile > .tile-note { height: 1; }
    KpiTile > Chart { height: 1fr; }
    """

    def __init__(self, name: str, note: str, target: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.border_title = name
        self.note = note
        self.target = target
        self.alert = False

    def compose(self) -> ComposeResult:
        yield Static("…", classes="tile-value")
        yield Static(Content(self.note), classes="tile-note")
        yield Chart()

    def show(self, kpi: Kpi, alert: bool) -> None:
        self.query_one(".tile-value", Static).update(
            # durations and percentages carry their unit already ("7m 4s", "0.0%")
            Content.assemble((kpi_value(kpi), "bold"),
                             (f"  {kpi.unit}" if kpi.unit not in ("ratio", "seconds") else "")))
        self.query_one(Chart).set_series(kpi.series)
        self.set_class(alert, "-alert")

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
