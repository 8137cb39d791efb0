"""SLA: every rule's counts, then the breaches (open and closed), oldest first; enter opens the journey."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from console.messages import SlaReported
from console.safe_text import inert_line
from console.screens.base import DataScreen
from console.screens.journey import JourneyScreen
from console.widgets.safe import Tones, duration, number, page_range, plain
from console.widgets.table import Col, Row, RowsTable
from console.workers import Fetch
from queries import sla
from queries.policy import CHANNELS

PAGE = 200
WINDOWS: tuple[tuple[str, timedelta | None], ...] = (
    ("all", None), ("24h", timedelta(hours=24)), ("6h", timedelta(hours=6)), ("1h", timedelta(hours=1)),
    ("7d", timedelta(days=7)))
SHOWS = {"open + closed": ("breached", "open"), "open": ("open",), "closed": ("breached",)}
# the columns that matter most come first, so that an 80-column terminal shows them
RULE_COLUMNS = (Col("rule", "rule", 20), Col("open", "open", 6), Col("closed", "breached", 7),
                Col("met", "met", 6), Col("pending", "pending", 8, spare=4),
                Col("orders", "orders", 7, spare=3), Col("within", "within", 8),
                Col("p50", "p50", 9, spare=2), Col("p95", "p95", 9),
                Col("from → to", "path", 44, spare=1))
BREACH_COLUMNS = (Col("order", "order", 14), Col("rule", "rule", 20), Col("status", "status", 7),
                  Col("elapsed", "elapsed", 9, spare=5), Col("within", "within", 8, spare=4),
                  Col("name", "name", 16, spare=3), Col("channel", "channel", 11, spare=2),
                  Col("store", "store", 6, spare=1), Col("slowest hop", "hop", 44),
                  Col("took", "took", 9))


def _status(tones: Tones, status: str) -> Text:
    """A breach is closed (reached its target too late) or open (still not there)."""
    return Text("closed", style=tones("text-error")) if status == "breached" else tones.status(status)


class SlaScreen(DataScreen):
    """Breaches by rule; filters: channel (c), window (w), open/closed (o), store (s), rule (enter)."""

    AUTO_FOCUS = "#breaches"
    LABEL = "SLA"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "cycle_channel", "channel", id="sla.channel"),
        Binding("w", "cycle_window", "window", id="sla.window"),
        Binding("o", "cycle_show", "open/closed", id="sla.show"),
        Binding("s", "ask_store", "store", id="sla.store"),
        Binding("right_square_bracket", "page(1)", "next page", key_display="]", show=False, id="sla.next"),
        Binding("left_square_bracket", "page(-1)", "previous", key_display="[", show=False, id="sla.previous"),
    ]
    HELP = ("Each SLA rule: orders in scope, met, closed breaches (reached the target too late), open "
            "breaches (still not there after the window), "
            "pending (not due yet), p50/p95. Below, every breach, the oldest first. Enter on a rule shows only its "
            "breaches (enter again for all); enter on a breach opens the order's journey. The window "
            "counts orders that started within it.")

    def __init__(self) -> None:
        super().__init__()
        self.channel: str | None = None
        self.window = 0
        self.shows = "open + closed"
        self.store: str | None = None
        self.rule: str | None = None

    def compose_body(self) -> Iterable[Widget]:
        with Vertical(id="body"):
            yield Static(id="heading", classes="heading")
            yield Static(id="filters", classes="status")
            yield RowsTable(id="rules")
            yield Static(id="status", classes="status")
            yield RowsTable(id="breaches")

    def fetcher(self) -> Fetch:
        rules, at, since = self.context.policy, self.context.now(), WINDOWS[self.window][1]
        filters = {"channel": self.channel, "store_id": self.store,
                   "from_ts": at - since if since is not None else None}
        statuses, rule, offset = SHOWS[self.shows], self.rule, self.page_offset

        def fetch(cursor: Any) -> SlaReported:
            summary = sla.summary(cursor, rules, at, **filters)
            page = sla.evaluate(cursor, rules, at, statuses=statuses, rule=rule, by_age=True,
                                limit=PAGE, offset=offset, **filters)
            return SlaReported(rules=summary, breaches=page)
        return fetch

    def show(self, message: Any) -> None:
        tones = self.tones
        self.query_one("#heading", Static).update(Content.assemble(
            ("SLA breaches", "bold"), (f"  as of {self.as_of:%Y-%m-%d %H:%M}Z" if self.as_of else "",
                                       "$foreground-muted")))
        self._show_filters()
        self.query_one("#rules", RowsTable).show(RULE_COLUMNS, [Row(rule.rule, (
            plain(rule.rule, tones("text-accent", bold=True) if rule.rule == self.rule else ""),
            number(rule.open, tones("text-warning")), number(rule.breached, tones("text-error")),
            number(rule.met), number(rule.pending), number(rule.orders), duration(rule.within_seconds),
            duration(rule.p50_seconds), duration(rule.p95_seconds), plain(f"{rule.from_state} → {rule.to_state}")))
            for rule in message.rules])
        self._show_breaches()

    def _chosen(self) -> list[sla.SlaEvaluation]:
        """The page of breaches the last answer holds (paged and sorted in SQL, oldest first)."""
        return self.last.breaches if isinstance(self.last, SlaReported) else []

    def _show_breaches(self) -> None:
        tones, redactor = self.tones, self.redactor
        self.query_one("#breaches", RowsTable).show(BREACH_COLUMNS, [Row(f"{b.order_id}\t{b.rule}", (
            redactor.ident(b.order_id, tones("text-primary")), plain(b.rule), _status(tones, b.status),
            duration(b.elapsed_seconds), duration(b.within_seconds), redactor.line(b.order_name), plain(b.channel),
            redactor.ident(b.store_id), plain(b.slowest_hop), duration(b.slowest_hop_seconds)))
            for b in self._chosen()])
        self.refresh_status()

    def _show_filters(self) -> None:
        def part(key: str, label: str, value: str) -> Content:
            return Content.assemble((key, "bold $text-primary"), f" {label} ", (value, "bold"), "   ")
        self.query_one("#filters", Static).update(Content.assemble(
            part("c", "channel", self.channel or "all"), part("w", "window", WINDOWS[self.window][0]),
            part("o", "show", self.shows), part("s", "store", inert_line(self.store or "any")),
            part("⏎", "rule", self.rule or "all")))  # ⏎ as the bottom line writes enter

    def refresh_status(self) -> None:
        table = self.query_one("#breaches", RowsTable)
        text = f"Breaches {page_range(self.page_offset, len(self._chosen()), self.rows_total())}, oldest first"
        text += table.filter_note
        self.query_one("#status", Static).update(Content(inert_line(text)))

    def _refilter(self) -> None:
        self.page_offset = 0
        self.reload()

    def action_cycle_channel(self) -> None:
        options = [None, *CHANNELS]
        self.channel = options[(options.index(self.channel) + 1) % len(options)]
        self._refilter()

    def action_cycle_window(self) -> None:
        self.window = (self.window + 1) % len(WINDOWS)
        self._refilter()

    def action_cycle_show(self) -> None:
        names = list(SHOWS)
        self.shows = names[(names.index(self.shows) + 1) % len(names)]
        self._refilter()

    def action_ask_store(self) -> None:
        self.open_prompt("store", "store (empty for any): ", self.store or "")

    def answer(self, kind: str, value: str) -> None:
        if kind == "store":
            self.store = value or None
            self._refilter()

    def rows_total(self) -> int:
        """Breaches under the current filters, from the per-rule counts (the page alone is fetched)."""
        if not isinstance(self.last, SlaReported):
            return 0
        statuses = SHOWS[self.shows]
        return sum((rule.open if "open" in statuses else 0) + (rule.breached if "breached" in statuses else 0)
                   for rule in self.last.rules if self.rule is None or rule.rule == self.rule)

    @on(RowsTable.RowSelected, "#rules")
    def _rule_chosen(self, event: RowsTable.RowSelected) -> None:
        chosen = event.key
        self.rule = None if chosen == self.rule else chosen
        self._refilter()

    @on(RowsTable.RowSelected, "#breaches")
    def _breach_chosen(self, event: RowsTable.RowSelected) -> None:
        order_id = (event.key or "").split("\t")[0]
        if order_id:
            self.backroom.open(JourneyScreen(order_id))
