"""CLI commands that report what backroom knows: search, sla report, lag, rejects (order: cli_order.py)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from console import output
from console.options import AtOption, DbOption, JsonOption, store_for
from console.timeargs import at_or_now, duration, instant
from queries import lag, policy, rejects, search, sla


class Format(enum.StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"
    MARKDOWN = "markdown"


FormatOption = Annotated[Format, typer.Option("--format", help="table, json, csv or markdown.")]
SinceOption = Annotated[str | None, typer.Option(
    "--since", help="Count back this long from --at (e.g. 24h, 30m).")]


def chosen(fmt: Format, as_json: bool) -> Format:
    """The output format: `--json` is `--format json`, as on every other command (DESIGN.md)."""
    if as_json and fmt not in (Format.TABLE, Format.JSON):
        raise typer.BadParameter(f"--json and --format {fmt.value} ask for different outputs")
    return Format.JSON if as_json else fmt


sla_app = typer.Typer(help="SLA breaches per rule, open and closed.", no_args_is_help=True)
QUIET_NAMED = 20  # quiet stores named after the lag table (--format json or markdown: all)


def register(app: typer.Typer) -> None:
    app.command("search")(search_orders)
    app.command("lag")(lag_report)
    app.command("rejects")(rejects_list)
    app.add_typer(sla_app, name="sla")


def search_orders(
    text: Annotated[str, typer.Argument(help="Order id (or prefix), #name, email, trace id, message id, SKU or store.")],
    page: Annotated[int, typer.Option(min=1, help="Which page of results.")] = 1,
    db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Orders matching an id, order name, email, trace id, message id, SKU or store."""
    if not text.strip():  # every order would match: a script passed an empty variable
        raise typer.BadParameter("give something to search for (an id, #name, email, SKU, ...)",
                                 param_hint="'TEXT'")
    with store_for(db).reading() as cursor:
        found = search.search(cursor, text, offset=(page - 1) * search.PAGE)
    if as_json:
        output.emit_json(found)
        return
    output.emit_table(["order", "name", "channel", "state", "since", "store", "matched"], [
        (h.order_id, h.order_name, h.channel, h.state, h.state_at, h.store_id, h.matched)
        for h in found.orders], spare=("store", "matched", "channel"))
    shown = len(found.orders)
    output.note(f"{found.offset + 1 if shown else 0}–{found.offset + shown} of {found.total:,}")
    if found.dead_letters:
        output.emit_line("\ndead letters whose text matches")
        output.emit_table(["dead letter", "order", "score"],
                          [(h.dlq_id, h.order_id, f"{h.score:.2f}") for h in found.dead_letters])


FromOption = Annotated[str | None, typer.Option("--from", help="Orders that started at or after this instant.")]
ToOption = Annotated[str | None, typer.Option("--to", help="Orders that started before this instant.")]
ChannelOption = Annotated[str | None, typer.Option(help="Only this channel (pos, ecommerce, bopis, marketplace).")]
FailOnBreach = Annotated[bool, typer.Option("--fail-on-breach", help="Exit 1 when any breach is found.")]


def _evaluated(since: str | None, from_: str | None, to: str | None, at: str | None, channel: str | None,
               db: Path | None) -> sla.SlaReport:
    when, rules, back = at_or_now(at), policy.load(), duration(since)
    start, end = instant(from_, "--from"), instant(to, "--to")
    with store_for(db).reading() as cursor:
        return sla.report(cursor, rules, when, since=back, from_ts=start, to_ts=end, channel=channel)


@sla_app.command("report")
def sla_report(
    since: SinceOption = None, from_: FromOption = None, to: ToOption = None, at: AtOption = None,
    channel: ChannelOption = None, fmt: FormatOption = Format.TABLE, fail_on_breach: FailOnBreach = False,
    db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """SLA per rule: orders in scope, met, breached, open; and every breach with its slowest hop."""
    fmt = chosen(fmt, as_json)
    result = _evaluated(since, from_, to, at, channel, db)
    if fmt is Format.JSON:
        output.emit_json(result)
    else:
        output.emit_rows(fmt.value, ["rule", "orders", "met", "breached", "open", "pending", "p50", "p95"], [
            (r.rule, r.orders, r.met, r.breached, r.open, r.pending, output.seconds(r.p50_seconds),
             output.seconds(r.p95_seconds)) for r in result.rules], spare=("pending", "p50"))
        # Every breach with its slowest hop, for people and for the mailed Markdown report; CSV
        # holds one table, the rules (`sla breaches --format csv` the breaches; JSON both).
        if fmt in (Format.TABLE, Format.MARKDOWN) and result.breaches:
            output.emit_line("" if fmt is Format.TABLE else f"\n**Breaches** ({len(result.breaches):,})\n")
            _breach_rows(fmt, result.breaches)
    if fail_on_breach and result.breaches:
        raise typer.Exit(1)


@sla_app.command("breaches")
def sla_breaches(
    since: SinceOption = None, from_: FromOption = None, to: ToOption = None, at: AtOption = None,
    channel: ChannelOption = None, fmt: FormatOption = Format.TABLE, fail_on_breach: FailOnBreach = False,
    db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """Every breach, open and closed, one row each: the report's second table, as CSV too."""
    fmt = chosen(fmt, as_json)
    result = _evaluated(since, from_, to, at, channel, db)
    if fmt is Format.JSON:
        output.emit_json({"at": result.at, "breaches": result.breaches})
    elif fmt is Format.CSV:  # for spreadsheets and scripts: raw seconds and ISO 8601 instants
        output.emit_csv(["order_id", "order_name", "channel", "store_id", "rule", "status", "from_at", "to_at",
                         "elapsed_seconds", "within_seconds", "clock_skew", "slowest_hop", "slowest_hop_seconds"], [
            (b.order_id, b.order_name, b.channel, b.store_id, b.rule, b.status, b.from_at, b.to_at,
             round(b.elapsed_seconds, 3), b.within_seconds, "true" if b.clock_skew else "false", b.slowest_hop,
             None if b.slowest_hop_seconds is None else round(b.slowest_hop_seconds, 3))
            for b in result.breaches])
    else:
        _breach_rows(fmt, result.breaches)
    if fail_on_breach and result.breaches:
        raise typer.Exit(1)


def _breach_rows(fmt: Format, breaches: list[sla.SlaEvaluation]) -> None:
    output.emit_rows(fmt.value, ["order", "name", "rule", "status", "elapsed", "slowest hop", "took"], [
        (b.order_id, b.order_name, b.rule, b.status, output.seconds(b.elapsed_seconds),
         b.slowest_hop, output.seconds(b.slowest_hop_seconds)) for b in breaches],
        spare=("name", "elapsed", "took"))


def lag_report(
    by: Annotated[lag.LagBy, typer.Option("--by", help="Group by store, system or sku.")] = lag.LagBy.STORE,
    since: SinceOption = None, at: AtOption = None, fmt: FormatOption = Format.TABLE, db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Inventory lag percentiles and open movements, and the stores that went quiet."""
    fmt = chosen(fmt, as_json)
    when, rules, back = at_or_now(at), policy.load(), duration(since)
    with store_for(db).reading() as cursor:
        result = lag.report(cursor, rules, when, by, since=back)
    if fmt is Format.JSON:
        output.emit_json(result)
        return
    output.emit_rows(fmt.value, [by.value, "system", "movements", "open", "p50", "p95", "max", "oldest open"], [
        (r.key, r.system, r.movements, r.open, output.seconds(r.p50_seconds), output.seconds(r.p95_seconds),
         output.seconds(r.max_seconds), output.seconds(r.oldest_open_seconds)) for r in result.rows],
        spare=("p50", "movements", "max"))
    if fmt is Format.TABLE and result.quiet_stores:
        quiet = result.quiet_stores
        named = "" if len(quiet) <= QUIET_NAMED else f", the {QUIET_NAMED} quietest"
        output.note_list(f"quiet stores ({len(quiet):,}{named}):",
                         [f"{q.store_id} ({output.seconds(q.quiet_seconds)})" for q in quiet[:QUIET_NAMED]])
    elif fmt is Format.MARKDOWN and result.quiet_stores:  # the mailed report names them all
        output.emit_line(f"\n**Quiet stores** ({len(result.quiet_stores):,})\n")
        output.emit_markdown(["store", "last event", "quiet for"], [
            (q.store_id, q.last_event_at, output.seconds(q.quiet_seconds)) for q in result.quiet_stores])




def rejects_list(
    since: Annotated[str | None, typer.Option("--since", help="Only rejects of the last 24h, 30m, ...")] = None,
    source: Annotated[str | None, typer.Option(help="Only files (or live sources) whose name holds this.")] = None,
    reason: Annotated[str | None, typer.Option(help="Only reasons that hold this text.")] = None,
    page: Annotated[int, typer.Option(min=1, help="Which page (200 a page, newest first).")] = 1,
    fmt: FormatOption = Format.TABLE, db: DbOption = None, as_json: JsonOption = False,
) -> None:
    """The quarantine: records ingest and collect could not store, with file, line and reason."""
    fmt = chosen(fmt, as_json)
    back = duration(since)
    cutoff = datetime.now(UTC) - back if back is not None else None
    with store_for(db).reading() as cursor:
        found = rejects.quarantined(cursor, since=cutoff, source=source, reason=reason,
                                    offset=(page - 1) * rejects.PAGE)
    if fmt is Format.JSON:
        output.emit_json(found.model_dump(mode="json"))
        return
    output.emit_rows(fmt.value, ["rejected at", "source", "line", "excerpt", "reason"], [
        (r.rejected_at, r.source, r.line,
         r.excerpt if fmt is Format.CSV else output.clipped(r.excerpt or "", 40), r.reason)
        for r in found.rejects], spare=("excerpt",))
    if fmt is Format.TABLE:
        shown = len(found.rejects)
        output.note(f"{found.offset + 1 if shown else 0}–{found.offset + shown} of {found.total:,}")
