"""Overview: six KPI tiles with their last 24 hours, the backlog by state, worst SLA rules, failure groups."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.text import Text
from textual import on
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from console.messages import OverviewLoaded
from console.output import seconds
from console.screens.base import DataScreen
from console.screens.dlq_messages import DeadLettersScreen
from console.widgets.fitting import Fitting
from console.widgets.safe import number, plain, when
from console.widgets.table import Col, Row, RowsTable
from console.widgets.tile import KpiTile
from console.workers import Fetch
from queries import kpis
from queries.kpis import Overview

# KPI name -> (tile id, what the series counts, the screen enter opens)
TILES = {
    "order backlog": ("backlog", "open orders, hourly", "orders"),
    "open SLA breaches": ("breaches", "deadlines missed per hour", "sla"),
    "dead letters": ("dead", "dead now · arrivals per hour", "dlq"),
    "inventory lag p95": ("lag", "stock movement → applied, hourly p95", "inventory"),
    "refund failure rate": ("refunds", "refunds failed / issued, hourly", "sla"),
    "store sync latency p95": ("sync", "POS event → middleware, hourly p95", "inventory"),
}
# In a narrow panel the columns an on-call engineer needs least go first, whole, rather than be
# cut at the panel's edge ("p" of p95, "1h 2" of 1h 26m): the rules' met and closed counts, then
# p95 (open breaches stay); the groups' last seen, the sample error, then the reason (count and
# queue stay; enter opens the group, with all of them).
RULE_COLUMNS = (Col("rule", "rule"), Col("open", "open", 6), Col("closed", "closed", 7, spare=2),
                Col("met", "met", 6, spare=1), Col("p95", "p95", 8, spare=3))
GROUP_COLUMNS = (Col("count", "count", 6), Col("reason", "reason", 14, spare=3),
                 Col("queue", "queue", 18),
                 Col("last seen", "last", 14, spare=1), Col("error", "error", spare=2))


class OverviewScreen(DataScreen):
    """What is worst right now; every tile and row opens the screen that explains it."""

    AUTO_FOCUS = "KpiTile"
    LABEL = "Overview"
    HELP = ("The last 24 hours at a glance. Each tile is a number now and its hourly history; "
            "enter on a tile opens the screen behind it, enter on a rule opens the SLA screen, "
            "enter on a failure group opens its dead letters.")

    def compose_body(self) -> Iterable[Widget]:
        with Vertical(id="body"):
            yield Fitting(id="heading", classes="heading")
            with Grid(id="tiles"):
                for name, (tile_id, note, target) in TILES.items():
                    yield KpiTile(name, note, target, id=f"tile-{tile_id}")
            with Horizontal(id="panels"):
                with Vertical(id="backlog-panel", classes="panel"):
                    yield Static(id="backlog-states")
                with Vertical(id="rules-panel", classes="panel"):
                    yield RowsTable(id="rules")
                with Vertical(id="groups-panel", classes="panel"):
                    yield RowsTable(id="groups")

    def on_mount(self) -> None:
        self.query_one("#backlog-panel").border_title = "Backlog by state"
        self.query_one("#rules-panel").border_title = "Worst SLA rules"
        self.query_one("#groups-panel").border_title = "Failure groups"

    def fetcher(self) -> Fetch:
        rules, at = self.context.policy, self.context.now()
        return lambda cursor: OverviewLoaded(overview=kpis.overview(cursor, rules, at))

    def show(self, message: Any) -> None:
        overview: Overview = message.overview
        self._show_heading(overview)
        for kpi in overview.kpis:
            tile_id = TILES.get(kpi.name, ("", "", ""))[0]
            for tile in self.query(f"#tile-{tile_id}").results(KpiTile):
                alert = kpi.name in ("open SLA breaches", "dead letters") and bool(kpi.value)
                tile.show(kpi, alert)
        self._show_backlog(overview)
        tones = self.tones
        self.query_one("#rules", RowsTable).show(RULE_COLUMNS, [
            Row(rule.rule, (plain(rule.rule), number(rule.open, tones("text-warning")),
                            number(rule.breached, tones("text-error")), number(rule.met),
                            Text(seconds(rule.p95_seconds), justify="right")))
            for rule in overview.worst_rules])
        redactor = self.redactor
        self.query_one("#groups", RowsTable).show(GROUP_COLUMNS, [
            Row(group.group or "", (number(group.count), redactor.line(group.reason),
                                    redactor.ident(group.queue), plain(when(group.last_seen)),
                                    redactor.line(group.sample_error)))
            for group in overview.top_groups])

    def _show_heading(self, overview: Overview) -> None:
        """The window, then what needs a look that no tile shows: a store gone quiet (cut off?) and
        input quarantined. Said in full where it fits on one line, shorter where it does not."""
        quiet, rejects = overview.quiet_stores, overview.rejects
        stores = f"{quiet:,} quiet store{'s' if quiet != 1 else ''}"
        full = [(f"{stores} (4: inventory)", quiet), (f"{rejects:,} rejected (7: rejects)", rejects)]
        short = [(f"{stores} (4)", quiet), (f"{rejects:,} rejected (7)", rejects)]
        window = f"  last {overview.hours} h, as of {overview.at:%Y-%m-%d %H:%M}Z"
        versions = []
        for since, notes in ((window, full), (window, short),
                             (f"  {overview.hours} h to {overview.at:%m-%d %H:%M}Z", short)):
            said = [part for note, count in notes if count
                    for part in (("  ·  ", "$foreground-muted"), (note, "$text-warning"))]
            versions.append(Content.assemble(("Overview", "bold"), (since, "$foreground-muted"), *said))
        self.query_one("#heading", Fitting).say(versions)

    def _show_backlog(self, overview: Overview) -> None:
        states = overview.backlog_by_state
        widest = max(states.values(), default=0)
        lines = []
        for state, count in states.items():
            bar = "█" * max(1, round(count / widest * 12)) if widest and count else ""
            lines.append(Content.assemble(f"{state.replace('_', ' '):<21}", (f"{count:>6,} ", "bold"),
                                          (bar, "$text-primary")))
        self.query_one("#backlog-states", Static).update(
            Content("\n").join(lines) if lines else Content.styled("no open orders", "$foreground-muted"))

    @on(RowsTable.RowSelected, "#rules")
    def _rule_chosen(self, event: RowsTable.RowSelected) -> None:
        self.backroom.action_show_screen("sla")

    @on(RowsTable.RowSelected, "#groups")
    def _group_chosen(self, event: RowsTable.RowSelected) -> None:
        group = event.key
        if group:
            self.backroom.open(DeadLettersScreen(group))
