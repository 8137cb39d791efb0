"""One dead letter whole: where and why it died, its headers, its body decoded, its history, its order."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson
from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widget import Widget
from textual.widgets import ContentSwitcher, Static

from console.messages import DeadLetterLoaded
from console.screens.actions import ChangingActions
from console.screens.base import DataScreen
from console.screens.replay_modal import ReplaySelection
from console.widgets.fitting import Fact, Facts, Fitting
from console.widgets.safe import Redactor, plain, when
from console.widgets.table import Col, Row, RowsTable
from console.widgets.tabs import TabStrip
from console.workers import Fetch
from queries import dlq
from queries.dlq import DeadLetter

PANES = (("body", "Body"), ("headers", "Headers"), ("properties", "Properties"), ("history", "History"))
# What the four keys do, said in full where it fits on one line and shorter where not (80x24)
ACTIONS_HINT = (
    ("R replays this message, M reroutes it elsewhere, E edits and retries it, D discards it "
     "(each asks first; nothing changes until you confirm)"),
    ("R replay · M reroute · E edit & retry · D discard (each asks first; nothing changes until "
     "you confirm)"),
    "R replay · M reroute · E edit & retry · D discard (each asks first)",
    "R replay · M reroute · E edit · D discard",
)
BODY_CHARS = 64_000  # enough to read; the exact bytes stay in the store for replay
HISTORY_COLUMNS = (Col("deaths", "count", 6), Col("exchange", "exchange", 16, spare=2),
                   Col("queue", "queue", 22), Col("reason", "reason", 15),
                   Col("routing keys", "keys", 24, spare=1), Col("time", "time", 14))


def pairs(values: Any, redactor: Redactor) -> Content:
    """A mapping as 'key: value' lines, every key and value inert (nested values as compact JSON)."""
    if not isinstance(values, dict) or not values:
        return Content.styled("none", "$foreground-muted")
    lines = []
    for key, value in values.items():
        shown = value if isinstance(value, (str, int, float, bool)) or value is None else \
            orjson.dumps(value).decode()
        lines.append(Content.assemble(redactor.content(key, "bold $text-primary"), ": ", redactor.content(shown)))
    return Content("\n").join(lines)


def _epoch(value: Any) -> str:
    try:
        return when(datetime.fromtimestamp(float(value), tz=UTC))
    except (TypeError, ValueError, OverflowError, OSError):
        return "–"


class DeadLetterScreen(ChangingActions, DataScreen):
    """Everything stored about one dead letter; o opens the order it belongs to."""

    AUTO_FOCUS = "#body-pane VerticalScroll"
    LABEL = "Dead letter"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open_order", "order", id="message.order"),
        Binding("b", "tab('body')", "body", id="message.body"),
        Binding("h", "tab('headers')", "headers", id="message.headers"),
        Binding("y", "tab('history')", "history", id="message.history"),
        *ChangingActions.CHANGING_BINDINGS,
        ChangingActions.EDIT_BINDING,
        ChangingActions.DISCARD_BINDING,
    ]
    HELP = ("One dead letter: where it died and why, its decoded body (JSON pretty-printed, text as "
            "is, binary as hex), headers, AMQP properties and death history. Control characters in "
            "the data are shown as visible placeholders (␛ for ESC), never sent to the terminal. "
            "o opens the order it belongs to. On-call: R replays it, M reroutes it (after a dry run); "
            "E edits the body and retries it as a new message (JSON stays JSON; a dry run first); "
            "D discards it (archived with the reason you give).")

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        self.found: DeadLetter | None = None

    def compose_body(self) -> Iterable[Widget]:
        with Vertical(id="body"):
            yield Static(id="heading", classes="heading")
            yield Facts(12, id="facts")
            yield Fitting(id="actions", classes="status")
            yield TabStrip(PANES, id="tabs")
            with ContentSwitcher(initial="body-pane", id="panes"):
                with VerticalScroll(id="body-pane"):
                    yield Static(id="payload")
                with VerticalScroll(id="headers-pane"):
                    yield Static(id="headers")
                with VerticalScroll(id="properties-pane"):
                    yield Static(id="properties")
                with Vertical(id="history-pane"):
                    yield RowsTable(id="history")

    def fetcher(self) -> Fetch:
        key = self.key
        return lambda cursor: DeadLetterLoaded(key=key, message=dlq.show(cursor, key))

    def show(self, message: Any) -> None:
        redactor = self.redactor
        self.found = found = message.message
        self.query_one("#heading", Static).update(Content.assemble(
            ("Dead letters", "bold"), ("  ›  message ", "$foreground-muted"),
            redactor.ident_content(found.id if found else self.key, "bold $text-primary")))
        if found is None:
            self.notice(f"no dead letter has the id or message id {self.key!r}")
            return
        self.query_one("#facts", Facts).show(self._facts(found))
        self.query_one("#actions", Fitting).say(
            [Content.styled(text, "$foreground-muted") for text in ACTIONS_HINT]
            if self.context.may_change else [])
        self.query_one("#actions").set_class(not self.context.may_change, "hidden")
        body = found.body
        text = body.text if len(body.text) <= BODY_CHARS else body.text[:BODY_CHARS] + "\n…"
        self.query_one("#payload", Static).update(redactor.block(text))
        self.query_one("#headers", Static).update(pairs(found.headers, redactor))
        self.query_one("#properties", Static).update(pairs(found.properties, redactor))
        history = found.history if isinstance(found.history, list) else []
        self.query_one("#history", RowsTable).show(HISTORY_COLUMNS, [Row(str(index), (
            plain(entry.get("count")), redactor.ident(entry.get("exchange")), redactor.ident(entry.get("queue")),
            redactor.line(entry.get("reason")), redactor.line(", ".join(map(str, entry.get("routing-keys") or []))),
            plain(_epoch(entry.get("time"))))) for index, entry in enumerate(history) if isinstance(entry, dict)])
        tabs = self.query_one(TabStrip)
        tabs.set_label("body", f"Body ({body.kind}, {body.size:,} bytes)")
        tabs.set_label("headers", f"Headers {len(found.headers or {})}")
        tabs.set_label("history", f"History {len(history)}")

    def _facts(self, found: DeadLetter) -> list[Fact]:
        r = self.redactor
        deaths = f"{found.count or 0} death{'' if found.count == 1 else 's'}"
        died_in = Content.assemble(r.ident_content(found.original_queue), ("  via exchange ", "$foreground-muted"),
                                   r.ident_content(found.original_exchange), ("  key ", "$foreground-muted"),
                                   r.ident_content(found.original_routing_key))
        return [
            ("status", Content.styled(found.status, "bold $text-warning" if found.status == "dead" else "bold")),
            ("queue", Content.assemble(r.ident_content(found.queue), ("  on ", "$foreground-muted"),
                                       r.ident_content(found.broker))),
            ("died in", died_in),
            ("reason", [r.content(found.reason), Content(deaths), Content(f"first {when(found.first_death_at)}"),
                        Content(f"last {when(found.last_death_at)}")]),
            ("error", r.content(found.error_text, "$text-error")),
            ("order", Content.assemble(r.ident_content(found.order_id, "bold $text-primary"),
                                       ("  (o opens its journey)" if found.order_id else "",
                                        "$foreground-muted"))),
            ("trace", r.ident_content(found.trace_id)),
            ("message id", [r.ident_content(found.message_id), r.ident_content(found.content_type)]),
            ("group", r.ident_content(found.group)),
        ]

    def action_tab(self, pane: str) -> None:
        self.query_one(TabStrip).active = pane
        self.query_one(ContentSwitcher).current = f"{pane}-pane"

    @on(TabStrip.Chosen)
    def _tab_clicked(self, event: TabStrip.Chosen) -> None:
        self.action_tab(event.pane)

    def action_open_order(self) -> None:
        from console.screens.journey import JourneyScreen

        if self.found is None or not self.found.order_id:
            self.notify("this dead letter names no order", markup=False)
            return
        self.backroom.open(JourneyScreen(self.found.order_id))

    def replay_selection(self) -> ReplaySelection | None:
        if self.found is None:
            return None
        return ReplaySelection(keys=[self.found.id], label=f"dead letter {self.found.id}")

    def discard_selection(self) -> ReplaySelection | None:
        return self.replay_selection()

    def action_edit(self) -> None:
        """The body in an editor; saved and checked, the same dry run as replay; then this screen reloads."""
        from console.screens.edit_modal import EditBody, EditedBody, EditRetry

        found = self.found
        if not self.context.may_change or found is None:
            if found is None:
                self.notify("nothing to edit here", markup=False)
            return

        def saved(edit: EditedBody | None) -> None:
            if edit is not None:
                selection = ReplaySelection(keys=[found.id], label=f"dead letter {found.id} (edited)")
                self.app.push_screen(EditRetry(selection, edit), self._replayed)
        self.app.push_screen(EditBody(found, self.redactor), saved)
