"""The bottom line: the keys that work on this screen now, drawn as one widget.

Textual's Footer mounts a widget per key and rebuilds them all whenever the bindings change
(every screen switch, every focus change); on a 2-core machine that was the largest single cost
of opening a journey. This draws the same keys as one line of text, recomputed on render.
"""

from __future__ import annotations

from textual import events
from textual.content import Content
from textual.screen import Screen
from textual.style import Style
from textual.widget import Widget


class KeyBar(Widget):
    """Key and description for every shown binding of the focused chain; disabled ones dimmed."""

    DEFAULT_CSS = """
    KeyBar { height: 1; width: 1fr; background: $footer-background; }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, _screen: Screen[object]) -> None:
        self.refresh()

    def render(self) -> Content:
        app, parts = self.app, []
        shown: set[str] = set()
        palette = None
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            if binding.key == app.COMMAND_PALETTE_BINDING and app.ENABLE_COMMAND_PALETTE:
                palette = binding
            if not binding.show or binding.action in shown:
                continue
            shown.add(binding.action)
            click = Style.from_meta({"key": binding.key})
            key_style = "bold $footer-key-foreground" if enabled else "$footer-key-foreground 50%"
            text_style = "$footer-description-foreground" if enabled else "$text-disabled"
            parts += [(f" {app.get_key_display(binding)} ", click + Style.parse(key_style)),
                      (f"{binding.description} ", click + Style.parse(text_style))]
        left = Content.assemble(*parts)
        if palette is None:
            return left
        right = Content.assemble((f" {app.get_key_display(palette)} ", "bold $footer-key-foreground"),
                                 ("palette ", "$footer-description-foreground"))
        gap = self.size.width - left.cell_length - right.cell_length
        return left if gap < 1 else Content.assemble(left, " " * gap, right)

    def on_click(self, event: events.Click) -> None:
        """A click on a key does what pressing it does."""
        key = event.style.meta.get("key") if event.style else None
        if isinstance(key, str):
            self.app.simulate_key(key)  # posts the key: not awaitable
