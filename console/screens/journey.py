"""An order's journey: where it is and for how long, states, events, the spans of its traces, dead letters, SLA."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import ContentSwitcher

from console.messages import JourneyLoaded
from console.output import seconds
from console.screens.actions import ChangingActions
from console.screens.base import DataScreen
from console.screens.replay_modal import ReplaySelection
from console.widgets.fitting import SEPARATOR, Fitting, Items
from console.widgets.safe import counted, duration, plain, when
from console.widgets.stepper import StateStepper
from console.widgets.table import Col, Row, RowsTable
from console.widgets.tabs import TabStrip
from console.widgets.waterfall import COLUMNS as SPAN_COLUMNS
from console.widgets.waterfall import span_rows
from console.workers import Fetch
from queries import journey
from queries.journey import Journey

EVENT_COLUMNS = (Col("occurred", "occurred", 14), Col("seen after", "delay", 10, spare=1),
                 Col("type", "type", 22), Col("state", "state", 20, spare=6),
                 Col("system", "system", 10), Col("store", "store", 6, spare=4),
                 Col("sku", "sku", 14, spare=2), Col("qty", "qty", 4, spare=3),
                 Col("trace", "trace", 10, spare=5), Col("note", "note"))
PANES = (("events", "Timeline"), ("spans", "Spans"), ("dead", "Dead letters"))
# Elapsed against within is the SLA; the slowest hop (and what it took) says where the time went.
# At 80 columns the hop's time goes first and the hop is cut to fit (it was kept whole at 44
# cells and elapsed, within and took went, leaving "met –" for a rule).
SLA_COLUMNS = (Col("rule", "rule", 20), Col("status", "status", 9),
               Col("elapsed", "elapsed", 9, spare=4), Col("within", "within", 8, spare=3),
               Col("slowest hop", "hop", spare=2), Col("took", "took", 9, spare=1))
DLQ_COLUMNS = (Col("dead letter", "id", 26), Col("queue", "queue", 20, spare=3),
               Col("reason", "reason", 14), Col("deaths", "deaths", 6, spare=1),
               Col("status", "status", 9, spare=2), Col("last death", "last", 14),
               Col("error", "error"))


def _fetch(key: str, rules: Any, at: Any) -> Fetch:
    def fetch(cursor: Any) -> JourneyLoaded:
        return JourneyLoaded(key=key, journey=journey.find(cursor, rules, key, at))
    return fetch


class JourneyScreen(ChangingActions, DataScreen):
    """One order, whole; enter on a dead letter opens it; on-call replays or reroutes its dead letters."""

    AUTO_FOCUS = "#events-table"
    LABEL = "Order journey"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "tab('events')", "timeline", id="journey.events"),
        Binding("w", "tab('spans')", "waterfall", id="journey.spans"),
        Binding("d", "tab('dead')", "dead letters", id="journey.dead"),
        *ChangingActions.CHANGING_BINDINGS,
    ]
    HELP = ("Where the order is now and for how long: ✓ reached, ● current (with its age), "
            "! skipped (a later state arrived without this one), ○ not yet. Below: SLA per rule, "
            "then the business events, the spans of every trace the order touched (one bar "
            "scale per trace, failures marked), and its dead letters. On-call: R replays the order's "
            "dead letters that are still dead, M reroutes them, each after a dry run that you confirm.")

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def compose_body(self) -> Iterable[Widget]:
        with Vertical(id="body"):
            yield Fitting(id="heading", classes="heading")
            yield Items(id="summary")
            yield StateStepper(id="stepper")
            yield RowsTable(id="sla")
            yield TabStrip(PANES, id="tabs")
            with ContentSwitcher(initial="events-table", id="panes"):
                for pane, _label in PANES:
                    yield RowsTable(id=f"{pane}-table")

    def fetcher(self) -> Fetch:
        return _fetch(self.key, self.context.policy, self.context.now())

    def show(self, message: Any) -> None:
        detail: Journey | None = message.journey
        if detail is None:
            self.query_one("#heading", Fitting).say([Content.assemble(("Order ", "bold"),
                                                                      self.redactor.content(self.key))])
            self.notice(f"no order matches {self.key!r}")
            return
        self._show_header(detail)
        self.query_one(StateStepper).show(detail)
        tones, redactor = self.tones, self.redactor
        sla_table = self.query_one("#sla", RowsTable)
        sla_table.show(SLA_COLUMNS, [Row(item.rule, (
            plain(item.rule), tones.status(item.status), duration(item.elapsed_seconds),
            duration(item.within_seconds), plain(item.slowest_hop), duration(item.slowest_hop_seconds)))
            for item in detail.sla])
        sla_table.set_class(not detail.sla, "hidden")  # no rule applies (yet): no empty heading
        self.query_one("#events-table", RowsTable).show(EVENT_COLUMNS, [Row(event.event_id, (
            plain(when(event.occurred_at)), self._delay(event.occurred_at, event.recorded_at),
            redactor.line(event.type), plain(event.state), redactor.ident(event.system),
            redactor.ident(event.store_id), redactor.line(event.sku),
            plain(event.quantity), redactor.ident(event.trace_id, width=10),
            plain(_note(event), tones("text-warning"))))
            for event in detail.events])
        spans = self.query_one("#spans-table", RowsTable)
        bar_width = max(12, min(60, self.app.size.width - 112))
        spans.show(SPAN_COLUMNS, span_rows(detail, redactor, tones, bar_width))
        if spans.truncated:
            self._show_header(detail, f"the waterfall shows its first {spans.total_rows:,} rows")
        self.query_one("#dead-table", RowsTable).show(DLQ_COLUMNS, [Row(dead.id, (
            redactor.ident(dead.id, tones("text-primary")), redactor.ident(dead.queue),
            redactor.line(dead.reason), plain(dead.count), tones.status(dead.status),
            plain(when(dead.last_death_at)), redactor.line(dead.error_text)))
            for dead in detail.dlq])
        tabs = self.query_one(TabStrip)
        tabs.set_label("events", f"Timeline {len(detail.events)}")
        tabs.set_label("spans", f"Spans {len(detail.spans)} in {counted(len(detail.trace_ids), 'trace')}")
        tabs.set_label("dead", f"Dead letters {len(detail.dlq)}")

    def _show_header(self, detail: Journey, *notes: str) -> None:
        redactor = self.redactor
        order = (("Order ", "bold"), redactor.ident_content(detail.order_id, "bold $text-primary"), "  ",
                 redactor.content(detail.order_name, "bold"))
        channel, store = redactor.ident_content(detail.channel), redactor.ident_content(detail.store_id)
        customer = redactor.content(detail.customer_email)
        # every field named; where that does not fit on one line, the values alone (store and
        # customer only when the order has them)
        items = [Content.assemble(*order), channel]
        if detail.store_id:
            items.append(Content.assemble(("store ", "$foreground-muted"), store))
        if detail.customer_email:
            items.append(customer)
        self.query_one("#heading", Fitting).say([
            Content.assemble(*order, ("  ·  channel ", "$foreground-muted"), channel,
                             ("  ·  store ", "$foreground-muted"), store,
                             ("  ·  customer ", "$foreground-muted"), customer),
            SEPARATOR.join(items)], items=items)  # narrower still: broken between the values
        state = (f"{detail.state.replace('_', ' ')} for {seconds(detail.age_seconds)}" if detail.state
                 else "no state reached yet")  # no event placed it: its dead letters or spans only
        parts = [state, counted(len(detail.events), "event"),
                 f"{counted(len(detail.spans), 'span')} in {counted(len(detail.trace_ids), 'trace')}",
                 counted(len(detail.dlq), "dead letter")]
        if detail.spans_truncated:
            parts.append(f"only the first {len(detail.spans):,} spans")
        if detail.other_orders:
            parts.append(f"the key also names {len(detail.other_orders)} other orders")
        parts.extend(notes)
        self.query_one("#summary", Items).show([Content(part) for part in parts])

    def _delay(self, occurred: Any, recorded: Any) -> Text:
        if occurred is None or recorded is None:
            return plain(None)
        gap = (recorded - occurred).total_seconds()
        tone = self.tones("text-warning") if gap > 60 or gap < 0 else ""
        return Text("+" + seconds(gap) if gap >= 0 else seconds(gap), style=tone, justify="right")

    def action_tab(self, pane: str) -> None:
        self.query_one(TabStrip).active = pane
        self.query_one(ContentSwitcher).current = f"{pane}-table"
        self.query_one(f"#{pane}-table", RowsTable).focus()

    @on(TabStrip.Chosen)
    def _tab_clicked(self, event: TabStrip.Chosen) -> None:
        self.action_tab(event.pane)

    def replay_selection(self) -> ReplaySelection | None:
        """The order's dead letters that are still dead (None before it loads, or when there are none)."""
        detail = self.last.journey if isinstance(self.last, JourneyLoaded) else None
        dead = [letter.id for letter in detail.dlq if letter.status == "dead"] if detail else []
        if not dead or detail is None:
            return None
        count = f"{len(dead)} dead letter{'' if len(dead) == 1 else 's'}"
        return ReplaySelection(keys=dead, label=f"the {count} of order {detail.order_id}")

    @on(RowsTable.RowSelected, "#dead-table")
    def _dead_letter_chosen(self, event: RowsTable.RowSelected) -> None:
        from console.screens.dlq_message import DeadLetterScreen

        if event.key:
            self.backroom.open(DeadLetterScreen(event.key))


def _note(event: Any) -> str:
    if event.recorded_before_occurred:
        return "recorded before it occurred (clock skew)"
    if event.traceparent_valid is False:
        return "invalid traceparent"
    return ""
