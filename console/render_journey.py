"""A journey written for people in a terminal: header, states, events, span timeline, dead letters, SLA."""

from __future__ import annotations

from console import output
from queries.journey import Journey


def print_journey(detail: Journey) -> None:
    output.emit_line(f"order {detail.order_id}  {detail.order_name or ''}  channel {detail.channel or '-'}  "
                     f"store {detail.store_id or '-'}")
    reached = (f"state {detail.state} for {output.seconds(detail.age_seconds)}" if detail.state
               else "no state reached yet")  # no event placed it: its dead letters or spans only
    output.emit_line(f"{reached} (as of {detail.at:%Y-%m-%d %H:%M:%S}Z)")
    output.emit_line("\nstates")
    output.emit_table(["state", "at", "source", "times"],
                      [(s.state, s.at, s.source, s.times) for s in detail.states])
    output.emit_line("\nevents")
    output.emit_table(["occurred", "recorded", "type", "system", "note"], [
        (e.occurred_at, e.recorded_at, e.type, e.system,
         "recorded before it occurred (clock skew)" if e.recorded_before_occurred else "")
        for e in detail.events])
    if detail.spans:
        _print_spans(detail)
    if detail.dlq:
        output.emit_line("\ndead letters")
        output.emit_table(["id", "queue", "reason", "count", "status", "error"], [
            (d.id, d.queue, d.reason, d.count, d.status, (d.error_text or "")[:70])
            for d in detail.dlq])
    output.emit_line("\nsla")
    output.emit_table(["rule", "status", "elapsed", "slowest hop"], [
        (s.rule, s.status, output.seconds(s.elapsed_seconds), s.slowest_hop) for s in detail.sla])
    if detail.other_orders:
        output.note(f"the key also names: {', '.join(detail.other_orders[:10])}")


def _print_spans(detail: Journey) -> None:
    start = min(s.start_time for s in detail.spans if s.start_time)
    output.emit_line(f"\nspans ({len(detail.trace_ids)} traces)")
    output.emit_table(["+offset", "duration", "service", "span", "trace", "error"], [
        ("+" + output.seconds((s.start_time - start).total_seconds()) if s.start_time else "-",
         f"{s.duration_ms or 0:,.0f} ms", s.service, s.name, s.trace_id[:8],
         (s.status_message or "error") if s.status_code == 2 else "")
        for s in detail.spans])
    if detail.spans_truncated:
        output.note(f"only the first {len(detail.spans):,} spans are shown")
