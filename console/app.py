"""The backroom console: seven screens over queries/, keyboard first, built by one factory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.widget import AwaitMount, Widget

from console.idle_gc import CHECK_SECONDS, IdleCollector
from console.messages import Loaded
from console.screens import commands
from console.screens.audit import AuditScreen
from console.screens.base import BackroomScreen, DataScreen, takes_text
from console.screens.dlq import FailureGroupsScreen
from console.screens.dlq_message import DeadLetterScreen
from console.screens.help import HelpScreen
from console.screens.inventory import InventoryScreen
from console.screens.journey import JourneyScreen
from console.screens.orders import OrdersScreen
from console.screens.overview import OverviewScreen
from console.screens.rejects import RejectsScreen
from console.screens.sla import SlaScreen
from console.terminal import HUNG_UP, hung_up, terminal_fd
from console.widgets.loading import CalmLoading
from console.widgets.safe import Redactor, Tones
from console.widgets.titlebar import SCREENS, TitleBar
from console.workers import LIVE_SECONDS, Context, Running, run_query
from queries import Store, audit, policy
from queries.errors import BackroomError

SCREEN_NAMES = tuple(name for name, _label in SCREENS)
_TYPED_AHEAD = {"show_screen", "command_line", "help"}  # the app's priority bindings
# A drill-down whose first answer takes longer than this is shown without it, with its spinner.
PUSH_AFTER = 0.15


class ConsoleUsage(BackroomError):
    """The console was asked for a role or screen it does not have."""


@dataclass(frozen=True)
class Start:
    """Where the console opens: a screen, and maybe an order's journey or a dead letter on top."""

    screen: str = "overview"
    search: str | None = None
    message: str | None = None


class BackroomApp(App[None]):
    """The console. Build it with `create_app`."""

    TITLE = "backroom"
    CSS_PATH = "backroom.tcss"
    MODES: ClassVar = {"overview": OverviewScreen, "orders": OrdersScreen, "sla": SlaScreen,
                       "inventory": InventoryScreen, "dlq": FailureGroupsScreen, "audit": AuditScreen,
                       "rejects": RejectsScreen}
    COMMANDS = App.COMMANDS | {commands.BackroomCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-wide")]  # noqa: RUF012 (Textual reads them per class)
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: run when the key arrives, so that what is typed right after (':q⏎' at k9s
        # speed, over SSH) finds the prompt or screen open; non-priority bindings run only once
        # the key has bubbled up, after the keys behind it went to the old focus and were lost.
        *[Binding(str(index), f"show_screen('{name}')", name, show=False, priority=True,
                  id=f"screen.{name}") for index, name in enumerate(SCREEN_NAMES, start=1)],
        Binding("colon", "command_line", "command", key_display=":", priority=True, id="app.command"),
        Binding("question_mark", "help", "keys", key_display="?", priority=True, id="app.help"),
        Binding("ctrl+r", "refresh", "refresh", show=False, id="app.refresh"),
        Binding("L", "toggle_live", "live on/off", show=False, id="app.live"),
        Binding("U", "toggle_unmask", "unmask", show=False, id="app.unmask"),
    ]

    def __init__(self, context: Context, start: Start) -> None:
        super().__init__()
        self.context = context
        self.start = start
        self.redactor = Redactor(context.role)
        self.live = bool(context.live_seconds)
        self._history: list[str] = []
        self._tones: Tones | None = None
        self._parsed_variables: dict[str, str] | None = None
        self._opening: tuple[Running, Timer] | None = None
        self.collector = IdleCollector()  # full garbage collections wait for a pause (idle_gc.py)
        # No animations (the sliding tab underline, smooth scrolls): over SSH at 3 a.m. they cost
        # frames and hold the next key until they end; k9s has none either.
        self.animation_level = "none"

    @property
    def tones(self) -> Tones:
        if self._tones is None:
            self._tones = Tones(self.get_css_variables())
        return self._tones

    def on_mount(self) -> None:
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.switch_mode(self.start.screen)
        # Everything alive once the first screen is up (modules, the app, its stylesheet) lives as
        # long as the app: left to the collector, each full pass over it held the UI thread for
        # 0.1-0.2 s here. Frozen, later passes visit only what screens and queries allocate.
        self.call_after_refresh(self.collector.start)
        self.set_interval(CHECK_SECONDS, self._collect_when_calm, name="idle collector")
        if not self.is_headless and (fd := terminal_fd()) is not None:
            self.set_interval(1.0, partial(self._leave_if_hung_up, fd), name="terminal watch")
        if self.start.search:
            self.action_open_order(self.start.search)
        elif self.start.message:
            self.action_open_message(self.start.message)

    def refresh_css(self, animate: bool = True) -> None:
        """Textual calls this twice on a screen's first visit: it re-parses every stylesheet (~25 ms
        here) and restyles every node of the app, on the UI thread. Only new CSS variables (a theme)
        need either: a new screen is styled as it registers, and sources added since are parsed
        when styles are next applied. So with the variables unchanged, a stack of screens that
        were never restyled is only marked up to date; one styled before a theme change while it
        was away is restyled, without the re-parse."""
        variables = self.get_css_variables()
        if variables != self._parsed_variables:
            super().refresh_css(animate)
            self._parsed_variables = variables
            return
        current = self._css_update_count
        if all(screen._css_update_count in (-1, current) for screen in self.screen_stack):
            for screen in self.screen_stack:
                screen._css_update_count = current
            return
        stylesheet = self.stylesheet
        stylesheet.reparse = lambda: None  # type: ignore[method-assign]  # this call only
        try:
            super().refresh_css(animate)
        finally:
            del stylesheet.reparse

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.InputEvent):
            self.collector.touched()
        await super().on_event(event)

    def _collect_when_calm(self) -> None:
        self.collector.tick(busy=any(worker.is_running for worker in self.workers))

    def _leave_if_hung_up(self, fd: int) -> None:
        if hung_up(fd):  # console/terminal.py: no SIGHUP may come
            self.exit(return_code=HUNG_UP)

    def on_unmount(self) -> None:
        self.collector.stop()  # what the app held goes back to Python's collector as it closes

    def get_loading_widget(self) -> Widget:
        """The spinner shown over a screen while its query runs (see console/widgets/loading.py)."""
        return CalmLoading()

    def _theme_changed(self, _theme: object) -> None:
        self._tones = None  # screens subscribed after the app, so they redraw with the new tones

    def action_show_screen(self, name: str) -> AwaitMount | None:
        """Switch to one of the seven screens (1–7, ':' or the palette); esc comes back.

        A key's binding awaits what this returns (the screen mounted), so the keys typed behind
        '2' reach the orders screen's search box, not the screen that was left."""
        if name not in SCREEN_NAMES or name == self.current_mode:
            return None
        self._history.append(self.current_mode)
        return self.switch_mode(name)

    def action_go_back(self) -> None:
        """Leave a drill-down; at a screen's root, return to the screen you came from."""
        if len(self.screen_stack) > 1:
            self.pop_screen()
        elif self._history:
            self.switch_mode(self._history.pop())

    def _root_of(self, name: str) -> BackroomScreen:
        """Switch to a screen and close its drill-downs; returns its root screen."""
        self.action_show_screen(name)
        while len(self.screen_stack) > 1:
            self.pop_screen()
        return self.screen_stack[0]  # type: ignore[return-value]

    def open(self, screen: BackroomScreen) -> None:
        """Push a drill-down with its first answer already in it: asked first and pushed when
        answered, so it is laid out and painted once, with the data, and the query has the UI
        thread's share of the CPU; an answer slower than PUSH_AFTER follows the screen."""
        self.cancel_opening()
        first = screen.begin_query() if isinstance(screen, DataScreen) else None
        if first is None:
            self.push_screen(screen)
            return
        fetch, running = first
        pushed = False

        def push() -> None:
            nonlocal pushed
            if not pushed:
                pushed = True
                self._opening = None
                self.push_screen(screen)

        def answered(message: Loaded) -> None:
            if running.cancelled:
                return
            timer.stop()
            screen.post_message(message)  # the first thing the screen handles after it mounts
            push()

        def ask() -> None:
            message = run_query(self.context.store, fetch, running, type(screen).__name__)
            if not running.cancelled:  # handled by the app's own message loop (its context, its hooks)
                self.post_message(events.Callback(callback=partial(answered, message)))

        timer = self.set_timer(PUSH_AFTER, push)
        self._opening = (running, timer)
        self.run_worker(ask, thread=True, group="open", exit_on_error=False)

    def cancel_opening(self) -> bool:
        """Forget a drill-down asked for but not shown yet (esc, or another one opened): its query
        is interrupted and its answer dropped. Whether there was one."""
        if self._opening is None:
            return False
        running, timer = self._opening
        self._opening = None
        timer.stop()
        running.interrupt()
        return True

    def action_open_order(self, key: str) -> None:
        """The journey of the order a key names, on top of the orders screen searched for it."""
        # the search behind it runs when esc comes back to it, not while the journey loads
        self._root_of("orders").search_for(key, later=True)  # type: ignore[attr-defined]
        self.open(JourneyScreen(key))

    def action_search(self, text: str) -> None:
        self._root_of("orders").search_for(text)  # type: ignore[attr-defined]

    def action_open_message(self, key: str) -> None:
        """One dead letter, on top of the dead-letter screen."""
        self._root_of("dlq")
        self.open(DeadLetterScreen(key))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The screen and prompt keys are text in a text box, and belong to a dialog when one is up."""
        if action in _TYPED_AHEAD:
            return isinstance(self.screen, BackroomScreen) and not takes_text(self.focused)
        return True

    def action_command_line(self, value: str = "") -> None:
        if isinstance(self.screen, BackroomScreen):
            self.screen.open_prompt("command", ":", value)

    def action_help(self) -> None:
        if isinstance(self.screen, BackroomScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_refresh(self) -> None:
        reload = getattr(self.screen, "reload", None)
        if reload is not None:
            reload()

    def action_toggle_live(self) -> None:
        if not self.context.live_seconds:
            self.notify("live refresh is off for this session", markup=False)
            return
        self.live = not self.live
        self.notify("live refresh on" if self.live else "live refresh paused", markup=False)
        if self.live:
            self.action_refresh()
        for bar in self.screen.query(TitleBar).results():
            bar.refresh()

    def action_toggle_unmask(self) -> None:
        """Show or mask emails and phones again; on-call only, and every unmasking is audited."""
        if not self.redactor.may_unmask:
            self.notify("personal data stays masked for the support role", markup=False)
            return
        self.redactor.masks_personal = not self.redactor.masks_personal
        if not self.redactor.masks_personal:
            where = getattr(self.screen, "title", None) or self.current_mode
            self.run_worker(lambda: _audit_unmask(self.context.store, str(where)), thread=True,
                            group="audit", exit_on_error=False)
        self.notify("personal data masked" if self.redactor.masks_personal
                    else "personal data shown (audited)", markup=False)
        self.action_refresh()

    def action_set_theme(self, name: str) -> None:
        if name not in self.available_themes:
            self.notify(f"no theme named {name!r}; try textual-light or textual-dark", markup=False)
            return
        self.theme = name

    def run_command(self, text: str) -> None:
        """Run what was typed after ':'; an unknown command is one line, nothing else happens."""
        parsed = commands.parse(text)
        if isinstance(parsed, str):
            self.notify(parsed, severity="warning", markup=False)
            return
        command, argument = parsed
        command.run(self, argument)


def create_app(
    db: Path, *, role: str | None = None, screen: str | None = None, search: str | None = None,
    message: str | None = None, now: datetime | None = None, live: float | None = LIVE_SECONDS,
) -> BackroomApp:
    """The one factory for the CLI, the tests and the screenshot exporter; `now` freezes time."""
    rules = policy.load()
    chosen = role or rules.console.role
    if chosen not in ("oncall", "support"):
        raise ConsoleUsage(f"unknown role {chosen!r} (oncall or support)")
    if (screen or "overview") not in SCREEN_NAMES:
        raise ConsoleUsage(f"unknown screen {screen!r} (one of {', '.join(SCREEN_NAMES)})")
    context = Context(store=Store.at(db), policy=rules, role=chosen, frozen_now=now, live_seconds=live)
    start = Start(screen=screen or ("orders" if search else "dlq" if message else "overview"),
                  search=search, message=message)
    return BackroomApp(context, start)


def run_console(db: Path, *, role: str | None = None, screen: str | None = None,
                search: str | None = None, message: str | None = None) -> int:
    """Open the console in this terminal until the user quits (0) or the terminal hangs up (129)."""
    app = create_app(db, role=role, screen=screen, search=search, message=message)
    app.run()
    return app.return_code or 0


def _audit_unmask(store: Store, where: str) -> None:
    """An audit row for showing personal data unmasked (RELIABILITY.md T3)."""
    with store.writing() as cursor:
        audit.record(cursor, "unmask", [], where, dry_run=False, outcome="personal data shown")
