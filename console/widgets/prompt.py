"""The line at the bottom, k9s style: ':' runs a command, '/' filters the table, others ask for a value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Input, Label


class Prompt(Horizontal):
    """Hidden until opened; reports what was typed and closes on enter or escape."""

    DEFAULT_CSS = """
    Prompt { height: 1; display: none; }
    Prompt.-open { display: block; }
    Prompt > Label { width: auto; }
    Prompt > Input { width: 1fr; height: 1; border: none; padding: 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "close", id="prompt.close")]

    @dataclass
    class Changed(Message):
        """The text of a filter prompt changed (filters apply as you type)."""

        kind: str
        value: str

    @dataclass
    class Submitted(Message):
        kind: str
        value: str

    @dataclass
    class Closed(Message):
        """Escape: the prompt closed without submitting."""

        kind: str

    def __init__(self, commands: list[str]) -> None:
        super().__init__(id="prompt")
        self.kind = ""
        self._commands = commands

    def compose(self) -> ComposeResult:
        yield Label("", id="prompt-label")
        yield Input(id="prompt-input", compact=True, select_on_focus=False)

    def open(self, kind: str, label: str, value: str = "") -> None:
        """Show the prompt for `kind` (command, filter, or a screen's own question)."""
        self.kind = kind
        self.query_one(Label).update(label)
        entry = self.query_one(Input)
        entry.suggester = SuggestFromList(self._commands) if kind == "command" else None
        entry.value = value
        entry.cursor_position = len(value)
        self.add_class("-open")
        # focus now, not after a refresh: keys typed right after ':' are already queued behind it
        self.screen.set_focus(entry)

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def close(self) -> None:
        self.remove_class("-open")

    def action_close(self) -> None:
        kind = self.kind
        self.close()
        self.post_message(self.Closed(kind))

    @on(Input.Changed, "#prompt-input")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.is_open:
            self.post_message(self.Changed(self.kind, event.value))

    @on(Input.Submitted, "#prompt-input")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        kind = self.kind
        self.close()
        self.post_message(self.Submitted(kind, event.value))
