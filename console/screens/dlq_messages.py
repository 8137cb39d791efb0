"""One failure group's dead letters (or one queue's), newest first, a page at a time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from console.messages import DeadLettersLoaded
from console.safe_text import inert_line
from console.screens.actions import ChangingActions
from console.screens.base import DataScreen
from console.screens.dlq_message import DeadLetterScreen
from console.screens.journey import JourneyScreen
from console.screens.replay_modal import ReplaySelection
from console.widgets.safe import page_range, plain, when
from console.widgets.table import Col, Row, RowsTable
from console.workers import Fetch
from queries import dlq

COLUMNS = (Col("dead letter", "id", 26), Col("queue", "queue", 20, spare=3),
           Col("reason", "reason", 15, spare=4), Col("deaths", "deaths", 6, spare=2),
           Col("order", "order", 14), Col("status", "status", 9, spare=1),
           Col("last death", "last", 14), Col("error", "error"))


class DeadLettersScreen(ChangingActions, DataScreen):
    """The messages of one failure group; enter shows one whole, o opens its order."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open_order", "order", id="dlq.order"),
        Binding("right_square_bracket", "page(1)", "next page", key_display="]", id="dlq.next"),
        Binding("left_square_bracket", "page(-1)", "previous", key_display="[", show=False, id="dlq.previous"),
        *ChangingActions.CHANGING_BINDINGS,
        ChangingActions.DISCARD_BINDING,
    ]
    LABEL = "Dead letters of one group"
    HELP = ("The dead letters of one failure group, newest first, 200 a page ([ and ] turn pages). "
            "Enter shows the message whole (headers, decoded body, history); o opens its order. "
            "R (on-call) replays the group's dead letters after a dry run that you confirm; M reroutes "
            "them to another exchange/key, queue or URL the same way. D discards the highlighted dead "
            "letter (archived with the reason you give; the broker copy stays unless you tick the box).")

    def __init__(self, group: str, statuses: list[str] | None = None) -> None:
        super().__init__()
        self.group = group
        self.statuses = statuses or ["dead"]

    def compose_body(self) -> Iterable[Widget]:
        with Vertical(id="body"):
            yield Static(id="heading", classes="heading")
            yield Static(id="status", classes="status")
            yield RowsTable(id="messages")

    def fetcher(self) -> Fetch:
        group, statuses, offset = self.group, self.statuses, self.page_offset
        return lambda cursor: DeadLettersLoaded(
            page=dlq.page(cursor, statuses=statuses, group=group, offset=offset, limit=dlq.PAGE))

    def show(self, message: Any) -> None:
        tones, redactor = self.tones, self.redactor
        self.query_one("#heading", Static).update(Content.assemble(
            ("Dead letters", "bold"), ("  ›  group ", "$foreground-muted"), redactor.ident_content(self.group),
            (f"  ·  status {', '.join(self.statuses)}", "$foreground-muted")))
        self.query_one("#messages", RowsTable).show(COLUMNS, [Row(row.id, (
            redactor.ident(row.id, tones("text-primary")), redactor.ident(row.queue), redactor.line(row.reason),
            plain(row.count), redactor.ident(row.order_id), tones.status(row.status),
            plain(when(row.last_death_at)), redactor.line(row.error_text))) for row in message.page.messages])
        self.refresh_status()

    def refresh_status(self) -> None:
        if not isinstance(self.last, DeadLettersLoaded) or self.last.page is None:
            return
        page = self.last.page
        table = self.query_one("#messages", RowsTable)
        text = f"{page_range(page.offset, len(page.messages), page.total)} messages, newest first"
        text += table.filter_note
        self.query_one("#status", Static).update(Content(inert_line(text)))

    def _current(self) -> dlq.DeadLetterRow | None:
        if not isinstance(self.last, DeadLettersLoaded) or self.last.page is None:
            return None
        key = self.query_one("#messages", RowsTable).current_key
        return next((row for row in self.last.page.messages if row.id == key), None)

    def action_open_order(self) -> None:
        row = self._current()
        if row is None or not row.order_id:
            self.notify("this dead letter names no order", markup=False)
            return
        self.backroom.open(JourneyScreen(row.order_id))

    def rows_total(self) -> int:
        return self.last.page.total if isinstance(self.last, DeadLettersLoaded) and self.last.page else 0

    @on(RowsTable.RowSelected, "#messages")
    def _chosen(self, event: RowsTable.RowSelected) -> None:
        if event.key:
            self.backroom.open(DeadLetterScreen(event.key))

    def replay_selection(self) -> ReplaySelection | None:
        """The whole group this screen lists (its dead ones), not only the highlighted row."""
        return ReplaySelection(group=self.group, label=f"group {self.group}")

    def discard_selection(self) -> ReplaySelection | None:
        """The highlighted dead letter only: discarding is one message at a time here."""
        row = self._current()
        return ReplaySelection(keys=[row.id], label=f"dead letter {row.id}") if row else None
