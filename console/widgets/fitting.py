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
    """Shows the first of its versions (longest first) that fits its width on one line, else its
    items on as many lines as they need, else the last version, which wraps."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._versions: list[Content] = []
        self._items: list[Content] = []

    def say(self, versions: Sequence[Content], *, items: Sequence[Content] = ()) -> None:
        """Show one of these versions, longest first; where none fits, `items` (if given) joined
        by a dot and broken between two of them, else the last version wrapped."""
        self._versions, self._items = list(versions), list(items)
        self.refresh(layout=True)

    def at_width(self, width: int) -> Content:
        """The version shown at `width` cells."""
        for content in self._versions:
            if content.cell_length <= width:
                return content
        if self._items:
            return Content("\n").join(filled(self._items, max(1, width)))
        return self._versions[-1] if self._versions else Content("")


# A label and its value: one Content, or items broken between on a narrow terminal
Fact = tuple[str, Content | Sequence[Content]]


class Facts(ByWidth):
    """Labelled lines, the labels right-aligned in a column of `label_width`. A value too long for
    its line wraps under itself (a hanging indent), never back under the labels; a value given as
    items is broken between them (joined by " · "), an item split only when it alone is too wide."""

    DEFAULT_CSS = """
    Facts { height: auto; }
    """

    def __init__(self, label_width: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.label_width = label_width
        self._facts: list[Fact] = []

    def show(self, facts: Sequence[Fact]) -> None:
        self._facts = list(facts)
        self.refresh(layout=True)

    def at_width(self, width: int) -> Content:
        indent = self.label_width + 1
        room = max(1, width - indent)
        lines: list[Content] = []
        for label, value in self._facts:
            parts = filled(value, room) if isinstance(value, Sequence) else value.wrap(room)
            label_cell = Content.styled(f"{label:>{self.label_width}} ", "$foreground-muted")
            for index, part in enumerate(parts or [Content("")]):
                lines.append(Content.assemble(label_cell if index == 0 else " " * indent, part))
        return Content("\n").join(lines)


class Items(ByWidth):
    """Items joined by a dot on one line, or on more in a narrow terminal, each line broken
    between two items, never inside one (unless it alone is too wide)."""

    DEFAULT_CSS = """
    Items { height: auto; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._items: list[Content] = []

    def show(self, items: Sequence[Content]) -> None:
        self._items = list(items)
        self.refresh(layout=True)

    def at_width(self, width: int) -> Content:
        return Content("\n").join(filled(self._items, max(1, width)))


SEPARATOR = Content.styled("  ·  ", "$foreground-muted")  # between two items of a line


def filled(items: Sequence[Content], width: int, *, between: Content = SEPARATOR,
           ending: Content | None = None) -> list[Content]:
    """`items` joined by `between` on lines of `width` cells, each line broken between two items
    and, when `ending` is given, ending with it (the room for it kept); an item is split only
    when it alone is wider than a line."""
    lines: list[Content] = []
    line: Content | None = None
    for index, item in enumerate(items):
        after = ending.cell_length if ending is not None and index < len(items) - 1 else 0
        if line is not None and line.cell_length + between.cell_length + item.cell_length + after <= width:
            line = Content.assemble(line, between, item)
            continue
        if line is not None:
            lines.append(Content.assemble(line, ending) if ending is not None else line)
        *whole, line = item.wrap(max(1, width - after)) or [Content("")]
        lines.extend(whole)
    if line is not None:
        lines.append(line)
    return lines
