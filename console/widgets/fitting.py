"""Widgets whose text depends on their width: a line said in full where it fits, shorter where it
does not (Fitting), and the like (the journey's state stepper)."""

from __future__ import annotations

from collections.abc import Sequence

from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget


class ByWidth(Widget):
    """Shows `at_width(width)`, chosen when it is laid out and drawn, so a resize chooses again.
    A Widget, not a Static: there is no `update` that would show one text at every width."""

    def at_width(self, width: int) -> Content:
        raise NotImplementedError

    def render(self) -> Content:
        return self.at_width(self.size.width)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if not width:
            return 0
        # the styles, as Textual's own Widget.get_content_height passes them (typed more narrowly)
        return self.at_width(width).get_height(self.styles, width)  # type: ignore[arg-type]


class Fitting(ByWidth):
    """Shows the first of its versions (longest first) that fits its width on one line, else the
    last, which wraps."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._versions: list[Content] = []

    def say(self, versions: Sequence[Content]) -> None:
        """Show one of these versions, longest first."""
        self._versions = list(versions)
        self.refresh(layout=True)

    def at_width(self, width: int) -> Content:
        """The version shown at `width` cells."""
        for content in self._versions:
            if content.cell_length <= width:
                return content
        return self._versions[-1] if self._versions else Content("")
