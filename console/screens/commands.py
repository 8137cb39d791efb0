"""The commands behind ':' and the command palette: one table, each entry calling one app action."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content

from console.safe_text import inert_line

if TYPE_CHECKING:
    from console.app import BackroomApp


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]  # the first is the name; the rest are aliases
    title: str  # what the palette shows
    help: str
    run: Callable[[BackroomApp, str], object]
    argument: str = ""  # e.g. "KEY": required; "[ID]": optional; "": none

    @property
    def usage(self) -> str:
        return f":{self.words[0]}" + (f" {self.argument}" if self.argument else "")

    @property
    def needs_argument(self) -> bool:
        return bool(self.argument) and not self.argument.startswith("[")


def _screen(name: str) -> Callable[[BackroomApp, str], object]:
    return lambda app, _argument: app.action_show_screen(name)


COMMANDS: tuple[Command, ...] = (
    Command(("overview", "home"), "Overview", "KPIs, worst SLA rules and failure groups", _screen("overview")),
    Command(("orders",), "Orders", "search orders and open their journeys", _screen("orders")),
    Command(("order", "o"), "Open an order…", "the journey of an order id, #name, email, trace or message id",
            lambda app, key: app.action_open_order(key), "KEY"),
    Command(("search", "s"), "Search orders…", "orders matching an id, #name, email, SKU or store",
            lambda app, text: app.action_search(text), "TEXT"),
    Command(("sla",), "SLA breaches", "breaches by rule, open and closed", _screen("sla")),
    Command(("inventory", "lag", "inv"), "Inventory lag", "lag per store, system and SKU", _screen("inventory")),
    Command(("dlq", "deadletters"), "Dead letters", "failure groups; with an id, that dead letter",
            lambda app, key: app.action_open_message(key) if key else app.action_show_screen("dlq"), "[ID]"),
    Command(("message", "msg"), "Open a dead letter…", "one dead letter by id or message id",
            lambda app, key: app.action_open_message(key), "ID"),
    Command(("audit",), "Audit trail", "every action: who, when, what, outcome", _screen("audit")),
    Command(("rejects", "quarantine"), "Rejects", "input records quarantined: file, line, reason",
            _screen("rejects")),
    Command(("help", "keys"), "Keys of this screen", "what each key does here", lambda app, _: app.action_help()),
    Command(("refresh",), "Refresh now", "run this screen's query again", lambda app, _: app.action_refresh()),
    Command(("live",), "Live refresh on/off", "refresh every few seconds while new data arrives",
            lambda app, _: app.action_toggle_live()),
    Command(("theme",), "Theme…", "switch theme, e.g. textual-light or textual-dark",
            lambda app, name: app.action_set_theme(name), "NAME"),
    Command(("quit", "q"), "Quit", "leave backroom", lambda app, _: app.exit()),
)


def parse(text: str) -> tuple[Command, str] | str:
    """The command and its argument, or a one-line reason why not."""
    word, _, argument = text.strip().lstrip(":").partition(" ")
    argument = argument.strip()
    if not word:
        return "type a command, e.g. :dlq or :order 1042 (:help lists them)"
    for command in COMMANDS:
        if word.lower() in command.words:
            if command.needs_argument and not argument:
                return f"{command.usage} needs {command.argument}"
            return command, argument
    return f"unknown command :{inert_line(word)} (:help lists the commands)"


class BackroomCommands(Provider):
    """The palette offers the same commands as ':' (and runs 'order 1042' typed into it)."""

    @property
    def _app(self) -> BackroomApp:
        return cast("BackroomApp", self.app)

    def _runner(self, command: Command, argument: str) -> Callable[[], object]:
        if command.needs_argument and not argument:
            return partial(self._app.action_command_line, f"{command.words[0]} ")
        return partial(command.run, self._app, argument)

    async def discover(self) -> Hits:
        for command in COMMANDS:
            yield DiscoveryHit(command.title, self._runner(command, ""), help=command.help)

    async def search(self, query: str) -> Hits:
        parsed = parse(query)
        if isinstance(parsed, tuple) and parsed[1]:
            command, argument = parsed
            shown = Content(f"{command.usage.split()[0]} {inert_line(argument)}")
            yield Hit(1.0, shown, self._runner(command, argument), text=shown.plain, help=command.help)
        matcher = self.matcher(query)
        for command in COMMANDS:
            score = matcher.match(f"{command.title} {command.words[0]}")
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), self._runner(command, ""),
                          text=command.title, help=command.help)
