"""A block chart of an hourly series: as wide and tall as CSS makes it, gaps where nothing happened."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content
from textual.widget import Widget

_EIGHTHS = " ▁▂▃▄▅▆▇█"


def columns(series: Sequence[float | None], width: int) -> list[float | None]:
    """The series stretched (or squeezed) to `width` columns; None stays a gap."""
    if not series or width <= 0:
        return []
    return [series[min(len(series) - 1, index * len(series) // width)] for index in range(width)]


def bars(series: Sequence[float | None], width: int, height: int) -> list[str]:
    """Rows of block characters, top row first; the tallest value fills the height."""
    values = columns(series, width)
    top = max((v for v in values if v is not None), default=0.0)
    levels = [None if v is None else (round(v / top * height * 8) if top > 0 else 0) for v in values]
    levels = [level if level is None or value == 0 else max(1, level)
              for level, value in zip(levels, values)]
    rows = []
    for row in range(height):
        floor = (height - 1 - row) * 8
        rows.append("".join(_cell(level, floor) for level in levels))
    return rows


def _cell(level: int | None, floor: int) -> str:
    """A gap for no data, a dot on the baseline for zero, else the block at this height."""
    if level is None:
        return " "
    if level == 0:
        return "·" if floor == 0 else " "
    return _EIGHTHS[max(0, min(8, level - floor))]


class Chart(Widget):
    """An hourly series drawn with block characters; its colour comes from CSS."""

    DEFAULT_CSS = """
    Chart { height: 1; width: 1fr; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._series: list[float | None] | None = None  # None until the first answer came

    def set_series(self, series: Sequence[float | None]) -> None:
        self._series = list(series)
        self.refresh()

    def render(self) -> Content:
        width, height = self.size.width, self.size.height
        if self._series is None:
            return Content("")  # not read yet (or the store is busy): no claim about the data
        if not any(value is not None for value in self._series):
            return Content.styled("no data in this window", "$foreground-muted")
        return Content("\n".join(bars(self._series, width, height)))
