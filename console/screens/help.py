"""'?': the keys of the screen underneath, the keys that work everywhere, and the ':' commands."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from console.screens.commands import COMMANDS

EVERYWHERE = (("1–7", "overview, orders, sla, inventory, dead letters, audit, rejects"),
              (":", "command line (tab completes): :dlq, :order 1042, :search …"),
              ("/", "filter the table (!text inverts; esc clears)"), ("esc", "back"),
              ("?", "these keys"), ("ctrl+p", "command palette"), ("ctrl+r", "refresh now"),
              ("L", "live refresh on/off"), ("tab", "next pane"), ("ctrl+q", "quit"))
_GLOBAL_ACTIONS = {"show_screen", "command_line", "help", "refresh", "toggle_live", "go_back", "filter",
                   "quit", "command_palette", "focus_next", "focus_previous"}


def _section(title: str, rows: list[tuple[str, str]]) -> Content:
    lines = [Content.styled(title, "bold $text-accent")]
    lines += [Content.assemble((f"  {key:>13}  ", "bold $text-primary"), text) for key, text in rows]
    return Content("\n").join(lines)


class HelpScreen(ModalScreen[None]):
    """A modal over the screen it describes; esc, q or ? closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "dismiss", "close", id="help.close")]

    def __init__(self, under: Screen[None]) -> None:
        super().__init__()
        self.under = under

    def _screen_keys(self) -> list[tuple[str, str]]:
        rows = []
        for key, active in self.under.active_bindings.items():
            binding = active.binding
            action = binding.action.split("(")[0]
            if action in _GLOBAL_ACTIONS or active.node is self.app or not binding.id:
                continue  # app keys are listed under "Everywhere"; widgets' own keys are the usual ones
            state = "" if active.enabled else "  (not available now)"  # e.g. no next page
            rows.append((binding.key_display or key, binding.description + state))
        rows += [("enter", getattr(self.under, "ENTER", "open the highlighted row")),
                 ("↑ ↓ pgup pgdn", "move in the table")]
        return rows

    def compose(self) -> ComposeResult:
        name = getattr(self.under, "LABEL", "") or type(self.under).__name__.removesuffix("Screen")
        about = Content(getattr(self.under, "HELP", ""))
        commands = [(command.usage, command.help) for command in COMMANDS]
        with VerticalScroll(id="help"):
            yield Static(Content.assemble((f"{name}", "bold"), "\n", about), classes="help-about")
            yield Static(_section("Keys on this screen", self._screen_keys()))
            yield Static(_section("Everywhere", list(EVERYWHERE)))
            yield Static(_section("Commands", commands))

    def on_mount(self) -> None:
        self.query_one("#help").border_title = "Keys  (esc closes)"
