"""A journey written for people in a terminal: header, states, events, span timeline, dead letters, SLA."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from console import output
from queries.journey import Journey


def _section(title: str, headers: list[str], rows: Sequence[Sequence[Any]], empty: str = "none",
             spare: Sequence[str] = ()) -> None:
    """A titled table, or one line saying there is nothing (not a header over no rows)."""
    output.emit_line(f"\n{title}")
    if rows:
        output.emit_table(headers, rows, spare=spare)
    else:
        output.emit_line(f"  {empty}")


def print_journey(detail: Journey) -> None:
    name = f"  {detail.order_name}" if detail.order_name else ""
    output.emit_line(f"order {detail.order_id}{name}  channel {detail.channel or '-'}  store {detail.store_id or '-'}")
    reached = (f"state {detail.state} for {output.seconds(detail.age_seconds)}" if detail.state
               else "no state reached yet")  # no event placed it: its dead letters or spans only
    output.emit_line(f"{reached} (as of {detail.at:%Y-%m-%d %H:%M:%S}Z)")
    _section("states", ["state", "at", "source", "times"],
             [(s.state, s.at, s.source, s.times) for s in detail.states])
    _section("events", ["occurred", "recorded", "type", "system", "note"], [
        (e.occurred_at, e.recorded_at, e.type, e.system,
         "recorded before it occurred (clock skew)" if e.recorded_before_occurred else "")
        for e in detail.events], spare=("recorded",))
    if detail.spans:
        _print_spans(detail)
    if detail.dlq:
        output.emit_line("\ndead letters")
        output.emit_table(["id", "queue", "reason", "count", "status", "error"], [
            (d.id, d.queue, d.reason, d.count, d.status, output.clipped(d.error_text or "", 70))
            for d in detail.dlq], spare=("count", "status", "queue"))
    _section("sla", ["rule", "status", "elapsed", "slowest hop"], [
        (s.rule, s.status, output.seconds(s.elapsed_seconds), s.slowest_hop) for s in detail.sla],
        empty="no rule has started for this order")
    if detail.other_orders:
        output.note(f"the key also names: {', '.join(detail.other_orders[:10])}")


def _print_spans(detail: Journey) -> None:
    start = min((s.start_time for s in detail.spans if s.start_time), default=None)
    traces = len(detail.trace_ids)
    output.emit_line(f"\nspans ({traces} trace{'' if traces == 1 else 's'})")
    output.emit_table(["+offset", "duration", "service", "span", "trace", "error"], [
        ("+" + output.seconds((s.start_time - start).total_seconds()) if s.start_time and start else "-",
         f"{s.duration_ms or 0:,.0f} ms", s.service, s.name, s.trace_id[:8],
         (s.status_message or "error") if s.status_code == 2 else "")
        for s in detail.spans])
    if detail.spans_truncated:
        output.note(f"only the first {len(detail.spans):,} spans are shown")
