"""What every screen shares: the chrome, '/' filter and esc; and for data screens, queries in workers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, Static, TextArea

from console.messages import Loaded, QueryFailed
from console.safe_text import inert_line
from console.screens.commands import COMMANDS
from console.widgets.keybar import KeyBar
from console.widgets.prompt import Prompt
from console.widgets.safe import Redactor, Tones
from console.widgets.table import RowsTable
from console.widgets.titlebar import TitleBar
from console.workers import LIVE_BACKOFF, Context, Fetch, Running, run_query
from queries import Store

if TYPE_CHECKING:
    from console.app import BackroomApp

LOADING_AFTER = 0.4  # seconds: a query quicker than this shows no spinner (live refreshes stay calm)


def takes_text(widget: Widget | None) -> bool:
    """A text box has the keyboard: what is typed there is text, not a command key."""
    return isinstance(widget, (Input, TextArea))


class BackroomScreen(Screen[None]):
    """Title bar, one-line notice, the body, the prompt and the footer; esc goes back, '/' filters."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "go_back", "back", id="screen.back"),
        Binding("slash", "filter", "filter", key_display="/", priority=True, id="screen.filter"),  # see app
    ]
    LABEL = ""  # the screen's name in the help
    HELP = ""  # one paragraph: what this screen shows (for '?')
    ENTER = "open the highlighted row"  # what enter does on the screen's table (for '?')
    as_of: datetime | None = None
    _filtering: RowsTable | None = None  # the table the '/' prompt is filtering
    _focus_before: Widget | None = None  # where focus goes back to when the prompt closes
    _suspended_once = False  # covered or switched away from at least once (see _on_screen_resume)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._preset_breakpoints()

    def _preset_breakpoints(self) -> None:
        """Start with the breakpoint classes (-wide, -tall…) the terminal's size gives: Textual sets
        them on the first resize, and a change of classes restyles every node of the screen, on the
        UI thread, inside the step that first lays it out."""
        try:
            width, height = self.app.size
        except Exception:  # noqa: BLE001 (no running app: Textual sets them when it resizes)
            return
        app = self.app
        for dimension, breakpoints in ((width, app.HORIZONTAL_BREAKPOINTS or []),
                                       (height, app.VERTICAL_BREAKPOINTS or [])):
            for name in self._get_breakpoint_classes(dimension, breakpoints):
                self.add_class(name, update=False)

    @property
    def backroom(self) -> BackroomApp:
        return cast("BackroomApp", self.app)

    @property
    def context(self) -> Context:
        return self.backroom.context

    @property
    def redactor(self) -> Redactor:
        return self.backroom.redactor

    @property
    def tones(self) -> Tones:
        return self.backroom.tones

    def compose(self) -> ComposeResult:
        yield TitleBar()
        yield Static(id="notice")
        yield from self.compose_body()
        yield Prompt([command.words[0] for command in COMMANDS])
        yield KeyBar()

    def compose_body(self) -> Iterable[Widget]:
        return ()

    def _on_screen_resume(self, event: events.ScreenResume) -> None:
        """Runs before Textual's own handler (which Textual calls next): Textual restyles every
        node of a screen each time it is resumed, but a screen not suspended since it was styled
        as it mounted (a new drill-down; a new mode's screen, which is resumed twice on its first
        visit) has nothing to restyle: about 20 ms of the UI thread each. After a suspension,
        Textual's restyle runs as before."""
        if not self._suspended_once:
            event.refresh_styles = False

    def _on_screen_suspend(self) -> None:
        self._suspended_once = True

    @on(events.Mount)
    def _follow_theme(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.retheme())

    def notice(self, text: str) -> None:
        """One line under the title (a busy or missing store, nothing found), never a traceback."""
        note = self.query_one("#notice", Static)
        note.update(Content(inert_line(text)))
        note.add_class("-shown")

    def clear_notice(self) -> None:
        self.query_one("#notice", Static).remove_class("-shown")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter":  # a priority binding (see the app's): '/' in a text box is text
            return not takes_text(self.focused)
        return True

    def open_prompt(self, kind: str, label: str, value: str = "") -> None:
        self._focus_before = self.focused
        self.query_one(Prompt).open(kind, label, value)

    def filter_target(self) -> RowsTable | None:
        """The table '/' filters: the focused one, else the first on the screen."""
        if isinstance(self.focused, RowsTable):
            return self.focused
        return next(iter(self.query(RowsTable).results()), None)

    def action_filter(self) -> None:
        target = self.filter_target()
        if target is None:
            self.notify("nothing to filter on this screen", markup=False)
            return
        self._filtering = target
        self.open_prompt("filter", "/", target.filter_text)

    def action_go_back(self) -> None:
        """First stop opening a drill-down, leave a text box, clear a filter; then leave this screen."""
        if self.backroom.cancel_opening():
            return
        if isinstance(self.focused, Input) and not isinstance(self.focused.parent, Prompt):
            target = self.filter_target()
            if target is not None:
                target.focus()
                return
        for table in self.query(RowsTable).results():
            if table.filter_text:
                table.set_filter("")
                self.refresh_status()
                return
        self.backroom.action_go_back()

    def refresh_status(self) -> None:
        """Screens that show '1–200 of 4,811' and the filter update that line here."""

    def answer(self, kind: str, value: str) -> None:
        """A screen's own question in the prompt was answered (e.g. a store to filter by)."""

    @on(Prompt.Changed)
    def _prompt_changed(self, event: Prompt.Changed) -> None:
        if event.kind == "filter" and self._filtering is not None:
            self._filtering.set_filter(event.value)
            self.refresh_status()

    @on(Prompt.Submitted)
    def _prompt_submitted(self, event: Prompt.Submitted) -> None:
        self._restore_focus()
        if event.kind == "command":
            self.backroom.run_command(event.value)
        elif event.kind != "filter":
            self.answer(event.kind, event.value.strip())

    @on(Prompt.Closed)
    def _prompt_closed(self, event: Prompt.Closed) -> None:
        if event.kind == "filter" and self._filtering is not None:
            self._filtering.set_filter("")
            self.refresh_status()
        self._restore_focus()

    def _restore_focus(self) -> None:
        before = self._focus_before
        if before is not None and before.is_attached and not isinstance(before.parent, Prompt):
            before.focus()
        else:
            self.focus_next()

    def retheme(self) -> None:
        """The theme changed: redraw what carries colours resolved from the old one."""


class DataScreen(BackroomScreen):
    """A screen fed by one query: run in a thread worker, shown on its message, refreshed live."""

    PAGE_SIZE = 200

    def __init__(self) -> None:
        super().__init__()
        self.page_offset = 0
        self.last: Loaded | None = None
        self._in_flight: Running | None = None
        self._spinner: Timer | None = None
        self._live: Timer | None = None
        self._stale = False
        self._held = 0.0  # how long the last answer's query held the store
        self.live_interval: float | None = None  # seconds to the live refresh armed last

    def fetcher(self) -> Fetch | None:
        """Built on the UI thread from the screen's state; runs in the worker. None: nothing to ask."""
        return None

    def show(self, message: Any) -> None:
        """Put a result on screen (UI thread)."""

    def rows_total(self) -> int:
        """How many rows the whole answer has (for '[' and ']'); screens that page say so."""
        return 0

    def turn_page(self) -> None:
        """Show the page at `page_offset` (by default: ask again)."""
        self.reload()

    def _page_target(self, step: int) -> int | None:
        offset = self.page_offset + step * self.PAGE_SIZE
        return offset if 0 <= offset < self.rows_total() else None

    def action_page(self, step: int) -> None:
        """'[' and ']': the previous or next page, never more than one page in a table."""
        offset = self._page_target(step)
        if offset is not None:
            self.page_offset = offset
            self.turn_page()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "page":
            step = parameters[0] if parameters and isinstance(parameters[0], int) else 1
            return True if self._page_target(step) is not None else None  # None: shown, dimmed
        return super().check_action(action, parameters)

    def busy_target(self) -> Widget:
        return self.query_one("#body")

    @property
    def is_loading(self) -> bool:
        return self._in_flight is not None

    def reload(self) -> None:
        """Ask again now; a query still running is interrupted and its answer dropped."""
        previous = self._in_flight
        asked = self.begin_query()
        if asked is None:
            return
        if previous is not None:
            previous.interrupt()
        if self._live is not None:
            self._live.stop()
        if self._spinner is None:
            self._spinner = self.set_timer(LOADING_AFTER, self._show_spinner)
        self._query(self.context.store, *asked, type(self).__name__)

    def begin_query(self) -> tuple[Fetch, Running] | None:
        """Start a question: what to run and its handle, now in flight (None: nothing to ask).
        `reload` runs it here; `BackroomApp.open` runs it before the screen is shown."""
        fetch = self.fetcher()
        if fetch is None:
            return None
        self._in_flight = running = Running()
        self.as_of = self.context.now()
        return fetch, running

    @work(thread=True, exclusive=True, exit_on_error=False, group="query")
    def _query(self, store: Store, fetch: Fetch, running: Running, screen: str) -> None:
        message = run_query(store, fetch, running, screen)
        if not running.cancelled:
            self.post_message(message)

    def _show_spinner(self) -> None:
        self._spinner = None
        if self._in_flight is not None:
            self.busy_target().loading = True

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if self._in_flight is None or message.query_id != self._in_flight.query_id:
            return  # an answer to a question no longer asked
        self._in_flight = None
        self._held = message.seconds
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None
        self.busy_target().loading = False
        self._refocus(first=self.last is None)
        if isinstance(message, QueryFailed):
            self.notice(message.reason)
        else:
            self.clear_notice()
            self.last = message
            self.show(message)
        self.query_one(TitleBar).refresh()
        self.refresh_bindings()
        self._arm_live()

    def _refocus(self, first: bool) -> None:
        """Focus what AUTO_FOCUS names once the first answer is in (and whenever the spinner took it)."""
        if not self.is_current or isinstance(self.focused, Input):
            return  # never take the keyboard from someone typing
        if self.focused is not None and not first:
            return
        for widget in self.query(self.AUTO_FOCUS or "*").results():
            if widget.focusable:
                widget.focus()
                return

    def _arm_live(self) -> None:
        """Re-armed only after the last refresh finished, so refreshes never stack; and no sooner
        than LIVE_BACKOFF times as long as that one held the store, so a slow screen on a large
        store leaves it to the collectors most of the time."""
        seconds = self.context.live_seconds
        if seconds and self.backroom.live:
            self.live_interval = max(seconds, LIVE_BACKOFF * self._held)
            self._live = self.set_timer(self.live_interval, self._live_tick)

    def _live_tick(self) -> None:
        self._live = None
        if self.is_current and self.backroom.live:
            self.reload()
        else:
            self._stale = True

    def on_screen_resume(self) -> None:
        if not self.is_current:
            self._stale = True  # covered already (a journey opened on top): ask when it is back
            return
        if self._in_flight is not None and self._spinner is None:
            self._spinner = self.set_timer(LOADING_AFTER, self._show_spinner)  # asked before shown
        # Without live refresh, coming back to a screen asks again; being shown the first time is
        # not coming back (it has just answered, or is asking).
        if self.last is None or self._stale or (self._live is None and self._suspended_once):
            self._stale = False
            if self._in_flight is None:
                self.reload()

    def on_screen_suspend(self) -> None:
        """A screen put away (another mode, a drill-down on top) drops its question: the query
        would only take the cores from the screen being drawn now. It asks again when back."""
        if self._in_flight is None:
            return
        self._in_flight.interrupt()
        self._in_flight = None
        self._stale = True
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None
        self.busy_target().loading = False

    def on_unmount(self) -> None:
        if self._in_flight is not None:
            self._in_flight.interrupt()

    def retheme(self) -> None:
        if self.last is not None:
            self.show(self.last)
