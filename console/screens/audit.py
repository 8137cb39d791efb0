"""Audit: every action anyone took (replay, reroute, edit, discard): who, when, what, where to, outcome."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import orjson
from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from console.messages import AuditLoaded
from console.safe_text import inert_line
from console.screens.base import DataScreen
from console.widgets.safe import page_range, plain, when
from console.widgets.table import Col, Row, RowsTable
from console.workers import Fetch
from queries import audit

COLUMNS = (Col("at", "at", 14), Col("who", "who", 18, spare=4), Col("action", "action", 9),
           Col("messages", "count", 8, spare=3), Col("target", "target", 28),
           Col("dry run", "dry", 7, spare=2), Col("outcome", "outcome", 12),
           Col("trace", "trace", 34, spare=1))
EMPTY = "No actions yet: each replay, reroute, edit and discard leaves a row here."


class AuditScreen(DataScreen):
    """The actions trail, newest first, 200 a page; the highlighted action's details below."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("right_square_bracket", "page(1)", "next page", key_display="]", id="audit.next"),
        Binding("left_square_bracket", "page(-1)", "previous", key_display="[", show=False, id="audit.previous"),
    ]
    LABEL = "Audit trail"
    ENTER = "into the action's panel below, to scroll it (tab comes back)"
    HELP = ("Every action taken through backroom, newest first: who, when, what, on how many "
            "messages, where to, dry run or not, how it ended, and the trace id of a replay.")

    def compose_body(self) -> Iterable[Widget]:
        with Vertical(id="body"):
            yield Static(Content.styled("Audit trail", "bold"), classes="heading")
            yield Static(id="status", classes="status")
            yield RowsTable(id="actions")
            with VerticalScroll(classes="panel", id="detail-panel"):
                yield Static(id="detail")

    def on_mount(self) -> None:
        self.query_one("#detail-panel").border_title = "Action"

    def fetcher(self) -> Fetch:
        offset = self.page_offset
        return lambda cursor: AuditLoaded(actions=audit.trail(cursor, offset=offset, limit=audit.PAGE),
                                          offset=offset, page_size=audit.PAGE)

    def show(self, message: Any) -> None:
        tones, redactor = self.tones, self.redactor
        self.query_one("#actions", RowsTable).show(COLUMNS, [Row(action.action_id, (
            plain(when(action.at)), redactor.line(action.who), redactor.line(action.action),
            plain(len(action.message_ids)), redactor.line(action.target), plain("yes" if action.dry_run else "no"),
            tones.status(action.outcome), redactor.ident(action.trace_id))) for action in message.actions])
        self.refresh_status()
        self._detail()

    def refresh_status(self) -> None:
        if not isinstance(self.last, AuditLoaded):
            return
        shown, full = len(self.last.actions), len(self.last.actions) == self.last.page_size
        total = None if full else self.last.offset + shown
        text = f"{page_range(self.last.offset, shown, total)} actions, newest first" if shown else EMPTY
        text += self.query_one("#actions", RowsTable).filter_note
        self.query_one("#status", Static).update(Content(inert_line(text)))

    def _detail(self) -> None:
        if not isinstance(self.last, AuditLoaded):
            return
        key = self.query_one("#actions", RowsTable).current_key
        action = next((a for a in self.last.actions if a.action_id == key), None)
        if action is None:
            self.query_one("#detail", Static).update(Content.styled("nothing selected", "$foreground-muted"))
            return
        detail = orjson.dumps(action.detail, option=orjson.OPT_INDENT_2).decode() if action.detail else "–"
        self.query_one("#detail", Static).update(Content.assemble(
            ("messages ", "$foreground-muted"), self.redactor.content(", ".join(action.message_ids)), "\n",
            ("detail ", "$foreground-muted"), self.redactor.block(detail)))

    @on(RowsTable.RowSelected, "#actions")
    def _chosen(self, _event: RowsTable.RowSelected) -> None:
        self.query_one("#detail-panel").focus()

    @on(RowsTable.RowHighlighted, "#actions")
    def _highlighted(self, _event: RowsTable.RowHighlighted) -> None:
        self._detail()

    def rows_total(self) -> int:
        """The trail has no count: a full page means there may be another."""
        if not isinstance(self.last, AuditLoaded):
            return 0
        shown = len(self.last.actions)
        return self.last.offset + shown + (1 if shown == self.last.page_size else 0)
