"""Dead letters: failure groups (one fingerprint each), largest first; enter lists a group's messages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from console.messages import GroupsLoaded
from console.screens.actions import ChangingActions
from console.screens.base import DataScreen
from console.screens.dlq_messages import DeadLettersScreen
from console.screens.replay_modal import ReplaySelection
from console.widgets.safe import counted, number, plain, when
from console.widgets.table import Col, Row, RowsTable
from console.workers import Fetch
from queries import dlq

_ALL = ["dead", "replayed", "rerouted", "discarded"]
STATUSES: dict[str, list[str]] = {"dead": ["dead"], "all": _ALL}
COLUMNS = (Col("group", "group", 17), Col("count", "count", 6), Col("orders", "orders", 6, spare=2),
           Col("reason", "reason", 15, spare=4), Col("queue", "queue", 20, spare=5),
           Col("died in", "origin", 16, spare=3), Col("first seen", "first", 14, spare=1),
           Col("last seen", "last", 14), Col("sample error", "error"))


class FailureGroupsScreen(ChangingActions, DataScreen):
    """Like failures together: how many, since when, where, and a sample of the error."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "toggle_statuses", "dead/all", id="dlq.statuses"),
        *ChangingActions.CHANGING_BINDINGS,
        ChangingActions.DISCARD_BINDING,
    ]
    LABEL = "Dead letters"
    HELP = ("Dead letters grouped by failure fingerprint (reason, original queue, normalised error). "
            "Enter lists a group's messages; a toggles between messages still dead and all of them. "
            "R (on-call) replays the highlighted group's dead letters after a dry run that you confirm; "
            "M reroutes them to another exchange/key, queue or URL the same way; D discards them (archived "
            "in the store with the reason you give; the broker copy stays unless you tick the box). "
            "Support sees none of these.")

    def __init__(self) -> None:
        super().__init__()
        self.statuses = "dead"

    def compose_body(self) -> Iterable[Widget]:
        with Vertical(id="body"):
            yield Static(id="heading", classes="heading")
            yield RowsTable(id="groups")
            with Vertical(classes="panel", id="preview-panel"):
                yield Static(id="preview")

    def on_mount(self) -> None:
        self.query_one("#preview-panel").border_title = "Sample error"

    def fetcher(self) -> Fetch:
        statuses = STATUSES[self.statuses]

        def fetch(cursor: Any) -> GroupsLoaded:
            found = dlq.groups(cursor, statuses=statuses)
            total = dlq.page(cursor, statuses=statuses, limit=0).total
            return GroupsLoaded(groups=found, messages=total)
        return fetch

    def show(self, message: Any) -> None:
        tones, redactor = self.tones, self.redactor
        self.query_one("#heading", Static).update(Content.assemble(
            ("Dead letters", "bold"),
            f"  {counted(len(message.groups), 'failure group')} · {counted(message.messages, 'message')}",
            (f"  ·  status {self.statuses}", "$foreground-muted")))
        self.query_one("#groups", RowsTable).show(COLUMNS, [Row(group.group or "", (
            redactor.ident(group.group, tones("text-primary")), number(group.count, tones("text-warning")),
            number(group.orders), redactor.line(group.reason), redactor.ident(group.queue),
            redactor.ident(group.original_queue), plain(when(group.first_seen)), plain(when(group.last_seen)),
            redactor.line(group.sample_error))) for group in message.groups])
        self._preview()

    def _preview(self) -> None:
        if not isinstance(self.last, GroupsLoaded):
            return
        key = self.query_one("#groups", RowsTable).current_key
        group = next((g for g in self.last.groups if g.group == key), None)
        # Where it failed, above the error: two groups of one error differ by their queue, which
        # the table leaves out first at 80 columns.
        self.query_one("#preview-panel").border_title = Content.assemble(
            "Sample error", *(() if group is None else (
                ("  ", ""), self.redactor.ident_content(group.queue, "bold"),
                ("  ·  ", "$foreground-muted"), self.redactor.content(group.reason))))
        self.query_one("#preview", Static).update(
            self.redactor.block(group.sample_error) if group and group.sample_error
            else Content.styled("no error text", "$foreground-muted"))

    @on(RowsTable.RowHighlighted, "#groups")
    def _highlighted(self, _event: RowsTable.RowHighlighted) -> None:
        self._preview()

    @on(RowsTable.RowSelected, "#groups")
    def _chosen(self, event: RowsTable.RowSelected) -> None:
        if event.key:
            self.backroom.open(DeadLettersScreen(event.key, STATUSES[self.statuses]))

    def action_toggle_statuses(self) -> None:
        self.statuses = "all" if self.statuses == "dead" else "dead"
        self.reload()

    def replay_selection(self) -> ReplaySelection | None:
        key = self.query_one("#groups", RowsTable).current_key
        return ReplaySelection(group=key, label=f"group {key}") if key else None

    def discard_selection(self) -> ReplaySelection | None:
        """The highlighted group's dead letters that are still dead, as R replays them."""
        return self.replay_selection()
