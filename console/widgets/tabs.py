"""A one-widget tab strip: the labels, and a rule under them marking the one shown.

Textual's TabbedContent is thirteen widgets for three tabs (tabs, a scroller, an underline, a
switcher, a pane around each child); on the 2.5M-order store it was about a third of a journey's
first layout and paint, which ran as one UI-thread step of 80 ms. The screens pair this strip with
a ContentSwitcher over their panes and switch with letter keys or a click on a label.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual import events
from textual.content import Content
from textual.message import Message
from textual.widget import Widget


class TabStrip(Widget):
    """Labels in a row (` Timeline 5   Spans 18 `…), the active one bright and underlined."""

    DEFAULT_CSS = """
    TabStrip { height: 2; width: 1fr; }
    """

    class Chosen(Message):
        """A label was clicked: the screen shows that pane."""

        def __init__(self, strip: TabStrip, pane: str) -> None:
            super().__init__()
            self.strip, self.pane = strip, pane

        @property
        def control(self) -> TabStrip:
            return self.strip

    def __init__(self, tabs: Sequence[tuple[str, str]], *, active: str | None = None,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self._labels = dict(tabs)  # pane id -> label, in order
        self._active = active or next(iter(self._labels))

    @property
    def active(self) -> str:
        return self._active

    @active.setter
    def active(self, pane: str) -> None:
        if pane in self._labels and pane != self._active:
            self._active = pane
            self.refresh()

    def set_label(self, pane: str, label: str) -> None:
        if self._labels.get(pane) != label:
            self._labels[pane] = label
            self.refresh()

    def _spans(self) -> list[tuple[str, int, int]]:
        """Each pane with the cells its label takes (a space either side, one space between)."""
        spans, x = [], 1
        for pane, label in self._labels.items():
            width = len(label) + 2
            spans.append((pane, x, x + width))
            x += width + 1
        return spans

    def render(self) -> Content:
        labels: list[tuple[str, str] | str] = [" "]
        rule: list[tuple[str, str]] = [("━", "$panel-lighten-2")]
        for pane, start, end in self._spans():
            shown = pane == self._active
            labels += [(f" {self._labels[pane]} ", "bold $foreground" if shown else "$foreground-muted"), " "]
            rule += [("━" * (end - start), "$primary" if shown else "$panel-lighten-2"),
                     ("━", "$panel-lighten-2")]
        tail = max(0, self.size.width - sum(end - start + 1 for _, start, end in self._spans()) - 1)
        rule.append(("━" * tail, "$panel-lighten-2"))
        return Content.assemble(*labels, "\n", *rule)

    def on_click(self, event: events.Click) -> None:
        for pane, start, end in self._spans():
            if start <= event.x < end:
                self.post_message(self.Chosen(self, pane))
                return
