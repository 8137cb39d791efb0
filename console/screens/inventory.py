"""Inventory: lag per store, system or SKU (p50/p95/max, open movements), quiet stores, worst SKUs, lag over time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from console.messages import LagReported
from console.output import seconds
from console.safe_text import inert_line
from console.screens.base import DataScreen
from console.widgets.chart import Chart
from console.widgets.fitting import Fitting
from console.widgets.safe import duration, number, page_range, plain, when
from console.widgets.table import Col, Row, RowsTable
from console.workers import Fetch
from queries import kpis, lag
from queries.kpis import Kpi
from queries.lag import LagBy

PAGE = 200
WORST = 12
BYS = (LagBy.STORE, LagBy.SYSTEM, LagBy.SKU)
QUIET_COLUMNS = (Col("store", "store", 6), Col("last event", "last", 14), Col("quiet for", "quiet", 9))
WORST_COLUMNS = (Col("sku", "sku", 14), Col("system", "system", 10), Col("open", "open", 5),
                 Col("p95", "p95", 9))


def _columns(by: LagBy) -> tuple[Col, ...]:
    return (Col(by.value, "key", 14), Col("applied by", "system", 11),
            Col("movements", "movements", 10, spare=1), Col("open", "open", 6),
            Col("p50", "p50", 9, spare=2), Col("p95", "p95", 9), Col("max", "max", 9, spare=3),
            Col("oldest open", "oldest", 12), Col("", "flag"))


class InventoryScreen(DataScreen):
    """How far the ERP and the storefront are behind the stores' stock movements."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("b", "cycle_by", "by store/system/sku", id="inventory.by"),
        Binding("right_square_bracket", "page(1)", "next page", key_display="]", show=False,
                id="inventory.next"),
        Binding("left_square_bracket", "page(-1)", "previous", key_display="[", show=False,
                id="inventory.previous"),
    ]
    LABEL = "Inventory lag"
    HELP = ("Lag is the time from a stock movement at a store to the moment each downstream system "
            "applied it. 'open' counts movements not applied after the policy's stale_after; "
            "quiet stores sent nothing for longer than quiet_after. b groups by store, system or SKU.")

    def __init__(self) -> None:
        super().__init__()
        self.by = LagBy.STORE

    def compose_body(self) -> Iterable[Widget]:
        with Vertical(id="body"):
            yield Fitting(id="heading", classes="heading")
            with Horizontal(id="charts"):
                with Vertical(classes="panel chart-panel", id="lag-panel"):
                    yield Chart(id="lag-chart")
                with Vertical(classes="panel chart-panel", id="sync-panel"):
                    yield Chart(id="sync-chart")
            with Horizontal(id="lag-main"):
                with Vertical(id="lag-left"):
                    yield Static(id="status", classes="status")
                    yield RowsTable(id="lag")
                with Vertical(id="lag-side"):
                    with Vertical(classes="panel", id="quiet-panel"):
                        yield RowsTable(id="quiet")
                    with Vertical(classes="panel", id="worst-panel"):
                        yield RowsTable(id="worst")

    def on_mount(self) -> None:
        self.query_one("#quiet-panel").border_title = "Quiet stores"
        self.query_one("#worst-panel").border_title = "Worst SKUs"

    def fetcher(self) -> Fetch:
        rules, at, by = self.context.policy, self.context.now(), self.by

        def fetch(cursor: Any) -> LagReported:
            lag_series, sync_series = kpis.latency(cursor, at)
            return LagReported(report=lag.report(cursor, rules, at, by),
                               worst_skus=lag.report(cursor, rules, at, LagBy.SKU),
                               lag_series=lag_series, sync_series=sync_series)
        return fetch

    def show(self, message: Any) -> None:
        report, tones, redactor = message.report, self.tones, self.redactor
        stale = seconds(self.context.policy.inventory.stale_after.total_seconds())
        self.query_one("#heading", Fitting).say([Content.assemble(
            ("Inventory lag", "bold"), f"  by {self.by.value}", (f"  ·  {open_after}  ·  as of {at}", "$foreground-muted"))
            for open_after, at in ((f"open = not applied after {stale}", f"{report.at:%Y-%m-%d %H:%M}Z"),
                                   (f"open after {stale}", f"{report.at:%m-%d %H:%M}Z"))])
        self._chart("lag", "Inventory lag p95, last 24 h", message.lag_series)
        self._chart("sync", "Store sync latency p95, last 24 h", message.sync_series)
        quiet = {q.store_id: q for q in report.quiet_stores}
        self.query_one("#quiet", RowsTable).show(QUIET_COLUMNS, [Row(q.store_id, (
            redactor.ident(q.store_id), plain(when(q.last_event_at)),
            duration(q.quiet_seconds, tones("text-warning")))) for q in report.quiet_stores])
        self.query_one("#worst", RowsTable).show(WORST_COLUMNS, [Row(f"{r.key}\t{r.system}", (
            redactor.ident(r.key), plain(r.system), number(r.open, tones("text-warning")),
            duration(r.p95_seconds))) for r in message.worst_skus.rows[:WORST]])
        page = report.rows[self.page_offset:self.page_offset + PAGE]
        self.query_one("#lag", RowsTable).show(_columns(self.by), [Row(f"{r.key}\t{r.system}", (
            redactor.ident(r.key, tones("text-primary")), plain(r.system), number(r.movements),
            number(r.open, tones("text-warning")), duration(r.p50_seconds), duration(r.p95_seconds),
            duration(r.max_seconds), duration(r.oldest_open_seconds, tones("text-warning")),
            plain("quiet " + seconds(quiet[r.key].quiet_seconds) if r.key in quiet else "",
                  tones("text-warning")))) for r in page])
        self.refresh_status()

    def _chart(self, name: str, title: str, kpi: Kpi | None) -> None:
        series = kpi.series if kpi else []
        peak = max((v for v in series if v is not None), default=None)
        panel = self.query_one(f"#{name}-panel")
        panel.border_title = title
        panel.border_subtitle = f"now {seconds(kpi.value if kpi else None)} · peak {seconds(peak)}"
        self.query_one(f"#{name}-chart", Chart).set_series(series)

    def refresh_status(self) -> None:
        if not isinstance(self.last, LagReported) or self.last.report is None:
            return
        rows = self.last.report.rows
        table = self.query_one("#lag", RowsTable)
        text = f"{page_range(self.page_offset, min(PAGE, len(rows) - self.page_offset), len(rows))} rows, most open first"
        if len(rows) > PAGE:
            text += "  ·  [ ] pages"
        text += table.filter_note
        self.query_one("#status", Static).update(Content(inert_line(text)))

    def action_cycle_by(self) -> None:
        self.by = BYS[(BYS.index(self.by) + 1) % len(BYS)]
        self.page_offset = 0
        self.reload()

    def rows_total(self) -> int:
        return len(self.last.report.rows) if isinstance(self.last, LagReported) and self.last.report else 0

    def turn_page(self) -> None:
        if self.last is not None:
            self.show(self.last)
